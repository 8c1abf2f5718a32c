//! The chain: runs one hook through N interceptors, Wasm guests loaded by the [`Runtime`]
//! and native Rust interceptors, in config order. It sits above the runtime: it loads
//! guests through it and drives their instances; the runtime never names the chain.
//!
//! Ordering, stated once: guests run in config order. `before` runs from the first guest to
//! the last, then the real call, then `after` from the last guest back to the first — the
//! order of nested `next` calls in Temporal's SDKs, where the first interceptor registered
//! is the outermost. A guest that rejects or responds in `before` stops the descent: the
//! guests after it and the real call do not run, and the guests before it see that outcome
//! in `after`, as they would see the result of `next`.
//!
//! Guests that did not declare a hook are skipped without any Wasm call (and, with
//! per-call instances, without being instantiated).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub use crate::model::*;

use crate::config::{Config, FailurePolicy, InstanceMode};
use crate::error::{ConfigError, Error, GuestError, GuestFailure};
use crate::model::wit::interpose::interceptor::types::{AfterDecision, BeforeDecision};
use crate::runtime::instance::{GuestInstance, Role};
use crate::runtime::{GuestInfo, GuestStats, LoadedGuest, Runtime};
use crate::services::{HopObserver, Scope};

/// An ordered list of loaded guests. Cheap to clone; shared by every session.
#[derive(Clone)]
pub struct Chain {
    inner: Arc<ChainInner>,
}

struct ChainInner {
    _runtime: Runtime,
    /// The Wasm guests; sessions keep one slot per guest.
    guests: Vec<Arc<LoadedGuest>>,
    /// The chain order: Wasm guests (by index into `guests`) and native interceptors.
    entries: Vec<Entry>,
    any: u64,
    observer: Option<Arc<dyn HopObserver>>,
    fingerprint: String,
}

#[derive(Clone)]
enum Entry {
    Wasm(usize),
    Native(String, Arc<dyn NativeInterceptor>),
}

/// What a native interceptor decides in `before`.
#[derive(Debug)]
#[non_exhaustive]
pub enum NativeDecision {
    /// Run the rest of the chain with the (possibly edited) call.
    Proceed,
    /// Fail the call with this failure.
    Reject(Failure),
    /// Answer the call with these payloads (where the hook allows it).
    Respond(Vec<Payload>),
}

/// A native Rust interceptor placed in the chain among Wasm guests, at the position of a
/// `native = true` entry of `interpose.toml`. It runs in the host with full access (it is
/// the application's own code): no sandbox, limits or failure policy apply.
pub trait NativeInterceptor: Send + Sync + 'static {
    /// Whether it wants `hook` (both phases).
    fn wants(&self, hook: Hook) -> bool;

    /// Before the call; may edit `call`.
    fn before(&self, call: &mut Call, scope: &Scope) -> NativeDecision {
        let _ = (call, scope);
        NativeDecision::Proceed
    }

    /// After the call; returns the (possibly replaced) outcome.
    fn after(&self, call: &Call, outcome: Outcome, scope: &Scope) -> Outcome {
        let _ = (call, scope);
        outcome
    }
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.inner.guests.iter().map(|g| &g.meta.name))
            .finish()
    }
}

impl Chain {
    /// Load every guest of `config`, in order, into a chain, through `runtime` (its engine,
    /// pool and cache; its sinks receive the guests' metrics and logs, see
    /// [`Runtime::with_sinks`]). `natives` binds native Rust interceptors by name to the
    /// `native = true` entries of the config: every native entry must be bound, and every
    /// binding must name a native entry.
    ///
    /// The first guest that fails to load stops the whole load: nothing is registered with a
    /// partial chain.
    pub fn load(
        runtime: &Runtime,
        config: &Config,
        mut natives: Vec<(String, Arc<dyn NativeInterceptor>)>,
    ) -> Result<Chain, Error> {
        let mut guests = Vec::with_capacity(config.guests.len());
        let mut placed = Vec::new();
        for (pos, g) in config.guests.iter().enumerate() {
            if g.native {
                let Some(at) = natives.iter().position(|(n, _)| *n == g.name) else {
                    return Err(Error::Config(ConfigError::Invalid {
                        path: config.origin.clone(),
                        message: format!(
                            "guest `{}` is declared native, but the application bound no native \
                             interceptor by that name",
                            g.name
                        ),
                    }));
                };
                let (name, native) = natives.remove(at);
                placed.push((pos, name, native));
                continue;
            }
            let started = Instant::now();
            let guest = runtime.load_guest(g)?;
            tracing::info!(
                guest = %g.name,
                hash = %&guest.info.hash[..12],
                cache = ?guest.info.cache,
                elapsed = ?started.elapsed(),
                "loaded guest"
            );
            guests.push(Arc::new(guest));
        }
        if let Some((name, _)) = natives.first() {
            return Err(Error::Config(ConfigError::Invalid {
                path: config.origin.clone(),
                message: format!(
                    "native interceptor `{name}` has no `native = true` entry in the config"
                ),
            }));
        }
        Ok(Chain::new(runtime.clone(), guests, placed))
    }

