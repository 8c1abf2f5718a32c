//! Tracing across SDKs on the dev server: a client with its SDK's own OpenTelemetry tracing
//! (the Temporal Python SDK's `TracingInterceptor`, the Temporal Rust SDK's
//! `OpenTelemetryPlugin`) starts and signals a workflow on an Interpose worker whose tracing
//! guest traces every hook, exported through an OpenTelemetry tracer provider
//! (`interpose::otel`). The worker's spans continue the client's traces.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use interpose::temporal::Interpose;
use interpose_tests::propagation::{Greetings, OrderWorkflow, ShipWorkflow};
use interpose_tests::{dev_server, guest, guests, runtime, scenario};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use temporalio_sdk::WorkerOptions;

/// One span, from either side.
#[derive(Clone, Debug, serde::Deserialize)]
struct Span {
    name: String,
    trace_id: String,
    span_id: String,
    parent: Option<String>,
}

fn of(s: &SpanData) -> Span {
    let parent = s.parent_span_id;
    Span {
        name: s.name.to_string(),
        trace_id: s.span_context.trace_id().to_string(),
        span_id: s.span_context.span_id().to_string(),
        parent: (parent != opentelemetry::trace::SpanId::INVALID).then(|| parent.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct ClientRun {
    result: String,
    spans: Vec<Span>,
}

/// Which client starts, signals and awaits the workflow, with its SDK's own tracing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Driver {
    /// The Temporal Python SDK with `temporalio.contrib.opentelemetry.TracingInterceptor`.
    Python,
    /// The Temporal Rust SDK with its `OpenTelemetryPlugin`.
    RustPlugin,
}

/// The Rust SDK client with `OpenTelemetryPlugin`, run as the Python script does.
async fn rust_client(queue: &str, id: &str) -> ClientRun {
    use temporalio_client::{
        Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowGetResultOptions,
        WorkflowSignalOptions, WorkflowStartOptions,
    };
    let exporter = InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let url = Url::parse(&dev_server().url()).unwrap();
    let client = Client::new(
        Connection::connect(ConnectionOptions::new(url).build())
            .await
            .unwrap(),
        ClientOptions::new("default")
            .plugin(
                temporalio_sdk::opentelemetry::OpenTelemetryPlugin::builder()
                    .tracer(provider.tracer("rust-client"))
                    .build(),
            )
            .build(),
    )
    .unwrap();
    let handle = client
        .start_workflow(
            OrderWorkflow::run,
            "bob".to_string(),
            WorkflowStartOptions::new(queue, id).build(),
        )
        .await
        .unwrap();
    handle
        .signal(
            OrderWorkflow::approve,
            "carol".to_string(),
            WorkflowSignalOptions::default(),
        )
        .await
        .unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        handle.get_result(WorkflowGetResultOptions::default()),
    )
    .await
    .expect("the workflow finishes within a minute")
    .unwrap();
    ClientRun {
        result,
        spans: exporter
            .get_finished_spans()
            .unwrap()
            .iter()
            .map(of)
            .collect(),
    }
}

/// Run a worker with the tracing guest on `queue` (`max_cached` workflows cached) while
/// `driver` starts, signals and awaits `OrderWorkflow`; return the client's run and the
/// worker's spans.
async fn traced_run(
    queue: &str,
    max_cached: Option<usize>,
    driver: Driver,
) -> (ClientRun, Vec<Span>) {
    let exporter = InMemorySpanExporter::default();
    let provider = interpose::otel::provider_builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let traces = Arc::new(interpose::otel::OtelTraces::new(
        provider.tracer("interpose"),
    ));
    let chain = interpose::chain::Chain::load(
        &runtime().with_traces(traces),
        &interpose::config::Config::from_toml(
            &guest("tracing", guests::TRACING, ""),
            Path::new("/"),
            Path::new("tracing.toml"),
        )
        .unwrap(),
        Vec::new(),
    )
    .unwrap();
    let interpose = Interpose::from_chain(runtime().clone(), chain);
    let client = scenario::client(&dev_server().url(), None).await;
    let mut options = WorkerOptions::new(queue)
        .register_workflow::<OrderWorkflow>()
        .unwrap()
        .register_workflow::<ShipWorkflow>()
        .unwrap()
        .register_activities(Greetings)
        .workflow_interceptor(interpose.workflow_interceptor())
        .activity_inbound_interceptor(interpose.activity_interceptor(&client))
        .build();
    if let Some(n) = max_cached {
        options.max_cached_workflows = n;
    }
    let id = format!("traced-{queue}-{}", std::process::id());
    let queue_name = queue.to_owned();
    let run = scenario::with_worker(&client, options, async move {
        match driver {
            Driver::Python => python_client(queue_name, id).await,
            Driver::RustPlugin => rust_client(&queue_name, &id).await,
        }
    })
    .await;
    let worker = exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(of)
        .collect();
    (run, worker)
}

/// The Python script (tests/python/traced_client.py) as the client.
async fn python_client(queue: String, id: String) -> ClientRun {
    let (python, site) = interpose_tests::python_peer();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/traced_client.py");
    let address = dev_server().url().trim_start_matches("http://").to_owned();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .env("PYTHONPATH", site)
            .arg(script)
            .args([address, queue, id])
            .output()
            .expect("running the Python client")
    });
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the Python client finishes within two minutes")
        .unwrap();
    assert!(
        out.status.success(),
        "the Python client failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the Python client's output: {e}\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn one<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    match named(spans, name)[..] {
        [s] => s,
        _ => panic!("expected one {name} in {spans:#?}"),
    }
}

