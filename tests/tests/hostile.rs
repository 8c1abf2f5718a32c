//! Hostile guests in the fast tier: each failure is typed, names guest, hook, phase and
//! cause, and the next call on the same chain still works.

use std::time::{Duration, Instant};

use interpose::GuestFailure;
use interpose::chain::{Hook, Outcome};
use interpose::services::{FixedWorkflow, Scope, WorkflowInfo};
use interpose_tests::{TestChain, call, chain, guest, guests, header, start_call, start_call_for};

/// A chain of one hostile guest: `limits` are guest keys, `only` restricts misbehaviour to
/// one hook (empty: every hook).
fn hostile(behavior: &str, limits: &str, only: &str) -> TestChain {
    // Misbehaviour restricted to `start-workflow` is also restricted to workflow ids
    // starting `wf-` (what `fails` starts), so `still_serves` can send the same hook
    // through the same guest for another workflow.
    let only = match only {
        "" => String::new(),
        "start-workflow" => format!("only = {only:?}\nonly-workflow = 'wf-'"),
        _ => format!("only = {only:?}"),
    };
    chain(&guest(
        "hostile",
        guests::HOSTILE,
        &format!("{limits}\n[guest.config]\nbehavior = {behavior:?}\n{only}"),
    ))
}

/// Run a client start through `t`, expecting a failure; return its cause.
fn fails(t: &TestChain) -> GuestFailure {
    let mut c = start_call("Order");
    let err = t
        .chain
        .session(Scope::Client)
        .run(&mut c, |_| Outcome::Ok(vec![]))
        .unwrap_err();
    assert_eq!(err.guest, "hostile");
    assert_eq!(err.hook, Hook::StartWorkflow);
    assert_eq!(err.phase, interpose::chain::Phase::Before);
    err.cause
}

/// The guest still serves after a failure: the same hook, through the same guest (a new
/// instance), for a workflow it does not misbehave for; and a workflow hook.
fn still_serves(t: &TestChain) {
    let calls = t.chain.stats("hostile").unwrap().calls;
    let o = t
        .chain
        .session(Scope::Client)
        .run(&mut start_call_for("calm-1", "Order"), |_| {
            Outcome::Ok(vec![])
        })
        .unwrap();
    assert!(o.is_ok());
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "r", "T", "q"), 1);
    let o = t
        .chain
        .session(Scope::Workflow(wf))
        .run(&mut call(Hook::StartTimer), |_| Outcome::Ok(vec![]))
        .unwrap();
    assert!(o.is_ok());
    assert!(
        t.chain.stats("hostile").unwrap().calls > calls,
        "the hostile guest itself ran again"
    );
}

#[test]
fn hostile_infinite_loop_runs_out_of_fuel() {
    let t = hostile("loop", "fuel = 2_000_000", "");
    assert_eq!(fails(&t), GuestFailure::OutOfFuel { limit: 2_000_000 });
    assert_eq!(t.chain.stats("hostile").unwrap().failures, 1);
}

#[test]
fn hostile_infinite_loop_hits_the_deadline_when_fuel_is_plenty() {
    // Measured against a second deadline in the same run: the difference of the two
    // failure times is the difference of the deadlines (instantiation and scheduling
    // overheads cancel), so a deadline that is not what the config says shows.
    let timed = |deadline_ms: u64| {
        let t = hostile(
            "loop",
            &format!("fuel = 1_000_000_000_000\ndeadline = '{deadline_ms}ms'"),
            "start-workflow",
        );
        let started = Instant::now();
        let cause = fails(&t);
        let took = started.elapsed();
        assert_eq!(
            cause,
            GuestFailure::Deadline {
                limit: Duration::from_millis(deadline_ms)
            }
        );
        still_serves(&t);
        took
    };
    let short = timed(50);
    let long = timed(300);
    assert!(
        short >= Duration::from_millis(50),
        "stopped before its deadline: {short:?}"
    );
    let diff = long.saturating_sub(short);
    assert!(
        diff >= Duration::from_millis(150) && diff <= Duration::from_millis(600),
        "deadlines 250 ms apart stopped the guest {diff:?} apart ({short:?}, {long:?})"
    );
}

