//! The example guests do what the seed's examples do (fast tier: the chain without
//! Temporal; the Temporal adapters run the same guests end to end).

use interpose::chain::{Call, Hook, Outcome};
use interpose::services::{
    ActivityInfo, FixedActivity, FixedWorkflow, MetricKind, Scope, WorkflowInfo,
};
use interpose_tests::{call, chain, guest, guests, header, start_call};

fn propagation() -> interpose_tests::TestChain {
    chain(&guest(
        "ctx",
        guests::CONTEXT_PROPAGATION,
        "[guest.config]\nuser-id = 'alice'",
    ))
}

#[test]
fn user_id_flows_from_client_to_workflow_to_every_outbound_command_and_activity() {
    let t = propagation();
    let mut start = start_call("Order");
    t.chain
        .session(Scope::Client)
        .run(&mut start, |_| Outcome::Ok(vec![]))
        .unwrap();
    assert_eq!(
        header(&start, "user-id").as_deref(),
        Some("alice"),
        "client stamps the user"
    );

    // An application that set the header itself wins.
    let mut own =
        start_call("Order").with_header("user-id", interpose::chain::Payload::json("\"bob\""));
    t.chain
        .session(Scope::Client)
        .run(&mut own, |_| Outcome::Ok(vec![]))
        .unwrap();
    assert_eq!(header(&own, "user-id").as_deref(), Some("bob"));

    // The workflow run: execute carries the header in; outbound commands start empty.
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "order-1", "run-1", "Order", "q"), 1);
    let mut run = t.chain.session(Scope::Workflow(wf));
    let mut exec = call(Hook::ExecuteWorkflow);
    *exec.headers_mut() = start.headers().clone();
    run.run(&mut exec, |_| Outcome::Ok(vec![])).unwrap();
    for hook in [
        Hook::ScheduleActivity,
        Hook::ScheduleLocalActivity,
        Hook::StartChildWorkflow,
        Hook::SignalExternalWorkflow,
        Hook::ContinueAsNew,
    ] {
        let mut out = call(hook);
        run.run(&mut out, |_| Outcome::Ok(vec![])).unwrap();
        assert_eq!(
            header(&out, "user-id").as_deref(),
            Some("alice"),
            "{hook} carries the user"
        );
    }
    let mut timer = Call::new(Hook::StartTimer.empty_detail(), None);
    run.run(&mut timer, |_| Outcome::Ok(vec![])).unwrap();
    assert!(timer.headers().is_empty(), "timers carry no headers");

    // A signal handler sees the header the client signal carried.
    let mut signal = call(Hook::SignalWorkflow);
    t.chain
        .session(Scope::Client)
        .run(&mut signal, |_| Outcome::Ok(vec![]))
        .unwrap();
    assert_eq!(header(&signal, "user-id").as_deref(), Some("alice"));

    // The activity sees it and logs it.
    let act = FixedActivity::new(ActivityInfo {
        activity_type: "charge".into(),
        ..Default::default()
    });
    let mut exec_act = call(Hook::ExecuteActivity);
    exec_act.headers_mut().insert(
        "user-id".into(),
        interpose::chain::Payload::json("\"alice\""),
    );
    t.chain
        .session(Scope::Activity(act))
        .run(&mut exec_act, |_| Outcome::Ok(vec![]))
        .unwrap();
    assert!(
        t.logs
            .lines()
            .iter()
            .any(|l| l.message == "activity charge runs for user alice"),
        "{:?}",
        t.logs.lines()
    );
}

#[test]
fn latency_metrics_records_schedule_to_start_and_schedule_to_close() {
    let t = chain(&guest("latency", guests::LATENCY_METRICS, ""));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let act = FixedActivity::new(ActivityInfo {
        activity_type: "charge".into(),
        workflow_type: "Order".into(),
        scheduled_time: now - 80_000_000,
        current_attempt_scheduled_time: now - 50_000_000,
        started_time: now - 30_000_000,
        ..Default::default()
    });
    let mut c = call(Hook::ExecuteActivity);
    t.chain
        .session(Scope::Activity(act))
        .run(&mut c, |_| Outcome::Ok(vec![]))
        .unwrap();
    let samples = t.metrics.samples();
    assert_eq!(samples.len(), 2, "{samples:?}");
    let s2s = &samples[0];
    assert_eq!(s2s.name, "custom_activity_schedule_to_start_latency");
    assert_eq!(s2s.kind, MetricKind::Histogram);
    assert_eq!(
        s2s.value, 20.0,
        "started - current attempt scheduled, in ms"
    );
    assert_eq!(s2s.unit, "ms");
    assert_eq!(
        s2s.attributes,
        vec![("workflow_type".to_string(), "Order".to_string())]
    );
    let s2c = &samples[1];
    assert_eq!(s2c.name, "custom_activity_schedule_to_close_latency");
    assert!(
        s2c.value >= 50.0 && s2c.value < 60_000.0,
        "now - current attempt scheduled: {}",
        s2c.value
    );
}