/// Each span's name with its parent's name (or `-`), sorted: the trace's shape.
fn shape(spans: &[Span]) -> Vec<(String, String)> {
    let names: BTreeMap<&str, &str> = spans
        .iter()
        .map(|s| (s.span_id.as_str(), s.name.as_str()))
        .collect();
    let mut v: Vec<(String, String)> = spans
        .iter()
        .map(|s| {
            let parent = s
                .parent
                .as_deref()
                .map_or("-", |p| names.get(p).copied().unwrap_or("(remote)"));
            (s.name.clone(), parent.to_owned())
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_tracing_continues_a_python_clients_trace_through_the_worker() {
    the_clients_traces_continue(Driver::Python, "traced-python").await;
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_tracing_continues_a_rust_sdk_plugin_clients_trace_through_the_worker() {
    the_clients_traces_continue(Driver::RustPlugin, "traced-rust").await;
}

/// The worker's spans continue the traces of `driver`'s start and signal calls.
async fn the_clients_traces_continue(driver: Driver, queue: &str) {
    let (client, worker) = traced_run(queue, None, driver).await;
    assert_eq!(client.result, "hello bob; hello ship bob");
    let start = one(&client.spans, "StartWorkflow:OrderWorkflow");
    let signal = one(&client.spans, "SignalWorkflow:approve");
    let all: Vec<Span> = client.spans.iter().chain(&worker).cloned().collect();
    // The client starts each call as a trace of its own: the signal's span is a root, and
    // HandleSignal continues that trace; everything else continues the start's.
    for s in &worker {
        let expected = if s.name == "HandleSignal:approve" {
            &signal.trace_id
        } else {
            &start.trace_id
        };
        assert_eq!(
            &s.trace_id, expected,
            "every worker span continues its client call's trace: {s:?}"
        );
    }
    let run = one(&worker, "RunWorkflow:OrderWorkflow");
    assert_eq!(
        run.parent.as_deref(),
        Some(start.span_id.as_str()),
        "RunWorkflow is a child of the client's StartWorkflow"
    );
    let handled = one(&worker, "HandleSignal:approve");
    assert_eq!(
        handled.parent.as_deref(),
        Some(signal.span_id.as_str()),
        "HandleSignal is a child of the client's SignalWorkflow"
    );
    let starts = named(&worker, "StartActivity:Greetings::greet");
    let runs = named(&worker, "RunActivity:Greetings::greet");
    assert_eq!((starts.len(), runs.len()), (2, 2), "{worker:#?}");
    for r in runs {
        assert!(
            starts.iter().any(|s| Some(&s.span_id) == r.parent.as_ref()),
            "RunActivity is a child of its StartActivity: {r:?} in {starts:?}"
        );
    }
    let shape = shape(&all);
    for (child, parent) in [
        (
            "StartActivity:Greetings::greet",
            "RunWorkflow:OrderWorkflow",
        ),
        (
            "StartChildWorkflow:ShipWorkflow",
            "RunWorkflow:OrderWorkflow",
        ),
        (
            "RunWorkflow:ShipWorkflow",
            "StartChildWorkflow:ShipWorkflow",
        ),
        // The child continued as new: its next run continues the first run's trace.
        ("RunWorkflow:ShipWorkflow", "RunWorkflow:ShipWorkflow"),
        ("StartActivity:Greetings::greet", "RunWorkflow:ShipWorkflow"),
    ] {
        assert!(
            shape.contains(&(child.to_owned(), parent.to_owned())),
            "{child} under {parent} in {shape:#?}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_tracing_without_a_workflow_cache_exports_exactly_the_spans_of_a_cached_run() {
    // With max_cached_workflows = 0 every workflow task replays the run from its start: the
    // spans of earlier tasks end again, in replay, and must not be exported again.
    let (_, cached) = traced_run("traced-cached", None, Driver::Python).await;
    let (_, uncached) = traced_run("traced-uncached", Some(0), Driver::Python).await;
    assert_eq!(
        shape(&uncached),
        shape(&cached),
        "the same spans, each once, with the same parents"
    );
}