#[test]
fn hostile_memory_growth_hits_the_memory_limit() {
    let t = hostile(
        "grow",
        "memory = '8MiB'\nfuel = 1_000_000_000",
        "start-workflow",
    );
    match fails(&t) {
        GuestFailure::MemoryLimit { detail } => assert!(detail.contains("8.0 MiB"), "{detail}"),
        other => panic!("expected memory limit, got {other}"),
    }
    still_serves(&t);
}

#[test]
fn hostile_deep_recursion_overflows_the_stack() {
    let t = hostile("recurse", "fuel = 1_000_000_000", "start-workflow");
    assert_eq!(fails(&t), GuestFailure::StackOverflow);
    still_serves(&t);
    // Rust keeps address-taken locals on a shadow stack in linear memory; overflowing it
    // is an out-of-bounds access, which must also be contained.
    let t = hostile("recurse-shadow", "fuel = 1_000_000_000", "start-workflow");
    match fails(&t) {
        GuestFailure::Trap { message } => assert!(message.contains("out of bounds"), "{message}"),
        other => panic!("expected an out-of-bounds trap, got {other}"),
    }
    still_serves(&t);
}

#[test]
fn hostile_panic_is_a_trap_with_the_panic_message() {
    let t = hostile("panic", "", "start-workflow");
    match fails(&t) {
        GuestFailure::Trap { message } => {
            assert!(message.contains("unreachable"), "{message}");
            assert!(
                message.contains("hostile guest panics on purpose"),
                "{message}"
            );
        }
        other => panic!("expected a trap, got {other}"),
    }
    still_serves(&t);
}

#[test]
fn hostile_long_non_ascii_panic_message_is_a_trap_not_a_host_panic() {
    // Reused instances: the failed one must not go back to the pool with stale state, and
    // the next call gets a working instance.
    let t = hostile("panic-unicode", "instances = 'reuse'", "start-workflow");
    for _ in 0..2 {
        match fails(&t) {
            GuestFailure::Trap { message } => {
                assert!(message.contains("the guest logged"), "{message}");
                assert!(message.contains('\u{1f980}'), "{message}");
                assert!(
                    message.len() < 4096,
                    "the kept log is cut: {} bytes",
                    message.len()
                );
            }
            other => panic!("expected a trap, got {other}"),
        }
    }
    assert_eq!(
        t.chain.idle_instances("hostile"),
        0,
        "failed instances are dropped"
    );
    still_serves(&t);
}

#[test]
fn hostile_oversized_output_hits_the_output_limit() {
    let t = hostile(
        "oversize",
        "max-output = '64KiB'\nfuel = 1_000_000_000",
        "start-workflow",
    );
    match fails(&t) {
        GuestFailure::OutputLimit { size, limit } => {
            assert_eq!(limit, 64 * 1024);
            // A 4 MiB header edit: stopped while it is copied out of the guest (at the
            // 1 MiB floor of that budget), never copied whole.
            assert!(size > limit, "{size}");
        }
        other => panic!("expected output limit, got {other}"),
    }
    still_serves(&t);
}

#[test]
fn hostile_heartbeat_details_over_256_kib_are_refused_as_an_edit() {
    // `activity-heartbeat`: the details are the arguments; more than Temporal takes is
    // refused (the guest goes on with the details as they were), as
    // `activity-context.heartbeat` refuses them.
    let t = hostile("big-args", "", "activity-heartbeat");
    let mut c = call(Hook::ActivityHeartbeat);
    let activity = Scope::Activity(interpose::services::FixedActivity::new(Default::default()));
    t.chain
        .session(activity)
        .run(&mut c, |_| Outcome::Ok(vec![]))
        .unwrap();
    assert_eq!(c.args(), Some(&[][..]), "the details stay as they were");
    let lines: Vec<String> = t.logs.lines().into_iter().map(|l| l.message).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("big-args refused") && l.contains("at most 262144 bytes")),
        "{lines:?}"
    );
    // The same edit elsewhere (no byte cap) is taken.
    let t = hostile("big-args", "", "execute-activity");
    let mut c = call(Hook::ExecuteActivity);
    let activity = Scope::Activity(interpose::services::FixedActivity::new(Default::default()));
    t.chain
        .session(activity)
        .run(&mut c, |_| Outcome::Ok(vec![]))
        .unwrap();
    assert_eq!(c.args().map(<[_]>::len), Some(1));
}