#[test]
fn deny_list_rejects_listed_types_and_users_and_passes_the_rest() {
    let t = chain(&guest(
        "deny",
        guests::DENY_LIST,
        "[guest.config]\nworkflow-types = 'WipeEverything, DropTables'\nusers = 'mallory'",
    ));
    let run = |c: &mut Call| {
        let mut ran = false;
        let o = t.chain.session(Scope::Client).run(c, |_| {
            ran = true;
            Outcome::Ok(vec![])
        });
        (o.unwrap(), ran)
    };
    let (o, ran) = run(&mut start_call("DropTables"));
    match o {
        Outcome::Err(f) => {
            assert_eq!(f.message, "workflow type `DropTables` is on the deny list");
            assert_eq!(f.error_type, "DeniedWorkflowType");
            assert!(f.non_retryable);
        }
        Outcome::Ok(_) => panic!("denied type was started"),
    }
    assert!(!ran, "the real start never ran");
    let mut by_mallory =
        start_call("Order").with_header("user-id", interpose::chain::Payload::json("\"mallory\""));
    let (o, _) = run(&mut by_mallory);
    assert!(
        matches!(o, Outcome::Err(ref f) if f.error_type == "DeniedUser"),
        "{o:?}"
    );
    let (o, ran) = run(&mut start_call("Order"));
    assert!(o.is_ok() && ran);
}

#[test]
fn replay_logger_logs_live_hooks_once_and_nothing_during_replay() {
    let t = chain(&guest("log", guests::REPLAY_LOGGER, ""));
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "order-1", "run-1", "Order", "q"), 1);
    // A replay of two hooks, then one live hook.
    wf.set_replaying(true);
    let mut run = t.chain.session(Scope::Workflow(wf.clone()));
    run.run(&mut call(Hook::ExecuteWorkflow), |_| Outcome::Ok(vec![]))
        .unwrap();
    run.run(&mut call(Hook::ScheduleActivity), |_| Outcome::Ok(vec![]))
        .unwrap();
    assert!(
        t.logs.lines().is_empty(),
        "nothing is logged while replaying: {:?}",
        t.logs.lines()
    );
    wf.set_replaying(false);
    run.run(
        &mut Call::new(Hook::StartTimer.empty_detail(), None),
        |_| Outcome::Ok(vec![]),
    )
    .unwrap();
    let lines: Vec<String> = t.logs.lines().into_iter().map(|l| l.message).collect();
    assert_eq!(
        lines,
        [
            "Order order-1: caught up after replaying 3 hooks",
            "Order order-1 before start-timer",
        ],
        "execute (before+after) and schedule-activity were replayed silently"
    );
}

#[test]
fn a_reused_latency_guest_reads_each_activitys_own_info() {
    // `instances = "reuse"` hands one instance to call after call: each call must see its
    // own activity (the scope is per call, not per instance).
    let t = chain(&guest(
        "latency",
        guests::LATENCY_METRICS,
        "instances = 'reuse'",
    ));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    for n in 1..=3u64 {
        let act = FixedActivity::new(ActivityInfo {
            activity_type: format!("charge-{n}"),
            workflow_type: format!("Order{n}"),
            current_attempt_scheduled_time: now - 50_000_000,
            started_time: now - 50_000_000 + n * 10_000_000,
            ..Default::default()
        });
        t.chain
            .session(Scope::Activity(act))
            .run(&mut call(Hook::ExecuteActivity), |_| Outcome::Ok(vec![]))
            .unwrap();
    }
    assert_eq!(
        t.chain.stats("latency").unwrap().instantiations,
        2,
        "one instance at load, one that served all three activities"
    );
    let s2s: Vec<_> = t
        .metrics
        .samples()
        .into_iter()
        .filter(|s| s.name == "custom_activity_schedule_to_start_latency")
        .map(|s| (s.attributes[0].1.clone(), s.value))
        .collect();
    assert_eq!(
        s2s,
        [
            ("Order1".to_owned(), 10.0),
            ("Order2".to_owned(), 20.0),
            ("Order3".to_owned(), 30.0)
        ],
        "each activity's own type and timing"
    );
}
