//! What the host gives guests, as traits the embedding implements: metrics sinks and the
//! workflow and activity contexts. The Temporal adapters implement these on top of the SDK;
//! tests and the chain demo use the simple implementations here.

use std::sync::{Arc, Mutex};

use std::time::Duration;

use crate::model::{Hook, Payload, Phase};

/// Kinds of metric samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricKind {
    /// Monotonic counter increment.
    Counter,
    /// Histogram observation.
    Histogram,
    /// Gauge value.
    Gauge,
}

/// One metric sample recorded by a guest.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MetricSample {
    /// The guest that recorded it.
    pub guest: String,
    /// Kind.
    pub kind: MetricKind,
    /// Metric name.
    pub name: String,
    /// Value (counters: the increment).
    pub value: f64,
    /// Unit, for histograms (may be empty).
    pub unit: String,
    /// Attributes (labels).
    pub attributes: Vec<(String, String)>,
}

/// Where guest metrics go. Samples from replaying workflow hooks never reach a sink.
///
/// A sink also receives the host's **operator metrics** about each guest (what an operator
/// of Envoy's Wasm filters gets per filter): every Wasm call with its latency and fuel,
/// every failure by cause, and the number of live instances. Those describe work the
/// worker really did, so they are reported in replay too. Their methods do nothing unless
/// a sink overrides them; [`crate::temporal::metrics::PrometheusMetrics`] puts them on the
/// worker's Prometheus endpoint.
pub trait MetricsSink: Send + Sync + 'static {
    /// Record one sample.
    fn record(&self, sample: MetricSample);

    /// Whether this sink wants [`MetricsSink::hop`] reports. When false (the default) the
    /// host does not time guest calls for it.
    fn wants_hops(&self) -> bool {
        false
    }

    /// One Wasm call into `guest` (`before` or `after` of `hook`) returned or failed after
    /// `elapsed`, having used `fuel` units. Called only when [`MetricsSink::wants_hops`].
    fn hop(&self, guest: &str, hook: Hook, phase: Phase, elapsed: Duration, fuel: u64) {
        let _ = (guest, hook, phase, elapsed, fuel);
    }

    /// A call of `guest` failed (whatever its failure policy then did with it); `cause` is
    /// [`crate::error::GuestFailure::cause`]: `fuel`, `deadline`, `memory`, `trap`, ...,
    /// and `capacity` when the host had no room for an instance. A hook refused because
    /// the run's instance failed earlier (`poisoned`) is not reported again.
    fn failure(&self, guest: &str, hook: Hook, phase: Phase, cause: &'static str) {
        let _ = (guest, hook, phase, cause);
    }

    /// An instance of `guest` was created (`delta` 1) or dropped (`delta` -1).
    fn instances(&self, guest: &str, delta: i64) {
        let _ = (guest, delta);
    }
}

/// A sink that drops everything.
#[derive(Debug, Default)]
pub struct NoMetrics;

impl MetricsSink for NoMetrics {
    fn record(&self, _: MetricSample) {}
}

/// A sink that keeps samples in memory (tests, the chain demo), and the host's operator
/// metrics as counts.
#[derive(Debug, Default)]
pub struct MemoryMetrics {
    samples: Mutex<Vec<MetricSample>>,
    operator: Mutex<OperatorCounts>,
}

/// The operator metrics a [`MemoryMetrics`] kept, per guest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperatorCounts {
    /// Wasm calls by guest, hook name and phase.
    pub calls: std::collections::BTreeMap<(String, &'static str, Phase), u64>,
    /// Fuel by guest.
    pub fuel: std::collections::BTreeMap<String, u64>,
    /// Failures by guest, hook name, phase and cause.
    pub failures: std::collections::BTreeMap<(String, &'static str, Phase, &'static str), u64>,
    /// Live instances by guest: the sum of the reported deltas.
    pub instances: std::collections::BTreeMap<String, i64>,
}

