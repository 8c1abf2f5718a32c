//! `interpose demo`: the example guests around a real Temporal worker and client, on the
//! embedded dev server (or the cluster Temporal's envconfig names). Every guest call is
//! printed as it happens; a summary follows.
//!
//! The sample order workflow exercises every hook kind: an activity, a local activity, a
//! timer, a child workflow, a signal, a query, an update with a validator (one accepted,
//! one rejected) and continue-as-new; the client also tries to start a workflow type the
//! deny list forbids.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use temporalio_client::{
    Client, Connection, WorkflowExecuteUpdateOptions, WorkflowGetResultOptions,
    WorkflowQueryOptions, WorkflowSignalOptions, WorkflowStartOptions,
};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{
    ActivityOptions, ChildWorkflowOptions, ContinueAsNewOptions, LocalActivityOptions, Runtime,
    SyncWorkflowContext, Worker, WorkerOptions, WorkflowContext, WorkflowContextView,
    WorkflowResult,
};

use interpose::chain::{Hook, Phase};
use interpose::config::Config;
use interpose::services::{
    FinishedSpan, HopObserver, MemoryLogs, MemoryMetrics, MemoryTraces, MetricsSink,
};
use interpose::temporal::metrics::MetricsEndpoint;
use interpose::temporal::{Interpose, connect};

const QUEUE: &str = "interpose-demo";

#[workflow]
#[derive(Default)]
struct OrderWorkflow {
    approved: bool,
    priority: u32,
    status: String,
}

#[workflow_methods]
impl OrderWorkflow {
    #[run]
    async fn run(ctx: &mut WorkflowContext<Self>, order: (String, u32)) -> WorkflowResult<String> {
        let (sku, round) = order;
        let secs = |s| ActivityOptions::start_to_close_timeout(Duration::from_secs(s));
        let charged = ctx
            .execute_activity(Shop::charge, sku.clone(), secs(10))
            .await?;
        let reserved = ctx
            .execute_local_activity(
                Shop::reserve,
                sku.clone(),
                LocalActivityOptions::builder()
                    .start_to_close_timeout(Duration::from_secs(10))
                    .build(),
            )
            .await?;
        ctx.timer(Duration::from_millis(100)).await;
        let child = ctx
            .start_child_workflow(
                ShipWorkflow::run,
                sku.clone(),
                ChildWorkflowOptions::workflow_id(format!("{}-ship-{round}", ctx.workflow_id())),
            )
            .await?;
        let shipped = child.result().await?;
        ctx.state_mut(|s| s.status = format!("{charged}, {reserved}, {shipped}"));
        if round == 0 {
            ctx.wait_condition(|s| s.approved).await?;
            ctx.continue_as_new((sku, 1), ContinueAsNewOptions::default())?;
        }
        Ok(ctx.state(|s| format!("{} (priority {})", s.status, s.priority)))
    }

    #[signal]
    fn approve(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _by: String) {
        self.approved = true;
    }

    #[query]
    fn status(&self, _ctx: &WorkflowContextView) -> String {
        self.status.clone()
    }

    #[update_validator(set_priority)]
    fn validate_priority(
        &self,
        _ctx: &WorkflowContextView,
        value: &u32,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if *value > 10 {
            Err("priority must be at most 10".into())
        } else {
            Ok(())
        }
    }

    #[update]
    fn set_priority(&mut self, _ctx: &mut SyncWorkflowContext<Self>, value: u32) -> u32 {
        std::mem::replace(&mut self.priority, value)
    }
}

#[workflow]
#[derive(Default)]
struct ShipWorkflow;

#[workflow_methods]
impl ShipWorkflow {
    #[run]
    async fn run(ctx: &mut WorkflowContext<Self>, sku: String) -> WorkflowResult<String> {
        Ok(ctx
            .execute_activity(
                Shop::ship,
                sku,
                ActivityOptions::start_to_close_timeout(Duration::from_secs(10)),
            )
            .await?)
    }
}

struct Shop;

