//! `interpose._native`: Interpose's runtime and chain for the Temporal Python SDK.
//!
//! The Python package (`python/interpose/`) adapts the SDK's interceptor classes; this
//! module loads a config exactly as the Rust host does (every guest compiled, validated and
//! asked for its interests before anything is registered) and runs a hook's `before` and
//! `after` through the chain. A call crosses as plain Python values: the hook's WIT name,
//! its detail as a dict of the WIT record's fields (snake case), headers as
//! `(key, (metadata, data))` pairs with `metadata` a list of `(key, bytes)`.

use std::path::PathBuf;
use std::sync::Arc;

use interpose::chain::{
    ActivitySchedule, ActivityStart, ActivityTarget, AsyncActivity, AsyncActivityId, Before,
    BuildIdQuery, Call, CallDetail, ChildStart, ContinueAsNewOptions, Entered, Failure, Handler,
    Hook, NexusOperationStart, NexusOperationTarget, NexusStart, OutboundSignal, Outcome, Payload,
    ScheduleTarget, Session, UpdateTarget, VisibilityQuery, WorkflowMessage, WorkflowStart,
    WorkflowStartWithMessage, WorkflowTarget,
};
use interpose::model::Phase;
use interpose::services::{
    ActivityInfo, FinishedSpan, FixedActivity, FixedWorkflow, LogSink, MetricKind, MetricSample,
    MetricsSink, NoMetrics, NoTraces, Scope, SpanKind, SpanStatus, TraceSink, WorkflowInfo,
};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

create_exception!(
    _native,
    InterposeError,
    PyException,
    "A config or a guest Interpose refuses to load: the message names the file, the guest \
     and why."
);
create_exception!(
    _native,
    GuestError,
    PyException,
    "A guest failed in a hook: the message names the guest, the hook, the phase and the cause."
);

/// A payload as it crosses: (metadata pairs, data).
type PyPayload = (Vec<(String, Vec<u8>)>, Vec<u8>);

fn payload_in((metadata, data): PyPayload) -> Payload {
    Payload { metadata, data }
}

fn payload_out<'py>(py: Python<'py>, p: &Payload) -> PyResult<Bound<'py, PyTuple>> {
    let metadata: Vec<Bound<'py, PyTuple>> = p
        .metadata
        .iter()
        .map(|(k, v)| {
            PyTuple::new(
                py,
                [
                    k.into_pyobject(py)?.into_any(),
                    PyBytes::new(py, v).into_any(),
                ],
            )
        })
        .collect::<PyResult<_>>()?;
    PyTuple::new(
        py,
        [
            metadata.into_pyobject(py)?.into_any(),
            PyBytes::new(py, &p.data).into_any(),
        ],
    )
}

/// A call's headers as they cross: `(key, (metadata, data))` pairs.
fn headers_out<'py>(py: Python<'py>, call: &Call) -> PyResult<Vec<(String, Bound<'py, PyTuple>)>> {
    call.headers()
        .iter()
        .map(|(k, p)| Ok((k.clone(), payload_out(py, p)?)))
        .collect()
}

/// A call's arguments as they cross, `None` where the hook has none.
fn args_out<'py>(py: Python<'py>, call: &Call) -> PyResult<Option<Vec<Bound<'py, PyTuple>>>> {
    call.args()
        .map(|a| a.iter().map(|p| payload_out(py, p)).collect())
        .transpose()
}

fn failure_out<'py>(py: Python<'py>, f: &Failure) -> PyResult<Bound<'py, PyTuple>> {
    (f.message.clone(), f.error_type.clone(), f.non_retryable).into_pyobject(py)
}

fn field(detail: &Bound<'_, PyDict>, key: &str) -> PyResult<String> {
    match detail.get_item(key)? {
        Some(v) if !v.is_none() => v.extract(),
        _ => Ok(String::new()),
    }
}

fn target(d: &Bound<'_, PyDict>) -> PyResult<WorkflowTarget> {
    Ok(WorkflowTarget {
        workflow_id: field(d, "workflow_id")?,
        run_id: field(d, "run_id")?,
    })
}

fn start(d: &Bound<'_, PyDict>) -> PyResult<WorkflowStart> {
    Ok(WorkflowStart {
        workflow_id: field(d, "workflow_id")?,
        workflow_type: field(d, "workflow_type")?,
        task_queue: field(d, "task_queue")?,
    })
}

