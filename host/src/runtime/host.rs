//! The store data of one guest instance and the host side of every import: the `call` and
//! `outcome` resources, logging, metrics, config values and the workflow and activity
//! contexts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rand::Rng as _;
use rand_chacha::ChaCha8Rng;
use wasmtime::component::Resource;
use wasmtime::{ResourceLimiter, bail};

use super::bindings::interpose::interceptor::{
    activity_context, config, log, metrics, types, workflow_context,
};
use super::series;
use super::wasi::WasiState;
use crate::chain::{Call, CallDetail, Hook, Outcome, Payload, Phase};
use crate::config::{Limits, OUTPUT_ITEM_COST};
use crate::runtime::GuestMeta;
use crate::services::{MetricKind, MetricSample, Scope};

/// Marker for the `call` resource: the host passes `borrow<call>` handles with rep 0 and
/// resolves them to the call held in [`HostState::cur`].
#[expect(
    unreachable_pub,
    reason = "named by the generated bindings, which re-export it"
)]
pub struct CallRep;
/// Marker for the `outcome` resource, resolved like [`CallRep`].
#[expect(
    unreachable_pub,
    reason = "named by the generated bindings, which re-export it"
)]
pub struct OutcomeRep;

/// How much of a guest's last error-level log a trap report keeps, in bytes.
pub(crate) const MAX_KEPT_ERROR_LOG: usize = 2048;

/// Raised from a host import when a guest produces more output than its limit allows.
#[derive(Debug)]
pub(crate) struct OutputLimitExceeded {
    pub(crate) size: u64,
    pub(crate) limit: u64,
}

impl std::fmt::Display for OutputLimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "output of {} bytes exceeds the limit of {} bytes",
            self.size, self.limit
        )
    }
}
impl std::error::Error for OutputLimitExceeded {}

/// Undo log entry: what to restore if the guest fails after editing.
pub(crate) enum Undo {
    Header(String, Option<Payload>),
    Args(Option<Vec<Payload>>),
    Detail(CallDetail),
}

/// State shared with host objects that live outside the store data (WASI clocks, stdout).
pub(crate) struct Shared {
    /// What virtual clocks read, ns since the Unix epoch.
    pub(crate) now: AtomicU64,
    /// Whether guest output is dropped (replaying workflow).
    pub(crate) suppress: AtomicBool,
    /// The hook being run (index into `Hook::ALL`), for log attribution.
    pub(crate) hook: std::sync::atomic::AtomicU8,
    /// Output produced in the current call, in bytes (see [`Shared::charge`]).
    pub(crate) output: AtomicU64,
    /// The guest's output limit per call.
    pub(crate) max_output: u64,
    /// The unfinished line of stdout and of stderr (see `wasi::flush_output`).
    pub(crate) pending: [std::sync::Mutex<Vec<u8>>; 2],
}

impl Shared {
    pub(crate) fn new(max_output: u64) -> Shared {
        Shared {
            now: AtomicU64::new(0),
            suppress: AtomicBool::new(false),
            hook: std::sync::atomic::AtomicU8::new(0),
            output: AtomicU64::new(0),
            max_output,
            pending: Default::default(),
        }
    }

    /// Count one item of `bytes` (plus [`OUTPUT_ITEM_COST`]) against the per-call output
    /// limit. Counted live and in replay alike, so a guest fails at the same point in both.
    pub(crate) fn charge(&self, bytes: u64) -> Result<(), OutputLimitExceeded> {
        let add = bytes.saturating_add(OUTPUT_ITEM_COST);
        let total = self
            .output
            .fetch_add(add, Ordering::Relaxed)
            .saturating_add(add);
        if total > self.max_output {
            return Err(OutputLimitExceeded {
                size: total,
                limit: self.max_output,
            });
        }
        Ok(())
    }
}

/// Output cost of a list of payloads: each is an item.
pub(crate) fn payloads_cost(payloads: &[Payload]) -> u64 {
    payloads.iter().fold(0u64, |n, p| {
        n.saturating_add(p.size() as u64)
            .saturating_add(OUTPUT_ITEM_COST)
    })
}