#[activities]
impl Shop {
    #[activity]
    async fn charge(_ctx: ActivityContext, sku: String) -> Result<String, ActivityError> {
        tokio::time::sleep(Duration::from_millis(30)).await;
        Ok(format!("charged {sku}"))
    }

    #[activity]
    async fn reserve(_ctx: ActivityContext, sku: String) -> Result<String, ActivityError> {
        Ok(format!("reserved {sku}"))
    }

    #[activity]
    async fn ship(_ctx: ActivityContext, sku: String) -> Result<String, ActivityError> {
        Ok(format!("shipped {sku}"))
    }
}

/// Sends guest metrics to two sinks: the demo's in-memory list and the Prometheus endpoint.
struct Tee(Arc<MemoryMetrics>, Arc<dyn MetricsSink>);

impl MetricsSink for Tee {
    fn record(&self, sample: interpose::services::MetricSample) {
        self.0.record(sample.clone());
        self.1.record(sample);
    }
    fn wants_hops(&self) -> bool {
        self.1.wants_hops()
    }
    fn hop(&self, guest: &str, hook: Hook, phase: Phase, elapsed: Duration, fuel: u64) {
        self.1.hop(guest, hook, phase, elapsed, fuel);
    }
    fn failure(&self, guest: &str, hook: Hook, phase: Phase, cause: &'static str) {
        self.1.failure(guest, hook, phase, cause);
    }
    fn instances(&self, guest: &str, delta: i64) {
        self.1.instances(guest, delta);
    }
}

/// `GET /metrics` from the endpoint.
fn scrape(addr: std::net::SocketAddr) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}

/// Print the trace of the order workflow's start as a tree: span names, durations (workflow
/// time for spans made in workflow hooks) and the guest that made each span. Fails when the
/// worker's spans do not continue the client's.
fn print_trace(spans: &[FinishedSpan], id: &str) -> anyhow::Result<()> {
    let Some(start) = spans.iter().find(|s| {
        s.name == "StartWorkflow:OrderWorkflow"
            && s.attributes
                .contains(&("temporalWorkflowID".into(), id.to_owned()))
    }) else {
        bail!("the tracing guest made no StartWorkflow span for {id}");
    };
    let trace: Vec<&FinishedSpan> = spans
        .iter()
        .filter(|s| s.trace_id == start.trace_id)
        .collect();
    println!(
        "
trace {} of {id} ({} spans; [wf] = workflow time):",
        start.trace_id_hex(),
        trace.len()
    );
    fn print(trace: &[&FinishedSpan], span: &FinishedSpan, depth: usize) {
        let ms = span.end_nanos.saturating_sub(span.start_nanos) as f64 / 1e6;
        let clock = if span.workflow_time { " [wf]" } else { "" };
        println!(
            "  {:indent$}{:<width$} {ms:>9.3} ms{clock:<5}  by {}",
            "",
            span.name,
            span.guest,
            indent = depth * 2,
            width = 44usize.saturating_sub(depth * 2)
        );
        let mut children: Vec<&&FinishedSpan> = trace
            .iter()
            .filter(|c| c.parent_span_id == Some(span.span_id))
            .collect();
        children.sort_by_key(|c| (c.start_nanos, c.name.clone()));
        for c in children {
            print(trace, c, depth + 1);
        }
    }
    print(&trace, start, 0);
    let others = spans
        .iter()
        .filter(|s| s.trace_id != start.trace_id)
        .map(|s| s.trace_id)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    println!(
        "  ({others} more traces: each client call the demo makes (update, query, signal, the \
         denied start) starts one, and its handler's span continues it)"
    );
    let run = trace
        .iter()
        .find(|s| s.name == "RunWorkflow:OrderWorkflow")
        .context("the worker's RunWorkflow span is not in the client's trace")?;
    if run.parent_span_id != Some(start.span_id) {
        bail!("RunWorkflow is not a child of the client's StartWorkflow");
    }
    Ok(())
}

