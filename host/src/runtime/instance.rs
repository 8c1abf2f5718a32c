//! One live guest instance: its store, its exported functions, and the mechanics of one
//! guest call — limits set, call moved in, decision validated, edits rolled back on failure,
//! the failure classified.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use wasmtime::Store;
use wasmtime::component::{Resource, TypedFunc};

use super::host::{
    CallRep, CallState, HostState, Limiter, OutcomeRep, OutputLimitExceeded, Shared, Undo,
};
use super::{LoadedGuest, wasi};
use crate::config::{ClockMode, OUTPUT_ITEM_COST};
use crate::error::GuestFailure;
use crate::model::wit::interpose::interceptor::types::{AfterDecision, BeforeDecision};
use crate::model::{
    Call, Category, Failure, HeaderAccess, HeaderEdit, Hook, Interest, MAX_STRING_HEADER_BYTES,
    Outcome, Payload, Phase,
};
use crate::services::Scope;

/// Why an instance could not be made.
#[derive(Debug)]
pub(crate) enum NewError {
    /// The guest failed (its start function trapped, a limit) or the host had no room.
    Failed(GuestFailure),
    /// An export has the wrong type: an incompatible component, not a failing one.
    WrongType(String),
}

impl From<GuestFailure> for NewError {
    fn from(f: GuestFailure) -> NewError {
        NewError::Failed(f)
    }
}

impl From<NewError> for GuestFailure {
    fn from(e: NewError) -> GuestFailure {
        match e {
            NewError::Failed(f) => f,
            NewError::WrongType(message) => GuestFailure::Instantiate { message },
        }
    }
}

/// Header values as a hook receives them: the declared keys present, sorted by key.
type HeaderValues = Vec<(String, Payload)>;
type BeforeFn = TypedFunc<(Hook, Resource<CallRep>, HeaderValues, HeaderAccess), (BeforeDecision,)>;
type AfterFn = TypedFunc<
    (
        Hook,
        Resource<CallRep>,
        HeaderValues,
        Option<Failure>,
        Resource<OutcomeRep>,
    ),
    (AfterDecision,),
>;
type InterestsFn = TypedFunc<(), (Vec<Interest>,)>;

struct Funcs {
    interests: InterestsFn,
    before: BeforeFn,
    after: AfterFn,
}

/// A live instance of one guest.
pub(crate) struct GuestInstance {
    store: Store<HostState>,
    funcs: [Option<Funcs>; Category::ALL.len()],
    live: Arc<std::sync::atomic::AtomicU64>,
    /// Set when a call is armed, cleared when it returns. Still set afterwards only if the
    /// host unwound out of the call: the instance's state is then unknown and it must not
    /// serve again.
    in_call: bool,
    /// When the current call was armed, if the metrics sink times calls.
    started: Option<std::time::Instant>,
}

impl Drop for GuestInstance {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
        // Never call into the sink while unwinding: a panicking sink would abort.
        if !std::thread::panicking() {
            let meta = &self.store.data().guest;
            meta.metrics.instances(&meta.name, -1);
        }
    }
}

