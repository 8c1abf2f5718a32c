//! Chain semantics on real guests (fast tier: no Temporal).

use interpose::chain::{Before, Hook, Outcome, Payload};
use interpose::services::{FixedWorkflow, Scope, WorkflowInfo};
use interpose_tests::{call, chain, guest, guests, header, start_call};

fn probes(configs: &[(&str, &str)]) -> String {
    configs
        .iter()
        .map(|(tag, extra)| {
            guest(
                tag,
                guests::PROBE,
                &format!("[guest.config]\ntag = {tag:?}\n{extra}"),
            )
        })
        .collect()
}

fn result(o: &Outcome) -> String {
    match o {
        Outcome::Ok(p) => p
            .first()
            .map(|p| {
                String::from_utf8_lossy(&p.data)
                    .trim_matches('"')
                    .to_owned()
            })
            .unwrap_or_default(),
        Outcome::Err(f) => format!("err:{}", f.message),
    }
}

#[test]
fn befores_run_in_order_and_afters_in_reverse() {
    let t = chain(&probes(&[
        ("a", "after = 'append'"),
        ("b", "after = 'append'"),
        ("c", "after = 'append'"),
    ]));
    let mut c = call(Hook::QueryWorkflow);
    let mut real_saw = None;
    let outcome = t
        .chain
        .session(Scope::Client)
        .run(&mut c, |c| {
            real_saw = header(c, "trail");
            Outcome::Ok(vec![Payload::json("\"real\"")])
        })
        .unwrap();
    assert_eq!(
        real_saw.as_deref(),
        Some("a,b,c"),
        "the real call sees every before's edit, in order"
    );
    assert_eq!(result(&outcome), "real+c+b+a", "afters run last-to-first");
}

#[test]
fn reject_stops_the_descent_and_outer_guests_see_the_failure() {
    let t = chain(&probes(&[
        ("a", "after = 'append'"),
        ("b", "before = 'reject'"),
        ("c", ""),
    ]));
    let mut c = call(Hook::QueryWorkflow);
    let mut ran = false;
    let outcome = t
        .chain
        .session(Scope::Client)
        .run(&mut c, |_| {
            ran = true;
            Outcome::Ok(vec![])
        })
        .unwrap();
    assert!(!ran, "the real call must not run after a reject");
    assert_eq!(
        result(&outcome),
        "failed:rejected by b+a",
        "guest a's after saw b's rejection"
    );
    assert_eq!(
        t.chain.stats("c").unwrap().calls,
        0,
        "guests after the rejecting one never run"
    );
    assert_eq!(
        t.chain.stats("b").unwrap().calls,
        1,
        "the rejecting guest has no after"
    );
}

#[test]
fn respond_short_circuits_where_allowed() {
    let t = chain(&probes(&[
        ("a", "after = 'append'"),
        ("b", "before = 'respond'"),
    ]));
    let mut q = call(Hook::ExecuteActivity);
    let outcome = t
        .chain
        .session(Scope::Client)
        .run(&mut q, |_| panic!("real call must not run"))
        .unwrap();
    assert_eq!(result(&outcome), "answered by b+a");
    // A client query can be edited but not answered locally.
    let err = t
        .chain
        .session(Scope::Client)
        .run(&mut call(Hook::QueryWorkflow), |_| Outcome::Ok(vec![]))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`respond` is not allowed in hook `query-workflow`"),
        "{err}"
    );
}