/// Per-call state: what the guest is looking at right now.
pub(crate) struct CallState {
    pub(crate) hook: Hook,
    pub(crate) phase: Phase,
    pub(crate) call: Call,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) undo: Vec<Undo>,
    pub(crate) last_error_log: Option<String>,
}

impl Default for CallState {
    fn default() -> Self {
        CallState {
            hook: Hook::ExecuteActivity,
            phase: Phase::Load,
            call: Call::default(),
            outcome: None,
            undo: Vec::new(),
            last_error_log: None,
        }
    }
}

/// Enforces memory and table limits and remembers which one was hit.
pub(crate) struct Limiter {
    memory: u64,
    /// Bytes of linear memory of all the instance's memories together: the cap is per
    /// instance, however many memories a component declares.
    memory_used: u64,
    table_elements: usize,
    pub(crate) hit: Option<String>,
}

impl Limiter {
    pub(crate) fn new(limits: &Limits) -> Limiter {
        Limiter {
            memory: limits.memory,
            memory_used: 0,
            table_elements: limits.table_elements,
            hit: None,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // wasmtime asks for every memory's initial size too (from 0), so the sum covers
        // every memory the instance has.
        let total = self
            .memory_used
            .saturating_sub(current as u64)
            .saturating_add(desired as u64);
        if total > self.memory {
            let msg = if total == desired as u64 {
                format!(
                    "memory growth from {} to {} exceeds the limit of {}",
                    bytesize::ByteSize(current as u64),
                    bytesize::ByteSize(desired as u64),
                    bytesize::ByteSize(self.memory)
                )
            } else {
                format!(
                    "memory growth from {} to {} (all memories of the instance: {}) exceeds \
                     the limit of {}",
                    bytesize::ByteSize(current as u64),
                    bytesize::ByteSize(desired as u64),
                    bytesize::ByteSize(total),
                    bytesize::ByteSize(self.memory)
                )
            };
            self.hit = Some(msg.clone());
            bail!(msg);
        }
        self.memory_used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            let msg = format!(
                "table growth from {current} to {desired} elements exceeds the limit of {}",
                self.table_elements
            );
            self.hit = Some(msg.clone());
            bail!(msg);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        // A component built from one core module has a handful of core instances (the
        // module plus adapter shims).
        32
    }
    fn tables(&self) -> usize {
        16
    }
    fn memories(&self) -> usize {
        4
    }
}

/// The data of one guest instance's store.
pub(crate) struct HostState {
    pub(crate) guest: Arc<GuestMeta>,
    pub(crate) scope: Scope,
    pub(crate) limiter: Limiter,
    pub(crate) wasi: Option<WasiState>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) cur: CallState,
}

impl HostState {
    fn edit_allowed(&self) -> Result<(), types::EditError> {
        if self.cur.phase != Phase::Before {
            return Err(types::EditError::NotSupported(format!(
                "the call can only be edited in `before` (this is `{}`)",
                self.cur.phase
            )));
        }
        if self.cur.hook.is_read_only() {
            return Err(types::EditError::ReadOnly);
        }
        Ok(())
    }

    /// Count one item of `bytes` of guest output against the per-call limit.
    pub(crate) fn charge_output(&mut self, bytes: u64) -> wasmtime::Result<()> {
        self.shared.charge(bytes).map_err(wasmtime::Error::new)
    }

    /// Count a list of payloads (each an item) against the per-call limit.
    pub(crate) fn charge_payloads(&mut self, payloads: &[Payload]) -> wasmtime::Result<()> {
        // The list itself is one item; its payloads are items too.
        self.charge_output(payloads_cost(payloads))
    }

    fn outcome(&self) -> wasmtime::Result<&Outcome> {
        match &self.cur.outcome {
            Some(o) => Ok(o),
            None => bail!("the outcome is only available in `after`"),
        }
    }

