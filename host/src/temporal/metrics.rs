//! Guest metrics on the worker's own Prometheus endpoint: a [`MetricsSink`] over sdk-core's
//! meter, so guest counters, histograms and gauges are scraped from the same endpoint as the
//! Temporal worker's metrics. Samples recorded while a workflow replays never get here (the
//! host drops them first).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use temporalio_common::telemetry::metrics::{
    CoreMeter, Counter, GaugeF64, HistogramF64, MetricAttributes, MetricKeyValue, MetricParameters,
    NewAttributes, UpDownCounter,
};
use temporalio_common::telemetry::{
    HistogramBucketOverrides, PrometheusExporterOptions, TelemetryOptions,
    start_prometheus_metric_exporter,
};

use crate::model::{Hook, Phase};
use crate::services::{MetricKind, MetricSample, MetricsSink};

/// Operator metric: Wasm calls into a guest, by `interpose_guest`, `hook` and `phase`.
pub const CALLS: &str = "interpose_guest_calls";
/// Operator metric: failed guest calls, by `interpose_guest`, `hook`, `phase` and `cause`
/// (see [`crate::error::GuestFailure::cause`]).
pub const FAILURES: &str = "interpose_guest_failures";
/// Operator metric: fuel units used, by `interpose_guest` and `hook`.
pub const FUEL: &str = "interpose_guest_fuel";
/// Operator metric: latency of one Wasm call (the hop), in seconds, by `interpose_guest`,
/// `hook` and `phase`.
pub const HOP_SECONDS: &str = "interpose_guest_hop_seconds";
/// Operator metric: live instances of a guest, by `interpose_guest`.
pub const INSTANCES: &str = "interpose_guest_instances";

/// Bucket bounds of [`HOP_SECONDS`]: a hop is microseconds when a guest is fast and up to
/// its deadline when it is not.
pub const HOP_BUCKETS: &[f64] = &[
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1, 1.0,
];

/// A running Prometheus endpoint (`GET /metrics`) shared by the worker and the guests.
pub struct MetricsEndpoint {
    addr: SocketAddr,
    meter: Arc<dyn CoreMeter>,
    abort: tokio::task::AbortHandle,
}