#[test]
fn respond_where_not_allowed_is_a_guest_failure() {
    let t = chain(&probes(&[("b", "before = 'respond'")]));
    let mut c = start_call("Order");
    let err = t
        .chain
        .session(Scope::Client)
        .run(&mut c, |_| Outcome::Ok(vec![]))
        .unwrap_err();
    assert_eq!(err.guest, "b");
    assert_eq!(err.hook, Hook::StartWorkflow);
    assert!(
        matches!(err.cause, interpose::GuestFailure::InvalidDecision { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("`respond` is not allowed in hook `start-workflow`"),
        "{err}"
    );
}

#[test]
fn after_can_replace_and_fail_the_outcome() {
    let t = chain(&probes(&[("a", "after = 'fail'")]));
    let mut c = call(Hook::ExecuteActivity);
    let wf = Scope::Client;
    let outcome = t
        .chain
        .session(wf)
        .run(&mut c, |_| Outcome::Ok(vec![Payload::json("1")]))
        .unwrap();
    match outcome {
        Outcome::Err(f) => {
            assert_eq!(f.message, "failed by a");
            assert!(f.non_retryable);
        }
        Outcome::Ok(_) => panic!("after should have failed the call"),
    }
    // Replacing a result that is not a payload list (start-workflow) is refused.
    let t = chain(&probes(&[("a", "after = 'append'")]));
    let err = t
        .chain
        .session(Scope::Client)
        .run(&mut start_call("X"), |_| Outcome::Ok(vec![]))
        .unwrap_err();
    assert!(
        err.to_string().contains("`replace` is not allowed"),
        "{err}"
    );
}

#[test]
fn args_and_detail_edits_apply_and_type_names_are_protected() {
    let t = chain(&probes(&[
        ("a", "before = 'set-args'"),
        ("b", "before = 'edit-detail'"),
    ]));
    let mut c = start_call("Order");
    let outcome = t
        .chain
        .session(Scope::Client)
        .run(&mut c, |_| Outcome::Ok(vec![]))
        .unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(c.args().unwrap()[0].data, b"\"a\"");
    match c.detail() {
        interpose::chain::CallDetail::StartWorkflow(s) => {
            assert_eq!(s.task_queue, "queue-b", "editable field changed");
            assert_eq!(s.workflow_type, "Order", "type name unchanged");
        }
        other => panic!("unexpected detail {other:?}"),
    }
}

#[test]
fn read_only_hooks_refuse_edits() {
    let t = chain(&probes(&[("a", "")]));
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "r", "T", "q"), 1);
    let mut q = call(Hook::HandleQuery);
    let outcome = t
        .chain
        .session(Scope::Workflow(wf))
        .run(&mut q, |_| Outcome::Ok(vec![]))
        .unwrap();
    assert!(outcome.is_ok());
    assert!(
        q.headers().is_empty(),
        "a query must not be edited: {:?}",
        q.headers()
    );
}

#[test]
fn guests_not_interested_are_never_called_or_instantiated() {
    // deny-list wants client starts only; latency-metrics wants execute-activity only.
    let toml =
        guest("deny", guests::DENY_LIST, "") + &guest("latency", guests::LATENCY_METRICS, "");
    let t = chain(&toml);
    let before = (
        t.chain.stats("deny").unwrap(),
        t.chain.stats("latency").unwrap(),
    );
    for hook in [
        Hook::StartTimer,
        Hook::HandleSignal,
        Hook::ListWorkflows,
        Hook::ScheduleActivity,
    ] {
        let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "r", "T", "q"), 1);
        let mut c = call(hook);
        t.chain
            .session(Scope::Workflow(wf))
            .run(&mut c, |_| Outcome::Ok(vec![]))
            .unwrap();
    }
    let after = (
        t.chain.stats("deny").unwrap(),
        t.chain.stats("latency").unwrap(),
    );
    assert_eq!(
        after.0.calls, before.0.calls,
        "no Wasm call for a hook nobody wants"
    );
    assert_eq!(
        after.0.instantiations, before.0.instantiations,
        "no instance either"
    );
    assert_eq!(after.1.calls, before.1.calls);
    assert!(!t.chain.wants(Hook::StartTimer));
    assert!(t.chain.wants(Hook::StartWorkflow));
    // A before-only guest is not called after the call.
    t.chain
        .session(Scope::Client)
        .run(&mut start_call("Order"), |_| Outcome::Ok(vec![]))
        .unwrap();
    assert_eq!(
        t.chain.stats("deny").unwrap().calls,
        before.0.calls + 1,
        "before only, no after"
    );
}

