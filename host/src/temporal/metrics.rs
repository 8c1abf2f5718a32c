//! Guest metrics on the worker's own Prometheus endpoint: a [`MetricsSink`] over sdk-core's
//! meter, so guest counters, histograms and gauges are scraped from the same endpoint as the
//! Temporal worker's metrics. Samples recorded while a workflow replays never get here (the
//! host drops them first).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use temporalio_common::telemetry::metrics::{
    CoreMeter, Counter, GaugeF64, HistogramF64, MetricKeyValue, MetricParameters, NewAttributes,
};
use temporalio_common::telemetry::{
    PrometheusExporterOptions, TelemetryOptions, start_prometheus_metric_exporter,
};

use crate::services::{MetricKind, MetricSample, MetricsSink};

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
        let started = start_prometheus_metric_exporter(
            PrometheusExporterOptions::builder()
                .socket_addr(addr)
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
}
