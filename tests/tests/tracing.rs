//! The tracing import and the tracing example guest (fast tier: no Temporal): span shape and
//! parentage, workflow time, ids identical in replay, no export in replay, and every limit.

use std::sync::Arc;

use interpose::chain::{ActivitySchedule, Call, CallDetail, Chain, Hook, Outcome, Payload};
use interpose::services::{FinishedSpan, FixedWorkflow, Scope, SpanKind, WorkflowInfo};
use interpose_tests::{TestChain, call, chain, guest, guests, header};

const CLIENT_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN: &str = "b7ad6b7169203331";

/// What a client's tracing interceptor puts in `_tracer-data` (a sampled trace).
fn client_carrier() -> Payload {
    client_carrier_flags("01")
}

fn client_carrier_flags(flags: &str) -> Payload {
    Payload::json(format!(
        "{{\"traceparent\":\"00-{CLIENT_TRACE}-{CLIENT_SPAN}-{flags}\"}}"
    ))
}

fn schedule(activity_type: &str) -> Call {
    Call::new(
        CallDetail::ScheduleActivity(ActivitySchedule {
            activity_type: activity_type.into(),
            activity_id: "1".into(),
            task_queue: "q".into(),
        }),
        Some(vec![]),
    )
}

fn workflow(run: &str, now: u64) -> Arc<FixedWorkflow> {
    FixedWorkflow::new(WorkflowInfo::new("ns", "order-1", run, "Order", "q"), now)
}

/// One workflow task's worth of the run: execute (with the client's header), one activity
/// scheduled at `now + 5 s`, and the run's end at `now + 9 s`, each hook at its own
/// workflow time. Returns the `_tracer-data` header the activity command got.
fn run_order(t: &TestChain, wf: &Arc<FixedWorkflow>, now: u64) -> String {
    run_order_from(&t.chain, wf, now, client_carrier())
}

/// `before(execute-workflow)` with `parent` in `_tracer-data`: the run's call, entered.
fn enter_run(
    session: &mut interpose::chain::Session,
    parent: Payload,
) -> (Call, interpose::chain::Entered) {
    let mut exec = call(Hook::ExecuteWorkflow);
    exec.headers_mut().insert("_tracer-data".into(), parent);
    let interpose::chain::Before::Proceed(entered) = session.before(&mut exec).unwrap() else {
        panic!("tracing proceeds")
    };
    (exec, entered)
}

fn run_order_from(chain: &Chain, wf: &Arc<FixedWorkflow>, now: u64, parent: Payload) -> String {
    let mut session = chain.session(Scope::Workflow(wf.clone()));
    let (mut exec, entered) = enter_run(&mut session, parent);
    wf.set_now(now + 5_000_000_000);
    let mut act = schedule("Charge");
    session.run(&mut act, |_| Outcome::Ok(vec![])).unwrap();
    wf.set_now(now + 9_000_000_000);
    session
        .after(
            &mut exec,
            entered,
            Outcome::Ok(vec![Payload::json("\"done\"")]),
        )
        .unwrap();
    header(&act, "_tracer-data").unwrap_or_default()
}

fn by_name<'a>(spans: &'a [FinishedSpan], name: &str) -> &'a FinishedSpan {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

#[test]
fn workflow_spans_continue_the_clients_trace_in_workflow_time() {
    let t = chain(&guest("tracing", guests::TRACING, ""));
    let now = 1_700_000_000_000_000_000;
    let wf = workflow("run-1", now);
    let injected = run_order(&t, &wf, now);
    let spans = t.traces.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let run = by_name(&spans, "RunWorkflow:Order");
    let start = by_name(&spans, "StartActivity:Charge");
    assert_eq!(run.kind, SpanKind::Server);
    assert_eq!(start.kind, SpanKind::Client);
    assert_eq!(
        run.trace_id_hex(),
        CLIENT_TRACE,
        "the client's trace goes on"
    );
    assert_eq!(
        run.parent_span_id_hex().as_deref(),
        Some(CLIENT_SPAN),
        "RunWorkflow is a child of the client's span"
    );
    assert!(run.parent_is_remote);
    assert_eq!(start.trace_id_hex(), CLIENT_TRACE);
    assert_eq!(
        start.parent_span_id,
        Some(run.span_id),
        "StartActivity is a child of RunWorkflow"
    );
    assert_eq!(
        (run.start_nanos, run.end_nanos),
        (now, now + 9_000_000_000),
        "workflow time, from execute to its end"
    );
    assert_eq!(start.start_nanos, now + 5_000_000_000);
    assert!(run.workflow_time && start.workflow_time);
    assert!(
        run.attributes
            .contains(&("temporalWorkflowID".into(), "order-1".into()))
            && run
                .attributes
                .contains(&("temporalRunID".into(), "run-1".into())),
        "{:?}",
        run.attributes
    );
    assert_eq!(run.guest, "tracing");
    assert!(run.sampled && start.sampled);
    assert_eq!(
        injected,
        format!(
            "{{\"traceparent\":\"00-{CLIENT_TRACE}-{}-01\"}}",
            start.span_id_hex()
        ),
        "the activity command carries StartActivity's context"
    );
}