#[test]
fn workflow_sessions_keep_one_instance_per_run() {
    let t = chain(&probes(&[("a", "")]));
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "run-1", "T", "q"), 1);
    let mut run = t.chain.session(Scope::Workflow(wf.clone()));
    let mut seen = Vec::new();
    for hook in [
        Hook::ExecuteWorkflow,
        Hook::ScheduleActivity,
        Hook::StartTimer,
    ] {
        let mut c = call(hook);
        run.run(&mut c, |_| Outcome::Ok(vec![])).unwrap();
        seen.push(header(&c, "seen-a").unwrap());
    }
    assert_eq!(
        seen,
        ["1", "2", "3"],
        "one instance carries state across the run's hooks"
    );
    assert_eq!(
        t.chain.stats("a").unwrap().instantiations,
        2,
        "one at load, one for the run"
    );
    assert_eq!(
        t.chain.stats("a").unwrap().live,
        1,
        "the run's instance is alive"
    );
    // A new run gets a new instance.
    let mut other = t.chain.session(Scope::Workflow(wf));
    let mut c = call(Hook::ExecuteWorkflow);
    other.run(&mut c, |_| Outcome::Ok(vec![])).unwrap();
    assert_eq!(header(&c, "seen-a").as_deref(), Some("1"));
    assert_eq!(t.chain.stats("a").unwrap().live, 2);
    drop((run, other));
    assert_eq!(
        t.chain.stats("a").unwrap().live,
        0,
        "an evicted run's instance is freed"
    );
}

#[test]
fn replay_safe_read_only_hooks_run_on_their_own_instance() {
    // Queries and update validators do not replay. If they ran on the run's instance, a
    // guest counting calls would count them live but not in replay, and its later headers
    // would differ between the two.
    let t = chain(&probes(&[("a", "")]));
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "run-1", "T", "q"), 1);
    let mut run = t.chain.session(Scope::Workflow(wf));
    let mut seen = Vec::new();
    for hook in [
        Hook::ExecuteWorkflow,
        Hook::HandleQuery,
        Hook::ValidateUpdate,
        Hook::HandleQuery,
        Hook::ScheduleActivity,
    ] {
        let mut c = call(hook);
        run.run(&mut c, |_| Outcome::Ok(vec![])).unwrap();
        if !hook.is_read_only() {
            seen.push(header(&c, "seen-a").unwrap());
        } else {
            assert!(c.headers().is_empty(), "{hook} is read-only: no edits");
        }
    }
    assert_eq!(
        seen,
        ["1", "2"],
        "the queries did not advance the run's state"
    );
    assert_eq!(
        t.chain.stats("a").unwrap().instantiations,
        3,
        "load, the run, and one read-only instance shared by the run's queries"
    );
}

#[test]
fn client_calls_get_a_fresh_instance_unless_reuse_is_configured() {
    let fresh = chain(&probes(&[("a", "")]));
    for _ in 0..3 {
        let mut c = start_call("Order");
        fresh
            .chain
            .session(Scope::Client)
            .run(&mut c, |_| Outcome::Ok(vec![]))
            .unwrap();
        assert_eq!(
            header(&c, "seen-a").as_deref(),
            Some("1"),
            "nothing leaks between calls"
        );
    }
    assert_eq!(fresh.chain.stats("a").unwrap().instantiations, 4);

    let reuse = chain(&guest(
        "a",
        guests::PROBE,
        "instances = 'reuse'\n[guest.config]\ntag = 'a'",
    ));
    let mut seen = Vec::new();
    for _ in 0..3 {
        let mut c = start_call("Order");
        reuse
            .chain
            .session(Scope::Client)
            .run(&mut c, |_| Outcome::Ok(vec![]))
            .unwrap();
        seen.push(header(&c, "seen-a").unwrap());
    }
    assert_eq!(
        seen,
        ["1", "2", "3"],
        "reuse mode keeps the instance between calls"
    );
    assert_eq!(reuse.chain.stats("a").unwrap().instantiations, 2);
    assert_eq!(reuse.chain.idle_instances("a"), 1);
}

