//! The sandboxed component runtime: one Wasm engine, compiled guests, and instances that run
//! with fuel, a deadline, memory limits and no ambient authority.
//!
//! Data flows one way: a [`Config`] goes in, a
//! [`Chain`] of loaded guests comes out.

mod cache;
pub(crate) mod host;
pub(crate) mod instance;
pub(crate) mod series;

/// Most core instances one component instance may have (an interpreter guest has ~14).
pub(crate) const CORE_INSTANCES_PER_COMPONENT: u32 = 32;
/// Most linear memories one component instance may have.
pub(crate) const MEMORIES_PER_COMPONENT: u32 = 4;
/// Most tables one component instance may have.
pub(crate) const TABLES_PER_COMPONENT: u32 = 16;

/// The wasmtime version the host is built with (pinned with `=` in the workspace manifest;
/// a unit test checks the two agree). Part of the chain fingerprint.
pub(crate) const WASMTIME_VERSION: &str = "48.0.8";
pub mod validate;
pub(crate) mod wasi;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker};
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use cache::{CacheStatus, content_hash, default_dir as default_cache_dir};

use crate::config::{
    ClockMode, Config, FailurePolicy, GuestConfig, InstanceMode, Limits, MemoryImages,
};
use crate::error::{Error, GuestFailure, LoadError};
use crate::model::{Category, Hook, Interest, Phases};
use crate::services::{LogSink, MetricsSink, NoMetrics, Scope, TracingLogs};
use host::HostState;
use instance::GuestInstance;

/// Interval of the epoch ticker that enforces deadlines.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

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
    pub(crate) epoch_ticks: u64,
    /// Whether the engine meters fuel (always, except in the fuel-cost benchmark).
    pub(crate) metering: bool,
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
}

/// A guest compiled and checked, ready to be instantiated.
pub(crate) struct LoadedGuest {
    pub(crate) meta: Arc<GuestMeta>,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) exports: [Option<CategoryExports>; 4],
    pub(crate) uses_wasi: bool,
    /// Hooks with any phase declared.
    pub(crate) interests: u64,
    /// Hooks whose `before` phase is declared.
    pub(crate) before_mask: u64,
    /// Hooks whose `after` phase is declared.
    pub(crate) after_mask: u64,
    pub(crate) info: GuestInfo,
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

struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: &Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.weak();
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("interpose-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match engine.upgrade() {
                        Some(e) => e.increment_epoch(),
                        None => break,
                    }
                }
            })
            .expect("spawning the epoch ticker thread");
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub(crate) struct RuntimeInner {
    pub(crate) engine: Engine,
    linker: Linker<HostState>,
    wasi_linker: Linker<HostState>,
    cache: Option<cache::ArtifactCache>,
    /// Components compiled by this runtime, by content hash: a guest named twice, or loaded
    /// by several chains, is compiled once.
    compiled: Mutex<std::collections::HashMap<String, Component>>,
    metering: bool,
    /// The pool's size in component instances.
    max_instances: u32,
    _ticker: EpochTicker,
}

/// The Wasm engine and linkers shared by every guest, and the sinks guests' metrics and
/// logs go to. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
    metrics: Arc<dyn MetricsSink>,
    logs: Arc<dyn LogSink>,
}

/// Bytes at the start of each linear memory slot kept resident between instances.
const KEEP_RESIDENT: usize = 192 * 1024;

/// Builds a [`Runtime`]: sinks for guest metrics and logs, cache and pool settings.
#[must_use]
pub struct RuntimeBuilder {
    metrics: Arc<dyn MetricsSink>,
    logs: Arc<dyn LogSink>,
    cache_dir: Option<PathBuf>,
    cache: bool,
    max_instances: u32,
    max_memory: u64,
    metering: bool,
    memory_images: MemoryImages,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        // The config's defaults, one source: a builder made without a config behaves like
        // an empty `[runtime]` table (the pool sized for one guest).
        let runtime = crate::config::RuntimeConfig::default();
        RuntimeBuilder {
            metrics: Arc::new(NoMetrics),
            logs: Arc::new(TracingLogs),
            cache_dir: runtime.cache_dir.clone(),
            cache: runtime.cache,
            max_instances: runtime.pool_size(1),
            max_memory: Limits::default().memory,
            metering: true,
            memory_images: runtime.memory_images,
        }
    }
}

impl RuntimeBuilder {
    /// Where guest metrics go (default: dropped).
    pub fn metrics(mut self, sink: Arc<dyn MetricsSink>) -> Self {
        self.metrics = sink;
        self
    }