#[test]
fn hostile_non_string_nexus_headers_are_refused_and_string_ones_pass() {
    let wf = || {
        Scope::Workflow(FixedWorkflow::new(
            WorkflowInfo::new("ns", "w", "r", "T", "q"),
            1,
        ))
    };
    for (behavior, why) in [
        ("non-string-header", "header `n`: its headers are strings"),
        (
            "header-uppercase",
            "header key `User-Id` is not a lowercase HTTP token",
        ),
        ("header-newline", "without control characters"),
        ("header-big", "at most 4096 are allowed"),
    ] {
        let t = hostile(behavior, "", "start-nexus-operation");
        let mut c = call(Hook::StartNexusOperation);
        let err = t
            .chain
            .session(wf())
            .run(&mut c, |_| Outcome::Ok(vec![]))
            .unwrap_err();
        assert_eq!(
            (err.guest.as_str(), err.hook),
            ("hostile", Hook::StartNexusOperation)
        );
        match err.cause {
            GuestFailure::InvalidDecision { message } => {
                assert!(message.contains(why), "{behavior}: {message}")
            }
            other => panic!("{behavior}: expected an invalid decision, got {other}"),
        }
        assert!(c.headers().is_empty(), "nothing applied: {:?}", c.headers());
    }
    // One input at most: more is refused as an edit (the guest goes on), never reaches the
    // adapter.
    let t = hostile("two-args", "", "start-nexus-operation");
    let mut c = call(Hook::StartNexusOperation);
    let before = c.args().map(<[_]>::to_vec);
    t.chain
        .session(wf())
        .run(&mut c, |_| Outcome::Ok(vec![]))
        .unwrap();
    assert_eq!(
        c.args().map(<[_]>::to_vec),
        before,
        "the arguments stay as they were"
    );
    // Headers that are payloads take the same edits.
    let t = hostile("non-string-header", "", "schedule-activity");
    let mut c = call(Hook::ScheduleActivity);
    t.chain
        .session(wf())
        .run(&mut c, |_| Outcome::Ok(vec![]))
        .unwrap();
    assert_eq!(c.headers().len(), 2);
    // What the host makes of string headers.
    let p = interpose::chain::Payload::from_header_string("alice \"x\"");
    assert_eq!(p.header_string().as_deref(), Some("alice \"x\""));
    let raw = interpose::chain::Payload {
        metadata: vec![],
        data: b"plain".to_vec(),
    };
    assert_eq!(raw.header_string().as_deref(), Some("plain"));
}

#[test]
fn hostile_invalid_decision_is_reported() {
    let t = hostile("respond", "", "start-workflow");
    assert!(matches!(fails(&t), GuestFailure::InvalidDecision { .. }));
}

#[test]
fn hostile_guest_under_skip_policy_is_skipped_and_its_edits_rolled_back() {
    let toml = guest(
        "hostile",
        guests::HOSTILE,
        "on-failure = 'skip'\n[guest.config]\nbehavior = 'edit-then-panic'",
    ) + &guest("probe", guests::PROBE, "[guest.config]\ntag = 'p'");
    let t = chain(&toml);
    let mut c = start_call("Order").with_header("trail", interpose::chain::Payload::json("\"x\""));
    let mut real_ran = false;
    let o = t
        .chain
        .session(Scope::Client)
        .run(&mut c, |c| {
            real_ran = true;
            assert!(
                !c.headers().contains_key("tainted"),
                "edits of a failed guest must be rolled back"
            );
            assert_eq!(c.args().map(<[_]>::len), Some(1), "args restored");
            Outcome::Ok(vec![])
        })
        .unwrap();
    assert!(o.is_ok() && real_ran);
    assert_eq!(
        header(&c, "trail").as_deref(),
        Some("x,p"),
        "removed header restored, next guest ran"
    );
    assert_eq!(t.chain.stats("hostile").unwrap().failures, 1);
}