    /// A chain of `guests` (Wasm, in order) with native interceptors inserted at their
    /// positions of the chain order.
    fn new(
        runtime: Runtime,
        guests: Vec<Arc<LoadedGuest>>,
        natives: Vec<(usize, String, Arc<dyn NativeInterceptor>)>,
    ) -> Chain {
        let mut any = guests.iter().fold(0, |m, g| m | g.interests);
        let mut entries: Vec<Entry> = (0..guests.len()).map(Entry::Wasm).collect();
        for (pos, name, native) in natives {
            for hook in Hook::ALL {
                if native.wants(*hook) {
                    any |= hook.bit();
                }
            }
            entries.insert(pos.min(entries.len()), Entry::Native(name, native));
        }
        let fingerprint = fingerprint(&guests, &entries);
        Chain {
            inner: Arc::new(ChainInner {
                _runtime: runtime,
                guests,
                entries,
                any,
                observer: None,
                fingerprint,
            }),
        }
    }

    /// The chain's version identity: SHA-256 (hex) over, in chain order, every Wasm
    /// guest's name, component hash and everything in its config that can change what it
    /// does (failure policy, instance mode, clock, limits, its `[guest.config]` values), and
    /// every native interceptor's name. Two workers with the same fingerprint run the same
    /// interceptors; a changed guest, limit or order changes it.
    /// [`crate::temporal::Interpose::stamp_worker`] records it on every workflow task.
    pub fn fingerprint(&self) -> &str {
        &self.inner.fingerprint
    }

    /// Names of every chain entry, Wasm guests and native interceptors, in chain order.
    pub fn order(&self) -> Vec<&str> {
        self.inner
            .entries
            .iter()
            .map(|e| match e {
                Entry::Wasm(i) => self.inner.guests[*i].meta.name.as_str(),
                Entry::Native(name, _) => name.as_str(),
            })
            .collect()
    }

    /// The same guests, with every guest call reported to `observer`.
    pub fn with_observer(&self, observer: Arc<dyn HopObserver>) -> Chain {
        Chain {
            inner: Arc::new(ChainInner {
                _runtime: self.inner._runtime.clone(),
                guests: self.inner.guests.clone(),
                entries: self.inner.entries.clone(),
                any: self.inner.any,
                observer: Some(observer),
                fingerprint: self.inner.fingerprint.clone(),
            }),
        }
    }

    /// Whether any guest wants `hook`. Adapters use this to skip building a [`Call`].
    pub fn wants(&self, hook: Hook) -> bool {
        self.inner.any & hook.bit() != 0
    }

    /// Whether any guest exports a category.
    pub fn has_category(&self, cat: Category) -> bool {
        self.inner
            .guests
            .iter()
            .any(|g| g.exports[cat.index()].is_some())
    }

    /// Instances this chain can need at once in a worker that caches `runtime.cached_runs`
    /// runs (see [`crate::config::RuntimeConfig::instances_needed`]).
    pub fn instances_needed(&self, runtime: &crate::config::RuntimeConfig) -> u64 {
        let serves = |g: &LoadedGuest, cats: &[Category]| {
            cats.iter().any(|c| g.exports[c.index()].is_some())
        };
        let guests = &self.inner.guests;
        let workflow = guests
            .iter()
            .filter(|g| serves(g, &[Category::WorkflowInbound, Category::WorkflowOutbound]))
            .count();
        let calls = guests
            .iter()
            .filter(|g| serves(g, &[Category::Client, Category::ActivityInbound]))
            .count();
        runtime.instances_needed(workflow, calls)
    }

