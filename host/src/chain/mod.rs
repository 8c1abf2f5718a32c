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
use std::time::Instant;

mod session;

pub use crate::model::*;
pub use session::{Before, Entered, Session};

use crate::config::Config;
use crate::error::{ConfigError, Error};
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
            .filter(|g| {
                serves(
                    g,
                    &[
                        Category::Client,
                        Category::ActivityInbound,
                        Category::ActivityOutbound,
                    ],
                )
            })
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
        Session::new(self.clone(), scope)
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