    /// Where guest logs go (default: `tracing`).
    pub fn logs(mut self, sink: Arc<dyn LogSink>) -> Self {
        self.logs = sink;
        self
    }

    /// Cache folder for compiled artifacts (default: [`default_cache_dir`]).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Turn the artifact cache on or off (default: on).
    pub fn cache(mut self, on: bool) -> Self {
        self.cache = on;
        self
    }

    /// Most guest instances alive at once (default: what one guest needs with the default
    /// `runtime.cached-runs`, see [`crate::config::RuntimeConfig::pool_size`]).
    pub fn max_instances(mut self, n: u32) -> Self {
        self.max_instances = n.max(1);
        self
    }

    /// The largest memory limit any guest will have (sizes the instance pool's slots).
    pub fn max_memory(mut self, bytes: u64) -> Self {
        self.max_memory = bytes;
        self
    }

    /// Meter fuel (default: on). Off removes the fuel limit from every guest: it exists to
    /// measure what metering costs (`BENCHMARKS.md`), not for production — without it an
    /// infinite loop is stopped only by its deadline, and where it stops is no longer
    /// deterministic in replay.
    pub fn fuel_metering(mut self, on: bool) -> Self {
        self.metering = on;
        self
    }

    /// How new instances' memories are initialized (default: [`MemoryImages::Copy`]).
    pub fn memory_images(mut self, images: MemoryImages) -> Self {
        self.memory_images = images;
        self
    }

    /// Take cache and pool settings from a config and size memory slots for its guests.
    pub fn for_config(mut self, config: &Config) -> Self {
        self.cache_dir = config.runtime.cache_dir.clone().or(self.cache_dir);
        self.cache = config.runtime.cache;
        self.max_instances = config
            .runtime
            .pool_size(config.guests.iter().filter(|g| !g.native).count());
        self.memory_images = config.runtime.memory_images;
        self.max_memory = config
            .guests
            .iter()
            .map(|g| g.limits.memory)
            .max()
            .unwrap_or(self.max_memory);
        self
    }

    /// Create the engine, linkers and epoch ticker.
    pub fn build(self) -> Result<Runtime, Error> {
        let engine_err = |e: wasmtime::Error| Error::Engine(format!("{e:#}"));
        let mut cfg = wasmtime::Config::new();
        cfg.wasm_component_model(true)
            .consume_fuel(self.metering)
            .epoch_interruption(true);
        let slot = self.max_memory.next_multiple_of(64 * 1024);
        let mut pool = PoolingAllocationConfig::default();
        let n = self.max_instances;
        // Every total is the count of instances times what one component may hold, so the
        // pool holds `n` instances whatever their shape (an interpreter has many core
        // modules, QuickJS two memories) and one guest's shape cannot run it out for the
        // others. Core instances are a counter; memories and tables reserve address space
        // only.
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
            .total_memories(n.saturating_mul(MEMORIES_PER_COMPONENT))
            .total_tables(n.saturating_mul(TABLES_PER_COMPONENT))
            .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
            .max_memories_per_component(MEMORIES_PER_COMPONENT)
            .max_tables_per_component(TABLES_PER_COMPONENT)
            .max_core_instance_size(4 << 20)
            .max_component_instance_size(4 << 20)
            .max_memory_size(slot as usize);
        // Density and instantiation speed (BENCHMARKS.md, c and f):
        // - no copy-on-write memory images by default: each CoW-initialized memory costs the
        //   process extra memory mappings, and Linux's default `vm.max_map_count` (65,530)
        //   then stopped instantiation at ~15,800 live instances; Rust and C data segments
        //   are small, so copying them is as fast. Interpreters' heaps are megabytes: for
        //   them `MemoryImages::CopyOnWrite` starts instances 2-3x faster (BENCHMARKS.md);
        // - the first KEEP_RESIDENT bytes of a memory slot are reset with `memset` instead
        //   of being given back to the kernel, so a new run's instance finds them resident:
        //   no page faults and no `madvise` (with its TLB shootdown) for the pages a guest
        //   always touches — with the 128 KiB stack the guest build sets, its stack, data
        //   and first heap pages.
        cfg.memory_init_cow(self.memory_images == MemoryImages::CopyOnWrite);
        pool.linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(16 * 1024);
        cfg.memory_reservation(slot)
            .memory_guard_size(64 * 1024)
            .memory_reservation_for_growth(0)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&cfg).map_err(engine_err)?;

