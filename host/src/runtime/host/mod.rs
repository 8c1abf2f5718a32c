//! The store data of one guest instance (per-call state, limits, output accounting) and,
//! one file per WIT interface, the host side of every import.

mod activity_context;
mod call;
mod config;
mod log;
mod metrics;
mod tracing;
mod workflow_context;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rand_chacha::ChaCha8Rng;
use wasmtime::{ResourceLimiter, bail};

use super::wasi::WasiState;
use crate::config::{Limits, OUTPUT_ITEM_COST};
use crate::model::wit::interpose::interceptor::types;
use crate::model::{Call, CallDetail, Hook, Outcome, Payload, Phase};
use crate::runtime::GuestMeta;
use crate::services::Scope;

pub(crate) use crate::model::wit::{CallRep, OutcomeRep};
pub(crate) use tracing::Spans;

/// [`Shared::hook`] outside any hook.
pub(crate) const NO_HOOK: u8 = u8::MAX;

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
    Args(Option<Vec<Payload>>),
    Detail(CallDetail),
}

/// State shared with host objects that live outside the store data (WASI clocks, stdout).
pub(crate) struct Shared {
    /// What virtual clocks read, ns since the Unix epoch.
    pub(crate) now: AtomicU64,
    /// Whether guest output is dropped (replaying workflow).
    pub(crate) suppress: AtomicBool,
    /// The hook being run (index into `Hook::ALL`), for log attribution; [`NO_HOOK`] at
    /// instantiation and while the guest declares its interests.
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
            hook: std::sync::atomic::AtomicU8::new(NO_HOOK),
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

/// Output cost of one payload beyond its item: its bytes, and an item per metadata entry
/// (a million empty entries are not free for the host that copies them).
pub(crate) fn payload_cost(p: &Payload) -> u64 {
    (p.size() as u64).saturating_add((p.metadata.len() as u64).saturating_mul(OUTPUT_ITEM_COST))
}

/// Output cost of a list of payloads: each is an item.
pub(crate) fn payloads_cost(payloads: &[Payload]) -> u64 {
    payloads.iter().fold(0u64, |n, p| {
        n.saturating_add(payload_cost(p))
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
    /// The wall-time deadline armed for this call (what a deadline failure reports).
    pub(crate) deadline: std::time::Duration,
    /// The last heartbeat the guest recorded in this call: handed to the activity only if
    /// the call returns a valid decision (like its edits).
    pub(crate) heartbeat: Option<Vec<Payload>>,
}

impl Default for CallState {
    fn default() -> Self {
        // Phase `Load` with no call: `hook` and `call` are placeholders. The instance sets
        // `hook` and swaps the real call in before every hook; in the load phase `hook` is
        // read only through `HostState::hook`, which says "no hook" (logs and context
        // misuse made while loading are attributed to no hook).
        CallState {
            hook: Hook::ExecuteActivity,
            phase: Phase::Load,
            call: Call::placeholder(),
            outcome: None,
            undo: Vec::new(),
            last_error_log: None,
            deadline: std::time::Duration::ZERO,
            heartbeat: None,
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

    // The same per-component maxima the pool is sized with.
    fn instances(&self) -> usize {
        super::CORE_INSTANCES_PER_COMPONENT as usize
    }
    fn tables(&self) -> usize {
        super::TABLES_PER_COMPONENT as usize
    }
    fn memories(&self) -> usize {
        super::MEMORIES_PER_COMPONENT as usize
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
    /// The guest's spans and the stream their ids come from.
    pub(crate) spans: Spans,
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

    /// Count a list of payloads (the list an item, each payload an item) against the
    /// per-call limit.
    pub(crate) fn charge_payloads(&mut self, payloads: &[Payload]) -> wasmtime::Result<()> {
        self.charge_output(payloads_cost(payloads))
    }

    fn outcome(&self) -> wasmtime::Result<&Outcome> {
        match &self.cur.outcome {
            Some(o) => Ok(o),
            None => bail!("the outcome is only available in `after`"),
        }
    }

    /// The hook being served; `None` while the guest declares its interests at load.
    fn hook(&self) -> Option<Hook> {
        (self.cur.phase != Phase::Load).then_some(self.cur.hook)
    }

    fn context_misuse(&self, iface: &str, func: &str) -> wasmtime::Error {
        let kind = if iface == "workflow-context" {
            "workflow"
        } else {
            "activity"
        };
        match self.hook() {
            Some(hook) => wasmtime::format_err!(
                "`{iface}.{func}` was called from {} hook `{hook}`; it is only available in \
                 {kind} hooks",
                hook.category(),
            ),
            None => wasmtime::format_err!(
                "`{iface}.{func}` was called while the guest was loaded (instantiation or \
                 declaring interests), outside any hook; it is only available in {kind} hooks"
            ),
        }
    }

    /// Whether output is dropped now: a workflow replaying, or code a workflow guest runs at
    /// instantiation (set by the instance, one flag for every kind of output).
    fn suppressed(&self) -> bool {
        self.shared.suppress.load(Ordering::Relaxed)
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

pub(crate) fn shared_hook(shared: &Shared) -> Option<Hook> {
    Hook::ALL
        .get(usize::from(shared.hook.load(Ordering::Relaxed)))
        .copied()
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