/// Prints each guest call as it happens and counts them.
#[derive(Default)]
struct Printer {
    hops: Mutex<Vec<(String, Hook, Phase)>>,
}

impl HopObserver for Printer {
    fn hop(&self, guest: &str, hook: Hook, phase: Phase, summary: &str) {
        println!(
            "  {:<20} {:<26} {:<6} {summary}",
            guest,
            hook.name(),
            phase.to_string()
        );
        if let Ok(mut h) = self.hops.lock() {
            h.push((guest.to_owned(), hook, phase));
        }
    }
}

pub(super) fn run(config: PathBuf) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, scenario(config))
}

async fn scenario(config_path: PathBuf) -> anyhow::Result<()> {
    let config = Config::from_file(&config_path)?;
    let logs = Arc::new(MemoryLogs::default());
    let metrics = Arc::new(MemoryMetrics::default());
    let runtime = interpose::Runtime::builder().for_config(&config).build()?;
    let printer = Arc::new(Printer::default());
    // Guest metrics and the worker's own metrics share one Prometheus endpoint.
    let endpoint = MetricsEndpoint::start(([127, 0, 0, 1], 0).into())?;
    let sink = Arc::new(Tee(metrics.clone(), endpoint.sink()));
    let traces = Arc::new(MemoryTraces::default());
    let chain = interpose::chain::Chain::load(
        &runtime
            .with_sinks(sink, logs.clone())
            .with_traces(traces.clone()),
        &config,
        Vec::new(),
    )?
    .with_observer(printer.clone());
    println!(
        "Interpose demo: {} guests from {}",
        config.guests.len(),
        config_path.display()
    );
    for (i, g) in chain.guests().enumerate() {
        let hooks: usize = g.interests.values().map(Vec::len).sum();
        println!(
            "  {}. {:<20} {hooks} hooks, {}",
            i + 1,
            g.name,
            bytesize::ByteSize(g.size)
        );
    }
    let interpose = Interpose::from_chain(runtime, chain.clone());

    println!(
        "\nstarting Temporal (embedded dev server unless TEMPORAL_ADDRESS or a profile is set)..."
    );
    let target = connect::resolve(Duration::from_secs(60))?;
    match &target.embedded {
        Some(s) => println!("  embedded dev server on {}", s.addr()),
        None => println!("  using {}", target.connection.target),
    }
    let connection = Connection::connect(target.connection.clone())
        .await
        .context("connecting to Temporal")?;
    let client = Client::new(
        connection,
        target.client_options_with(vec![interpose.client_interceptor()]),
    )?;
    let runtime_options = temporalio_sdk::runtime::RuntimeOptions::builder()
        .telemetry_options(endpoint.telemetry())
        .build()
        .map_err(|e| anyhow::anyhow!(e))?;
    let sdk = Runtime::from_current_tokio(runtime_options)?;
    let mut options = WorkerOptions::new(QUEUE)
        .register_workflow::<OrderWorkflow>()?
        .register_workflow::<ShipWorkflow>()?
        .register_activities(Shop)
        .workflow_interceptor(interpose.workflow_interceptor())
        .activity_inbound_interceptor(interpose.activity_interceptor(&client))
        .build();
    // The instance pool must hold what the worker's cache can need.
    interpose.check_worker(&options)?;
    // Every workflow task this worker completes records the chain's fingerprint.
    interpose.stamp_worker(&mut options);
    println!(
        "  worker build id {} (interceptor chain {})",
        options.deployment_options.version.build_id,
        &interpose.fingerprint()[..interpose::temporal::versions::STAMP_DIGITS]
    );
    let mut worker = Worker::new(&sdk, client.clone(), options)?;
    let shutdown = worker.shutdown_handle();
    let running = tokio::task::spawn_local(async move { worker.run().await });

    let id = format!("order-{}", std::process::id());
    println!("\nclient: start OrderWorkflow {id}");
    let handle = client
        .start_workflow(
            OrderWorkflow::run,
            ("sku-42".to_string(), 0),
            WorkflowStartOptions::new(QUEUE, &id).build(),
        )
        .await?;

    println!("\nclient: update set_priority(3)");
    let old = handle
        .execute_update(
            OrderWorkflow::set_priority,
            3,
            WorkflowExecuteUpdateOptions::default(),
        )
        .await?;
    println!("  -> accepted, previous priority {old}");
    println!("\nclient: update set_priority(99) (the validator rejects it)");
    match handle
        .execute_update(
            OrderWorkflow::set_priority,
            99,
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
    {
        Ok(_) => bail!("the validator should have rejected priority 99"),
        Err(e) => println!("  -> rejected: {e}"),
    }
    println!("\nclient: query status");
    let status = handle
        .query(OrderWorkflow::status, (), WorkflowQueryOptions::default())
        .await?;
    println!("  -> {status:?}");
    println!("\nclient: signal approve");
    handle
        .signal(
            OrderWorkflow::approve,
            "carol".to_string(),
            WorkflowSignalOptions::default(),
        )
        .await?;

    println!("\nclient: wait for the result (the workflow continues as new once)");
    let result = tokio::time::timeout(
        Duration::from_secs(120),
        handle.get_result(WorkflowGetResultOptions::default()),
    )
    .await
    .context("the demo workflow did not finish within 2 minutes")??;
    println!("  -> {result}");
    let events = handle
        .fetch_history(Default::default())
        .into_events()
        .await?;
    let versions =
        interpose::temporal::versions::summarize(&interpose::temporal::versions::stamps(&events));
    println!(
        "  its first run started with interceptor chain {} ({} workflow tasks; see `interpose versions {id}`)",
        versions.started_with.as_deref().unwrap_or("(unstamped)"),
        versions.tasks
    );

    println!("\nclient: start WipeEverything (on the deny list)");
    let denied = client
        .start_workflow(
            temporalio_common::UntypedWorkflow::new("WipeEverything"),
            temporalio_common::data_converters::RawValue::new(vec![]),
            WorkflowStartOptions::new(QUEUE, format!("wipe-{id}")).build(),
        )
        .await;
    match denied {
        Ok(_) => bail!("the deny list should have rejected WipeEverything"),
        Err(e) => println!("  -> {e}"),
    }

    shutdown();
    running.await??;

    print_trace(&traces.spans(), &id)?;

    println!("\nguest logs:");
    for l in logs.lines() {
        let hook = l.hook.map_or("outside any hook", |h| h.name());
        println!("  [{}] {} ({hook}): {}", l.level, l.guest, l.message);
    }
    println!("\nguest metrics:");
    for m in metrics.samples() {
        println!(
            "  {} {} = {:.3} {} {:?}",
            m.guest, m.name, m.value, m.unit, m.attributes
        );
    }
    let addr = endpoint.addr();
    let body = tokio::task::spawn_blocking(move || scrape(addr)).await??;
    let guest_lines: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("custom_") && l.contains("_count"))
        .collect();
    let worker_series = body.lines().filter(|l| l.starts_with("temporal_")).count();
    println!(
        "\nPrometheus endpoint http://{addr}/metrics: {} guest histogram counts, {worker_series} worker series",
        guest_lines.len()
    );
    for l in &guest_lines {
        println!("  {l}");
    }
    if guest_lines.is_empty() {
        bail!("the guests' histograms are missing from the Prometheus endpoint");
    }
    let hops = printer.hops.lock().map(|h| h.clone()).unwrap_or_default();
    let mut kinds: Vec<&str> = hops.iter().map(|(_, h, _)| h.name()).collect();
    kinds.sort();
    kinds.dedup();
    println!(
        "\nsummary: {} guest calls over {} hook kinds: {}",
        hops.len(),
        kinds.len(),
        kinds.join(", ")
    );
    for g in chain.guests() {
        let s = chain.stats(&g.name).unwrap_or_default();
        println!(
            "  {:<20} {} wasm calls, {} instances, {} fuel, {} failures",
            g.name, s.calls, s.instantiations, s.fuel, s.failures
        );
    }
    Ok(())
}