#[test]
fn an_unsampled_incoming_trace_stays_unsampled_downstream() {
    let t = chain(&guest("tracing", guests::TRACING, ""));
    let now = 1_700_000_000_000_000_000;
    let wf = workflow("run-1", now);
    let injected = run_order_from(&t.chain, &wf, now, client_carrier_flags("00"));
    let spans = t.traces.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    assert!(
        spans.iter().all(|s| !s.sampled),
        "the client's decision not to sample holds for its children: {spans:#?}"
    );
    let start = by_name(&spans, "StartActivity:Charge");
    assert_eq!(
        injected,
        format!(
            "{{\"traceparent\":\"00-{CLIENT_TRACE}-{}-00\"}}",
            start.span_id_hex()
        ),
        "the activity command says the trace is not sampled"
    );
}

#[test]
fn the_otel_sink_leaves_unsampled_spans_to_the_providers_sampler() {
    use opentelemetry::trace::TracerProvider as _;
    let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    // The default sampler: parent-based, always on for new traces.
    let provider = interpose::otel::provider_builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let traces = Arc::new(interpose::otel::OtelTraces::new(
        provider.tracer("interpose"),
    ));
    let config = interpose::config::Config::from_toml(
        &guest("tracing", guests::TRACING, ""),
        std::path::Path::new("/"),
        std::path::Path::new("tracing.toml"),
    )
    .unwrap();
    let chain = Chain::load(
        &interpose_tests::runtime().with_traces(traces),
        &config,
        Vec::new(),
    )
    .unwrap();
    let now = 1_700_000_000_000_000_000;
    run_order_from(
        &chain,
        &workflow("run-1", now),
        now,
        client_carrier_flags("00"),
    );
    assert_eq!(exporter.get_finished_spans().unwrap().len(), 0);
    run_order_from(
        &chain,
        &workflow("run-2", now),
        now,
        client_carrier_flags("01"),
    );
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    assert!(spans.iter().all(|s| s.span_context.is_sampled()));
}

#[test]
fn span_ids_are_identical_in_replay_and_replayed_spans_are_not_exported() {
    let now = 1_700_000_000_000_000_000;
    let live = chain(&guest("tracing", guests::TRACING, ""));
    let wf = workflow("run-7", now);
    let live_header = run_order(&live, &wf, now);
    let replay = chain(&guest("tracing", guests::TRACING, ""));
    let wf = workflow("run-7", now);
    wf.set_replaying(true);
    let replay_header = run_order(&replay, &wf, now);
    assert_eq!(
        replay_header, live_header,
        "the replayed command carries the same context"
    );
    assert!(
        replay.traces.spans().is_empty(),
        "nothing is exported in replay: {:#?}",
        replay.traces.spans()
    );
    assert_eq!(
        replay.traces.replayed_spans(),
        live.traces.spans(),
        "the replayed spans are the live ones, ids and times alike"
    );
    // Another run gets other ids.
    let other = chain(&guest("tracing", guests::TRACING, ""));
    let wf = workflow("run-8", now);
    assert_ne!(run_order(&other, &wf, now), live_header);
}