/// The detail of a client hook from the adapter's dict (flat: the fields of the record and
/// of the records inside it).
fn client_detail(hook: Hook, d: &Bound<'_, PyDict>) -> PyResult<CallDetail> {
    use CallDetail as D;
    let message = || -> PyResult<WorkflowMessage> {
        Ok(WorkflowMessage {
            target: target(d)?,
            name: field(d, "name")?,
        })
    };
    let with_message = || -> PyResult<WorkflowStartWithMessage> {
        Ok(WorkflowStartWithMessage {
            start: start(d)?,
            name: field(d, "name")?,
        })
    };
    let query = || -> PyResult<VisibilityQuery> {
        Ok(VisibilityQuery {
            query: field(d, "query")?,
        })
    };
    let schedule = || -> PyResult<ScheduleTarget> {
        Ok(ScheduleTarget {
            schedule_id: field(d, "schedule_id")?,
        })
    };
    // By task token when the adapter passes one (bytes), else by ids.
    let activity = || -> PyResult<AsyncActivity> {
        Ok(match d.get_item("task_token")? {
            Some(t) if !t.is_none() => AsyncActivity::TaskToken(t.extract()?),
            _ => AsyncActivity::ById(AsyncActivityId {
                workflow_id: field(d, "workflow_id")?,
                run_id: field(d, "run_id")?,
                activity_id: field(d, "activity_id")?,
            }),
        })
    };
    let standalone = || -> PyResult<ActivityTarget> {
        Ok(ActivityTarget {
            activity_id: field(d, "activity_id")?,
            run_id: field(d, "run_id")?,
        })
    };
    let operation = || -> PyResult<NexusOperationTarget> {
        Ok(NexusOperationTarget {
            operation_id: field(d, "operation_id")?,
            run_id: field(d, "run_id")?,
        })
    };
    let strings = |key: &str| -> PyResult<Vec<String>> {
        match d.get_item(key)? {
            Some(v) if !v.is_none() => v.extract(),
            _ => Ok(Vec::new()),
        }
    };
    let build_ids = || -> PyResult<BuildIdQuery> {
        Ok(BuildIdQuery {
            task_queues: strings("task_queues")?,
            build_ids: strings("build_ids")?,
        })
    };
    Ok(match hook {
        Hook::StartWorkflow => D::StartWorkflow(start(d)?),
        Hook::SignalWithStartWorkflow => D::SignalWithStartWorkflow(with_message()?),
        Hook::UpdateWithStartWorkflow => D::UpdateWithStartWorkflow(with_message()?),
        Hook::SignalWorkflow => D::SignalWorkflow(message()?),
        Hook::QueryWorkflow => D::QueryWorkflow(message()?),
        Hook::StartWorkflowUpdate => D::StartWorkflowUpdate(message()?),
        Hook::PollWorkflowUpdate => D::PollWorkflowUpdate(UpdateTarget {
            target: target(d)?,
            update_id: field(d, "update_id")?,
        }),
        Hook::CancelWorkflow => D::CancelWorkflow(target(d)?),
        Hook::TerminateWorkflow => D::TerminateWorkflow(target(d)?),
        Hook::DescribeWorkflow => D::DescribeWorkflow(target(d)?),
        Hook::FetchWorkflowHistory => D::FetchWorkflowHistory(target(d)?),
        Hook::ListWorkflows => D::ListWorkflows(query()?),
        Hook::CountWorkflows => D::CountWorkflows(query()?),
        Hook::ListSchedules => D::ListSchedules(query()?),
        Hook::CreateSchedule => D::CreateSchedule(schedule()?),
        Hook::DescribeSchedule => D::DescribeSchedule(schedule()?),
        Hook::UpdateSchedule => D::UpdateSchedule(schedule()?),
        Hook::DeleteSchedule => D::DeleteSchedule(schedule()?),
        Hook::PauseSchedule => D::PauseSchedule(schedule()?),
        Hook::UnpauseSchedule => D::UnpauseSchedule(schedule()?),
        Hook::TriggerSchedule => D::TriggerSchedule(schedule()?),
        Hook::BackfillSchedule => D::BackfillSchedule(schedule()?),
        Hook::CompleteAsyncActivity => D::CompleteAsyncActivity(activity()?),
        Hook::FailAsyncActivity => D::FailAsyncActivity(activity()?),
        Hook::ReportAsyncActivityCancellation => D::ReportAsyncActivityCancellation(activity()?),
        Hook::HeartbeatAsyncActivity => D::HeartbeatAsyncActivity(activity()?),
        Hook::StartActivity => D::StartActivity(ActivityStart {
            activity_id: field(d, "activity_id")?,
            activity_type: field(d, "activity_type")?,
            task_queue: field(d, "task_queue")?,
        }),
        Hook::CancelActivity => D::CancelActivity(standalone()?),
        Hook::TerminateActivity => D::TerminateActivity(standalone()?),
        Hook::PauseActivity => D::PauseActivity(standalone()?),
        Hook::UnpauseActivity => D::UnpauseActivity(standalone()?),
        Hook::UpdateActivityOptions => D::UpdateActivityOptions(standalone()?),
        Hook::DescribeActivity => D::DescribeActivity(standalone()?),
        Hook::ListActivities => D::ListActivities(query()?),
        Hook::CountActivities => D::CountActivities(query()?),
        Hook::StartStandaloneNexusOperation => {
            D::StartStandaloneNexusOperation(NexusOperationStart {
                operation_id: field(d, "operation_id")?,
                endpoint: field(d, "endpoint")?,
                service: field(d, "service")?,
                operation: field(d, "operation")?,
            })
        }
        Hook::DescribeNexusOperation => D::DescribeNexusOperation(operation()?),
        Hook::GetNexusOperationResult => D::GetNexusOperationResult(operation()?),
        Hook::CancelNexusOperation => D::CancelNexusOperation(operation()?),
        Hook::TerminateNexusOperation => D::TerminateNexusOperation(operation()?),
        Hook::ListNexusOperations => D::ListNexusOperations(query()?),
        Hook::CountNexusOperations => D::CountNexusOperations(query()?),
        Hook::UpdateWorkerBuildIdCompatibility => D::UpdateWorkerBuildIdCompatibility(build_ids()?),
        Hook::GetWorkerBuildIdCompatibility => D::GetWorkerBuildIdCompatibility(build_ids()?),
        Hook::GetWorkerTaskReachability => D::GetWorkerTaskReachability(build_ids()?),
        other => {
            return Err(InterposeError::new_err(format!(
                "hook `{other}` is not a client hook the Python adapter runs"
            )));
        }
    })
}

