//! `interpose:interceptor/metrics`: samples checked and charged on every call, capped per
//! guest, dropped in replay.

use super::HostState;
use crate::model::wit::interpose::interceptor::metrics;
use crate::runtime::series;
use crate::services::{MetricKind, MetricSample};

impl metrics::Host for HostState {
    fn counter_add(
        &mut self,
        name: String,
        value: u64,
        attributes: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        self.record(
            MetricKind::Counter,
            name,
            value as f64,
            String::new(),
            attributes,
        )
    }

    fn histogram_record(
        &mut self,
        name: String,
        value: f64,
        unit: String,
        attributes: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        self.record(MetricKind::Histogram, name, value, unit, attributes)
    }

    fn gauge_set(
        &mut self,
        name: String,
        value: f64,
        attributes: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        self.record(MetricKind::Gauge, name, value, String::new(), attributes)
    }
}

impl HostState {
    fn record(
        &mut self,
        kind: MetricKind,
        name: String,
        value: f64,
        unit: String,
        attributes: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        // Charged and checked live and in replay alike: both depend only on what the guest
        // passed, so a guest fails at the same point in both.
        let bytes = attributes.iter().fold(
            (name.len() as u64).saturating_add(unit.len() as u64),
            |n, (k, v)| {
                n.saturating_add(k.len() as u64)
                    .saturating_add(v.len() as u64)
            },
        );
        self.charge_output(bytes)?;
        series::validate(&name, value, &unit, &attributes).map_err(wasmtime::Error::msg)?;
        if self.suppressed() {
            return Ok(());
        }
        if let Err(refused) = self.guest.series.admit(kind, &name, &attributes) {
            // Depends on what this process has seen, not on the call: never a failure.
            if self.guest.series.dropped() {
                let why = match refused {
                    series::Refused::Cap(cap) => format!(
                        "it already has {cap} series (max-metric-series); samples of new \
                         series are dropped"
                    ),
                    series::Refused::Kind(k) => {
                        format!(
                            "`{name}` was first recorded as a {k:?}; samples of another kind are dropped"
                        )
                    }
                };
                tracing::error!(
                    guest = %self.guest.name,
                    hook = self.hook().map_or("(outside any hook)", |h| h.name()),
                    metric = %name,
                    "guest metric sample dropped: {why} (further drops are counted, not logged)"
                );
            }
            return Ok(());
        }
        self.guest.metrics.record(MetricSample {
            guest: self.guest.name.clone(),
            kind,
            name,
            value,
            unit,
            attributes,
        });
        Ok(())
    }
}