    /// The guests, in chain order.
    pub fn guests(&self) -> impl Iterator<Item = &GuestInfo> {
        self.inner.guests.iter().map(|g| &g.info)
    }

    /// Counters of the guest named `name`.
    pub fn stats(&self, name: &str) -> Option<GuestStats> {
        self.inner
            .guests
            .iter()
            .find(|g| g.meta.name == name)
            .map(|g| g.stats())
    }

    /// Idle instances kept for reuse by the guest named `name`.
    pub fn idle_instances(&self, name: &str) -> usize {
        self.inner
            .guests
            .iter()
            .find(|g| g.meta.name == name)
            .map_or(0, |g| g.idle.lock().map_or(0, |v| v.len()))
    }

    /// A session: one workflow run (`Scope::Workflow`, instances live as long as the
    /// session) or one client or activity call (instances are per call, or reused where the
    /// guest's config says `instances = "reuse"`).
    pub fn session(&self, scope: Scope) -> Session {
        Session {
            chain: self.clone(),
            slots: (0..self.inner.guests.len()).map(|_| Slot::Empty).collect(),
            read_only: (0..self.inner.guests.len()).map(|_| Slot::Empty).collect(),
            scope,
            decided_by: None,
        }
    }
}

enum Slot {
    Empty,
    Live(Box<GuestInstance>),
    Poisoned,
}

/// The guests whose `before` ran and who therefore see `after`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entered(u64);

impl Entered {
    /// Number of guests that entered.
    pub fn count(self) -> u32 {
        self.0.count_ones()
    }
}

/// Result of the `before` phase.
#[derive(Debug)]
#[must_use]
pub enum Before {
    /// Run the real call with the (possibly edited) call, then [`Session::after`].
    Proceed(Entered),
    /// A guest rejected or answered the call: do not run the real call; pass this outcome
    /// to [`Session::after`].
    Done(Entered, Outcome),
}

/// A chain bound to a scope, holding the guest instances of that scope.
///
/// A workflow session keeps two instances per guest: one for the hooks that replay, and
/// one for the read-only hooks (queries and update validators), which Temporal does not
/// replay. Whatever a guest does in a query — draw random numbers, count queries, fail —
/// therefore cannot change what it does in the hooks that produce commands, so a run
/// replays the same with or without the queries it served.
pub struct Session {
    chain: Chain,
    slots: Vec<Slot>,
    read_only: Vec<Slot>,
    scope: Scope,
    /// See [`Session::decided_by`].
    decided_by: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The guest (or native interceptor) that decided the call's result: after
    /// [`Session::before`] returned [`Before::Done`], the one that rejected or answered
    /// it; after [`Session::after`], the last one that failed or replaced the result (none
    /// if the result was kept). Adapters name it when they must refuse what it decided.
    pub fn decided_by(&self) -> Option<&str> {
        self.decided_by.as_deref()
    }

    fn workflow(&self) -> bool {
        matches!(self.scope, Scope::Workflow(_))
    }

    /// The slot that serves `hook` for guest `i`.
    fn slot(&mut self, i: usize, hook: Hook) -> &mut Slot {
        if self.workflow() && hook.is_read_only() {
            &mut self.read_only[i]
        } else {
            &mut self.slots[i]
        }
    }