#[test]
fn activity_attempts_get_a_fresh_instance_each() {
    use interpose::services::{ActivityInfo, FixedActivity};
    let t = chain(&probes(&[("a", "")]));
    for attempt in 1..=2 {
        let act = FixedActivity::new(ActivityInfo {
            attempt,
            ..Default::default()
        });
        let mut c = call(Hook::ExecuteActivity);
        t.chain
            .session(Scope::Activity(act))
            .run(&mut c, |_| Outcome::Ok(vec![]))
            .unwrap();
        assert_eq!(
            header(&c, "seen-a").as_deref(),
            Some("1"),
            "attempt {attempt} starts clean"
        );
    }
    assert_eq!(t.chain.stats("a").unwrap().instantiations, 3);
}

#[test]
fn before_and_after_of_one_call_share_an_instance() {
    let t = chain(&probes(&[("a", "after = 'append'")]));
    let mut s = t.chain.session(Scope::Client);
    let mut c = call(Hook::QueryWorkflow);
    let Before::Proceed(entered) = s.before(&mut c).unwrap() else {
        panic!("expected proceed")
    };
    assert_eq!(entered.count(), 1);
    let o = s
        .after(&mut c, entered, Outcome::Ok(vec![Payload::json("\"r\"")]))
        .unwrap();
    assert_eq!(result(&o), "r+a");
    assert_eq!(
        t.chain.stats("a").unwrap().instantiations,
        2,
        "load + one for the call"
    );
}

#[test]
fn guest_logs_are_attributed_to_guest_and_hook() {
    let t = chain(&probes(&[("a", "")]));
    t.chain
        .session(Scope::Client)
        .run(&mut start_call("Order"), |_| Outcome::Ok(vec![]))
        .unwrap();
    let lines = t.logs.lines();
    assert!(
        lines.iter().any(|l| l.guest == "a"
            && l.hook == Some(Hook::StartWorkflow)
            && l.message == "a before start-workflow"),
        "{lines:?}"
    );
}

/// A native interceptor that appends `native` to the trail and to the result.
struct Native;

impl interpose::chain::NativeInterceptor for Native {
    fn wants(&self, hook: Hook) -> bool {
        hook == Hook::QueryWorkflow
    }
    fn before(
        &self,
        call: &mut interpose::chain::Call,
        _: &Scope,
    ) -> interpose::chain::NativeDecision {
        let trail = header(call, "trail").unwrap_or_default();
        call.headers_mut()
            .insert("trail".into(), Payload::json(format!("\"{trail},native\"")));
        interpose::chain::NativeDecision::Proceed
    }
    fn after(&self, _: &interpose::chain::Call, outcome: Outcome, _: &Scope) -> Outcome {
        match outcome {
            Outcome::Ok(p) => {
                let prev = p
                    .first()
                    .map(|p| {
                        String::from_utf8_lossy(&p.data)
                            .trim_matches('"')
                            .to_owned()
                    })
                    .unwrap_or_default();
                Outcome::Ok(vec![Payload::json(format!("\"{prev}+native\""))])
            }
            other => other,
        }
    }
}

