//! Integration tier: the activity adapter on a real worker and dev server. Wasm guests see
//! the real activity's info and timing, and its result as payloads they can replace.

use std::str::FromStr;
use std::time::Duration;

use interpose::services::MetricKind;
use interpose::temporal::WasmActivityInterceptor;
use interpose_tests::{chain, dev_server, guest, guests};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowGetResultOptions,
    WorkflowStartOptions,
};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{
    ActivityOptions, Runtime, Worker, WorkerOptions, WorkflowContext, WorkflowResult,
};

#[workflow]
#[derive(Default)]
struct GreetWorkflow;

#[workflow_methods]
impl GreetWorkflow {
    #[run]
    async fn run(ctx: &mut WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let greeting = ctx
            .execute_activity(
                Greetings::greet,
                name,
                ActivityOptions::start_to_close_timeout(Duration::from_secs(10)),
            )
            .await?;
        Ok(greeting)
    }
}

/// Like [`GreetWorkflow`], with a single activity attempt (no retries).
#[workflow]
#[derive(Default)]
struct GreetOnceWorkflow;

#[workflow_methods]
impl GreetOnceWorkflow {
    #[run]
    async fn run(ctx: &mut WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let mut options = ActivityOptions::start_to_close_timeout(Duration::from_secs(10));
        options.retry_policy = Some(
            temporalio_common::RetryPolicy::builder()
                .maximum_attempts(1)
                .build(),
        );
        Ok(ctx
            .execute_activity(Greetings::greet, name, options)
            .await?)
    }
}

struct Greetings;

#[activities]
impl Greetings {
    #[activity]
    async fn greet(ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if name == "heartbeats" {
            // The first attempt fails; the second reports the heartbeat details Temporal
            // kept from the first (what the guest recorded).
            if ctx.info().attempt == 1 {
                return Err(ActivityError::Application(Box::new(
                    temporalio_common::error::ApplicationFailure::new(
                        "first attempt fails on purpose",
                    ),
                )));
            }
            let details: Vec<String> = ctx
                .heartbeat_details()
                .raw()
                .iter()
                .map(|p| String::from_utf8_lossy(&p.data).into_owned())
                .collect();
            return Ok(format!("heartbeat details: {details:?}"));
        }
        Ok(format!("hello {name}"))
    }
}

/// Run one GreetWorkflow on a worker whose activities go through `chain`; return its result.
async fn run_greeting(chain: interpose::Chain, queue: &str) -> String {
    run_greeting_with(chain, queue, Default::default()).await
}

/// Like [`run_greeting`], with the worker runtime's options (telemetry).
async fn run_greeting_with(
    chain: interpose::Chain,
    queue: &str,
    runtime_options: temporalio_sdk::runtime::RuntimeOptions,
) -> String {
    run_greeting_full(WasmActivityInterceptor::new(chain), queue, runtime_options).await
}

/// Like [`run_greeting`], with a prepared activity interceptor.
async fn run_greeting_full(
    interceptor: WasmActivityInterceptor,
    queue: &str,
    runtime_options: temporalio_sdk::runtime::RuntimeOptions,
) -> String {
    run_greeting_worker(
        |c| interceptor.heartbeats_through(c),
        None,
        queue,
        runtime_options,
        "temporal",
    )
    .await
}