#[test]
fn a_span_started_before_an_eviction_is_exported_once_when_it_ends_live() {
    // Task 1 runs live and the run is evicted (the session dropped) before it ends; task 2
    // rebuilds it by replaying task 1, then ends it live. RunWorkflow is exported once, with
    // task 1's start time and ids.
    let t = chain(&guest("tracing", guests::TRACING, ""));
    let now = 1_700_000_000_000_000_000;
    let wf = workflow("run-9", now);
    // Each task runs execute's `before` and schedules an activity; task 2 replays that, then
    // ends the run live.
    let task = |replaying: bool| {
        wf.set_replaying(replaying);
        let mut session = t.chain.session(Scope::Workflow(wf.clone()));
        let (exec, entered) = enter_run(&mut session, client_carrier());
        session
            .run(&mut schedule("Charge"), |_| Outcome::Ok(vec![]))
            .unwrap();
        (session, exec, entered)
    };
    drop(task(false));
    let task1 = t.traces.spans();
    assert_eq!(task1.len(), 1, "StartActivity only: {task1:#?}");
    let (mut session, mut exec, entered) = task(true);
    wf.set_replaying(false);
    wf.set_now(now + 3_000_000_000);
    session
        .after(&mut exec, entered, Outcome::Ok(vec![]))
        .unwrap();
    let spans = t.traces.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let run = by_name(&spans, "RunWorkflow:Order");
    assert_eq!((run.start_nanos, run.end_nanos), (now, now + 3_000_000_000));
    assert_eq!(run.parent_span_id_hex().as_deref(), Some(CLIENT_SPAN));
    assert_eq!(
        task1[0].parent_span_id,
        Some(run.span_id),
        "the rebuilt run span has the id task 1's command was parented on"
    );
    assert_eq!(
        t.traces.replayed_spans().len(),
        1,
        "task 2's replayed StartActivity"
    );
}

#[test]
fn a_failed_call_marks_its_span_as_an_error() {
    let t = chain(&guest("tracing", guests::TRACING, ""));
    let wf = workflow("run-2", 1);
    let mut session = t.chain.session(Scope::Workflow(wf));
    let mut exec = call(Hook::ExecuteWorkflow);
    session
        .run(&mut exec, |_| {
            Outcome::Err(interpose::chain::Failure::new("card declined"))
        })
        .unwrap();
    let spans = t.traces.spans();
    assert_eq!(spans[0].status, interpose::services::SpanStatus::Error);
    assert_eq!(spans[0].status_description, "card declined");
    assert_eq!(spans[0].parent_span_id, None, "no header: a new trace");
}