#[test]
fn native_interceptors_run_in_config_order_among_wasm_guests() {
    use std::sync::Arc;
    let toml = probes(&[("a", "after = 'append'")])
        + "[[guest]]\nname = 'audit'\nnative = true\n"
        + &probes(&[("b", "after = 'append'")]);
    let config = interpose::config::Config::from_toml(
        &toml,
        std::path::Path::new("/"),
        std::path::Path::new("t.toml"),
    )
    .unwrap();
    let logs = Arc::new(interpose::services::MemoryLogs::default());
    let chain = interpose::chain::Chain::load(
        &interpose_tests::runtime().with_sinks(Arc::new(interpose::services::NoMetrics), logs),
        &config,
        vec![(
            "audit".into(),
            Arc::new(Native) as Arc<dyn interpose::chain::NativeInterceptor>,
        )],
    )
    .unwrap();
    assert_eq!(chain.order(), ["a", "audit", "b"]);
    let mut c = call(Hook::QueryWorkflow);
    let mut real_saw = None;
    let outcome = chain
        .session(Scope::Client)
        .run(&mut c, |c| {
            real_saw = header(c, "trail");
            Outcome::Ok(vec![Payload::json("\"real\"")])
        })
        .unwrap();
    assert_eq!(real_saw.as_deref(), Some("a,native,b"));
    assert_eq!(result(&outcome), "real+b+native+a");

    // A declared native that the application does not bind is an error, and so is a
    // binding without a declaration.
    let unbound = interpose::chain::Chain::load(
        &interpose_tests::runtime().with_sinks(
            Arc::new(interpose::services::NoMetrics),
            Arc::new(interpose::services::MemoryLogs::default()),
        ),
        &config,
        Vec::new(),
    );
    assert!(
        unbound
            .unwrap_err()
            .to_string()
            .contains("guest `audit` is declared native")
    );
    let plain = interpose::config::Config::from_toml(
        &probes(&[("a", "")]),
        std::path::Path::new("/"),
        std::path::Path::new("t.toml"),
    )
    .unwrap();
    let stray = interpose::chain::Chain::load(
        &interpose_tests::runtime().with_sinks(
            Arc::new(interpose::services::NoMetrics),
            Arc::new(interpose::services::MemoryLogs::default()),
        ),
        &plain,
        vec![(
            "audit".into(),
            Arc::new(Native) as Arc<dyn interpose::chain::NativeInterceptor>,
        )],
    );
    assert!(
        stray
            .unwrap_err()
            .to_string()
            .contains("has no `native = true` entry")
    );
}

/// A native interceptor that panics in `before` (an application bug, or a host bug).
struct Panics;

impl interpose::chain::NativeInterceptor for Panics {
    fn wants(&self, _: Hook) -> bool {
        true
    }
    fn before(
        &self,
        _: &mut interpose::chain::Call,
        _: &Scope,
    ) -> interpose::chain::NativeDecision {
        panic!("native interceptor panics on purpose");
    }
}

#[test]
fn reused_instances_never_return_to_the_pool_after_an_unwind() {
    use std::sync::Arc;
    let toml = probes(&[("a", "")])
        .replace("[guest.config]", "instances = 'reuse'\n[guest.config]")
        + "[[guest]]\nname = 'boom'\nnative = true\n";
    let config = interpose::config::Config::from_toml(
        &toml,
        std::path::Path::new("/"),
        std::path::Path::new("t.toml"),
    )
    .unwrap();
    let chain = interpose::chain::Chain::load(
        &interpose_tests::runtime().with_sinks(
            Arc::new(interpose::services::NoMetrics),
            Arc::new(interpose::services::MemoryLogs::default()),
        ),
        &config,
        vec![(
            "boom".into(),
            Arc::new(Panics) as Arc<dyn interpose::chain::NativeInterceptor>,
        )],
    )
    .unwrap();
    for _ in 0..3 {
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut c = start_call("Order");
            let _ = chain
                .session(Scope::Client)
                .run(&mut c, |_| Outcome::Ok(vec![]));
        }));
        assert!(unwound.is_err(), "the native interceptor panicked");
    }
    assert_eq!(
        chain.idle_instances("a"),
        0,
        "an instance whose session unwound is dropped, not pooled"
    );
    // One at load (interests), one per call.
    assert_eq!(chain.stats("a").unwrap().instantiations, 4);
}