/// What an instance is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The instance made at load: asks every exported category for its interests.
    Load,
    /// Serves a session's hooks; looks up only the categories the guest is interested in.
    Run,
    /// Serves the read-only hooks (queries, update validators) of a workflow run, apart
    /// from the instance that serves the replayed hooks.
    ReadOnly,
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl GuestInstance {
    /// Instantiate `guest` for `scope` in `role`.
    pub(crate) fn new(
        guest: &LoadedGuest,
        scope: &Scope,
        role: Role,
    ) -> Result<GuestInstance, NewError> {
        let all_categories = role == Role::Load;
        let meta = &guest.meta;
        let shared = Arc::new(Shared::new(meta.limits.max_output));
        // Workflow guests get streams seeded by run and guest: identical in replay and
        // independent of the workflow's own random stream. Others get fresh entropy.
        let (rng, wasi_rng, seed, span_ids) = match scope {
            Scope::Workflow(w) => {
                let run = w.info().run_id;
                // The read-only instance draws from streams of its own: queries and
                // validators do not run in replay, so they must not advance the streams
                // that the replayed hooks draw from.
                let salt = if role == Role::ReadOnly {
                    "read-only/"
                } else {
                    ""
                };
                let seed = |s: &str| super::host::run_seed(&run, &meta.name, &format!("{salt}{s}"));
                let ctx = seed("workflow-context");
                let wasi = seed("wasi");
                let ins = seed("wasi-insecure-seed");
                let ids = seed("tracing");
                // Queries and validators are never replayed, and each read-only instance
                // would restart a seeded stream: their span ids must be unique, not
                // reproducible.
                let ids = if role == Role::ReadOnly {
                    rand::RngExt::random::<[u8; 32]>(&mut rand::rng())
                } else {
                    ids
                };
                shared.now.store(w.now_nanos(), Ordering::Relaxed);
                (
                    ChaCha8Rng::from_seed(ctx),
                    ChaCha8Rng::from_seed(wasi),
                    u128::from_le_bytes(ins[..16].try_into().expect("16 bytes")),
                    ChaCha8Rng::from_seed(ids),
                )
            }
            _ => {
                let mut os = rand::rng();
                shared.now.store(now_nanos(), Ordering::Relaxed);
                (
                    ChaCha8Rng::from_rng(&mut os),
                    ChaCha8Rng::from_rng(&mut os),
                    rand::RngExt::random(&mut os),
                    ChaCha8Rng::from_rng(&mut os),
                )
            }
        };
        let wasi = guest.uses_wasi.then(|| {
            let real_clock = meta.clock == ClockMode::Real && !matches!(scope, Scope::Workflow(_));
            let name: Arc<str> = meta.name.as_str().into();
            wasi::build(
                wasi::WasiSetup {
                    real_clock,
                    random: wasi_rng,
                    insecure_seed: seed,
                },
                &name,
                &meta.logs,
                &shared,
            )
        });
        let state = HostState {
            guest: meta.clone(),
            scope: scope.clone(),
            limiter: Limiter::new(&meta.limits),
            wasi,
            shared,
            rng,
            cur: CallState::default(),
            spans: super::host::Spans::new(span_ids),
        };
        let mut store = Store::new(guest.pre.engine(), state);
        store.limiter(|s| &mut s.limiter);
        // What the host copies out of the guest in one crossing (a decision, the interests,
        // an import's arguments) is bounded while it is copied: a guest's decision is
        // charged against its output limit only once it is in host memory, and the time the
        // host spends copying counts against the guest's deadline (the guest's post-return
        // runs after it). wasmtime's default is 128 MiB per call; here twice the output
        // limit (anything past the limit fails anyway), at least 1 MiB (valid interests).
        store.set_hostcall_fuel(hostcall_budget(meta.limits.max_output));
        store.epoch_deadline_trap();
        let fail =
            |store: &mut Store<HostState>, e: wasmtime::Error| match classify(store, &e, guest) {
                GuestFailure::Trap { message } => GuestFailure::Instantiate { message },
                other => other,
            };
        if meta.metering {
            store
                .set_fuel(meta.limits.fuel)
                .map_err(|e| GuestFailure::Instantiate {
                    message: e.to_string(),
                })?;
        }
        let load = role == Role::Load;
        store.data_mut().cur.deadline = deadline(meta, load);
        store.set_epoch_deadline(epoch_ticks(meta, load));
        // Code that runs at instantiation (a start function, `_initialize`) belongs to no
        // hook: in a workflow its output would be emitted again on every replay, so it is
        // dropped there; elsewhere its full lines are kept, its partial line dropped.
        store
            .data()
            .shared
            .suppress
            .store(matches!(scope, Scope::Workflow(_)), Ordering::Relaxed);
        let instantiated = guest.pre.instantiate(&mut store);
        wasi::discard_output(&store.data().shared);
        let instance = match instantiated {
            Ok(i) => i,
            Err(e) => {
                if let Some(message) = host_capacity(&e) {
                    // The host's limits, not the guest: not counted as a guest failure.
                    return Err(GuestFailure::Capacity { message }.into());
                }
                return Err(fail(&mut store, e).into());
            }
        };
        let mut funcs: [Option<Funcs>; Category::ALL.len()] = Default::default();
        for cat in Category::ALL {
            let Some(ex) = &guest.exports[cat.index()] else {
                continue;
            };
            if !all_categories && guest.interests & cat.hook_mask() == 0 {
                // Exported but not interested in any hook: never called after load.
                continue;
            }
            let result = (|| -> wasmtime::Result<Funcs> {
                Ok(Funcs {
                    interests: instance.get_typed_func(&mut store, ex.interests)?,
                    before: instance.get_typed_func(&mut store, ex.before)?,
                    after: instance.get_typed_func(&mut store, ex.after)?,
                })
            })();
            match result {
                Ok(f) => funcs[cat.index()] = Some(f),
                Err(e) => {
                    return Err(NewError::WrongType(format!(
                        "`{}` has the wrong type: {e:#}",
                        cat.interface()
                    )));
                }
            }
        }
        guest.stats.live.fetch_add(1, Ordering::Relaxed);
        guest.meta.metrics.instances(&guest.meta.name, 1);
        Ok(GuestInstance {
            store,
            funcs,
            live: guest.stats.live.clone(),
            in_call: false,
            started: None,
        })
    }

    /// Whether the host unwound out of a call of this instance (see `in_call`).
    pub(crate) fn interrupted(&self) -> bool {
        self.in_call
    }

    /// Bind a reused instance to the scope of its next call: activity info, heartbeat
    /// target and clock come from the call being served, never from an earlier caller.
    pub(crate) fn rescope(&mut self, scope: &Scope) {
        let data = self.store.data_mut();
        data.scope = scope.clone();
        // A span an earlier caller left open is never this caller's parent.
        data.spans.forget_open();
    }

    /// Ask the guest which hooks of `cat` it wants.
    pub(crate) fn interests(
        &mut self,
        guest: &LoadedGuest,
        cat: Category,
    ) -> Result<Vec<Interest>, GuestFailure> {
        let f = self.funcs[cat.index()]
            .as_ref()
            .expect("exported category")
            .interests;
        self.arm(guest, Hook::ExecuteActivity, Phase::Load);
        let r = f.call(&mut self.store, ());
        wasi::discard_output(&self.store.data().shared);
        self.in_call = false;
        match r {
            Ok((hooks,)) => Ok(hooks),
            Err(e) => Err(classify(&mut self.store, &e, guest)),
        }
    }

    /// Set fuel, deadline, clocks and flags for one call.
    fn arm(&mut self, guest: &LoadedGuest, hook: Hook, phase: Phase) {
        self.in_call = true;
        self.started = guest.meta.hops.then(std::time::Instant::now);
        let data = self.store.data_mut();
        data.limiter.hit = None;
        let (now, suppress) = match &data.scope {
            Scope::Workflow(w) => (w.now_nanos(), w.is_replaying()),
            _ => (now_nanos(), false),
        };
        data.shared.now.store(now, Ordering::Relaxed);
        data.shared.suppress.store(suppress, Ordering::Relaxed);
        let shown = if phase == Phase::Load {
            super::host::NO_HOOK
        } else {
            hook as u8
        };
        data.shared.hook.store(shown, Ordering::Relaxed);
        data.cur.hook = hook;
        data.cur.phase = phase;
        data.shared.output.store(0, Ordering::Relaxed);
        data.cur.last_error_log = None;
        // Nothing of an earlier call survives into this one, even if that call never
        // returned normally.
        data.cur.undo.clear();
        data.cur.heartbeat = None;
        data.cur.outcome = None;
        data.cur.call = Call::placeholder();
        if guest.meta.metering {
            // Cannot fail: fuel is enabled on this engine.
            let _ = self.store.set_fuel(guest.meta.limits.fuel);
        }
        let load = phase == Phase::Load;
        self.store.data_mut().cur.deadline = deadline(&guest.meta, load);
        self.store
            .set_epoch_deadline(epoch_ticks(&guest.meta, load));
    }

    fn charge_fuel(&mut self, guest: &LoadedGuest) {
        let left = if guest.meta.metering {
            self.store.get_fuel().unwrap_or(0)
        } else {
            guest.meta.limits.fuel
        };
        let used = guest.meta.limits.fuel.saturating_sub(left);
        guest.stats.fuel.fetch_add(used, Ordering::Relaxed);
        guest.stats.calls.fetch_add(1, Ordering::Relaxed);
        if let Some(started) = self.started.take() {
            let cur = &self.store.data().cur;
            guest.meta.metrics.hop(
                &guest.meta.name,
                cur.hook,
                cur.phase,
                started.elapsed(),
                used,
            );
        }
    }

    /// Run `before` for `call`, handing it the headers its interest declared. Edits stay in
    /// `call` only if the guest returns a valid decision: detail and argument edits made
    /// through the handle are undone otherwise, and header edits (carried by `proceed`) are
    /// applied only then. The decision returned carries no edits (they are applied).
    pub(crate) fn before(
        &mut self,
        guest: &LoadedGuest,
        call: &mut Call,
    ) -> Result<BeforeDecision, GuestFailure> {
        let hook = call.hook();
        let f = self.funcs[hook.category().index()]
            .as_ref()
            .expect("exported category")
            .before;
        self.arm(guest, hook, Phase::Before);
        let values = guest.reads[hook as usize].values(&call.headers);
        let access = call.header_access();
        self.store.data_mut().cur.call = std::mem::replace(call, Call::placeholder());
        let r = f.call(
            &mut self.store,
            (hook, Resource::new_borrow(0), values, access),
        );
        wasi::flush_output(self.store.data());
        self.charge_fuel(guest);
        let result = match r {
            Ok((d,)) => self.check_before(guest, hook, access, d),
            Err(e) => Err(classify(&mut self.store, &e, guest)),
        };
        let data = self.store.data_mut();
        let cur = &mut data.cur;
        if result.is_ok()
            && let Some(details) = cur.heartbeat.take()
            && let Scope::Activity(a) = &data.scope
        {
            a.heartbeat(details);
        }
        let result = match result {
            Ok(BeforeDecision::Proceed(edits)) => {
                for edit in edits {
                    match edit {
                        HeaderEdit::Set((k, v)) => {
                            cur.call.headers.insert(k, v);
                        }
                        HeaderEdit::Remove(k) => {
                            cur.call.headers.remove(&k);
                        }
                    }
                }
                Ok(BeforeDecision::Proceed(Vec::new()))
            }
            Ok(d) => Ok(d),
            Err(e) => {
                rollback(cur);
                Err(e)
            }
        };
        cur.undo.clear();
        *call = std::mem::replace(&mut cur.call, Call::placeholder());
        self.in_call = false;
        result
    }

    fn check_before(
        &mut self,
        guest: &LoadedGuest,
        hook: Hook,
        access: HeaderAccess,
        d: BeforeDecision,
    ) -> Result<BeforeDecision, GuestFailure> {
        match &d {
            BeforeDecision::Proceed(edits) if edits.is_empty() => {}
            BeforeDecision::Proceed(edits) => {
                let why = match access {
                    HeaderAccess::Editable => None,
                    HeaderAccess::ReadOnly => Some("it is read-only"),
                    HeaderAccess::Absent => Some("its operation carries no Temporal headers"),
                };
                if let Some(why) = why {
                    return Err(GuestFailure::InvalidDecision {
                        message: format!(
                            "`proceed` carries {} header edit(s), but hook `{hook}` cannot \
                             edit headers: {why}",
                            edits.len()
                        ),
                    });
                }
                for edit in edits {
                    // Every edit is an item, whatever its size.
                    let bytes = OUTPUT_ITEM_COST.saturating_add(match edit {
                        HeaderEdit::Set((k, v)) => {
                            (k.len() as u64).saturating_add(super::host::payload_cost(v))
                        }
                        HeaderEdit::Remove(k) => k.len() as u64,
                    });
                    self.store
                        .data_mut()
                        .charge_output(bytes)
                        .map_err(|e| classify(&mut self.store, &e, guest))?;
                }
                // Checked once charged: the output limit bounds what is parsed.
                if hook.has_string_headers() {
                    let headers = &self.store.data().cur.call.headers;
                    string_header_edits(headers, edits).map_err(|why| {
                        GuestFailure::InvalidDecision {
                            message: format!("`{hook}`: {why}"),
                        }
                    })?;
                }
            }
            BeforeDecision::Reject(f) => self.charge_decision(
                guest,
                &f.details,
                f.message.len().saturating_add(f.error_type.len()),
            )?,
            BeforeDecision::Respond(p) => {
                if !hook.allows_respond() {
                    return Err(GuestFailure::InvalidDecision {
                        message: format!("`respond` is not allowed in hook `{hook}`"),
                    });
                }
                self.charge_decision(guest, p, 0)?;
            }
        }
        Ok(d)
    }

    fn charge_decision(
        &mut self,
        guest: &LoadedGuest,
        payloads: &[Payload],
        extra: usize,
    ) -> Result<(), GuestFailure> {
        let bytes = super::host::payloads_cost(payloads).saturating_add(extra as u64);
        self.store
            .data_mut()
            .charge_output(bytes)
            .map_err(|e| classify(&mut self.store, &e, guest))
    }

    /// Run `after` for `call` with `outcome`.
    pub(crate) fn after(
        &mut self,
        guest: &LoadedGuest,
        call: &mut Call,
        outcome: Outcome,
    ) -> Result<(AfterDecision, Outcome), GuestFailure> {
        let hook = call.hook();
        let f = self.funcs[hook.category().index()]
            .as_ref()
            .expect("exported category")
            .after;
        self.arm(guest, hook, Phase::After);
        let values = guest.reads[hook as usize].values(&call.headers);
        let failure = match &outcome {
            Outcome::Ok(_) => None,
            Outcome::Err(f) => Some(f.clone()),
        };
        {
            let cur = &mut self.store.data_mut().cur;
            cur.call = std::mem::replace(call, Call::placeholder());
            cur.outcome = Some(outcome);
        }
        let r = f.call(
            &mut self.store,
            (
                hook,
                Resource::new_borrow(0),
                values,
                failure,
                Resource::new_borrow(0),
            ),
        );
        wasi::flush_output(self.store.data());
        self.charge_fuel(guest);
        let result = match r {
            Ok((d,)) => match &d {
                AfterDecision::Keep => Ok(d),
                AfterDecision::Replace(p) => {
                    if !hook.result_is_payloads() {
                        Err(GuestFailure::InvalidDecision {
                            message: format!(
                                "`replace` is not allowed in hook `{hook}`: its result is not a \
                                 payload list"
                            ),
                        })
                    } else {
                        self.charge_decision(guest, p, 0).map(|()| d)
                    }
                }
                AfterDecision::Fail(f) => {
                    let len = f.message.len().saturating_add(f.error_type.len());
                    let cost = super::host::payloads_cost(&f.details).saturating_add(len as u64);
                    self.store
                        .data_mut()
                        .charge_output(cost)
                        .map_err(|e| classify(&mut self.store, &e, guest))
                        .map(|()| d)
                }
            },
            Err(e) => Err(classify(&mut self.store, &e, guest)),
        };
        let cur = &mut self.store.data_mut().cur;
        *call = std::mem::replace(&mut cur.call, Call::placeholder());
        let outcome = cur
            .outcome
            .take()
            .unwrap_or_else(|| Outcome::Ok(Vec::new()));
        self.in_call = false;
        result.map(|d| (d, outcome))
    }
}

