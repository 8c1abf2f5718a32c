//! A loaded guest: what its instances share (limits, sinks, the linked component), what is
//! known about it ([`GuestInfo`]) and its counters ([`GuestStats`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::{ComponentExportIndex, InstancePre};

use super::cache::CacheStatus;
use super::host::HostState;
use super::instance::GuestInstance;
use super::series;
use crate::config::{ClockMode, FailurePolicy, InstanceMode, Limits};
use crate::model::{Category, HeaderReads, Hook, Interest, Payload};
use crate::services::{LogSink, MetricsSink};

/// Everything about a guest that its instances need, shared by all of them.
pub(crate) struct GuestMeta {
    pub(crate) name: String,
    pub(crate) config: BTreeMap<String, String>,
    pub(crate) limits: Limits,
    pub(crate) policy: FailurePolicy,
    pub(crate) instances: InstanceMode,
    pub(crate) clock: ClockMode,
    pub(crate) metrics: Arc<dyn MetricsSink>,
    pub(crate) logs: Arc<dyn LogSink>,
    pub(crate) traces: Arc<dyn crate::services::TraceSink>,
    pub(crate) epoch_ticks: u64,
    /// Whether the engine meters fuel (always, except in the fuel-cost benchmark).
    pub(crate) metering: bool,
    /// Whether the metrics sink wants each call timed (operator metrics).
    pub(crate) hops: bool,
    /// The metric series this guest has created (capped).
    pub(crate) series: series::Series,
}

/// Export indices of one category's interface.
#[derive(Clone)]
pub(crate) struct CategoryExports {
    pub(crate) interests: ComponentExportIndex,
    pub(crate) before: ComponentExportIndex,
    pub(crate) after: ComponentExportIndex,
}

/// Counters per guest, for tests, `interpose check` and the demo summary.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) calls: AtomicU64,
    pub(crate) instantiations: AtomicU64,
    pub(crate) fuel: AtomicU64,
    pub(crate) failures: AtomicU64,
    /// Instances alive now; each instance holds a clone and decrements it when dropped.
    pub(crate) live: Arc<AtomicU64>,
}

/// A snapshot of a guest's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GuestStats {
    /// Wasm calls into the guest (`before` and `after`; not `interests`).
    pub calls: u64,
    /// Instances created (including the one used to ask for interests at load).
    pub instantiations: u64,
    /// Fuel consumed by all calls.
    pub fuel: u64,
    /// Calls that failed (trap, fuel, deadline, memory, output, invalid decision).
    pub failures: u64,
    /// Instances alive now: one per cached workflow run (two once the run served a query),
    /// plus idle instances kept for reuse, plus those serving a call right now.
    pub live: u64,
    /// Metric samples dropped because the guest passed its series cap or reused a name
    /// with another kind (see [`crate::config::Limits::max_metric_series`]).
    pub metrics_dropped: u64,
}

/// What is known about a loaded guest.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GuestInfo {
    /// Name from the config.
    pub name: String,
    /// Component file.
    pub path: PathBuf,
    /// SHA-256 of the component, hex: the guest's version identity.
    pub hash: String,
    /// Size of the component file in bytes.
    pub size: u64,
    /// Every import of the component.
    pub imports: Vec<String>,
    /// Whether it imports WASI (and so gets the virtualized WASI).
    pub uses_wasi: bool,
    /// Exported categories with the hooks (and phases) the guest declared for each.
    pub interests: BTreeMap<Category, Vec<Interest>>,
    /// Time to compile (or load from cache).
    pub compile_time: Duration,
    /// Whether the compiled artifact came from the cache.
    pub cache: CacheStatus,
    /// Time to create the instance that declared the interests.
    pub instantiate_time: Duration,
    /// Failure policy.
    pub on_failure: FailurePolicy,
    /// What the operator should know though the guest loaded: hooks it declared that this
    /// build never calls (they need a cargo feature it was built without).
    pub warnings: Vec<String>,
}

/// A guest compiled and checked, ready to be instantiated.
pub(crate) struct LoadedGuest {
    pub(crate) meta: Arc<GuestMeta>,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) exports: [Option<CategoryExports>; Category::ALL.len()],
    pub(crate) uses_wasi: bool,
    /// Hooks with any phase declared.
    pub(crate) interests: u64,
    /// Hooks whose `before` phase is declared.
    pub(crate) before_mask: u64,
    /// Hooks whose `after` phase is declared.
    pub(crate) after_mask: u64,
    pub(crate) info: GuestInfo,
    /// The headers each hook reads, by hook index (resolved from the interests at load).
    pub(crate) reads: Box<[Reads]>,
    pub(crate) idle: Mutex<Vec<GuestInstance>>,
    pub(crate) stats: Stats,
}

impl LoadedGuest {
    pub(crate) fn wants(&self, hook: Hook) -> bool {
        self.interests & hook.bit() != 0
    }

    pub(crate) fn wants_before(&self, hook: Hook) -> bool {
        self.before_mask & hook.bit() != 0
    }

    pub(crate) fn wants_after(&self, hook: Hook) -> bool {
        self.after_mask & hook.bit() != 0
    }

    pub(crate) fn stats(&self) -> GuestStats {
        GuestStats {
            calls: self.stats.calls.load(Ordering::Relaxed),
            instantiations: self.stats.instantiations.load(Ordering::Relaxed),
            fuel: self.stats.fuel.load(Ordering::Relaxed),
            failures: self.stats.failures.load(Ordering::Relaxed),
            live: self.stats.live.load(Ordering::Relaxed),
            metrics_dropped: self.meta.series.dropped_count(),
        }
    }
}

/// The headers a hook is handed, resolved at load.
#[derive(Clone, Debug, Default)]
pub(crate) enum Reads {
    /// None.
    #[default]
    None,
    /// These keys, sorted and deduplicated.
    Keys(Box<[String]>),
    /// Every header.
    All,
}

impl From<&HeaderReads> for Reads {
    fn from(r: &HeaderReads) -> Reads {
        match r {
            HeaderReads::None => Reads::None,
            HeaderReads::Keys(k) => Reads::Keys(k.clone().into_boxed_slice()),
            HeaderReads::All => Reads::All,
        }
    }
}

impl Reads {
    /// The values of `headers` this hook reads, sorted by key.
    pub(crate) fn values(&self, headers: &BTreeMap<String, Payload>) -> Vec<(String, Payload)> {
        match self {
            Reads::None => Vec::new(),
            Reads::Keys(keys) => keys
                .iter()
                .filter_map(|k| headers.get_key_value(k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            Reads::All => headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}