    /// The live instance of guest `i` for `hook`, creating it if needed.
    fn instance(&mut self, i: usize, hook: Hook) -> Result<&mut GuestInstance, GuestFailure> {
        let guest = self.chain.inner.guests[i].clone();
        let role = if self.workflow() && hook.is_read_only() {
            Role::ReadOnly
        } else {
            Role::Run
        };
        // An instance the host unwound out of (a host panic mid-call, caught further up) is
        // in an unknown state: never call it again.
        let poison = self.workflow() && !hook.is_read_only();
        if let Slot::Live(inst) = self.slot(i, hook)
            && inst.interrupted()
        {
            *self.slot(i, hook) = if poison { Slot::Poisoned } else { Slot::Empty };
        }
        if matches!(self.slot(i, hook), Slot::Empty) {
            let reused = if !self.workflow() && guest.meta.instances == InstanceMode::Reuse {
                guest.idle.lock().ok().and_then(|mut v| v.pop())
            } else {
                None
            };
            let inst = match reused {
                Some(mut inst) => {
                    // The scope is per call: a reused instance serves this caller.
                    inst.rescope(&self.scope);
                    inst
                }
                None => {
                    let inst = GuestInstance::new(&guest, &self.scope, role)
                        .map_err(GuestFailure::from)?;
                    guest.stats.instantiations.fetch_add(1, Ordering::Relaxed);
                    inst
                }
            };
            *self.slot(i, hook) = Slot::Live(Box::new(inst));
        }
        match self.slot(i, hook) {
            Slot::Live(inst) => Ok(inst),
            Slot::Poisoned => Err(GuestFailure::Poisoned),
            Slot::Empty => unreachable!("filled above"),
        }
    }

    /// Handle a guest failure per its policy: `Ok(())` to skip the guest, `Err` to fail.
    fn failed(
        &mut self,
        i: usize,
        hook: Hook,
        phase: Phase,
        cause: GuestFailure,
    ) -> Result<(), GuestError> {
        let chain = self.chain.clone();
        let guest = &chain.inner.guests[i];
        if matches!(cause, GuestFailure::Capacity { .. }) {
            // The host's limit, not the guest's failure: the slot stays empty (a retry may
            // find room) and the call fails whatever the guest's policy, so that a busy
            // worker never runs a workflow without one of its guests.
            *self.slot(i, hook) = Slot::Empty;
            let err = GuestError {
                guest: guest.meta.name.clone(),
                hook,
                phase,
                cause,
            };
            tracing::error!(guest = %err.guest, hook = %hook, %phase, "{err}");
            return Err(err);
        }
        // A failed instance is never reused. In a workflow run the slot stays poisoned so the
        // guest's per-run state cannot silently restart mid-run; the read-only instance
        // holds nothing that commands depend on, so the next query gets a fresh one.
        let poison = self.workflow() && !hook.is_read_only();
        *self.slot(i, hook) = if poison { Slot::Poisoned } else { Slot::Empty };
        // Every guest failure is counted here, once: capacity (above) is not the guest's,
        // and a poisoned slot refusing later hooks repeats a failure already counted.
        if !matches!(cause, GuestFailure::Poisoned) {
            guest.stats.failures.fetch_add(1, Ordering::Relaxed);
        }
        let err = GuestError {
            guest: guest.meta.name.clone(),
            hook,
            phase,
            cause,
        };
        match guest.meta.policy {
            FailurePolicy::FailClosed => {
                tracing::error!(guest = %err.guest, hook = %hook, %phase, "{err}");
                Err(err)
            }
            FailurePolicy::Skip => {
                tracing::warn!(guest = %err.guest, hook = %hook, %phase, "skipping guest (on-failure = \"skip\"): {err}");
                Ok(())
            }
        }
    }