    fn context_misuse(&self, iface: &str, func: &str) -> wasmtime::Error {
        wasmtime::format_err!(
            "`{iface}.{func}` was called from {} hook `{}`; it is only available in {} hooks",
            self.cur.hook.category(),
            self.cur.hook,
            if iface == "workflow-context" {
                "workflow"
            } else {
                "activity"
            }
        )
    }

    fn replaying(&self) -> bool {
        match &self.scope {
            Scope::Workflow(w) => w.is_replaying(),
            _ => false,
        }
    }
}

/// Fields that decide which code runs (type and handler names): never editable.
fn fixed_fields(d: &CallDetail) -> Vec<&str> {
    use CallDetail as D;
    match d {
        D::StartWorkflow(s) => vec![&s.workflow_type],
        D::SignalWithStartWorkflow(s) | D::UpdateWithStartWorkflow(s) => {
            vec![&s.start.workflow_type, &s.name]
        }
        D::SignalWorkflow(m) | D::QueryWorkflow(m) | D::StartWorkflowUpdate(m) => vec![&m.name],
        D::HandleSignal(h) | D::HandleQuery(h) | D::ValidateUpdate(h) | D::HandleUpdate(h) => {
            vec![&h.name, &h.update_id]
        }
        D::ScheduleActivity(a) | D::ScheduleLocalActivity(a) => vec![&a.activity_type],
        D::StartChildWorkflow(c) => vec![&c.workflow_type],
        D::SignalExternalWorkflow(s) => vec![&s.name],
        _ => Vec::new(),
    }
}

fn detail_size(d: &CallDetail) -> u64 {
    // An upper bound is enough for the output limit: the debug form holds every string.
    // Counted as it is written, never allocated (escaping can make it several times the
    // size of what the guest passed).
    struct Count(u64);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 = self.0.saturating_add(s.len() as u64);
            Ok(())
        }
    }
    let mut n = Count(0);
    let _ = std::fmt::write(&mut n, format_args!("{d:?}"));
    n.0
}

impl types::HostCall for HostState {
    fn hook(&mut self, _: Resource<CallRep>) -> wasmtime::Result<Hook> {
        Ok(self.cur.hook)
    }

    fn detail(&mut self, _: Resource<CallRep>) -> wasmtime::Result<CallDetail> {
        Ok(self.cur.call.detail.clone())
    }

    fn set_detail(
        &mut self,
        _: Resource<CallRep>,
        detail: CallDetail,
    ) -> wasmtime::Result<Result<(), types::EditError>> {
        if let Err(e) = self.edit_allowed() {
            return Ok(Err(e));
        }
        if !self.cur.hook.detail_editable() {
            return Ok(Err(types::EditError::NotSupported(format!(
                "the detail of hook `{}` is not editable",
                self.cur.hook
            ))));
        }
        if detail.hook() != self.cur.hook {
            return Ok(Err(types::EditError::Invalid(format!(
                "detail is for hook `{}`, but this call is `{}`",
                detail.hook(),
                self.cur.hook
            ))));
        }
        if fixed_fields(&detail) != fixed_fields(&self.cur.call.detail) {
            return Ok(Err(types::EditError::Invalid(
                "type and handler names cannot be edited".into(),
            )));
        }
        self.charge_output(detail_size(&detail))?;
        let old = std::mem::replace(&mut self.cur.call.detail, detail);
        self.cur.undo.push(Undo::Detail(old));
        Ok(Ok(()))
    }

    fn header(&mut self, _: Resource<CallRep>, key: String) -> wasmtime::Result<Option<Payload>> {
        Ok(self.cur.call.headers.get(&key).cloned())
    }

    fn header_keys(&mut self, _: Resource<CallRep>) -> wasmtime::Result<Vec<String>> {
        Ok(self.cur.call.headers.keys().cloned().collect())
    }