/// Like [`run_greeting_full`], optionally with a workflow interceptor too, greeting `name`;
/// the activity interceptor is made from the worker's client.
async fn run_greeting_worker(
    interceptor: impl FnOnce(&Client) -> WasmActivityInterceptor,
    workflows: Option<temporalio_workflow::workflow_interceptors::WorkflowInterceptorConstructor>,
    queue: &str,
    runtime_options: temporalio_sdk::runtime::RuntimeOptions,
    name: &str,
) -> String {
    let url = Url::from_str(&dev_server().url()).unwrap();
    let connection = Connection::connect(ConnectionOptions::new(url).build())
        .await
        .unwrap();
    let client = Client::new(connection, ClientOptions::new("default").build()).unwrap();
    let runtime = Runtime::from_current_tokio(runtime_options).unwrap();
    let options = WorkerOptions::new(queue)
        .register_workflow::<GreetWorkflow>()
        .unwrap()
        .register_activities(Greetings)
        .activity_inbound_interceptor(interceptor(&client));
    let options = match workflows {
        Some(w) => options.workflow_interceptor(w),
        None => options,
    }
    .build();
    let mut worker = Worker::new(&runtime, client.clone(), options).unwrap();
    let shutdown = worker.shutdown_handle();
    let id = format!("{queue}-{}", std::process::id());
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let running = tokio::task::spawn_local(async move { worker.run().await });
            let handle = client
                .start_workflow(
                    GreetWorkflow::run,
                    name.to_string(),
                    WorkflowStartOptions::new(queue, &id).build(),
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
            shutdown();
            running.await.unwrap().unwrap();
            result
        })
        .await
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_activity_latency_histograms_come_from_the_real_attempt() {
    let t = chain(&guest("latency", guests::LATENCY_METRICS, ""));
    let result = run_greeting(t.chain.clone(), "interpose-latency").await;
    assert_eq!(
        result, "hello temporal",
        "a before-only guest leaves the result alone"
    );
    let samples = t.metrics.samples();
    let get = |name: &str| {
        samples
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} missing: {samples:?}"))
    };
    let s2s = get("custom_activity_schedule_to_start_latency");
    let s2c = get("custom_activity_schedule_to_close_latency");
    assert_eq!(s2s.kind, MetricKind::Histogram);
    assert_eq!(
        s2s.attributes,
        vec![("workflow_type".to_string(), "GreetWorkflow".to_string())]
    );
    assert!(
        s2s.value >= 0.0 && s2s.value < 30_000.0,
        "schedule-to-start {} ms",
        s2s.value
    );
    assert!(
        s2c.value >= s2s.value + 15.0,
        "schedule-to-close {} ms includes the 20 ms activity",
        s2c.value
    );
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_activity_result_is_visible_and_replaceable_by_a_guest() {
    let t = chain(&guest(
        "probe",
        guests::PROBE,
        "[guest.config]\ntag = 'wasm'\nafter = 'append'",
    ));
    let result = run_greeting(t.chain.clone(), "interpose-replace").await;
    assert_eq!(
        result, "hello temporal+wasm",
        "the guest saw the real result and replaced it"
    );
}

