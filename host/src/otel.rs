//! Guest spans through the application's OpenTelemetry tracer provider (feature `otel`).
//!
//! A guest's span carries ids the host chose (in workflow hooks, from the guest's per-run
//! stream, identical in replay) and times it recorded (workflow time in workflow hooks).
//! [`OtelTraces`] replays each finished span into an `opentelemetry_sdk` tracer, so it goes
//! through the provider's processors, sampler and exporters like any other span. For the
//! provider to keep the host's ids it must be built with this module's [`IdGenerator`]
//! (as the Temporal Rust SDK requires its `WorkflowIdGenerator` for workflow spans):
//! [`provider_builder`] starts one that has it, and [`otlp_provider`] adds an OTLP exporter
//! configured the standard way (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`,
//! ... over HTTP/protobuf).
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use std::sync::Arc;
//! use interpose::otel::{OtelTraces, otlp_provider};
//! use opentelemetry::trace::TracerProvider as _;
//!
//! let provider = otlp_provider()?; // keep it; `provider.shutdown()` flushes at exit
//! let traces = Arc::new(OtelTraces::new(provider.tracer("interpose")));
//! // runtime.with_traces(traces) before Chain::load / Interpose::from_chain
//! # let _ = traces;
//! # Ok(())
//! # }
//! ```

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use opentelemetry::KeyValue;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    Tracer as _,
};
use opentelemetry_sdk::trace::{
    RandomIdGenerator, SdkTracer, SdkTracerProvider, TracerProviderBuilder,
};

use crate::services::{FinishedSpan, SpanKind, SpanStatus, TraceSink};

thread_local! {
    /// The ids the next span started on this thread gets, set by [`OtelTraces::export`].
    static NEXT: Cell<Option<(TraceId, SpanId)>> = const { Cell::new(None) };
}

/// An id generator that hands the host's ids to the spans [`OtelTraces`] exports and
/// random ids to every other span. Install it in the tracer provider
/// (`TracerProviderBuilder::with_id_generator`).
#[derive(Debug, Default)]
pub struct IdGenerator {
    random: RandomIdGenerator,
}

impl opentelemetry_sdk::trace::IdGenerator for IdGenerator {
    fn new_trace_id(&self) -> TraceId {
        NEXT.with(Cell::get)
            .map_or_else(|| self.random.new_trace_id(), |(t, _)| t)
    }

    fn new_span_id(&self) -> SpanId {
        NEXT.with(Cell::get)
            .map_or_else(|| self.random.new_span_id(), |(_, s)| s)
    }
}

/// A tracer provider builder with [`IdGenerator`] installed: add processors and exporters.
pub fn provider_builder() -> TracerProviderBuilder {
    SdkTracerProvider::builder().with_id_generator(IdGenerator::default())
}

/// A tracer provider with [`IdGenerator`] and a batching OTLP exporter over HTTP/protobuf,
/// configured from the standard `OTEL_EXPORTER_OTLP_*` environment variables (endpoint
/// `http://localhost:4318` when none is set).
pub fn otlp_provider() -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()
        .map_err(|e| anyhow::anyhow!("building the OTLP span exporter: {e}"))?;
    Ok(provider_builder().with_batch_exporter(exporter).build())
}

/// A [`TraceSink`] that exports guest spans through an OpenTelemetry tracer.
#[derive(Debug)]
pub struct OtelTraces {
    tracer: SdkTracer,
    warned: AtomicBool,
}

impl OtelTraces {
    /// Export through `tracer` (from a provider built with [`IdGenerator`]).
    pub fn new(tracer: SdkTracer) -> OtelTraces {
        OtelTraces {
            tracer,
            warned: AtomicBool::new(false),
        }
    }
}

fn time(nanos: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos)
}

fn attributes(kv: &[(String, String)]) -> Vec<KeyValue> {
    kv.iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect()
}

impl TraceSink for OtelTraces {
    fn export(&self, span: FinishedSpan) {
        let trace_id = TraceId::from_bytes(span.trace_id);
        let span_id = SpanId::from_bytes(span.span_id);
        let cx = match span.parent_span_id {
            Some(parent) => {
                opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
                    trace_id,
                    SpanId::from_bytes(parent),
                    if span.sampled {
                        TraceFlags::SAMPLED
                    } else {
                        TraceFlags::default()
                    },
                    // A parent-based sampler may treat local and remote parents apart.
                    span.parent_is_remote,
                    TraceState::default(),
                ))
            }
            None => opentelemetry::Context::new(),
        };
        // The host's attribution first: an exporter keeps only the first attributes of a
        // span (128 by default), and guests cannot use the `interpose.` prefix.
        let mut attrs = vec![KeyValue::new("interpose.guest", span.guest.clone())];
        attrs.extend(attributes(&span.attributes));
        let builder = self
            .tracer
            .span_builder(span.name.clone())
            .with_kind(match span.kind {
                SpanKind::Internal => opentelemetry::trace::SpanKind::Internal,
                SpanKind::Server => opentelemetry::trace::SpanKind::Server,
                SpanKind::Client => opentelemetry::trace::SpanKind::Client,
                SpanKind::Producer => opentelemetry::trace::SpanKind::Producer,
                SpanKind::Consumer => opentelemetry::trace::SpanKind::Consumer,
            })
            .with_start_time(time(span.start_nanos))
            .with_attributes(attrs);
        NEXT.with(|n| n.set(Some((trace_id, span_id))));
        let mut out = builder.start_with_context(&self.tracer, &cx);
        NEXT.with(|n| n.set(None));
        let got = out.span_context().clone();
        if got.is_valid()
            && (got.span_id() != span_id || got.trace_id() != trace_id)
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::error!(
                "guest spans are exported with ids other than the ones their guests \
                 propagated: build the tracer provider with interpose::otel::IdGenerator \
                 (interpose::otel::provider_builder), or traces break at every hop"
            );
        }
        for e in span.events {
            out.add_event_with_timestamp(e.name, time(e.time_nanos), attributes(&e.attributes));
        }
        match span.status {
            SpanStatus::Unset => {}
            SpanStatus::Ok => out.set_status(Status::Ok),
            SpanStatus::Error => out.set_status(Status::error(span.status_description)),
        }
        out.end_with_timestamp(time(span.end_nanos));
    }
}