    fn set_header(
        &mut self,
        _: Resource<CallRep>,
        key: String,
        value: Payload,
    ) -> wasmtime::Result<Result<(), types::EditError>> {
        if let Err(e) = self.edit_allowed() {
            return Ok(Err(e));
        }
        if !self.cur.call.has_headers {
            return Ok(Err(types::EditError::NotSupported(format!(
                "hook `{}` carries no Temporal headers",
                self.cur.hook
            ))));
        }
        self.charge_output((key.len() as u64).saturating_add(value.size() as u64))?;
        let old = self.cur.call.headers.insert(key.clone(), value);
        self.cur.undo.push(Undo::Header(key, old));
        Ok(Ok(()))
    }

    fn remove_header(
        &mut self,
        _: Resource<CallRep>,
        key: String,
    ) -> wasmtime::Result<Result<bool, types::EditError>> {
        if let Err(e) = self.edit_allowed() {
            return Ok(Err(e));
        }
        if !self.cur.call.has_headers {
            return Ok(Err(types::EditError::NotSupported(format!(
                "hook `{}` carries no Temporal headers",
                self.cur.hook
            ))));
        }
        self.charge_output(key.len() as u64)?;
        let old = self.cur.call.headers.remove(&key);
        let present = old.is_some();
        if present {
            self.cur.undo.push(Undo::Header(key, old));
        }
        Ok(Ok(present))
    }

    fn arg_count(&mut self, _: Resource<CallRep>) -> wasmtime::Result<u32> {
        Ok(self.cur.call.args.as_ref().map_or(0, |a| a.len() as u32))
    }

    fn arg(&mut self, _: Resource<CallRep>, index: u32) -> wasmtime::Result<Option<Payload>> {
        Ok(self
            .cur
            .call
            .args
            .as_ref()
            .and_then(|a| a.get(index as usize))
            .cloned())
    }

    fn args(&mut self, _: Resource<CallRep>) -> wasmtime::Result<Vec<Payload>> {
        Ok(self.cur.call.args.clone().unwrap_or_default())
    }

    fn set_args(
        &mut self,
        _: Resource<CallRep>,
        args: Vec<Payload>,
    ) -> wasmtime::Result<Result<(), types::EditError>> {
        if let Err(e) = self.edit_allowed() {
            return Ok(Err(e));
        }
        if self.cur.call.args.is_none() {
            return Ok(Err(types::EditError::NotSupported(format!(
                "hook `{}` carries no arguments",
                self.cur.hook
            ))));
        }
        self.charge_payloads(&args)?;
        let old = self.cur.call.args.replace(args);
        self.cur.undo.push(Undo::Args(old));
        Ok(Ok(()))
    }