        let mut linker = Linker::new(&engine);
        crate::model::wit::Interceptor::add_to_linker::<
            HostState,
            wasmtime::component::HasSelf<HostState>,
        >(&mut linker, |s| s)
        .map_err(engine_err)?;
        let mut wasi_linker = linker.clone();
        wasi::add_to_linker(&mut wasi_linker).map_err(engine_err)?;

        let cache = if self.cache {
            self.cache_dir
                .or_else(cache::default_dir)
                .map(|d| cache::ArtifactCache::new(d, &engine))
        } else {
            None
        };
        let ticker = EpochTicker::start(&engine);
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                wasi_linker,
                cache,
                compiled: Mutex::default(),
                metering: self.metering,
                max_instances: n,
                _ticker: ticker,
            }),
            metrics: self.metrics,
            logs: self.logs,
        })
    }
}

impl Runtime {
    /// A builder with defaults.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// Most guest instances alive at once (the instance pool's size).
    pub fn max_instances(&self) -> u32 {
        self.inner.max_instances
    }

    /// The Wasm engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The same engine, pool, cache and compiled components, with metrics and logs of the
    /// guests loaded through it going to other sinks: several chains share one runtime and
    /// keep their output apart.
    pub fn with_sinks(&self, metrics: Arc<dyn MetricsSink>, logs: Arc<dyn LogSink>) -> Runtime {
        Runtime {
            inner: self.inner.clone(),
            metrics,
            logs,
        }
    }

    /// Load, validate and ask one guest for its interests.
    pub(crate) fn load_guest(&self, g: &GuestConfig) -> Result<LoadedGuest, LoadError> {
        let (metrics, logs) = (&self.metrics, &self.logs);
        let name = g.name.clone();
        let path = g.path.clone();
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Read {
            guest: name.clone(),
            path: path.clone(),
            source,
        })?;
        let not_component = |message: String| LoadError::NotAComponent {
            guest: name.clone(),
            path: path.clone(),
            message,
        };
        if wasmparser::Parser::is_core_wasm(&bytes) {
            return Err(not_component(
                "it is a core Wasm module; turn it into a component (`interpose componentize`, \
                 the interpose guest SDK build, componentize-py or componentize-js do this)"
                    .into(),
            ));
        }
        if !wasmparser::Parser::is_component(&bytes) {
            return Err(not_component(
                "it does not start with the Wasm component header".into(),
            ));
        }
        let hash = content_hash(&bytes);
        let engine = &self.inner.engine;
        let started = Instant::now();
        let memo = self
            .inner
            .compiled
            .lock()
            .ok()
            .and_then(|m| m.get(&hash).cloned());
        let (component, cache) = match memo {
            Some(c) => (c, CacheStatus::Hit),
            None => {
                let (c, status) = match &self.inner.cache {
                    Some(c) => c.load_or_compile(engine, &bytes, &hash),
                    None => Component::new(engine, &bytes)
                        .map(|c| (c, CacheStatus::Disabled))
                        .map_err(anyhow::Error::from),
                }
                .map_err(|e| not_component(format!("{e:#}")))?;
                if let Ok(mut m) = self.inner.compiled.lock() {
                    m.insert(hash.clone(), c.clone());
                }
                (c, status)
            }
        };
        let compile_time = started.elapsed();