/// The detail as the adapter's flat dict (editable fields are read back from it).
fn detail_out<'py>(py: Python<'py>, detail: &CallDetail) -> PyResult<Bound<'py, PyDict>> {
    use CallDetail as D;
    let d = PyDict::new(py);
    let put_target = |t: &WorkflowTarget| -> PyResult<()> {
        d.set_item("workflow_id", &t.workflow_id)?;
        d.set_item("run_id", &t.run_id)
    };
    let put_start = |s: &WorkflowStart| -> PyResult<()> {
        d.set_item("workflow_id", &s.workflow_id)?;
        d.set_item("workflow_type", &s.workflow_type)?;
        d.set_item("task_queue", &s.task_queue)
    };
    match detail {
        D::StartWorkflow(s) => put_start(s)?,
        D::SignalWithStartWorkflow(m) | D::UpdateWithStartWorkflow(m) => {
            put_start(&m.start)?;
            d.set_item("name", &m.name)?;
        }
        D::SignalWorkflow(m) | D::QueryWorkflow(m) | D::StartWorkflowUpdate(m) => {
            put_target(&m.target)?;
            d.set_item("name", &m.name)?;
        }
        D::PollWorkflowUpdate(u) => {
            put_target(&u.target)?;
            d.set_item("update_id", &u.update_id)?;
        }
        D::CancelWorkflow(t)
        | D::TerminateWorkflow(t)
        | D::DescribeWorkflow(t)
        | D::FetchWorkflowHistory(t) => put_target(t)?,
        D::ListWorkflows(q)
        | D::CountWorkflows(q)
        | D::ListSchedules(q)
        | D::ListActivities(q)
        | D::CountActivities(q)
        | D::ListNexusOperations(q)
        | D::CountNexusOperations(q) => {
            d.set_item("query", &q.query)?;
        }
        D::StartActivity(a) => {
            d.set_item("activity_id", &a.activity_id)?;
            d.set_item("activity_type", &a.activity_type)?;
            d.set_item("task_queue", &a.task_queue)?;
        }
        D::StartStandaloneNexusOperation(n) => {
            d.set_item("operation_id", &n.operation_id)?;
            d.set_item("endpoint", &n.endpoint)?;
            d.set_item("service", &n.service)?;
            d.set_item("operation", &n.operation)?;
        }
        _ => {}
    }
    Ok(d)
}

/// Guest log lines into Python `logging`, logger `interpose`, as `[<guest>] <hook>: <line>`
/// (what the Rust host's default sink puts in `tracing` fields). Lines from replaying
/// workflow hooks never get here.
struct PythonLogs {
    /// Logger `interpose`, looked up once at load.
    logger: Py<PyAny>,
}

impl LogSink for PythonLogs {
    fn enabled(&self, level: tracing::Level) -> bool {
        Python::attach(|py| {
            self.logger
                .call_method1(py, "isEnabledFor", (python_level(level),))
                .and_then(|on| on.is_truthy(py))
                .unwrap_or(true)
        })
    }

    fn log(&self, guest: &str, hook: Option<Hook>, level: tracing::Level, message: &str) {
        // A guest's line is one line, read as written: control characters, line breaks other
        // than none and the invisible format characters (bidi overrides, zero-width ones)
        // are escaped, so that no guest can forge a line that seems to come from another
        // guest or hook.
        let hidden = |c: char| {
            c.is_control()
                || (c.is_whitespace() && c != ' ')
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
        };
        let message: String = message
            .chars()
            .flat_map(|c| {
                let escaped = hidden(c).then(|| c.escape_default());
                escaped
                    .into_iter()
                    .flatten()
                    .chain((!hidden(c)).then_some(c))
            })
            .collect();
        let line = match hook {
            Some(h) => format!("[{guest}] {h}: {message}"),
            None => format!("[{guest}] {message}"),
        };
        Python::attach(|py| {
            let logged = self
                .logger
                .call_method1(py, "log", (python_level(level), line));
            if let Err(e) = logged {
                e.write_unraisable(py, None);
            }
        });
    }
}

fn python_level(level: tracing::Level) -> u8 {
    match level {
        tracing::Level::ERROR => 40,
        tracing::Level::WARN => 30,
        tracing::Level::INFO => 20,
        tracing::Level::DEBUG => 10,
        _ => 5,
    }
}

/// Guest metrics and the host's operator metrics (failures by cause, live instances) into a
/// Python object (the package's `_Meter`, over the SDK's metric meter): `record(kind, name,
/// value, unit, attributes, guest)`, `failure(guest, hook, phase, cause)`, `instances(guest,
/// live)`. Samples from replaying workflow hooks never get here. An error in the Python
/// object goes to `sys.unraisablehook` and the sample is dropped: metrics never fail a call.
struct PythonMetrics {
    meter: Py<PyAny>,
    /// Live instances per guest: kept here, under a lock no Python code runs under, so the
    /// meter only sets a gauge (a delta applied in Python could be re-entered by a drop the
    /// garbage collector triggers on the same thread).
    live: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl PythonMetrics {
    fn call<A>(&self, method: &str, args: A)
    where
        A: for<'py> pyo3::call::PyCallArgs<'py>,
    {
        Python::attach(|py| {
            if let Err(e) = self.meter.call_method1(py, method, args) {
                e.write_unraisable(py, None);
            }
        });
    }
}

impl MetricsSink for PythonMetrics {
    fn record(&self, s: MetricSample) {
        let kind = match s.kind {
            MetricKind::Counter => "counter",
            MetricKind::Histogram => "histogram",
            MetricKind::Gauge => "gauge",
            _ => return,
        };
        self.call(
            "record",
            (kind, s.name, s.value, s.unit, s.attributes, s.guest),
        );
    }

