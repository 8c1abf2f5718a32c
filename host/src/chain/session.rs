//! A chain bound to a scope: the `before` and `after` phases of one hook through every
//! interceptor, in chain order, with the failure policy of each guest.

use std::sync::atomic::Ordering;

use super::{Chain, Entry, NativeDecision};
use crate::config::{FailurePolicy, InstanceMode};
use crate::error::{GuestError, GuestFailure};
use crate::model::wit::interpose::interceptor::types::{AfterDecision, BeforeDecision};
use crate::model::{Call, Hook, Outcome, Payload, Phase};
use crate::runtime::instance::{GuestInstance, Role};
use crate::services::Scope;

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
    /// A session of `chain` with no instance yet.
    pub(super) fn new(chain: Chain, scope: Scope) -> Session {
        let n = chain.inner.guests.len();
        Session {
            chain,
            slots: (0..n).map(|_| Slot::Empty).collect(),
            read_only: (0..n).map(|_| Slot::Empty).collect(),
            scope,
            decided_by: None,
        }
    }

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
        if !matches!(cause, GuestFailure::Poisoned) {
            guest
                .meta
                .metrics
                .failure(&guest.meta.name, hook, phase, cause.cause());
        }
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
                Ok(BeforeDecision::Proceed(_)) => {
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

fn summarize_before(
    decision: &Result<BeforeDecision, GuestFailure>,
    old: &std::collections::BTreeMap<String, Payload>,
    call: &Call,
) -> String {
    let mut s = match decision {
        Ok(BeforeDecision::Proceed(_)) => "proceed".to_owned(),
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