    /// Run `before` of every interested guest, in chain order.
    pub fn before(&mut self, call: &mut Call) -> Result<Before, GuestError> {
        let hook = call.hook();
        let mut entered = 0u64;
        self.decided_by = None;
        if !self.chain.wants(hook) {
            return Ok(Before::Proceed(Entered(0)));
        }
        let chain = self.chain.clone();
        for (pos, entry) in chain.inner.entries.iter().enumerate() {
            let i = match entry {
                Entry::Wasm(i) => *i,
                Entry::Native(name, native) => {
                    if !native.wants(hook) {
                        continue;
                    }
                    match native.before(call, &self.scope) {
                        NativeDecision::Proceed => entered |= 1 << pos,
                        NativeDecision::Reject(f) => {
                            self.decided_by = Some(name.clone());
                            return Ok(Before::Done(Entered(entered), Outcome::Err(f)));
                        }
                        NativeDecision::Respond(p) if hook.allows_respond() => {
                            self.decided_by = Some(name.clone());
                            return Ok(Before::Done(Entered(entered), Outcome::Ok(p)));
                        }
                        NativeDecision::Respond(_) => {
                            return Err(GuestError {
                                guest: name.clone(),
                                hook,
                                phase: Phase::Before,
                                cause: GuestFailure::InvalidDecision {
                                    message: format!("`respond` is not allowed in hook `{hook}`"),
                                },
                            });
                        }
                    }
                    continue;
                }
            };
            let guest = &chain.inner.guests[i];
            if !guest.wants(hook) {
                continue;
            }
            if !guest.wants_before(hook) {
                // Only `after` declared: no Wasm call now, but the guest sees the outcome.
                entered |= 1 << pos;
                continue;
            }
            let _span = hook.span(&guest.meta.name, Phase::Before).entered();
            let seen = chain.inner.observer.as_ref().map(|_| call.headers.clone());
            let decision = self
                .instance(i, hook)
                .and_then(|inst| inst.before(guest, call));
            if let (Some(obs), Some(old)) = (&chain.inner.observer, seen) {
                obs.hop(
                    &guest.meta.name,
                    hook,
                    Phase::Before,
                    &summarize_before(&decision, &old, call),
                );
            }
            match decision {
                Ok(BeforeDecision::Proceed) => {
                    if guest.wants_after(hook) {
                        entered |= 1 << pos;
                    }
                }
                Ok(BeforeDecision::Reject(f)) => {
                    tracing::debug!(guest = %guest.meta.name, hook = %hook, "rejected: {}", f.message);
                    self.decided_by = Some(guest.meta.name.clone());
                    return Ok(Before::Done(Entered(entered), Outcome::Err(f)));
                }
                Ok(BeforeDecision::Respond(p)) => {
                    self.decided_by = Some(guest.meta.name.clone());
                    return Ok(Before::Done(Entered(entered), Outcome::Ok(p)));
                }
                Err(cause) => self.failed(i, hook, Phase::Before, cause)?,
            }
        }
        Ok(Before::Proceed(Entered(entered)))
    }

    /// Run `after` of the guests that entered, in reverse chain order, and return the final
    /// outcome.
    pub fn after(
        &mut self,
        call: &mut Call,
        entered: Entered,
        mut outcome: Outcome,
    ) -> Result<Outcome, GuestError> {
        let hook = call.hook();
        let chain = self.chain.clone();
        self.decided_by = None;
        for (pos, entry) in chain.inner.entries.iter().enumerate().rev() {
            if entered.0 & (1 << pos) == 0 {
                continue;
            }
            let i = match entry {
                Entry::Wasm(i) => *i,
                Entry::Native(name, native) => {
                    let seen = outcome.clone();
                    outcome = native.after(call, outcome, &self.scope);
                    if outcome != seen {
                        self.decided_by = Some(name.clone());
                    }
                    continue;
                }
            };
            let guest = &chain.inner.guests[i];
            let _span = hook.span(&guest.meta.name, Phase::After).entered();
            let result = match self.instance(i, hook) {
                Ok(inst) => inst.after(guest, call, outcome.clone()),
                Err(cause) => Err(cause),
            };
            if let Some(obs) = &chain.inner.observer {
                let summary = match &result {
                    Ok((AfterDecision::Keep, _)) => "keep".to_owned(),
                    Ok((AfterDecision::Replace(p), _)) => {
                        format!("replace the result ({} payloads)", p.len())
                    }
                    Ok((AfterDecision::Fail(f), _)) => format!("fail: {}", f.message),
                    Err(cause) => format!("guest failure: {cause}"),
                };
                obs.hop(&guest.meta.name, hook, Phase::After, &summary);
            }
            match result {
                Ok((AfterDecision::Keep, o)) => outcome = o,
                Ok((AfterDecision::Replace(p), _)) => {
                    self.decided_by = Some(guest.meta.name.clone());
                    outcome = Outcome::Ok(p);
                }
                Ok((AfterDecision::Fail(f), _)) => {
                    self.decided_by = Some(guest.meta.name.clone());
                    outcome = Outcome::Err(f);
                }
                Err(cause) => self.failed(i, hook, Phase::After, cause)?,
            }
        }
        self.release();
        Ok(outcome)
    }

    /// Befores, the real call, afters: the whole hook in one go.
    pub fn run(
        &mut self,
        call: &mut Call,
        real: impl FnOnce(&mut Call) -> Outcome,
    ) -> Result<Outcome, GuestError> {
        match self.before(call)? {
            Before::Proceed(entered) => {
                let outcome = real(call);
                self.after(call, entered, outcome)
            }
            Before::Done(entered, outcome) => self.after(call, entered, outcome),
        }
    }