/// The deadline of the load phase (instantiation and `interests` at load): the guest's own,
/// but at least [`LOAD_DEADLINE`]. Start-up is not the hot path, and a worker starting on
/// a loaded machine must not fail a guest whose per-call deadline is tight.
pub(crate) const LOAD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);

/// The deadline of a call: the guest's, or for the load phase at least [`LOAD_DEADLINE`].
fn deadline(meta: &super::GuestMeta, load: bool) -> std::time::Duration {
    if load {
        meta.limits.deadline.max(LOAD_DEADLINE)
    } else {
        meta.limits.deadline
    }
}

/// [`deadline`] in epoch ticks.
fn epoch_ticks(meta: &super::GuestMeta, load: bool) -> u64 {
    if load {
        let floor = LOAD_DEADLINE
            .as_nanos()
            .div_ceil(super::EPOCH_TICK.as_nanos()) as u64
            + 1;
        meta.epoch_ticks.max(floor)
    } else {
        meta.epoch_ticks
    }
}

/// The most bytes the host copies out of a guest in one crossing (see
/// `Store::set_hostcall_fuel`).
pub(crate) fn hostcall_budget(max_output: u64) -> usize {
    const FLOOR: u64 = 1 << 20;
    usize::try_from(max_output.saturating_mul(2).max(FLOOR)).unwrap_or(usize::MAX)
}