impl std::fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsEndpoint")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MetricsEndpoint {
    /// Start the endpoint on `addr` (port 0 picks a free one). Must run inside a Tokio
    /// runtime.
    pub fn start(addr: SocketAddr) -> anyhow::Result<MetricsEndpoint> {
        let mut buckets = HistogramBucketOverrides::default();
        buckets
            .overrides
            .insert(HOP_SECONDS.to_owned(), HOP_BUCKETS.to_vec());
        let started = start_prometheus_metric_exporter(
            PrometheusExporterOptions::builder()
                .socket_addr(addr)
                .histogram_bucket_overrides(buckets)
                .build(),
        )?;
        Ok(MetricsEndpoint {
            addr: started.bound_addr,
            meter: started.meter,
            abort: started.abort_handle,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Telemetry options that send the worker's own metrics to this endpoint (for
    /// `temporalio_sdk::RuntimeOptions::builder().telemetry_options(..)`).
    pub fn telemetry(&self) -> TelemetryOptions {
        TelemetryOptions::builder()
            .metrics(self.meter.clone())
            .build()
    }

    /// A sink that sends guest metrics to this endpoint.
    pub fn sink(&self) -> Arc<PrometheusMetrics> {
        Arc::new(PrometheusMetrics::new(self.meter.clone()))
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

/// Guest metrics recorded through sdk-core's meter. Instruments are created on first use
/// and cached by name.
pub struct PrometheusMetrics {
    meter: Arc<dyn CoreMeter>,
    counters: Mutex<HashMap<String, Counter>>,
    histograms: Mutex<HashMap<String, HistogramF64>>,
    gauges: Mutex<HashMap<String, GaugeF64>>,
    /// The kind each name was first recorded as, across guests: one Prometheus family has
    /// one type, so a sample of another kind is dropped (logged once per name).
    kinds: Mutex<HashMap<String, (MetricKind, bool)>>,
    operator: Operator,
}

/// The host's own instruments, and one attribute set per guest, hook and phase, built on
/// first use: a hop costs a lock and lookups, not a new attribute set.
struct Operator {
    calls: Counter,
    failures: Counter,
    fuel: Counter,
    hop: HistogramF64,
    instances: UpDownCounter,
    attrs: Mutex<HashMap<String, GuestAttrs>>,
}

#[derive(Default)]
struct GuestAttrs {
    guest: Option<MetricAttributes>,
    hook: HashMap<u8, MetricAttributes>,
    phase: HashMap<(u8, Phase), MetricAttributes>,
    cause: HashMap<(u8, Phase, &'static str), MetricAttributes>,
}

impl Operator {
    /// `f` over the guest's attribute sets (its name is allocated only the first time).
    fn attrs_of<T>(&self, guest: &str, f: impl FnOnce(&mut GuestAttrs) -> T) -> T {
        let mut all = self.attrs.lock().unwrap_or_else(|p| p.into_inner());
        if !all.contains_key(guest) {
            all.insert(guest.to_owned(), GuestAttrs::default());
        }
        f(all.get_mut(guest).expect("inserted above"))
    }

    fn new(meter: &dyn CoreMeter) -> Operator {
        let p = |name: &str, description: &str, unit: &str| MetricParameters {
            name: name.to_owned().into(),
            description: description.to_owned().into(),
            unit: unit.to_owned().into(),
        };
        Operator {
            calls: meter.counter(p(CALLS, "Wasm calls into an Interpose guest", "")),
            failures: meter.counter(p(FAILURES, "failed Interpose guest calls, by cause", "")),
            fuel: meter.counter(p(FUEL, "fuel units used by an Interpose guest", "")),
            hop: meter.histogram_f64(p(
                HOP_SECONDS,
                "latency of one Wasm call into an Interpose guest",
                "seconds",
            )),
            instances: meter.up_down_counter(p(
                INSTANCES,
                "live instances of an Interpose guest",
                "",
            )),
            attrs: Mutex::default(),
        }
    }

    /// The attribute set for `guest` plus `labels`, built on first use by `key`.
    fn with<K: std::hash::Hash + Eq>(
        meter: &dyn CoreMeter,
        map: &mut HashMap<K, MetricAttributes>,
        key: K,
        guest: &str,
        labels: &[(&'static str, &str)],
    ) -> MetricAttributes {
        map.entry(key)
            .or_insert_with(|| {
                let mut attributes = vec![MetricKeyValue::new("interpose_guest", guest.to_owned())];
                attributes.extend(
                    labels
                        .iter()
                        .map(|(k, v)| MetricKeyValue::new(*k, (*v).to_owned())),
                );
                meter.new_attributes(NewAttributes { attributes })
            })
            .clone()
    }
}

impl std::fmt::Debug for PrometheusMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusMetrics").finish_non_exhaustive()
    }
}

impl PrometheusMetrics {
    /// A sink over `meter`.
    pub fn new(meter: Arc<dyn CoreMeter>) -> PrometheusMetrics {
        PrometheusMetrics {
            operator: Operator::new(meter.as_ref()),
            meter,
            counters: Mutex::default(),
            histograms: Mutex::default(),
            gauges: Mutex::default(),
            kinds: Mutex::default(),
        }
    }
}

fn params(name: &str, unit: &str) -> MetricParameters {
    MetricParameters {
        name: name.to_owned().into(),
        description: "recorded by an Interpose guest".into(),
        unit: unit.to_owned().into(),
    }
}

impl MetricsSink for PrometheusMetrics {
    fn record(&self, s: MetricSample) {
        {
            let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
            let (kind, warned) = kinds.entry(s.name.clone()).or_insert((s.kind, false));
            if *kind != s.kind {
                if !*warned {
                    *warned = true;
                    tracing::error!(
                        guest = %s.guest,
                        metric = %s.name,
                        "guest metric sample dropped: `{}` is already a {:?} in this worker's \
                         registry (perhaps from another guest), not a {:?}",
                        s.name,
                        kind,
                        s.kind
                    );
                }
                return;
            }
        }
        let mut attributes: Vec<MetricKeyValue> = s
            .attributes
            .into_iter()
            .map(|(k, v)| MetricKeyValue::new(k, v))
            .collect();
        attributes.push(MetricKeyValue::new("interpose_guest", s.guest));
        let attrs = self.meter.new_attributes(NewAttributes { attributes });
        match s.kind {
            MetricKind::Counter => {
                let mut m = self.counters.lock().unwrap_or_else(|p| p.into_inner());
                m.entry(s.name.clone())
                    .or_insert_with(|| self.meter.counter(params(&s.name, &s.unit)))
                    .add(s.value as u64, &attrs);
            }
            MetricKind::Histogram => {
                let mut m = self.histograms.lock().unwrap_or_else(|p| p.into_inner());
                m.entry(s.name.clone())
                    .or_insert_with(|| self.meter.histogram_f64(params(&s.name, &s.unit)))
                    .record(s.value, &attrs);
            }
            MetricKind::Gauge => {
                let mut m = self.gauges.lock().unwrap_or_else(|p| p.into_inner());
                m.entry(s.name.clone())
                    .or_insert_with(|| self.meter.gauge_f64(params(&s.name, &s.unit)))
                    .record(s.value, &attrs);
            }
        }
    }

    fn wants_hops(&self) -> bool {
        true
    }

    fn hop(&self, guest: &str, hook: Hook, phase: Phase, elapsed: Duration, fuel: u64) {
        let m = self.meter.as_ref();
        let labels = [("hook", hook.name()), ("phase", phase.name())];
        let (by_phase, by_hook) = self.operator.attrs_of(guest, |g| {
            (
                Operator::with(m, &mut g.phase, (hook as u8, phase), guest, &labels),
                Operator::with(m, &mut g.hook, hook as u8, guest, &labels[..1]),
            )
        });
        self.operator.calls.add(1, &by_phase);
        self.operator.hop.record(elapsed.as_secs_f64(), &by_phase);
        if fuel > 0 {
            self.operator.fuel.add(fuel, &by_hook);
        }
    }

    fn failure(&self, guest: &str, hook: Hook, phase: Phase, cause: &'static str) {
        let labels = [
            ("hook", hook.name()),
            ("phase", phase.name()),
            ("cause", cause),
        ];
        let attrs = self.operator.attrs_of(guest, |g| {
            Operator::with(
                self.meter.as_ref(),
                &mut g.cause,
                (hook as u8, phase, cause),
                guest,
                &labels,
            )
        });
        self.operator.failures.add(1, &attrs);
    }

    fn instances(&self, guest: &str, delta: i64) {
        let attrs = self.operator.attrs_of(guest, |g| {
            g.guest
                .get_or_insert_with(|| {
                    self.meter.new_attributes(NewAttributes {
                        attributes: vec![MetricKeyValue::new("interpose_guest", guest.to_owned())],
                    })
                })
                .clone()
        });
        self.operator.instances.add(delta, &attrs);
    }
}