    fn drop(&mut self, _: Resource<CallRep>) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl types::HostOutcome for HostState {
    fn is_ok(&mut self, _: Resource<OutcomeRep>) -> wasmtime::Result<bool> {
        Ok(self.outcome()?.is_ok())
    }

    fn payloads(&mut self, _: Resource<OutcomeRep>) -> wasmtime::Result<Vec<Payload>> {
        Ok(match self.outcome()? {
            Outcome::Ok(p) => p.clone(),
            Outcome::Err(_) => Vec::new(),
        })
    }

    fn failure(&mut self, _: Resource<OutcomeRep>) -> wasmtime::Result<Option<types::Failure>> {
        Ok(match self.outcome()? {
            Outcome::Ok(_) => None,
            Outcome::Err(f) => Some(f.clone()),
        })
    }

    fn drop(&mut self, _: Resource<OutcomeRep>) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl types::Host for HostState {}

pub(crate) fn level_of(level: log::Level) -> tracing::Level {
    match level {
        log::Level::Trace => tracing::Level::TRACE,
        log::Level::Debug => tracing::Level::DEBUG,
        log::Level::Info => tracing::Level::INFO,
        log::Level::Warn => tracing::Level::WARN,
        log::Level::Error => tracing::Level::ERROR,
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.charge_output(message.len() as u64)?;
        if level == log::Level::Error {
            // Kept for trap messages: a Rust guest's panic message arrives this way. Cut on
            // a character boundary: the guest chooses the text.
            let cut = message.floor_char_boundary(MAX_KEPT_ERROR_LOG);
            self.cur.last_error_log = Some(message[..cut].to_owned());
        }
        if self.replaying() {
            return Ok(());
        }
        self.guest
            .logs
            .log(&self.guest.name, self.cur.hook, level_of(level), &message);
        Ok(())
    }

    fn enabled(&mut self, level: log::Level) -> wasmtime::Result<bool> {
        // In workflow hooks, a constant: a guest that builds messages only when they are
        // kept would otherwise spend different fuel live and in replay, or on workers with
        // different log filters, and could fail at a different point.
        if matches!(self.scope, Scope::Workflow(_)) {
            return Ok(true);
        }
        Ok(self.guest.logs.enabled(level_of(level)))
    }
}

impl metrics::Host for HostState {
    fn counter_add(
        &mut self,
        name: String,
        value: u64,
        attributes: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        self.record(
            MetricKind::Counter,
            name,
            value as f64,
            String::new(),
            attributes,
        )
    }

    fn histogram_record(
        &mut self,
        name: String,
        value: f64,
        unit: String,
        attributes: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        self.record(MetricKind::Histogram, name, value, unit, attributes)
    }

    fn gauge_set(
        &mut self,
        name: String,
        value: f64,
        attributes: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        self.record(MetricKind::Gauge, name, value, String::new(), attributes)
    }
}

impl HostState {
    fn record(
        &mut self,
        kind: MetricKind,
        name: String,
        value: f64,
        unit: String,
        attributes: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        // Charged and checked live and in replay alike: both depend only on what the guest
        // passed, so a guest fails at the same point in both.
        let bytes = attributes.iter().fold(
            (name.len() as u64).saturating_add(unit.len() as u64),
            |n, (k, v)| {
                n.saturating_add(k.len() as u64)
                    .saturating_add(v.len() as u64)
            },
        );
        self.charge_output(bytes)?;
        series::validate(&name, value, &unit, &attributes).map_err(wasmtime::Error::msg)?;
        if self.replaying() {
            return Ok(());
        }
        if let Err(refused) = self.guest.series.admit(kind, &name, &attributes) {
            // Depends on what this process has seen, not on the call: never a failure.
            if self.guest.series.dropped() {
                let why = match refused {
                    series::Refused::Cap(cap) => format!(
                        "it already has {cap} series (max-metric-series); samples of new \
                         series are dropped"
                    ),
                    series::Refused::Kind(k) => {
                        format!(
                            "`{name}` was first recorded as a {k:?}; samples of another kind are dropped"
                        )
                    }
                };
                tracing::error!(
                    guest = %self.guest.name,
                    hook = %self.cur.hook,
                    metric = %name,
                    "guest metric sample dropped: {why} (further drops are counted, not logged)"
                );
            }
            return Ok(());
        }
        self.guest.metrics.record(MetricSample {
            guest: self.guest.name.clone(),
            kind,
            name,
            value,
            unit,
            attributes,
        });
        Ok(())
    }
}

impl config::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.guest.config.get(&key).cloned())
    }

    fn get_all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self
            .guest
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

impl workflow_context::Host for HostState {
    fn info(&mut self) -> wasmtime::Result<workflow_context::WorkflowInfo> {
        let Scope::Workflow(w) = &self.scope else {
            return Err(self.context_misuse("workflow-context", "info"));
        };
        let i = w.info();
        Ok(workflow_context::WorkflowInfo {
            namespace: i.namespace,
            workflow_id: i.workflow_id,
            run_id: i.run_id,
            workflow_type: i.workflow_type,
            task_queue: i.task_queue,
            history_length: w.history_length(),
        })
    }

    fn now(&mut self) -> wasmtime::Result<u64> {
        let Scope::Workflow(w) = &self.scope else {
            return Err(self.context_misuse("workflow-context", "now"));
        };
        Ok(w.now_nanos())
    }