#[test]
fn hostile_guest_in_a_workflow_run_is_poisoned_for_the_rest_of_the_run() {
    let t = hostile("panic", "", "execute-workflow");
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "r", "T", "q"), 1);
    let mut run = t.chain.session(Scope::Workflow(wf.clone()));
    let e = run
        .run(&mut call(Hook::ExecuteWorkflow), |_| Outcome::Ok(vec![]))
        .unwrap_err();
    assert!(matches!(e.cause, GuestFailure::Trap { .. }));
    let e = run
        .run(&mut call(Hook::StartTimer), |_| Outcome::Ok(vec![]))
        .unwrap_err();
    assert_eq!(
        e.cause,
        GuestFailure::Poisoned,
        "the discarded instance is not silently replaced mid-run"
    );
    // A new run (the SDK rebuilds the interceptor after a task failure) gets a new instance.
    let mut rebuilt = t.chain.session(Scope::Workflow(wf));
    assert!(
        rebuilt
            .run(&mut call(Hook::StartTimer), |_| Outcome::Ok(vec![]))
            .is_ok()
    );
}

#[test]
fn hostile_reject_everything_rejects_in_every_category() {
    let t = hostile("reject", "", "");
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "r", "T", "q"), 1);
    for (hook, scope) in [
        (Hook::StartWorkflow, Scope::Client),
        (Hook::ExecuteWorkflow, Scope::Workflow(wf.clone())),
        (Hook::ScheduleActivity, Scope::Workflow(wf)),
        (Hook::ExecuteActivity, Scope::Client),
    ] {
        let o = t
            .chain
            .session(scope)
            .run(&mut call(hook), |_| panic!("must not run"))
            .unwrap();
        assert!(
            matches!(o, Outcome::Err(ref f) if f.message == "hostile guest rejects everything"),
            "{hook}: {o:?}"
        );
    }
}

#[test]
fn replay_fuel_is_deterministic_for_the_same_input() {
    let t = chain(&guest(
        "probe",
        guests::PROBE,
        "[guest.config]\ntag = 'p'\nwork = '50000'",
    ));
    let mut used = Vec::new();
    for _ in 0..3 {
        let before = t.chain.stats("probe").unwrap().fuel;
        t.chain
            .session(Scope::Client)
            .run(&mut start_call("Order"), |_| Outcome::Ok(vec![]))
            .unwrap();
        used.push(t.chain.stats("probe").unwrap().fuel - before);
    }
    assert!(used[0] > 50000, "work was metered: {used:?}");
    assert!(
        used.windows(2).all(|w| w[0] == w[1]),
        "same input, same fuel: {used:?}"
    );
    // And a budget below what one phase needs traps every time (each call runs `before`
    // and `after`, each doing the same work: one phase uses about half of `used`). The work
    // is large enough that the budget still covers loading (`interests`), which it must
    // pass first.
    let tight = chain(&guest(
        "probe",
        guests::PROBE,
        &format!("fuel = {}\n[guest.config]\nwork = '50000'", used[0] / 3),
    ));
    for _ in 0..2 {
        let e = tight
            .chain
            .session(Scope::Client)
            .run(&mut start_call("Order"), |_| Outcome::Ok(vec![]))
            .unwrap_err();
        assert!(matches!(e.cause, GuestFailure::OutOfFuel { .. }), "{e}");
    }
}

#[test]
fn hostile_many_empty_payloads_hit_the_output_limit() {
    // 100,000 empty payloads are 0 bytes; each is an item.
    let t = hostile("empty-items", "", "start-workflow");
    match fails(&t) {
        GuestFailure::OutputLimit { size, limit } => {
            assert_eq!(limit, 1024 * 1024);
            assert!(size > limit, "{size}");
        }
        other => panic!("expected output limit, got {other}"),
    }
    still_serves(&t);
}