#[test]
fn span_limits_trap_with_the_reason() {
    for (mode, reason) in [
        (
            "span-long-name",
            "a span name is 300 bytes; it must be 1 to 256 bytes",
        ),
        ("span-flood", "the instance holds 256 spans already"),
        (
            "span-reserved-key",
            "attribute key `interpose.guest` is the host's",
        ),
    ] {
        let t = chain(&guest(
            "p",
            guests::PROBE,
            &format!("[guest.config]\nbefore = '{mode}'"),
        ));
        let e = t
            .chain
            .session(Scope::Client)
            .run(&mut call(Hook::QueryWorkflow), |_| Outcome::Ok(vec![]))
            .unwrap_err()
            .to_string();
        assert!(e.contains(reason), "{mode}: {e}");
    }
    // The instance's span budget spans calls: a workflow guest that keeps 800 KiB of spans
    // per call is stopped in its second call.
    let t = chain(&guest(
        "p",
        guests::PROBE,
        "[guest.config]\nbefore = 'span-budget'",
    ));
    let wf = workflow("run-3", 1);
    let mut session = t.chain.session(Scope::Workflow(wf));
    session
        .run(&mut call(Hook::ExecuteWorkflow), |_| Outcome::Ok(vec![]))
        .unwrap();
    let e = session
        .run(&mut call(Hook::StartTimer), |_| Outcome::Ok(vec![]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the instance's spans would hold") && e.contains("at most 1048576"),
        "{e}"
    );
}

#[test]
fn the_python_tracing_guest_makes_exactly_the_rust_guests_spans() {
    // Both guests are named `tracing`: same per-run id stream, so the same ids too.
    let now = 1_700_000_000_000_000_000;
    let rust = chain(&guest("tracing", guests::TRACING, ""));
    let python = chain(&guest(
        "tracing",
        interpose_tests::polyglot(guests::TRACING_PY),
        "",
    ));
    let rust_header = run_order(&rust, &workflow("run-4", now), now);
    let python_header = run_order(&python, &workflow("run-4", now), now);
    assert_eq!(python_header, rust_header);
    assert_eq!(python.traces.spans(), rust.traces.spans());
    assert_eq!(rust.traces.spans().len(), 2);
}

/// A run that starts one Nexus operation: the spans and the operation's `traceparent`
/// Nexus header (as the string the handler gets).
fn run_nexus(t: &TestChain, now: u64) -> (Vec<FinishedSpan>, Option<String>) {
    let wf = workflow("run-nexus", now);
    let mut session = t.chain.session(Scope::Workflow(wf.clone()));
    let (mut exec, entered) = enter_run(&mut session, client_carrier());
    wf.set_now(now + 3_000_000_000);
    let mut op = Call::for_operation(
        CallDetail::StartNexusOperation(interpose::chain::NexusStart {
            endpoint: "payments".into(),
            service: "Greeting".into(),
            operation: "greet".into(),
            schedule_to_close_timeout: 0,
        }),
        Some(vec![]),
    );
    session.run(&mut op, |_| Outcome::Ok(vec![])).unwrap();
    session
        .after(&mut exec, entered, Outcome::Ok(vec![]))
        .unwrap();
    let header = op
        .headers()
        .get("traceparent")
        .and_then(|p| p.header_string());
    (t.traces.spans(), header)
}

#[test]
fn a_nexus_operation_gets_its_span_and_its_context_in_the_traceparent_nexus_header() {
    let now = 1_700_000_000_000_000_000;
    let rust = chain(&guest("tracing", guests::TRACING, ""));
    let (spans, header) = run_nexus(&rust, now);
    let run = by_name(&spans, "RunWorkflow:Order");
    let start = by_name(&spans, "StartNexusOperation:Greeting/greet");
    assert_eq!(start.kind, SpanKind::Client);
    assert_eq!(
        start.parent_span_id,
        Some(run.span_id),
        "a child of the run"
    );
    assert_eq!(start.start_nanos, now + 3_000_000_000, "workflow time");
    assert_eq!(
        header,
        Some(format!("00-{CLIENT_TRACE}-{}-01", start.span_id_hex())),
        "the handler gets the W3C trace parent as a string Nexus header"
    );
    let python = chain(&guest(
        "tracing",
        interpose_tests::polyglot(guests::TRACING_PY),
        "",
    ));
    assert_eq!(
        run_nexus(&python, now),
        (spans, header),
        "the Python guest does the same"
    );
}

#[test]
fn dropped_spans_and_replaced_values_give_their_budget_back() {
    // 800 KiB per call: two calls fit the 1 MiB budget only if the first call's bytes came
    // back (span-budget, which keeps its spans, is stopped in its second call).
    for mode in ["span-churn", "span-replace"] {
        let t = chain(&guest(
            "p",
            guests::PROBE,
            &format!("[guest.config]\nbefore = '{mode}'"),
        ));
        let wf = workflow("run-5", 1);
        let mut session = t.chain.session(Scope::Workflow(wf));
        for hook in [Hook::ExecuteWorkflow, Hook::StartTimer, Hook::StartTimer] {
            session
                .run(&mut call(hook), |_| Outcome::Ok(vec![]))
                .unwrap_or_else(|e| panic!("{mode}: {e}"));
        }
    }
}

#[test]
fn a_reused_instance_never_parents_a_callers_span_on_an_earlier_callers() {
    let t = chain(&guest(
        "p",
        guests::PROBE,
        "instances = 'reuse'\n[guest.config]\nbefore = 'span-leak'",
    ));
    for _ in 0..2 {
        t.chain
            .session(Scope::Client)
            .run(&mut call(Hook::QueryWorkflow), |_| Outcome::Ok(vec![]))
            .unwrap();
    }
    assert_eq!(t.chain.stats("p").unwrap().instantiations, 2, "reused");
    let children: Vec<_> = t
        .traces
        .spans()
        .into_iter()
        .filter(|s| s.name == "child")
        .map(|s| s.parent_span_id)
        .collect();
    assert_eq!(
        children,
        [None, None],
        "each call's span starts its own trace"
    );
}