#[test]
fn the_guest_that_failed_or_replaced_a_result_is_named() {
    // Adapters refuse some decisions (an outbound call's result cannot be changed); their
    // error names the guest that made it.
    let t = chain(&probes(&[("a", ""), ("b", "after = 'fail'")]));
    let mut s = t.chain.session(Scope::Client);
    let o = s
        .run(&mut start_call("Order"), |_| Outcome::Ok(vec![]))
        .unwrap();
    assert!(matches!(o, Outcome::Err(_)), "{o:?}");
    assert_eq!(s.decided_by(), Some("b"));
}

#[test]
fn the_reuse_pool_keeps_at_most_its_share_of_idle_instances() {
    let toml =
        probes(&[("a", "")]).replace("[guest.config]", "instances = 'reuse'\n[guest.config]");
    let t = chain(&toml);
    // 300 calls in flight at once, then all done: the idle pool keeps 256, the rest go.
    let mut sessions: Vec<_> = (0..300)
        .map(|_| {
            let mut s = t.chain.session(Scope::Client);
            let mut c = start_call("Order");
            let entered = match s.before(&mut c).unwrap() {
                Before::Proceed(e) => e,
                other => panic!("{other:?}"),
            };
            (s, c, entered)
        })
        .collect();
    for (s, c, entered) in &mut sessions {
        s.after(c, *entered, Outcome::Ok(vec![])).unwrap();
    }
    drop(sessions);
    assert_eq!(
        t.chain.idle_instances("a") as u64,
        interpose::config::CALL_INSTANCES_PER_GUEST
    );
}

#[test]
fn operations_without_headers_refuse_header_edits() {
    // The probe sets `trail` in every hook. On an operation that carries Temporal headers the
    // edit lands; on one that carries none (the property table says which) it is refused, so
    // no edit is silently dropped by the adapter.
    let t = chain(&probes(&[("a", "")]));
    for (hook, carries) in [(Hook::StartWorkflow, true), (Hook::ListWorkflows, false)] {
        assert_eq!(hook.carries_headers(), carries, "{hook}");
        let mut c = interpose::chain::Call::for_operation(hook.empty_detail(), None);
        let mut seen = None;
        t.chain
            .session(Scope::Client)
            .run(&mut c, |c| {
                seen = header(c, "trail");
                Outcome::Ok(vec![])
            })
            .unwrap();
        assert_eq!(seen.is_some(), carries, "{hook}: {seen:?}");
    }
}

/// Which workflow-outbound commands carry Temporal headers, as a guest is told by `access`:
/// continue-as-new does (`ContinueAsNewInput::headers_mut` reaches the next run's start),
/// cancelling an external workflow and starting a timer do not.
#[test]
fn continue_as_new_headers_are_editable_and_cancel_and_timer_have_none() {
    use interpose::chain::{Call, HeaderAccess};
    let access = |hook: Hook| Call::for_operation(hook.empty_detail(), None).header_access();
    assert_eq!(access(Hook::ContinueAsNew), HeaderAccess::Editable);
    assert_eq!(access(Hook::ScheduleActivity), HeaderAccess::Editable);
    assert_eq!(access(Hook::CancelExternalWorkflow), HeaderAccess::Absent);
    assert_eq!(access(Hook::StartTimer), HeaderAccess::Absent);
}