impl MemoryMetrics {
    /// All samples so far.
    pub fn samples(&self) -> Vec<MetricSample> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The operator metrics so far.
    pub fn operator(&self) -> OperatorCounts {
        self.operator
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, OperatorCounts> {
        self.operator.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MetricsSink for MemoryMetrics {
    fn record(&self, sample: MetricSample) {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(sample);
    }

    fn wants_hops(&self) -> bool {
        true
    }

    fn hop(&self, guest: &str, hook: Hook, phase: Phase, _: Duration, fuel: u64) {
        let mut c = self.counts();
        *c.calls
            .entry((guest.to_owned(), hook.name(), phase))
            .or_default() += 1;
        *c.fuel.entry(guest.to_owned()).or_default() += fuel;
    }

    fn failure(&self, guest: &str, hook: Hook, phase: Phase, cause: &'static str) {
        *self
            .counts()
            .failures
            .entry((guest.to_owned(), hook.name(), phase, cause))
            .or_default() += 1;
    }

    fn instances(&self, guest: &str, delta: i64) {
        *self.counts().instances.entry(guest.to_owned()).or_default() += delta;
    }
}

/// Identity of a workflow run, as guests see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkflowInfo {
    /// Namespace.
    pub namespace: String,
    /// Workflow id.
    pub workflow_id: String,
    /// Run id: also seeds the guest's deterministic random stream.
    pub run_id: String,
    /// Workflow type.
    pub workflow_type: String,
    /// Task queue.
    pub task_queue: String,
}

impl WorkflowInfo {
    /// Info with the given ids.
    pub fn new(
        namespace: impl Into<String>,
        workflow_id: impl Into<String>,
        run_id: impl Into<String>,
        workflow_type: impl Into<String>,
        task_queue: impl Into<String>,
    ) -> WorkflowInfo {
        WorkflowInfo {
            namespace: namespace.into(),
            workflow_id: workflow_id.into(),
            run_id: run_id.into(),
            workflow_type: workflow_type.into(),
            task_queue: task_queue.into(),
        }
    }
}

/// The workflow run a workflow guest instance belongs to. Implemented by the Temporal
/// adapter over the SDK's workflow context; everything here must be replay-safe.
pub trait WorkflowHost: Send + Sync + 'static {
    /// Identity of the run.
    fn info(&self) -> WorkflowInfo;
    /// Workflow time, nanoseconds since the Unix epoch.
    fn now_nanos(&self) -> u64;
    /// Whether the workflow is replaying history now.
    fn is_replaying(&self) -> bool;
    /// Number of history events so far.
    fn history_length(&self) -> u32;
}

/// A fixed workflow context (tests, the chain demo): time and replay flag set by hand.
#[derive(Debug)]
pub struct FixedWorkflow {
    info: WorkflowInfo,
    now: std::sync::atomic::AtomicU64,
    replaying: std::sync::atomic::AtomicBool,
}

impl FixedWorkflow {
    /// A run at `now_nanos`, not replaying.
    pub fn new(info: WorkflowInfo, now_nanos: u64) -> Arc<FixedWorkflow> {
        Arc::new(FixedWorkflow {
            info,
            now: now_nanos.into(),
            replaying: false.into(),
        })
    }

    /// Set workflow time.
    pub fn set_now(&self, nanos: u64) {
        self.now.store(nanos, std::sync::atomic::Ordering::SeqCst);
    }

    /// Set the replay flag.
    pub fn set_replaying(&self, replaying: bool) {
        self.replaying
            .store(replaying, std::sync::atomic::Ordering::SeqCst);
    }
}

impl WorkflowHost for FixedWorkflow {
    fn info(&self) -> WorkflowInfo {
        self.info.clone()
    }
    fn now_nanos(&self) -> u64 {
        self.now.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn is_replaying(&self) -> bool {
        self.replaying.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn history_length(&self) -> u32 {
        0
    }
}

/// Identity and timing of an activity attempt. A plain record that adapters fill in:
/// construct it with `ActivityInfo { .., ..Default::default() }`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivityInfo {
    /// Activity id.
    pub activity_id: String,
    /// Activity type.
    pub activity_type: String,
    /// Namespace.
    pub namespace: String,
    /// Task queue.
    pub task_queue: String,
    /// Scheduling workflow's id.
    pub workflow_id: String,
    /// Scheduling workflow's run id.
    pub workflow_run_id: String,
    /// Scheduling workflow's type.
    pub workflow_type: String,
    /// Attempt, from 1.
    pub attempt: u32,
    /// Local activity.
    pub is_local: bool,
    /// First scheduled, ns since the Unix epoch.
    pub scheduled_time: u64,
    /// Current attempt scheduled, ns since the Unix epoch.
    pub current_attempt_scheduled_time: u64,
    /// Current attempt started, ns since the Unix epoch.
    pub started_time: u64,
}

/// The activity attempt an activity guest runs in. Implemented by the Temporal adapter.
pub trait ActivityHost: Send + Sync + 'static {
    /// Identity and timing.
    fn info(&self) -> ActivityInfo;
    /// Record a heartbeat.
    fn heartbeat(&self, details: Vec<Payload>);
}

/// A fixed activity context that records heartbeats (tests, the chain demo).
#[derive(Debug, Default)]
pub struct FixedActivity {
    info: ActivityInfo,
    heartbeats: Mutex<Vec<Vec<Payload>>>,
}

impl FixedActivity {
    /// An attempt with this info.
    pub fn new(info: ActivityInfo) -> Arc<FixedActivity> {
        Arc::new(FixedActivity {
            info,
            heartbeats: Mutex::default(),
        })
    }