    fn failure(&self, guest: &str, hook: Hook, phase: Phase, cause: &'static str) {
        self.call("failure", (guest, hook.name(), phase.name(), cause));
    }

    fn instances(&self, guest: &str, delta: i64) {
        let live = {
            let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            let n = live.entry(guest.to_owned()).or_default();
            *n = n.saturating_add(delta);
            (*n).max(0)
        };
        self.call("instances", (guest, live));
    }
}

/// Spans the queue holds between two flushes, at most per guest and in all: one guest
/// cannot crowd out another's (a guest can end about 16,000 small spans in one call within
/// the default output limit); beyond them spans are dropped and counted by guest.
const GUEST_SPANS: usize = 1024;
const ALL_SPANS: usize = 8192;

/// Guest spans into a Python object (the package's `_Spans`, over an OpenTelemetry tracer
/// provider): `enqueue(spans, dropped)`, `dropped` the count of spans dropped per guest. A
/// guest ends a span inside its call, with no GIL held; the span waits here and is handed
/// over when the native call that ran the guest returns (`flush`), so no Python code runs
/// inside a guest call and eats its deadline (the package exports on a thread of its own).
/// Spans from replaying workflow hooks never get here.
struct PythonTraces {
    exporter: Py<PyAny>,
    queue: std::sync::Mutex<SpanQueue>,
}

#[derive(Default)]
struct SpanQueue {
    spans: Vec<FinishedSpan>,
    /// Queued spans per guest.
    queued: std::collections::HashMap<String, usize>,
    /// Dropped spans per guest.
    dropped: std::collections::HashMap<String, u64>,
}

impl TraceSink for PythonTraces {
    fn export(&self, span: FinishedSpan) {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let mine = q.queued.get(&span.guest).copied().unwrap_or(0);
        if mine < GUEST_SPANS && q.spans.len() < ALL_SPANS {
            *q.queued.entry(span.guest.clone()).or_default() += 1;
            q.spans.push(span);
        } else {
            let n = q.dropped.entry(span.guest).or_default();
            *n = n.saturating_add(1);
        }
    }
}

/// A span as it crosses: `(guest, hook, name, kind, trace_id, span_id, parent_span_id,
/// parent_is_remote, sampled, start_ns, end_ns, attributes, events, status, description)`,
/// ids as big-endian bytes, events as `(name, time_ns, attributes)`.
fn span_out<'py>(py: Python<'py>, s: &FinishedSpan) -> PyResult<Bound<'py, PyTuple>> {
    let kind = match s.kind {
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        _ => "internal",
    };
    let status = match s.status {
        SpanStatus::Ok => "ok",
        SpanStatus::Error => "error",
        _ => "unset",
    };
    let events: Vec<Bound<'py, PyTuple>> = s
        .events
        .iter()
        .map(|e| (&e.name, e.time_nanos, &e.attributes).into_pyobject(py))
        .collect::<PyResult<_>>()?;
    let head = (
        &s.guest,
        s.hook.map(|h| h.name()),
        &s.name,
        kind,
        PyBytes::new(py, &s.trace_id),
        PyBytes::new(py, &s.span_id),
        s.parent_span_id.map(|p| PyBytes::new(py, &p)),
        s.parent_is_remote,
    );
    let tail = (
        s.sampled,
        s.start_nanos,
        s.end_nanos,
        &s.attributes,
        events,
        status,
        &s.status_description,
    );
    let (head, tail) = (head.into_pyobject(py)?, tail.into_pyobject(py)?);
    let all: Vec<Bound<'py, PyAny>> = head.iter().chain(tail.iter()).collect();
    PyTuple::new(py, all)
}

/// The chain's span queue, if spans go to Python; shared by every call made from it.
type Spans = Option<Arc<PythonTraces>>;