    fn is_replaying(&mut self) -> wasmtime::Result<bool> {
        let Scope::Workflow(w) = &self.scope else {
            return Err(self.context_misuse("workflow-context", "is-replaying"));
        };
        Ok(w.is_replaying())
    }

    fn is_read_only(&mut self) -> wasmtime::Result<bool> {
        if !matches!(self.scope, Scope::Workflow(_)) {
            return Err(self.context_misuse("workflow-context", "is-read-only"));
        }
        Ok(self.cur.hook.is_read_only())
    }

    fn random_u64(&mut self) -> wasmtime::Result<u64> {
        if !matches!(self.scope, Scope::Workflow(_)) {
            return Err(self.context_misuse("workflow-context", "random-u64"));
        }
        Ok(self.rng.next_u64())
    }
}

impl activity_context::Host for HostState {
    fn info(&mut self) -> wasmtime::Result<activity_context::ActivityInfo> {
        let Scope::Activity(a) = &self.scope else {
            return Err(self.context_misuse("activity-context", "info"));
        };
        let i = a.info();
        Ok(activity_context::ActivityInfo {
            activity_id: i.activity_id,
            activity_type: i.activity_type,
            namespace: i.namespace,
            task_queue: i.task_queue,
            workflow_id: i.workflow_id,
            workflow_run_id: i.workflow_run_id,
            workflow_type: i.workflow_type,
            attempt: i.attempt,
            is_local: i.is_local,
            scheduled_time: i.scheduled_time,
            current_attempt_scheduled_time: i.current_attempt_scheduled_time,
            started_time: i.started_time,
        })
    }

    fn now(&mut self) -> wasmtime::Result<u64> {
        if !matches!(self.scope, Scope::Activity(_)) {
            return Err(self.context_misuse("activity-context", "now"));
        }
        Ok(match self.guest.clock {
            crate::config::ClockMode::Real => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            _ => self.shared.now.load(Ordering::Relaxed),
        })
    }

    fn heartbeat(&mut self, details: Vec<Payload>) -> wasmtime::Result<()> {
        let Scope::Activity(a) = &self.scope else {
            return Err(self.context_misuse("activity-context", "heartbeat"));
        };
        let a = a.clone();
        self.charge_payloads(&details)?;
        a.heartbeat(details);
        Ok(())
    }
}

/// Seed for a guest's deterministic random stream in a workflow run.
pub(crate) fn run_seed(run_id: &str, guest: &str, stream: &str) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for part in [run_id, guest, stream] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

pub(crate) fn shared_hook(shared: &Shared) -> Hook {
    Hook::ALL[shared.hook.load(Ordering::Relaxed) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_cap_is_per_instance_across_all_its_memories() {
        let limits = Limits {
            memory: 10 << 20,
            ..Limits::default()
        };
        let mut l = Limiter::new(&limits);
        // Two memories of 4 MiB each fit; growing the second to 7 MiB (11 in all) does not,
        // although each memory alone stays under the cap.
        assert!(l.memory_growing(0, 4 << 20, None).unwrap());
        assert!(l.memory_growing(0, 4 << 20, None).unwrap());
        let e = l.memory_growing(4 << 20, 7 << 20, None).unwrap_err();
        assert!(e.to_string().contains("all memories"), "{e}");
        assert!(l.hit.is_some());
        // Growth within the cap still works.
        assert!(l.memory_growing(4 << 20, 6 << 20, None).unwrap());
    }

    #[test]
    fn output_counts_items_as_well_as_bytes() {
        let shared = Shared::new(10 * OUTPUT_ITEM_COST);
        for _ in 0..10 {
            shared.charge(0).unwrap();
        }
        let e = shared.charge(0).unwrap_err();
        assert_eq!(e.size, 11 * OUTPUT_ITEM_COST);
        let empty = vec![Payload::json(""); 1000];
        assert!(payloads_cost(&empty) >= 1000 * OUTPUT_ITEM_COST);
    }
}