    /// Heartbeats recorded so far.
    pub fn heartbeats(&self) -> Vec<Vec<Payload>> {
        self.heartbeats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl ActivityHost for FixedActivity {
    fn info(&self) -> ActivityInfo {
        self.info.clone()
    }
    fn heartbeat(&self, details: Vec<Payload>) {
        self.heartbeats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(details);
    }
}

/// Where a chain session runs: decides which context imports work and what clocks and
/// random streams a guest sees.
#[derive(Clone)]
#[non_exhaustive]
pub enum Scope {
    /// A client call (not replayed).
    Client,
    /// A workflow run: one instance per guest for the whole run.
    Workflow(Arc<dyn WorkflowHost>),
    /// An activity attempt.
    Activity(Arc<dyn ActivityHost>),
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Client => f.write_str("Client"),
            Scope::Workflow(w) => write!(f, "Workflow({})", w.info().run_id),
            Scope::Activity(a) => write!(f, "Activity({})", a.info().activity_id),
        }
    }
}

/// One log line emitted by a guest.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogLine {
    /// The guest.
    pub guest: String,
    /// The hook it ran in; `None` outside any hook (at instantiation, or while the guest
    /// declared its interests at load).
    pub hook: Option<crate::model::Hook>,
    /// Severity.
    pub level: tracing::Level,
    /// The message.
    pub message: String,
}

/// Where guest log lines go (`log` import, and WASI stdout/stderr lines). Lines from
/// replaying workflow hooks never reach a sink.
pub trait LogSink: Send + Sync + 'static {
    /// Whether a line at `level` would be kept.
    fn enabled(&self, level: tracing::Level) -> bool;
    /// Emit one line; `hook` is `None` outside any hook (at instantiation, or while the
    /// guest declared its interests at load).
    fn log(
        &self,
        guest: &str,
        hook: Option<crate::model::Hook>,
        level: tracing::Level,
        message: &str,
    );
}

/// The default sink: `tracing` events with target `interpose::guest` and the fields
/// `guest` and `hook`.
#[derive(Debug, Default)]
pub struct TracingLogs;

impl LogSink for TracingLogs {
    fn enabled(&self, level: tracing::Level) -> bool {
        match level {
            tracing::Level::TRACE => {
                tracing::enabled!(target: "interpose::guest", tracing::Level::TRACE)
            }
            tracing::Level::DEBUG => {
                tracing::enabled!(target: "interpose::guest", tracing::Level::DEBUG)
            }
            tracing::Level::INFO => {
                tracing::enabled!(target: "interpose::guest", tracing::Level::INFO)
            }
            tracing::Level::WARN => {
                tracing::enabled!(target: "interpose::guest", tracing::Level::WARN)
            }
            _ => tracing::enabled!(target: "interpose::guest", tracing::Level::ERROR),
        }
    }

    fn log(
        &self,
        guest: &str,
        hook: Option<crate::model::Hook>,
        level: tracing::Level,
        message: &str,
    ) {
        let hook = hook.map_or("(outside any hook)", crate::model::Hook::name);
        match level {
            tracing::Level::TRACE => {
                tracing::trace!(target: "interpose::guest", guest, hook, "{message}")
            }
            tracing::Level::DEBUG => {
                tracing::debug!(target: "interpose::guest", guest, hook, "{message}")
            }
            tracing::Level::INFO => {
                tracing::info!(target: "interpose::guest", guest, hook, "{message}")
            }
            tracing::Level::WARN => {
                tracing::warn!(target: "interpose::guest", guest, hook, "{message}")
            }
            _ => tracing::error!(target: "interpose::guest", guest, hook, "{message}"),
        }
    }
}

/// A sink that keeps lines in memory (tests, the chain demo) and forwards them to
/// [`TracingLogs`].
#[derive(Debug, Default)]
pub struct MemoryLogs {
    lines: Mutex<Vec<LogLine>>,
}

impl MemoryLogs {
    /// All lines so far.
    pub fn lines(&self) -> Vec<LogLine> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl LogSink for MemoryLogs {
    fn enabled(&self, _: tracing::Level) -> bool {
        true
    }

    fn log(
        &self,
        guest: &str,
        hook: Option<crate::model::Hook>,
        level: tracing::Level,
        message: &str,
    ) {
        TracingLogs.log(guest, hook, level, message);
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(LogLine {
                guest: guest.to_owned(),
                hook,
                level,
                message: message.to_owned(),
            });
    }
}

/// Sees every guest call a chain makes: for traces such as the demo's. Called only when a
/// chain has an observer (see [`crate::Chain::with_observer`]), so it costs nothing otherwise.
pub trait HopObserver: Send + Sync + 'static {
    /// One guest call: which guest, hook and phase, and a one-line summary of what it did
    /// (its decision and the headers it added, changed or removed).
    fn hop(&self, guest: &str, hook: crate::model::Hook, phase: crate::model::Phase, summary: &str);
}