/// Hand the queued spans to Python. Called, with the GIL, when a native call that ran
/// guests returns (whatever its result). An error of the Python object goes to
/// `sys.unraisablehook`, except one that is not an `Exception` (an interrupt, the SDK's
/// deadlock interruption of a workflow thread), which the native call raises.
fn flush(py: Python<'_>, spans: &Spans) -> PyResult<()> {
    let Some(t) = spans else { return Ok(()) };
    let q = std::mem::take(&mut *t.queue.lock().unwrap_or_else(|p| p.into_inner()));
    if q.spans.is_empty() && q.dropped.is_empty() {
        return Ok(());
    }
    let handed = q
        .spans
        .iter()
        .map(|s| span_out(py, s))
        .collect::<PyResult<Vec<_>>>()
        .and_then(|rows| t.exporter.call_method1(py, "enqueue", (rows, q.dropped)));
    match handed {
        Ok(_) => Ok(()),
        Err(e) if e.is_instance_of::<PyException>(py) => {
            e.write_unraisable(py, None);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The outcome `after` sees: the guest's decision when the call was `done`, else the real
/// call's (an error with its type and retryability, or payloads).
fn seen_outcome(
    done: Option<Outcome>,
    payloads: Option<Vec<PyPayload>>,
    error: Option<String>,
    error_type: String,
    non_retryable: bool,
) -> Outcome {
    match (done, error) {
        (Some(o), _) => o,
        (None, Some(message)) => {
            let mut f = Failure::new(message);
            f.error_type = error_type;
            f.non_retryable = non_retryable;
            Outcome::Err(f)
        }
        (None, None) => Outcome::Ok(
            payloads
                .unwrap_or_default()
                .into_iter()
                .map(payload_in)
                .collect(),
        ),
    }
}

/// A call for `detail` with `args` and the adapter's headers.
fn call_with(
    detail: CallDetail,
    args: Option<Vec<Payload>>,
    headers: Vec<(String, PyPayload)>,
) -> Call {
    let mut call = Call::for_operation(detail, args);
    *call.headers_mut() = headers
        .into_iter()
        .map(|(k, p)| (k, payload_in(p)))
        .collect();
    call
}

/// `before` of `call` in `session`: the guests that entered, and the outcome when a guest
/// decided (the real call must not run).
fn before_in(session: &mut Session, call: &mut Call) -> PyResult<(Entered, Option<Outcome>)> {
    Ok(match session.before(call).map_err(guest_error)? {
        Before::Proceed(entered) => (entered, None),
        Before::Done(entered, outcome) => (entered, Some(outcome)),
    })
}

fn session_decider(session: &Session) -> Option<String> {
    session.decided_by().map(str::to_owned)
}

fn guest_error(e: interpose::GuestError) -> PyErr {
    GuestError::new_err(e.to_string())
}

/// A loaded config: the chain every adapter of the package runs.
#[pyclass(frozen, module = "interpose._native")]
struct Chain {
    interpose: interpose::temporal::Interpose,
    spans: Spans,
}

/// Load `path` (an `interpose.toml`): every guest compiled, validated and asked for its
/// interests, exactly as the Rust host does. Metrics go to `metrics` (see `PythonMetrics`),
/// spans to `spans` (see `PythonTraces`), or nowhere. Raises `InterposeError` naming what is
/// wrong.
#[pyfunction]
#[pyo3(signature = (path, metrics=None, spans=None))]
fn load(
    py: Python<'_>,
    path: PathBuf,
    metrics: Option<Py<PyAny>>,
    spans: Option<Py<PyAny>>,
) -> PyResult<Chain> {
    let sink: Arc<dyn MetricsSink> = match metrics {
        Some(meter) => Arc::new(PythonMetrics {
            meter,
            live: Default::default(),
        }),
        None => Arc::new(NoMetrics),
    };
    let logs = Arc::new(PythonLogs {
        logger: py
            .import("logging")?
            .call_method1("getLogger", ("interpose",))?
            .unbind(),
    });
    let spans: Spans = spans.map(|exporter| {
        Arc::new(PythonTraces {
            exporter,
            queue: Default::default(),
        })
    });
    let traces: Arc<dyn TraceSink> = match &spans {
        Some(t) => t.clone(),
        None => Arc::new(NoTraces),
    };
    py.detach(|| interpose::temporal::Interpose::load_with_sinks(&path, sink, logs, traces))
        .map(|interpose| Chain { interpose, spans })
        .map_err(|e| {
            let message = e.to_string();
            let shown = path.display().to_string();
            // Name the config unless the error already does.
            InterposeError::new_err(if message.contains(&shown) {
                message
            } else {
                format!("{shown}: {message}")
            })
        })
}

fn hook_named(name: &str) -> PyResult<Hook> {
    Hook::from_name(name).ok_or_else(|| InterposeError::new_err(format!("no hook `{name}`")))
}

#[pymethods]
impl Chain {
    /// Every hook some guest declared, by WIT name.
    fn declared(&self) -> Vec<&'static str> {
        Hook::ALL
            .iter()
            .filter(|h| self.interpose.chain().wants(**h))
            .map(|h| h.name())
            .collect()
    }

    /// Whether any guest declared `hook` (by WIT name): the adapters skip the chain when
    /// none did.
    fn wants(&self, hook: &str) -> PyResult<bool> {
        Ok(self.interpose.chain().wants(hook_named(hook)?))
    }

    /// The chain's fingerprint (guests, hashes, limits, config).
    #[getter]
    fn fingerprint(&self) -> String {
        self.interpose.fingerprint().to_owned()
    }

    /// Run `before` of client hook `hook` on a call with `detail` and `headers`. The
    /// returned call holds the guests' edits and decision; run the real call unless it is
    /// `done`, then `after`.
    fn client_before(
        &self,
        py: Python<'_>,
        hook: &str,
        detail: &Bound<'_, PyDict>,
        headers: Vec<(String, PyPayload)>,
    ) -> PyResult<PendingCall> {
        let hook = hook_named(hook)?;
        let mut call = call_with(client_detail(hook, detail)?, None, headers);
        let mut session = self.interpose.chain().session(Scope::Client);
        // Guests run without the GIL: other Python threads (workflow activations, the event
        // loop) go on meanwhile; the sinks take it back for a log line or a sample.
        let ran = py.detach(|| before_in(&mut session, &mut call));
        flush(py, &self.spans)?;
        let (entered, done) = ran?;
        let decided_by = session_decider(&session);
        Ok(PendingCall {
            session: std::sync::Mutex::new(session),
            call,
            entered,
            done,
            finished: false,
            decided_by,
            activity: None,
            spans: self.spans.clone(),
        })
    }

    /// The guests' state for one workflow run (one per workflow instance the worker caches:
    /// dropped when the SDK drops the instance, rebuilt by replay). `info` holds the run's
    /// `namespace`, `workflow_id`, `run_id`, `workflow_type` and `task_queue`.
    fn workflow_run(&self, info: &Bound<'_, PyDict>) -> PyResult<WorkflowRun> {
        let wf = FixedWorkflow::new(
            WorkflowInfo::new(
                field(info, "namespace")?,
                field(info, "workflow_id")?,
                field(info, "run_id")?,
                field(info, "workflow_type")?,
                field(info, "task_queue")?,
            ),
            0,
        );
        let session = self.interpose.chain().session(Scope::Workflow(wf.clone()));
        Ok(WorkflowRun {
            wf,
            session: std::sync::Mutex::new(Some(session)),
            spans: self.spans.clone(),
        })
    }

    /// Run `before` of activity hook `hook` (`execute-activity`, or `activity-heartbeat`
    /// with the heartbeat's details as `args`) for the attempt `info` describes (a dict of
    /// `ActivityInfo`'s fields), with its `headers` and `args` as payloads.
    #[pyo3(signature = (info, headers, args, hook="execute-activity"))]
    fn activity_before(
        &self,
        py: Python<'_>,
        info: &Bound<'_, PyDict>,
        headers: Vec<(String, PyPayload)>,
        args: Vec<PyPayload>,
        hook: &str,
    ) -> PyResult<PendingCall> {
        let detail = match hook_named(hook)? {
            Hook::ExecuteActivity => CallDetail::ExecuteActivity,
            Hook::ActivityHeartbeat => CallDetail::ActivityHeartbeat,
            other => {
                return Err(InterposeError::new_err(format!(
                    "hook `{other}` is not an activity hook"
                )));
            }
        };
        let text = |k: &str| field(info, k);
        let number = |k: &str| -> PyResult<u64> {
            match info.get_item(k)? {
                Some(v) if !v.is_none() => v.extract(),
                _ => Ok(0),
            }
        };
        let activity = FixedActivity::new(ActivityInfo {
            activity_id: text("activity_id")?,
            activity_type: text("activity_type")?,
            namespace: text("namespace")?,
            task_queue: text("task_queue")?,
            workflow_id: text("workflow_id")?,
            workflow_run_id: text("workflow_run_id")?,
            workflow_type: text("workflow_type")?,
            attempt: u32::try_from(number("attempt")?).unwrap_or(u32::MAX),
            is_local: match info.get_item("is_local")? {
                Some(v) => v.extract()?,
                None => false,
            },
            scheduled_time: number("scheduled_time")?,
            current_attempt_scheduled_time: number("current_attempt_scheduled_time")?,
            started_time: number("started_time")?,
        });
        let mut call = call_with(
            detail,
            Some(args.into_iter().map(payload_in).collect()),
            headers,
        );
        let mut session = self
            .interpose
            .chain()
            .session(Scope::Activity(activity.clone()));
        let ran = py.detach(|| before_in(&mut session, &mut call));
        flush(py, &self.spans)?;
        let (entered, done) = ran?;
        let decided_by = session_decider(&session);
        Ok(PendingCall {
            session: std::sync::Mutex::new(session),
            call,
            entered,
            done,
            finished: false,
            decided_by,
            activity: Some(activity),
            spans: self.spans.clone(),
        })
    }
}

/// A call whose `before` ran.
#[pyclass(module = "interpose._native")]
struct PendingCall {
    /// In a mutex only so that the object may be dropped on any thread (Python frees it
    /// wherever its last reference goes); `after` takes `&mut self` and never waits on it.
    session: std::sync::Mutex<Session>,
    call: Call,
    entered: Entered,
    /// Set when a guest rejected or answered the call: the real call must not run.
    done: Option<Outcome>,
    /// `after` ran (it runs once).
    finished: bool,
    /// The guest whose decision is the call's (see `decided_by`).
    decided_by: Option<String>,
    /// The activity attempt (activity hooks): the heartbeats guests recorded.
    activity: Option<Arc<FixedActivity>>,
    spans: Spans,
}

fn outcome_out<'py>(py: Python<'py>, o: &Outcome) -> PyResult<Bound<'py, PyTuple>> {
    match o {
        Outcome::Ok(p) => {
            let payloads: Vec<Bound<'py, PyTuple>> = p
                .iter()
                .map(|p| payload_out(py, p))
                .collect::<PyResult<_>>()?;
            ("ok", payloads).into_pyobject(py)
        }
        Outcome::Err(f) => ("err", failure_out(py, f)?).into_pyobject(py),
    }
}