/// What wasmtime says when a crossing copies more than the hostcall budget. Its error type
/// is private, so it is known by this text; a guest that makes a host error say the same
/// (a metric name, say) gets its failure reported as an output limit, which it also is.
const HOSTCALL_BUDGET_EXHAUSTED: &str = "too much data is being copied between the host and the guest: fuel allocated for hostcalls has been exhausted";

/// Whether an instantiation error is the host running out of room rather than the guest
/// failing: the pool is full, or the kernel refused memory or mappings (ENOMEM, e.g. past
/// `vm.max_map_count` with copy-on-write memory images). Matched by error type only: the
/// text of an error can carry what a guest chose (a start function's failing import).
fn host_capacity(e: &wasmtime::Error) -> Option<String> {
    if let Some(full) = e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        return Some(full.to_string());
    }
    e.chain()
        .any(|c| {
            c.downcast_ref::<rustix::io::Errno>()
                .is_some_and(|errno| *errno == rustix::io::Errno::NOMEM)
                || c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.raw_os_error() == Some(libc::ENOMEM))
        })
        .then(|| format!("{e:#}"))
}

fn rollback(cur: &mut CallState) {
    while let Some(u) = cur.undo.pop() {
        match u {
            Undo::Args(a) => cur.call.args = a,
            Undo::Detail(d) => cur.call.detail = d,
        }
    }
}