#[test]
fn operator_metrics_count_calls_fuel_failures_by_cause_and_live_instances() {
    use interpose::chain::Phase;
    let toml = probes(&[("a", "")])
        + &guest(
            "bad",
            guests::HOSTILE,
            "on-failure = 'skip'\n[guest.config]\nbehavior = 'panic'\nonly = 'schedule-activity'",
        );
    let t = chain(&toml);
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "run-1", "T", "q"), 1);
    let mut run = t.chain.session(Scope::Workflow(wf));
    for hook in [
        Hook::ExecuteWorkflow,
        Hook::ScheduleActivity,
        Hook::StartTimer,
    ] {
        let mut c = call(hook);
        run.run(&mut c, |_| Outcome::Ok(vec![])).unwrap();
    }
    let op = t.metrics.operator();
    let calls = |g: &str, h: Hook, p: Phase| {
        op.calls
            .get(&(g.to_owned(), h.name(), p))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(calls("a", Hook::ExecuteWorkflow, Phase::Before), 1);
    assert_eq!(calls("a", Hook::StartTimer, Phase::After), 1);
    assert!(op.fuel["a"] > 0, "fuel is reported: {op:?}");
    let failures: Vec<_> = op
        .failures
        .iter()
        .map(|((g, h, p, cause), n)| (g.as_str(), *h, *p, *cause, *n))
        .collect();
    assert_eq!(
        failures,
        [("bad", "schedule-activity", Phase::Before, "trap", 1)],
        "failures by guest, hook, phase and cause; the poisoned run refusing start-timer \
         afterwards is the same failure, not counted again"
    );
    assert_eq!(op.instances["a"], 1, "the run's instance is live: {op:?}");
    drop(run);
    assert_eq!(
        t.metrics.operator().instances["a"],
        0,
        "dropping the run drops its instance, and the gauge follows"
    );
    // A replaying run's calls are work the worker did: they count, while guest samples
    // from replay are dropped.
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "run-2", "T", "q"), 1);
    wf.set_replaying(true);
    let mut replay = t.chain.session(Scope::Workflow(wf));
    let mut c = call(Hook::ExecuteWorkflow);
    replay.run(&mut c, |_| Outcome::Ok(vec![])).unwrap();
    let op = t.metrics.operator();
    assert_eq!(
        op.calls
            .get(&("a".to_owned(), Hook::ExecuteWorkflow.name(), Phase::Before)),
        Some(&2),
        "replayed calls count: {op:?}"
    );
}

#[test]
fn guest_heartbeats_count_only_from_a_before_call_that_succeeds_and_are_capped() {
    use interpose::services::{ActivityInfo, FixedActivity};
    // (probe config, expected heartbeats recorded, expected failure text)
    let cases: [(&str, &[&str], Option<&str>); 4] = [
        ("before = 'heartbeat'", &["\"a beat on attempt 3\""], None),
        // A call that fails after its heartbeat: the heartbeat goes with its edits.
        (
            "on-failure = 'skip'\nbefore = 'heartbeat-then-panic'",
            &[],
            None,
        ),
        (
            "before = 'heartbeat-big'",
            &[],
            Some("details are 307220 bytes; at most 262144 are allowed"),
        ),
        // After the body ran, a heartbeat would replace the activity's own details.
        (
            "after = 'heartbeat'",
            &[],
            Some("`activity-context.heartbeat` was called in `after`"),
        ),
    ];
    for (extra, want, failure) in cases {
        let (policy, cfg) = match extra.split_once('\n') {
            Some((p, c)) => (p, c),
            None => ("", extra),
        };
        let t = chain(&guest(
            "a",
            guests::PROBE,
            &format!("{policy}\n[guest.config]\ntag = 'a'\n{cfg}"),
        ));
        let act = FixedActivity::new(ActivityInfo {
            attempt: 3,
            ..Default::default()
        });
        let mut c = call(Hook::ExecuteActivity);
        let r = t
            .chain
            .session(Scope::Activity(act.clone()))
            .run(&mut c, |_| Outcome::Ok(vec![]));
        match failure {
            None => assert!(r.is_ok(), "{extra}: {r:?}"),
            Some(text) => {
                let e = r.expect_err(extra).to_string();
                assert!(e.contains(text), "{extra}: {e}");
            }
        }
        let got: Vec<String> = act
            .heartbeats()
            .iter()
            .flatten()
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
            .collect();
        assert_eq!(got, want, "{extra}");
    }
}