#[pymethods]
impl PendingCall {
    /// The headers as the guests left them: `(key, (metadata, data))` pairs.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Vec<(String, Bound<'py, PyTuple>)>> {
        headers_out(py, &self.call)
    }

    /// The arguments as the guests left them (payloads), `None` where the hook has none.
    #[getter]
    fn args<'py>(&self, py: Python<'py>) -> PyResult<Option<Vec<Bound<'py, PyTuple>>>> {
        args_out(py, &self.call)
    }

    /// The heartbeats guests recorded in `before` (each a list of payloads), for the SDK's
    /// `activity.heartbeat`.
    #[getter]
    fn heartbeats<'py>(&self, py: Python<'py>) -> PyResult<Vec<Vec<Bound<'py, PyTuple>>>> {
        let Some(a) = &self.activity else {
            return Ok(Vec::new());
        };
        a.heartbeats()
            .iter()
            .map(|h| h.iter().map(|p| payload_out(py, p)).collect())
            .collect()
    }

    /// The guest whose decision (a rejection, an answer, a replaced or failed outcome) is
    /// the call's, if one decided.
    #[getter]
    fn decided_by(&self) -> Option<String> {
        self.decided_by.clone()
    }

    /// The detail as the guests left it (the editable fields may have changed).
    #[getter]
    fn detail<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        detail_out(py, self.call.detail())
    }

    /// `None` when the real call runs; else the outcome a guest decided:
    /// `("ok", payloads)` (answered) or `("err", (message, error_type, non_retryable))`.
    #[getter]
    fn done<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.done.as_ref().map(|o| outcome_out(py, o)).transpose()
    }

    /// Run `after` with the real call's outcome (`ok` with its payloads, or an error:
    /// message, type, non-retryable), or with the guest's decision when the call was
    /// `done`. Returns the final outcome, as `done` does. It runs once: a second call is an
    /// error.
    #[pyo3(signature = (payloads=None, error=None, error_type=String::new(), non_retryable=false))]
    fn after<'py>(
        &mut self,
        py: Python<'py>,
        payloads: Option<Vec<PyPayload>>,
        error: Option<String>,
        error_type: String,
        non_retryable: bool,
    ) -> PyResult<Bound<'py, PyTuple>> {
        if std::mem::replace(&mut self.finished, true) {
            return Err(InterposeError::new_err("`after` already ran for this call"));
        }
        let outcome = seen_outcome(self.done.take(), payloads, error, error_type, non_retryable);
        let session = self.session.get_mut().unwrap_or_else(|p| p.into_inner());
        let (call, entered) = (&mut self.call, self.entered);
        let ran = py.detach(|| session.after(call, entered, outcome));
        flush(py, &self.spans)?;
        let last = ran.map_err(guest_error)?;
        if let Some(who) = session.decided_by() {
            self.decided_by = Some(who.to_owned());
        }
        outcome_out(py, &last)
    }
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(string_header, m)?)?;
    m.add_function(wrap_pyfunction!(header_value, m)?)?;
    m.add_function(wrap_pyfunction!(hooks, m)?)?;
    m.add_class::<Chain>()?;
    m.add_class::<PendingCall>()?;
    m.add_class::<WorkflowRun>()?;
    m.add_class::<WorkflowCall>()?;
    m.add("InterposeError", m.py().get_type::<InterposeError>())?;
    m.add("GuestError", m.py().get_type::<GuestError>())?;
    Ok(())
}