/// Turn a wasmtime error into the cause an operator can act on.
fn classify(
    store: &mut Store<HostState>,
    e: &wasmtime::Error,
    guest: &LoadedGuest,
) -> GuestFailure {
    let data = store.data_mut();
    if let Some(o) = e.downcast_ref::<OutputLimitExceeded>() {
        return GuestFailure::OutputLimit {
            size: o.size,
            limit: o.limit,
        };
    }
    if e.root_cause().to_string() == HOSTCALL_BUDGET_EXHAUSTED {
        let budget = hostcall_budget(guest.meta.limits.max_output) as u64;
        return GuestFailure::OutputLimit {
            size: budget.saturating_add(1),
            limit: guest.meta.limits.max_output,
        };
    }
    if let Some(detail) = data.limiter.hit.take() {
        return GuestFailure::MemoryLimit { detail };
    }
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        match trap {
            wasmtime::Trap::OutOfFuel => {
                return GuestFailure::OutOfFuel {
                    limit: guest.meta.limits.fuel,
                };
            }
            wasmtime::Trap::Interrupt => {
                // The deadline armed for this call (an instance made for a run, not at
                // load, has the guest's own even while it instantiates).
                return GuestFailure::Deadline {
                    limit: data.cur.deadline,
                };
            }
            wasmtime::Trap::StackOverflow => return GuestFailure::StackOverflow,
            _ => {}
        }
    }
    let mut message = match e.downcast_ref::<wasmtime::Trap>() {
        Some(t) => t.to_string(),
        None => e.root_cause().to_string(),
    };
    if let Some(log) = data.cur.last_error_log.take() {
        message = format!("{message}; the guest logged: {log}");
    }
    tracing::debug!(guest = %guest.meta.name, "guest failure detail: {e:?}");
    GuestFailure::Trap { message }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kernel_refusing_memory_is_capacity_not_the_guests_failure() {
        let enomem = wasmtime::Error::from(std::io::Error::from_raw_os_error(libc::ENOMEM))
            .context("mmap failed to reserve a memory image");
        assert!(super::host_capacity(&enomem).is_some());
        // What wasmtime's mmap calls return.
        let mmap = wasmtime::Error::from(rustix::io::Errno::NOMEM).context("mmap failed");
        assert!(super::host_capacity(&mmap).is_some());
        let trap = wasmtime::Error::msg("wasm trap: unreachable");
        assert!(super::host_capacity(&trap).is_none());
        // A guest can put any text in an error (a metric name, a panic message): the text
        // of ENOMEM is not capacity.
        let said = wasmtime::Error::msg("metric name \"Cannot allocate memory (os error 12)\"");
        assert!(super::host_capacity(&said).is_none());
    }
}