    /// End of a per-call session: return reusable instances to their pools. A workflow
    /// session keeps its instances until it is dropped.
    ///
    /// An instance goes back only if its last call returned: never while the thread
    /// unwinds (the session is dropped by a panic) and never one the host unwound out of.
    fn release(&mut self) {
        if self.workflow() {
            return;
        }
        let unwinding = std::thread::panicking();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let guest = &self.chain.inner.guests[i];
            if let Slot::Live(inst) = std::mem::replace(slot, Slot::Empty)
                && !unwinding
                && !inst.interrupted()
                && guest.meta.instances == InstanceMode::Reuse
                && let Ok(mut idle) = guest.idle.lock()
                // Idle instances hold pool slots: keep no more than the calls the pool is
                // sized for (see `RuntimeConfig::instances_needed`).
                && (idle.len() as u64) < crate::config::CALL_INSTANCES_PER_GUEST
            {
                idle.push(*inst);
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.release();
    }
}

/// See [`Chain::fingerprint`]. The text hashed is versioned so that a change of what is
/// included shows as a change of fingerprint, never as a silent collision.
fn fingerprint(guests: &[Arc<LoadedGuest>], entries: &[Entry]) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    let text = fingerprint_text(guests, entries);
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The text [`fingerprint`] hashes.
fn fingerprint_text(guests: &[Arc<LoadedGuest>], entries: &[Entry]) -> String {
    use std::fmt::Write as _;
    let mut text = String::from("interpose-chain-fingerprint v2\n");
    // Fuel accounting and the sandbox's behaviour are part of what a guest does: a new host
    // or engine is a new chain.
    let _ = writeln!(
        text,
        "host {} wasmtime {}",
        env!("CARGO_PKG_VERSION"),
        crate::runtime::WASMTIME_VERSION
    );
    for entry in entries {
        match entry {
            Entry::Native(name, _) => {
                let _ = writeln!(text, "native {name:?}");
            }
            Entry::Wasm(i) => {
                let g = &guests[*i];
                let m = &g.meta;
                let l = &m.limits;
                let _ = writeln!(
                    text,
                    "wasm {:?} sha256:{} on-failure={:?} instances={:?} clock={:?} fuel={} \
                     deadline={:?} memory={} table-elements={} max-output={} \
                     max-metric-series={}",
                    m.name,
                    g.info.hash,
                    m.policy,
                    m.instances,
                    m.clock,
                    l.fuel,
                    l.deadline,
                    l.memory,
                    l.table_elements,
                    l.max_output,
                    l.max_metric_series
                );
                for (k, v) in &m.config {
                    let _ = writeln!(text, "  config {k:?}={v:?}");
                }
            }
        }
    }
    text
}

fn summarize_before(
    decision: &Result<BeforeDecision, GuestFailure>,
    old: &std::collections::BTreeMap<String, Payload>,
    call: &Call,
) -> String {
    let mut s = match decision {
        Ok(BeforeDecision::Proceed) => "proceed".to_owned(),
        Ok(BeforeDecision::Reject(f)) => format!("reject: {}", f.message),
        Ok(BeforeDecision::Respond(p)) => format!("respond ({} payloads)", p.len()),
        Err(cause) => return format!("guest failure: {cause}"),
    };
    let show = |p: &Payload| {
        String::from_utf8_lossy(&p.data)
            .chars()
            .take(40)
            .collect::<String>()
    };
    for (k, v) in call.headers() {
        match old.get(k) {
            None => s.push_str(&format!("; +header {k}={}", show(v))),
            Some(o) if o != v => s.push_str(&format!("; ~header {k}={}", show(v))),
            _ => {}
        }
    }
    for k in old.keys().filter(|k| !call.headers().contains_key(*k)) {
        s.push_str(&format!("; -header {k}"));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fingerprint_covers_the_host_and_engine_versions() {
        let text = super::fingerprint_text(&[], &[]);
        assert!(
            text.contains(&format!(
                "host {} wasmtime {}",
                env!("CARGO_PKG_VERSION"),
                crate::runtime::WASMTIME_VERSION
            )),
            "{text}"
        );
    }
}