/// The detail of a workflow hook from the adapter's flat dict.
fn workflow_detail(hook: Hook, d: &Bound<'_, PyDict>) -> PyResult<CallDetail> {
    use CallDetail as D;
    let handler = || -> PyResult<Handler> {
        Ok(Handler {
            name: field(d, "name")?,
            update_id: field(d, "update_id")?,
        })
    };
    let schedule = || -> PyResult<ActivitySchedule> {
        Ok(ActivitySchedule {
            activity_type: field(d, "activity_type")?,
            activity_id: field(d, "activity_id")?,
            task_queue: field(d, "task_queue")?,
        })
    };
    Ok(match hook {
        Hook::ExecuteWorkflow => D::ExecuteWorkflow,
        Hook::HandleSignal => D::HandleSignal(handler()?),
        Hook::HandleQuery => D::HandleQuery(handler()?),
        Hook::ValidateUpdate => D::ValidateUpdate(handler()?),
        Hook::HandleUpdate => D::HandleUpdate(handler()?),
        Hook::StartNexusOperation => D::StartNexusOperation(NexusStart {
            endpoint: field(d, "endpoint")?,
            service: field(d, "service")?,
            operation: field(d, "operation")?,
            schedule_to_close_timeout: match d.get_item("schedule_to_close_timeout")? {
                Some(v) if !v.is_none() => v.extract()?,
                _ => 0,
            },
        }),
        Hook::ScheduleActivity => D::ScheduleActivity(schedule()?),
        Hook::ScheduleLocalActivity => D::ScheduleLocalActivity(schedule()?),
        Hook::StartChildWorkflow => D::StartChildWorkflow(ChildStart {
            workflow_type: field(d, "workflow_type")?,
            workflow_id: field(d, "workflow_id")?,
            task_queue: field(d, "task_queue")?,
        }),
        Hook::SignalExternalWorkflow => D::SignalExternalWorkflow(OutboundSignal {
            name: field(d, "name")?,
            target: target(d)?,
            child: matches!(d.get_item("child")?, Some(v) if v.is_truthy()?),
        }),
        Hook::ContinueAsNew => D::ContinueAsNew(ContinueAsNewOptions {
            workflow_type: field(d, "workflow_type")?,
            task_queue: field(d, "task_queue")?,
        }),
        other => {
            return Err(InterposeError::new_err(format!(
                "hook `{other}` is not a workflow hook the Python adapter runs"
            )));
        }
    })
}

/// The guests' instances for one workflow run, and the run's time and replay flag as the
/// adapter last set them (workflow time, `workflow.unsafe.is_replaying()`).
#[pyclass(module = "interpose._native")]
struct WorkflowRun {
    wf: Arc<FixedWorkflow>,
    /// `None` once closed (the SDK evicted the run).
    session: std::sync::Mutex<Option<Session>>,
    spans: Spans,
}

fn closed() -> PyErr {
    InterposeError::new_err("the workflow run's guests were released (the run was evicted)")
}

/// A workflow hook's call whose `before` ran.
#[pyclass(module = "interpose._native")]
struct WorkflowCall {
    call: Call,
    entered: Entered,
    done: Option<Outcome>,
    finished: bool,
    decided_by: Option<String>,
}

