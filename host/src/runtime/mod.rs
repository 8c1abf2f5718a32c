//! The sandboxed component runtime: one Wasm engine, compiled guests, and instances that run
//! with fuel, a deadline, memory limits and no ambient authority. It loads one guest at a
//! time and never names the chain (which sits above it and drives its instances).
//!
//! - `load`: staged loading, one type per stage: compiled → validated → linked → loaded;
//! - `validate`: the shape a component must have (imports allowed, exports present);
//! - `instance`: one guest instance and its calls (fuel, deadline, rollback on failure);
//! - `host`: the store state and the host side of every import, one file per interface;
//! - `wasi`: the virtual WASI a guest that imports it gets (no clock, randomness, files,
//!   network or environment of the host's);
//! - `cache`: compiled artifacts on disk; `series`: the per-guest metric series cap.

mod cache;
mod guest;
pub(crate) mod host;
pub(crate) mod instance;
mod load;
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

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use cache::{CacheStatus, content_hash, default_dir as default_cache_dir};
pub(crate) use guest::{CategoryExports, GuestMeta, LoadedGuest, Reads, Stats};
pub use guest::{GuestInfo, GuestStats};

use crate::config::{Config, Limits, MemoryImages};
use crate::error::Error;
use crate::services::{LogSink, MetricsSink, NoMetrics, NoTraces, TraceSink, TracingLogs};
use host::HostState;

/// Interval of the epoch ticker that enforces deadlines.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

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
    traces: Arc<dyn TraceSink>,
}

/// Bytes at the start of each linear memory slot kept resident between instances.
const KEEP_RESIDENT: usize = 192 * 1024;

/// Builds a [`Runtime`]: sinks for guest metrics and logs, cache and pool settings.
#[must_use]
pub struct RuntimeBuilder {
    metrics: Arc<dyn MetricsSink>,
    logs: Arc<dyn LogSink>,
    traces: Arc<dyn TraceSink>,
    cache_dir: Option<PathBuf>,
    cache: bool,
    max_instances: u32,
    max_memory: u64,
    metering: bool,
    memory_images: MemoryImages,
    perf_map: bool,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        // The config's defaults, one source: a builder made without a config behaves like
        // an empty `[runtime]` table (the pool sized for one guest).
        let runtime = crate::config::RuntimeConfig::default();
        RuntimeBuilder {
            metrics: Arc::new(NoMetrics),
            logs: Arc::new(TracingLogs),
            traces: Arc::new(NoTraces),
            cache_dir: runtime.cache_dir.clone(),
            cache: runtime.cache,
            max_instances: runtime.pool_size(1),
            max_memory: Limits::default().memory,
            metering: true,
            memory_images: runtime.memory_images,
            perf_map: false,
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

    /// Where the spans guests end go (default: dropped). With the `otel` feature,
    /// `interpose::otel::OtelTraces` exports them through an OpenTelemetry tracer.
    pub fn traces(mut self, sink: Arc<dyn TraceSink>) -> Self {
        self.traces = sink;
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

    /// Write a perf map (`/tmp/perf-<pid>.map`) as guests are compiled, so that `perf
    /// record` / `perf report` name guest functions (default: off). For profiling
    /// (`BENCH_PERFMAP=1` in the benchmark); the file grows with every compiled module.
    pub fn perf_map(mut self, on: bool) -> Self {
        self.perf_map = on;
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
        if self.perf_map {
            cfg.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
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
            traces: self.traces,
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
            traces: self.traces.clone(),
        }
    }

    /// The same runtime, with the spans of the guests loaded through it going to `traces`.
    pub fn with_traces(&self, traces: Arc<dyn TraceSink>) -> Runtime {
        Runtime {
            traces,
            ..self.clone()
        }
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