#[test]
fn hostile_log_flood_hits_the_output_limit() {
    let t = hostile("log-flood", "max-output = '256KiB'", "start-workflow");
    assert!(matches!(fails(&t), GuestFailure::OutputLimit { .. }));
    let lines = t.logs.lines().len();
    assert!(
        lines <= 256,
        "logging stopped at the limit, not after 4,000 lines: {lines}"
    );
    still_serves(&t);
}

#[test]
fn hostile_metric_with_a_reserved_name_is_refused() {
    let t = hostile("metric-reserved", "", "start-workflow");
    match fails(&t) {
        GuestFailure::Trap { message } => {
            assert!(message.contains("temporal_workflow_completed"), "{message}");
            assert!(message.contains("belongs to the worker"), "{message}");
        }
        other => panic!("expected a trap, got {other}"),
    }
    assert!(t.metrics.samples().is_empty(), "nothing reached the sink");
    still_serves(&t);
}

#[test]
fn hostile_metric_series_past_the_cap_are_dropped_and_counted_not_failed() {
    let t = hostile("metric-series", "max-metric-series = 10", "start-workflow");
    for _ in 0..2 {
        t.chain
            .session(Scope::Client)
            .run(&mut start_call("Order"), |_| Outcome::Ok(vec![]))
            .expect("passing the series cap does not fail the call");
    }
    let series: std::collections::BTreeSet<_> = t
        .metrics
        .samples()
        .into_iter()
        .map(|s| s.attributes)
        .collect();
    assert_eq!(series.len(), 10, "only the first 10 series are recorded");
    assert_eq!(t.chain.stats("hostile").unwrap().metrics_dropped, 80);
}

#[test]
fn replay_log_enabled_is_the_same_live_and_in_replay_in_workflow_hooks() {
    // A guest that builds messages only when `log.enabled` says so would otherwise spend
    // different fuel live and in replay.
    let t = hostile("reject-with-log-enabled", "", "");
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "r", "T", "q"), 1);
    let mut seen = Vec::new();
    for replaying in [false, true] {
        wf.set_replaying(replaying);
        let o = t
            .chain
            .session(Scope::Workflow(wf.clone()))
            .run(&mut call(Hook::StartTimer), |_| panic!("rejected"))
            .unwrap();
        match o {
            Outcome::Err(f) => seen.push(f.message),
            other => panic!("expected the rejection, got {other:?}"),
        }
    }
    assert_eq!(seen, ["log-enabled=true", "log-enabled=true"]);
}

#[test]
fn hostile_a_huge_error_type_counts_against_the_output_limit() {
    let t = hostile("reject-huge-type", "", "start-workflow");
    match fails(&t) {
        // Stopped while it is copied out of the guest: past twice the limit, never whole.
        GuestFailure::OutputLimit { size, limit } => assert!(size > limit, "{size} {limit}"),
        other => panic!("expected output limit, got {other}"),
    }
    still_serves(&t);
}

#[test]
fn hostile_many_empty_metadata_entries_hit_the_output_limit() {
    // 200,000 empty metadata entries are 0 bytes of text, and several MiB for the host.
    let t = hostile("many-metadata", "", "start-workflow");
    let cause = fails(&t);
    assert!(matches!(cause, GuestFailure::OutputLimit { .. }), "{cause}");
    still_serves(&t);
}

#[test]
fn hostile_one_failure_is_counted_once_however_many_hooks_the_poisoned_run_refuses() {
    let t = hostile("panic", "on-failure = 'skip'", "execute-workflow");
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "r", "T", "q"), 1);
    let mut run = t.chain.session(Scope::Workflow(wf));
    for hook in [Hook::ExecuteWorkflow, Hook::StartTimer, Hook::StartTimer] {
        run.run(&mut call(hook), |_| Outcome::Ok(vec![]))
            .expect("skipped");
    }
    assert_eq!(t.chain.stats("hostile").unwrap().failures, 1);
}