impl WorkflowRun {
    fn at(&self, now_nanos: u64, replaying: bool) {
        self.wf.set_now(now_nanos);
        self.wf.set_replaying(replaying);
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Option<Session>> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl WorkflowRun {
    /// Release the run's guest instances now (the SDK evicted the run) instead of when
    /// Python collects this object.
    fn close(&self, py: Python<'_>) {
        // Dropping instances reports to the metrics sink, which takes the GIL: the lock is
        // taken without it.
        py.detach(|| drop(self.session().take()));
    }

    /// Run `before` of workflow hook `hook` at workflow time `now_nanos`, with the call's
    /// `args` as payloads where guests see them (`None` where they do not).
    #[pyo3(signature = (hook, detail, headers, now_nanos, replaying, args=None))]
    fn before(
        &self,
        py: Python<'_>,
        hook: &str,
        detail: &Bound<'_, PyDict>,
        headers: Vec<(String, PyPayload)>,
        now_nanos: u64,
        replaying: bool,
        args: Option<Vec<PyPayload>>,
    ) -> PyResult<WorkflowCall> {
        let hook = hook_named(hook)?;
        let args = args.map(|a| a.into_iter().map(payload_in).collect());
        let mut call = call_with(workflow_detail(hook, detail)?, args, headers);
        // The run's lock is taken without the GIL, so a thread holding it can take the GIL
        // back for a log line while another waits for the lock.
        let ran = py.detach(|| {
            self.at(now_nanos, replaying);
            let mut guard = self.session();
            let session = guard.as_mut().ok_or_else(closed)?;
            let (entered, done) = before_in(session, &mut call)?;
            PyResult::Ok((entered, done, session.decided_by().map(str::to_owned)))
        });
        flush(py, &self.spans)?;
        let (entered, done, decided_by) = ran?;
        Ok(WorkflowCall {
            call,
            entered,
            done,
            finished: false,
            decided_by,
        })
    }

    /// Run `after` of `call` at workflow time `now_nanos` with the real outcome (or the
    /// guest's decision when the call was `done`); returns the final outcome.
    #[pyo3(signature = (call, now_nanos, replaying, payloads=None, error=None, error_type=String::new(), non_retryable=false))]
    #[allow(clippy::too_many_arguments)]
    fn after<'py>(
        &self,
        py: Python<'py>,
        mut call: PyRefMut<'_, WorkflowCall>,
        now_nanos: u64,
        replaying: bool,
        payloads: Option<Vec<PyPayload>>,
        error: Option<String>,
        error_type: String,
        non_retryable: bool,
    ) -> PyResult<Bound<'py, PyTuple>> {
        if std::mem::replace(&mut call.finished, true) {
            return Err(InterposeError::new_err("`after` already ran for this call"));
        }
        let outcome = seen_outcome(call.done.take(), payloads, error, error_type, non_retryable);
        let entered = call.entered;
        let target = &mut call.call;
        let ran = py.detach(|| {
            self.at(now_nanos, replaying);
            let mut guard = self.session();
            let session = guard.as_mut().ok_or_else(closed)?;
            let last = session
                .after(target, entered, outcome)
                .map_err(guest_error)?;
            PyResult::Ok((last, session.decided_by().map(str::to_owned)))
        });
        flush(py, &self.spans)?;
        let (last, decider) = ran?;
        // A guest that decided in `before` (a rejection) stays the decider unless one
        // changes the outcome in `after`.
        if let Some(who) = decider {
            call.decided_by = Some(who);
        }
        outcome_out(py, &last)
    }
}

#[pymethods]
impl WorkflowCall {
    /// The headers as the guests left them.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Vec<(String, Bound<'py, PyTuple>)>> {
        headers_out(py, &self.call)
    }

    /// The detail as the guests left it.
    #[getter]
    fn detail<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        match self.call.detail() {
            CallDetail::ScheduleActivity(a) | CallDetail::ScheduleLocalActivity(a) => {
                d.set_item("activity_id", &a.activity_id)?;
                d.set_item("task_queue", &a.task_queue)?;
            }
            CallDetail::StartChildWorkflow(c) => {
                d.set_item("workflow_id", &c.workflow_id)?;
                d.set_item("task_queue", &c.task_queue)?;
            }
            CallDetail::ContinueAsNew(c) => d.set_item("task_queue", &c.task_queue)?,
            _ => {}
        }
        Ok(d)
    }

    /// `None` when the real call runs; else the guest's decision, as `after` returns it.
    #[getter]
    fn done<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.done.as_ref().map(|o| outcome_out(py, o)).transpose()
    }

    /// The guest whose decision is the call's, if one decided.
    #[getter]
    fn decided_by(&self) -> Option<String> {
        self.decided_by.clone()
    }

    /// The arguments as the guests left them, `None` where the hook has none.
    #[getter]
    fn args<'py>(&self, py: Python<'py>) -> PyResult<Option<Vec<Bound<'py, PyTuple>>>> {
        args_out(py, &self.call)
    }
}

/// Every hook of the contract, by WIT name (the WIT is the catalogue's one source).
#[pyfunction]
fn hooks() -> Vec<&'static str> {
    Hook::ALL.iter().map(|h| h.name()).collect()
}

/// A payload as a string header value (Nexus), or `None` when it is not one (a `json/plain`
/// JSON string or UTF-8 data, without control characters).
#[pyfunction]
fn header_value(payload: PyPayload) -> Option<String> {
    payload_in(payload).header_string()
}

/// A string header value (Nexus) as guests see it: a `json/plain` JSON string payload.
#[pyfunction]
fn string_header<'py>(py: Python<'py>, value: &str) -> PyResult<Bound<'py, PyTuple>> {
    payload_out(py, &Payload::from_header_string(value))
}