/// Check a guest's header edits on a hook whose headers are strings (Nexus: HTTP-style
/// headers): each key a lowercase HTTP token, each value a string ([`Payload::header_string`]),
/// and the headers as they will be at most [`MAX_STRING_HEADER_BYTES`] of keys and values.
fn string_header_edits(
    current: &std::collections::BTreeMap<String, Payload>,
    edits: &[HeaderEdit],
) -> Result<(), String> {
    let shown = |k: &str| {
        k.chars()
            .take(64)
            .collect::<String>()
            .escape_debug()
            .to_string()
    };
    let size = |k: &str, p: &Payload| k.len() + p.header_string().map_or(p.data.len(), |s| s.len());
    let mut sizes: std::collections::BTreeMap<&str, usize> = current
        .iter()
        .map(|(k, p)| (k.as_str(), size(k, p)))
        .collect();
    for edit in edits {
        match edit {
            HeaderEdit::Set((k, v)) => {
                if !crate::model::is_string_header_name(k) {
                    return Err(format!(
                        "header key `{}` is not a lowercase HTTP token (Nexus headers are HTTP \
                         headers, matched without case)",
                        shown(k)
                    ));
                }
                if v.header_string().is_none() {
                    return Err(format!(
                        "header `{}`: its headers are strings, so a header must be a \
                         `json/plain` JSON string or UTF-8 data, without control characters",
                        shown(k)
                    ));
                }
                sizes.insert(k, size(k, v));
            }
            HeaderEdit::Remove(k) => {
                sizes.remove(k.as_str());
            }
        }
    }
    let total: usize = sizes.values().sum();
    if total > MAX_STRING_HEADER_BYTES {
        return Err(format!(
            "the headers would hold {total} bytes of keys and values; at most \
             {MAX_STRING_HEADER_BYTES} are allowed (Temporal refuses larger Nexus headers)"
        ));
    }
    Ok(())
}