/// What a span stands for (OpenTelemetry's span kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpanKind {
    /// An operation inside the process.
    Internal,
    /// Handling a request.
    Server,
    /// Sending a request.
    Client,
    /// Sending a message.
    Producer,
    /// Receiving a message.
    Consumer,
}

/// A span's status (OpenTelemetry's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpanStatus {
    /// Not set.
    Unset,
    /// Succeeded.
    Ok,
    /// Failed.
    Error,
}

/// An event of a span.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpanEvent {
    /// Name.
    pub name: String,
    /// When, ns since the Unix epoch (workflow time in workflow hooks).
    pub time_nanos: u64,
    /// Attributes.
    pub attributes: Vec<(String, String)>,
}

impl SpanEvent {
    /// An event.
    pub fn new(name: String, time_nanos: u64, attributes: Vec<(String, String)>) -> SpanEvent {
        SpanEvent {
            name,
            time_nanos,
            attributes,
        }
    }
}

/// A span a guest ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FinishedSpan {
    /// The guest that made it.
    pub guest: String,
    /// The hook it was ended in.
    pub hook: Option<Hook>,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: SpanKind,
    /// Trace id.
    pub trace_id: [u8; 16],
    /// Span id.
    pub span_id: [u8; 8],
    /// The parent span's id, if it has one.
    pub parent_span_id: Option<[u8; 8]>,
    /// Whether the parent came from a header (another process, or another hook).
    pub parent_is_remote: bool,
    /// The W3C `sampled` flag: inherited from the parent (an unsampled incoming trace
    /// stays unsampled), set on a span that starts a trace. A sink should not record an
    /// unsampled span; `interpose::otel::OtelTraces` leaves that to the provider's sampler
    /// (the default, parent-based, drops it).
    pub sampled: bool,
    /// Start, ns since the Unix epoch.
    pub start_nanos: u64,
    /// End, ns since the Unix epoch.
    pub end_nanos: u64,
    /// Attributes.
    pub attributes: Vec<(String, String)>,
    /// Events.
    pub events: Vec<SpanEvent>,
    /// Status.
    pub status: SpanStatus,
    /// Status description (for errors).
    pub status_description: String,
    /// Whether the times are workflow time (a workflow hook's span).
    pub workflow_time: bool,
}

impl FinishedSpan {
    /// The trace id, 32 hex digits.
    pub fn trace_id_hex(&self) -> String {
        hex::encode(self.trace_id)
    }

    /// The span id, 16 hex digits.
    pub fn span_id_hex(&self) -> String {
        hex::encode(self.span_id)
    }

    /// The parent span id, 16 hex digits.
    pub fn parent_span_id_hex(&self) -> Option<String> {
        self.parent_span_id.map(hex::encode)
    }
}

/// Where the spans guests end go. Spans ended while a workflow replays go to
/// [`TraceSink::replayed`], never to [`TraceSink::export`].
pub trait TraceSink: Send + Sync + 'static {
    /// Export one span.
    fn export(&self, span: FinishedSpan);

    /// A span ended while its workflow replayed: not exported (it was, when that part of
    /// the run was live). For diagnostics and tests; does nothing by default.
    fn replayed(&self, span: FinishedSpan) {
        let _ = span;
    }
}

/// A sink that drops every span.
#[derive(Debug, Default)]
pub struct NoTraces;

impl TraceSink for NoTraces {
    fn export(&self, _: FinishedSpan) {}
}

/// A sink that keeps spans in memory (tests, the chain demo).
#[derive(Debug, Default)]
pub struct MemoryTraces {
    exported: Mutex<Vec<FinishedSpan>>,
    replayed: Mutex<Vec<FinishedSpan>>,
}

impl MemoryTraces {
    /// Spans exported so far, in end order.
    pub fn spans(&self) -> Vec<FinishedSpan> {
        self.exported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Spans ended in replay (not exported), in end order.
    pub fn replayed_spans(&self) -> Vec<FinishedSpan> {
        self.replayed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl TraceSink for MemoryTraces {
    fn export(&self, span: FinishedSpan) {
        self.exported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(span);
    }

    fn replayed(&self, span: FinishedSpan) {
        self.replayed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(span);
    }
}