        let shape = validate::check(engine, &component).map_err(|e| match e {
            validate::ShapeError::Forbidden { import, reason } => LoadError::ForbiddenImport {
                guest: name.clone(),
                path: path.clone(),
                import,
                reason,
            },
            validate::ShapeError::NoExport(message) => LoadError::NoInterceptorExport {
                guest: name.clone(),
                path: path.clone(),
                message,
            },
        })?;
        let incompatible = |message: String| LoadError::Incompatible {
            guest: name.clone(),
            path: path.clone(),
            message,
        };
        let linker = if shape.uses_wasi {
            &self.inner.wasi_linker
        } else {
            &self.inner.linker
        };
        let stubbed;
        let linker = if shape.no_network.is_empty() {
            linker
        } else {
            let mut l = linker.clone();
            wasi::stub_network(&mut l, &component).map_err(|e| incompatible(format!("{e:#}")))?;
            stubbed = l;
            &stubbed
        };
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| incompatible(format!("{e:#}")))?;

        let mut exports: [Option<CategoryExports>; 4] = Default::default();
        for cat in Category::ALL {
            let Some(export) = &shape.exports[cat.index()] else {
                continue;
            };
            let inst = component
                .get_export_index(None, export)
                .ok_or_else(|| incompatible(format!("export `{export}` not found")))?;
            let func = |f: &str| {
                component.get_export_index(Some(&inst), f).ok_or_else(|| {
                    incompatible(format!("`{export}` does not export function `{f}`"))
                })
            };
            exports[cat.index()] = Some(CategoryExports {
                interests: func("interests")?,
                before: func("before")?,
                after: func("after")?,
            });
        }

        let meta = Arc::new(GuestMeta {
            name: name.clone(),
            config: g.config.clone(),
            limits: g.limits.clone(),
            policy: g.on_failure,
            instances: g.instances,
            clock: g.clock,
            metrics: metrics.clone(),
            logs: logs.clone(),
            epoch_ticks: g.limits.deadline.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) as u64 + 1,
            metering: self.inner.metering,
            series: series::Series::new(g.limits.max_metric_series),
        });
        let size = bytes.len() as u64;
        let mut guest = LoadedGuest {
            meta,
            pre,
            exports,
            uses_wasi: shape.uses_wasi,
            interests: 0,
            before_mask: 0,
            after_mask: 0,
            info: GuestInfo {
                name: name.clone(),
                path: path.clone(),
                hash,
                size,
                imports: shape.imports,
                uses_wasi: shape.uses_wasi,
                interests: BTreeMap::new(),
                compile_time,
                cache,
                instantiate_time: Duration::ZERO,
                on_failure: g.on_failure,
            },
            idle: Mutex::new(Vec::new()),
            stats: Stats::default(),
        };

        // Ask for interests on a throwaway instance, with the guest's own limits.
        let started = Instant::now();
        let mut inst = GuestInstance::new(&guest, &Scope::Client, instance::Role::Load).map_err(
            |e| match e {
                instance::NewError::WrongType(message) => incompatible(message),
                instance::NewError::Failed(cause) => LoadError::Interests {
                    guest: name.clone(),
                    path: path.clone(),
                    cause,
                },
            },
        )?;
        guest.info.instantiate_time = started.elapsed();
        guest.stats.instantiations.fetch_add(1, Ordering::Relaxed);
        let (mut before, mut after) = (0u64, 0u64);
        for cat in Category::ALL {
            if guest.exports[cat.index()].is_none() {
                continue;
            }
            let declared = inst.interests(&guest, cat).map_err(|cause| match cause {
                GuestFailure::Instantiate { message } => incompatible(message),
                cause => LoadError::Interests {
                    guest: name.clone(),
                    path: path.clone(),
                    cause,
                },
            })?;
            let mut list: Vec<Interest> = Vec::new();
            for interest in declared {
                let hook = interest.hook;
                if hook.category() != cat {
                    return Err(LoadError::InvalidInterest {
                        guest: name.clone(),
                        path: path.clone(),
                        hook,
                        category: cat,
                    });
                }
                if interest.phases.contains(Phases::BEFORE) {
                    before |= hook.bit();
                }
                if interest.phases.contains(Phases::AFTER) {
                    after |= hook.bit();
                }
                match list.iter_mut().find(|i| i.hook == hook) {
                    Some(i) => i.phases |= interest.phases,
                    None if interest.phases != Phases::empty() => list.push(interest),
                    None => {}
                }
            }
            guest.info.interests.insert(cat, list);
        }
        let mask = before | after;
        guest.before_mask = before;
        guest.after_mask = after;
        guest.interests = mask;
        Ok(guest)
    }

    /// Load a single component with default limits and report what it is: the engine of
    /// `interpose check`.
    pub fn inspect(&self, path: impl AsRef<Path>) -> Result<GuestInfo, LoadError> {
        let path = path.as_ref();
        let name = path
            .file_stem()
            .map_or_else(|| "guest".into(), |s| s.to_string_lossy().into_owned());
        Ok(self.load_guest(&GuestConfig::new(name, path))?.info)
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod version_tests {
    #[test]
    fn the_wasmtime_version_in_the_fingerprint_is_the_one_built() {
        let manifest = include_str!("../../../Cargo.toml");
        let pinned = format!("wasmtime = {{ version = \"={}\"", super::WASMTIME_VERSION);
        assert!(
            manifest.contains(&pinned),
            "update WASMTIME_VERSION with the workspace's wasmtime pin"
        );
    }
}
