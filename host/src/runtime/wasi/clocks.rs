//! The guest's clocks: wall and monotonic time from the instance's clock (workflow time in
//! workflow hooks), and monotonic timers that are ready when that clock reaches them.

use super::*;

/// Clocks that read the host's notion of time for this instance: workflow time in workflow
/// hooks, the time the hook was entered otherwise.
pub(super) struct VirtualClock(pub(super) Arc<Shared>);

impl HostWallClock for VirtualClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.now.load(Ordering::Relaxed))
    }
}

impl HostMonotonicClock for VirtualClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.now.load(Ordering::Relaxed)
    }
}

/// The monotonic clock of one instance, which `wasi:clocks/monotonic-clock` (reads and
/// timers alike) answers from.
#[derive(Clone)]
pub(super) enum Mono {
    /// The host's notion of time for the hook (see [`VirtualClock`]).
    Virtual(Arc<Shared>),
    /// Real elapsed time since the instance was made (`clock = "real"`, never in workflows).
    Real(std::time::Instant),
}

impl Mono {
    fn now(&self) -> u64 {
        match self {
            Mono::Virtual(s) => s.now.load(Ordering::Relaxed),
            Mono::Real(base) => u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX),
        }
    }
}

/// `wasi:clocks/monotonic-clock` on the instance's own clock. wasmtime-wasi's timers are
/// real tokio timers whatever clock the context has, so a pollable kept from one hook
/// would answer `ready` from real time in the next: live true, in a fast replay false.
/// Here a pollable is ready exactly when the instance's clock has reached its deadline;
/// with the virtual clock that is workflow time, the same live and in replay.
pub(super) struct Timers<'a> {
    pub(super) table: &'a mut ResourceTable,
    pub(super) mono: &'a Mono,
}

pub(super) struct TimersData;

impl HasData for TimersData {
    type Data<'a> = Timers<'a>;
}

/// A timer pollable: ready once the instance's clock reads `at` or later. Not ready is
/// never waited on: `block` and `poll` on it are refused (see [`settle`]).
pub(super) struct Due {
    pub(super) mono: Mono,
    pub(super) at: u64,
}

#[async_trait::async_trait]
impl Pollable for Due {
    async fn ready(&mut self) {
        if self.mono.now() < self.at {
            std::future::pending::<()>().await;
        }
    }
}

impl Timers<'_> {
    fn due(&mut self, at: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let due = self.table.push(Due {
            mono: self.mono.clone(),
            at,
        })?;
        wasmtime_wasi::p2::subscribe(self.table, due)
    }
}

impl monotonic_clock::Host for Timers<'_> {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(self.mono.now())
    }
    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(1)
    }
    fn subscribe_instant(&mut self, when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.due(when)
    }
    fn subscribe_duration(&mut self, duration: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let at = self.mono.now().saturating_add(duration);
        self.due(at)
    }
}