fn scrape(addr: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

/// The value of the first sample line of `body` that starts with `name{` and has every one
/// of `labels` (`key="value"`).
fn sample(body: &str, name: &str, labels: &[&str]) -> Option<f64> {
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next()?.trim().parse().ok())
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_activity_latency_histograms_are_scraped_from_the_workers_prometheus_endpoint() {
    use interpose::temporal::metrics::MetricsEndpoint;
    let endpoint = MetricsEndpoint::start("127.0.0.1:0".parse().unwrap()).unwrap();
    // Beside the latency guest, a guest that panics in `execute-activity` and is skipped:
    // the run still succeeds, and the operator metrics count its failure.
    let config = interpose::config::Config::from_toml(
        &(guest("latency", guests::LATENCY_METRICS, "")
            + &guest(
                "failing",
                guests::HOSTILE,
                "on-failure = 'skip'\n[guest.config]\nbehavior = 'panic'\nonly = 'execute-activity'",
            )),
        std::path::Path::new("/"),
        std::path::Path::new("test.toml"),
    )
    .unwrap();
    let chain = interpose::chain::Chain::load(
        &interpose_tests::runtime().with_sinks(
            endpoint.sink(),
            std::sync::Arc::new(interpose::services::TracingLogs),
        ),
        &config,
        Vec::new(),
    )
    .unwrap();
    let options = temporalio_sdk::runtime::RuntimeOptions::builder()
        .telemetry_options(endpoint.telemetry())
        .build()
        .unwrap();
    let result = run_greeting_with(chain, "interpose-prometheus", options).await;
    assert_eq!(result, "hello temporal");
    let addr = endpoint.addr();
    let body = tokio::task::spawn_blocking(move || scrape(addr))
        .await
        .unwrap();
    for name in [
        "custom_activity_schedule_to_start_latency",
        "custom_activity_schedule_to_close_latency",
    ] {
        let count = body
            .lines()
            .find(|l| {
                l.starts_with(&format!("{name}_count"))
                    && l.contains("workflow_type=\"GreetWorkflow\"")
            })
            .unwrap_or_else(|| {
                panic!("{name}_count with workflow_type missing from /metrics:\n{body}")
            });
        assert!(count.contains("interpose_guest=\"latency\""), "{count}");
        assert!(count.trim_end().ends_with(" 1"), "one observation: {count}");
    }
    assert!(
        body.lines()
            .any(|l| l.starts_with("temporal_") && !l.starts_with('#')),
        "the worker's own sdk-core metrics share the endpoint:\n{body}"
    );
    // Operator metrics: what the host did for each guest, on the same endpoint.
    let latency = "interpose_guest=\"latency\"";
    let failing = "interpose_guest=\"failing\"";
    let activity = "hook=\"execute-activity\"";
    for phase in ["phase=\"before\"", "phase=\"after\""] {
        assert_eq!(
            sample(&body, "interpose_guest_calls", &[latency, activity, phase]),
            Some(1.0),
            "one {phase} call of the latency guest:\n{body}"
        );
        assert_eq!(
            sample(
                &body,
                "interpose_guest_hop_seconds_count",
                &[latency, activity, phase]
            ),
            Some(1.0),
            "one {phase} hop timed:\n{body}"
        );
    }
    assert_eq!(
        sample(
            &body,
            "interpose_guest_failures",
            &[failing, activity, "phase=\"before\"", "cause=\"trap\""]
        ),
        Some(1.0),
        "the failing guest's panic is counted with its cause:\n{body}"
    );
    assert_eq!(
        sample(&body, "interpose_guest_failures", &[latency]),
        None,
        "the latency guest never failed:\n{body}"
    );
    let fuel = sample(&body, "interpose_guest_fuel", &[latency, activity]).unwrap_or(0.0);
    assert!(fuel > 0.0, "fuel is counted per hook:\n{body}");
    let live = sample(&body, "interpose_guest_instances", &[latency]);
    assert!(
        live.is_some_and(|n| n <= 1.0),
        "live instances: the one kept for reuse at most:\n{body}"
    );
}

/// Run GreetOnceWorkflow; return the result or the failure text.
async fn run_once(chain: interpose::Chain, queue: &str) -> Result<String, String> {
    let url = Url::from_str(&dev_server().url()).unwrap();
    let connection = Connection::connect(ConnectionOptions::new(url).build())
        .await
        .unwrap();
    let client = Client::new(connection, ClientOptions::new("default").build()).unwrap();
    let runtime = Runtime::from_current_tokio(Default::default()).unwrap();
    let options = WorkerOptions::new(queue)
        .register_workflow::<GreetOnceWorkflow>()
        .unwrap()
        .register_activities(Greetings)
        .activity_inbound_interceptor(WasmActivityInterceptor::new(chain))
        .build();
    let mut worker = Worker::new(&runtime, client.clone(), options).unwrap();
    let shutdown = worker.shutdown_handle();
    let id = format!("{queue}-{}", std::process::id());
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let running = tokio::task::spawn_local(async move { worker.run().await });
            let handle = client
                .start_workflow(
                    GreetOnceWorkflow::run,
                    "temporal".to_string(),
                    WorkflowStartOptions::new(queue, &id).build(),
                )
                .await
                .unwrap();
            let result = tokio::time::timeout(
                Duration::from_secs(60),
                handle.get_result(WorkflowGetResultOptions::default()),
            )
            .await
            .expect("the workflow finishes within a minute");
            shutdown();
            running.await.unwrap().unwrap();
            result.map_err(|e| format!("{e:?}"))
        })
        .await
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_activity_guest_failure_fails_the_attempt_or_is_skipped_per_policy() {
    let hostile = |policy: &str| {
        chain(&guest(
            "hostile",
            guests::HOSTILE,
            &format!("on-failure = '{policy}'\n[guest.config]\nbehavior = 'panic'\nonly = 'execute-activity'"),
        ))
        .chain
    };
    // Fail-closed: the attempt fails with the guest error; with one attempt allowed the
    // workflow sees the activity failure.
    let failed = run_once(hostile("fail-closed"), "interpose-activity-closed")
        .await
        .unwrap_err();
    assert!(
        failed.contains("interceptor `hostile` failed in hook `execute-activity` (before)"),
        "the activity failure names guest, hook and phase: {failed}"
    );
    assert!(
        failed.contains("hostile guest panics on purpose"),
        "and the cause: {failed}"
    );
    // Skip: the guest is skipped and the activity runs.
    let ok = run_once(hostile("skip"), "interpose-activity-skip")
        .await
        .unwrap();
    assert_eq!(ok, "hello temporal");
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_activity_arguments_are_bridged_when_their_types_are_registered() {
    use interpose::temporal::args::ArgTypes;
    let probe = || {
        chain(&guest(
            "probe",
            guests::PROBE,
            "[guest.config]\ntag = 'wasm'\nbefore = 'set-args'",
        ))
        .chain
    };
    // Without the activity's argument type the SDK's typed arguments stay invisible and
    // `set-args` is refused: the activity runs with its own argument.
    let unchanged = run_greeting_full(
        WasmActivityInterceptor::new(probe()),
        "interpose-args-off",
        Default::default(),
    )
    .await;
    assert_eq!(unchanged, "hello temporal");
    // With it, the guest's replacement arguments reach the activity.
    let bridged = WasmActivityInterceptor::new(probe())
        .with_arg_types(ArgTypes::default().activity(Greetings::greet));
    let replaced = run_greeting_full(bridged, "interpose-args-on", Default::default()).await;
    assert_eq!(replaced, "hello wasm");
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_workflow_arguments_are_bridged_when_their_types_are_registered() {
    use interpose::temporal::Interpose;
    use interpose::temporal::args::ArgTypes;
    let t = chain(&guest(
        "probe",
        guests::PROBE,
        "[guest.config]\ntag = 'wasm'\nbefore = 'set-args'",
    ));
    // Only the workflow's argument type is registered: the guest replaces the workflow's
    // input on execute, and the activity receives what the workflow passes on.
    let interpose = Interpose::from_chain(interpose_tests::runtime().clone(), t.chain.clone())
        .with_arg_types(ArgTypes::default().workflow(GreetWorkflow::run));
    let result = run_greeting_worker(
        |c| interpose.activity_interceptor(c),
        Some(interpose.workflow_interceptor()),
        "interpose-workflow-args",
        Default::default(),
        "temporal",
    )
    .await;
    assert_eq!(result, "hello wasm");
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_activity_guest_heartbeats_reach_temporal() {
    let probe = || {
        chain(&guest(
            "probe",
            guests::PROBE,
            "[guest.config]\ntag = 'hb'\nbefore = 'heartbeat'",
        ))
        .chain
    };
    // The guest heartbeats in `before` of each attempt; the first attempt fails, and the
    // second reads the details Temporal recorded for the first.
    let result = run_greeting_worker(
        |c| WasmActivityInterceptor::new(probe()).heartbeats_through(c),
        None,
        "interpose-heartbeat",
        Default::default(),
        "heartbeats",
    )
    .await;
    assert_eq!(result, r#"heartbeat details: ["\"hb beat on attempt 1\""]"#);
    // Without a client the heartbeat is dropped (and logged): nothing was recorded.
    let dropped = run_greeting_worker(
        |_| WasmActivityInterceptor::new(probe()),
        None,
        "interpose-heartbeat-off",
        Default::default(),
        "heartbeats",
    )
    .await;
    assert_eq!(dropped, "heartbeat details: []");
}
