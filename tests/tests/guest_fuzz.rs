//! The sandbox fuzzed from the inside: proptest writes programs for the `fuzzer` guest
//! (see `tests/guests/fuzzer`), which calls every host import and WASI with the arguments
//! the program says, in `before` and `after` of hooks of every category, then decides as
//! the program says (proceed, reject, respond, panic; keep, fail, replace). Each case runs
//! under `fail-closed` or under `skip`, with a probe guest after the fuzzer.
//!
//! Properties, for every case:
//! - the host never panics (a panic fails the case);
//! - every failure is a `GuestError` naming the fuzzer, the hook and a phase, and its cause
//!   reports the configured limit when a limit was hit (fuel, output, deadline);
//! - under `skip`, no call fails, and when the fuzzer failed in `before` the real call sees
//!   the original headers and args (with only the probe's edits): every edit rolled back;
//! - every instance is gone once its session is (the pool returns to its baseline);
//! - in workflow hooks, the same program live and in replay gives the same result, the
//!   same call (headers, args) and the same fuel: what a guest observes and the commands it
//!   shapes do not depend on replay.
//!
//! Bounded in `cargo xtask test` (`GUEST_FUZZ_CASES`, default 256, a few seconds);
//! `cargo xtask fuzz [cases]` runs long (default 20,000).
//!
//! Named `hostile_fuzz_*`: `cargo test --workspace -- hostile` selects it.

use std::sync::Arc;
use std::time::Instant;

use interpose::chain::{Call, Hook, Outcome, Payload, Phase};
use interpose::services::{ActivityInfo, FixedActivity, FixedWorkflow, Scope, WorkflowInfo};
use interpose::{GuestError, GuestFailure};
use interpose_tests::{TestChain, chain, guest, guests};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, FileFailurePersistence, TestRunner};

const FUEL: u64 = 20_000_000;
const OUTPUT: u64 = 64 * 1024;

fn fuzz_chain(policy: &str) -> TestChain {
    chain(
        &(guest(
            "fuzzer",
            guests::FUZZER,
            &format!(
                "on-failure = '{policy}'\nfuel = {FUEL}\ndeadline = '3s'\nmemory = '32MiB'\n\
                 max-output = '64KiB'\nmax-metric-series = 8"
            ),
        ) + &guest("probe", guests::PROBE, "[guest.config]\ntag = 'p'")),
    )
}

fn kind() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("a"), Just("m"), Just("u"), Just("e")]
}

/// Sizes around the interesting boundaries: tiny, the kept-log cut (2 KiB), the output
/// limit (64 KiB), past it by far.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 0usize..8,
        2 => 2040usize..2056,
        1 => Just(64 * 1024 - 100),
        1 => Just(64 * 1024 + 1),
        1 => Just(3 << 20),
    ]
}

fn count() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0usize..4, 1 => Just(1000), 1 => Just(200_000)]
}

fn edit_op() -> impl Strategy<Value = String> {
    prop_oneof![
        (kind(), size(), size(), count()).prop_map(|(k, a, b, e)| format!("h,{k},{a},{b},{e}")),
        (0usize..4, size()).prop_map(|(i, k)| format!("K,{i},{k}")),
        (kind(), size()).prop_map(|(k, a)| format!("r,{k},{a}")),
        (count(), size()).prop_map(|(n, s)| format!("a,{n},{s}")),
        Just("d".to_owned()),
        Just("D".to_owned()),
        Just("H".to_owned()),
    ]
}

fn emit_op() -> impl Strategy<Value = String> {
    prop_oneof![
        (0usize..5, kind(), size()).prop_map(|(l, k, n)| format!("l,{l},{k},{n}")),
        (0usize..5).prop_map(|l| format!("E,{l}")),
        (0usize..3, 0usize..12, 0usize..20, 0usize..4, 0usize..5)
            .prop_map(|(t, n, l, v, u)| format!("m,{t},{n},{l},{v},{u}")),
        (count(), size()).prop_map(|(n, s)| format!("b,{n},{s}")),
        (0usize..40, size()).prop_map(|(n, s)| format!("p,{n},{s}")),
        size().prop_map(|s| format!("P,{s}")),
        size().prop_map(|s| format!("W,{s}")),
    ]
}

fn context_op() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("w".to_owned()),
        Just("Y".to_owned()),
        Just("c".to_owned()),
        size().prop_map(|k| format!("g,{k}")),
        Just("G".to_owned()),
        prop_oneof![Just(0u64), Just(1), Just(1_000_000), Just(u64::MAX)]
            .prop_map(|n| format!("t,{n}")),
        Just("T".to_owned()),
        Just("k".to_owned()),
        Just("f".to_owned()),
        Just("e".to_owned()),
        Just("q".to_owned()),
        Just("Q".to_owned()),
        prop_oneof![Just(3usize), Just(100_000)].prop_map(|n| format!("Z,{n}")),
        size().prop_map(|n| format!("I,{n}")),
        prop_oneof![Just(10usize), Just(5000)].prop_map(|n| format!("X,{n}")),
    ]
}

fn resource_op() -> impl Strategy<Value = String> {
    prop_oneof![
        prop_oneof![Just(1024usize), Just(1 << 20), Just(40 << 20)].prop_map(|n| format!("M,{n}")),
        prop_oneof![Just(100usize), Just(1_000_000), Just(1_000_000_000)]
            .prop_map(|n| format!("s,{n}")),
        prop_oneof![Just(10usize), Just(1000), Just(10_000_000)].prop_map(|n| format!("R,{n}")),
    ]
}

fn program() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => edit_op(),
            4 => emit_op(),
            3 => context_op(),
            1 => resource_op(),
        ],
        0..6,
    )
    .prop_map(|ops| ops.join(";"))
}

fn decision() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("p".to_owned()),
        1 => size().prop_map(|n| format!("j,{n}")),
        1 => (size(), kind(), size(), count(), size(), 0usize..2)
            .prop_map(|(n, k, t, d, s, r)| format!("J,{n},{k},{t},{d},{s},{r}")),
        1 => (count(), size()).prop_map(|(n, s)| format!("s,{n},{s}")),
        1 => size().prop_map(|n| format!("x,{n}")),
    ]
}

const HOOKS: &[Hook] = &[
    Hook::StartWorkflow,
    Hook::QueryWorkflow,
    Hook::SignalWorkflow,
    Hook::SignalWithStartWorkflow,
    Hook::StartWorkflowUpdate,
    Hook::CancelWorkflow,
    Hook::DescribeWorkflow,
    Hook::ListWorkflows,
    Hook::CreateSchedule,
    Hook::HeartbeatAsyncActivity,
    Hook::StartActivity,
    Hook::CountActivities,
    Hook::StartStandaloneNexusOperation,
    Hook::GetWorkerTaskReachability,
    Hook::InitializeWorkflow,
    Hook::ExecuteWorkflow,
    Hook::HandleSignal,
    Hook::HandleQuery,
    Hook::ValidateUpdate,
    Hook::HandleUpdate,
    Hook::ScheduleActivity,
    Hook::ScheduleLocalActivity,
    Hook::StartTimer,
    Hook::StartChildWorkflow,
    Hook::SignalExternalWorkflow,
    Hook::CancelExternalWorkflow,
    Hook::ContinueAsNew,
    Hook::ExecuteActivity,
    Hook::ActivityHeartbeat,
];

#[derive(Clone, Debug)]
struct Case {
    hook: Hook,
    before: String,
    after: String,
    decide_before: String,
    decide_after: String,
    skip: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..HOOKS.len(),
        program(),
        program(),
        decision(),
        decision(),
        any::<bool>(),
    )
        .prop_map(
            |(h, before, after, decide_before, decide_after, skip)| Case {
                hook: HOOKS[h],
                before,
                after,
                decide_before,
                decide_after,
                skip,
            },
        )
}

fn workflow() -> Arc<FixedWorkflow> {
    FixedWorkflow::new(
        WorkflowInfo::new("ns", "fuzz-wf", "fuzz-run", "Fuzzed", "q"),
        1_700_000_000_000_000_000,
    )
}

fn scope(hook: Hook, wf: &Arc<FixedWorkflow>) -> Scope {
    use interpose::chain::Category as C;
    match hook.category() {
        C::Client => Scope::Client,
        C::WorkflowInbound | C::WorkflowOutbound => Scope::Workflow(wf.clone()),
        C::ActivityInbound | C::ActivityOutbound => {
            Scope::Activity(FixedActivity::new(ActivityInfo {
                activity_id: "a1".into(),
                activity_type: "fuzzed".into(),
                ..Default::default()
            }))
        }
        _ => Scope::Client,
    }
}

fn original(c: &Case) -> Call {
    Call::new(c.hook.empty_detail(), Some(vec![Payload::json("\"arg\"")]))
        .with_header("trail", Payload::json("\"t\""))
        .with_header(
            "fuzz-b",
            Payload::json(serde_json::to_string(&c.before).unwrap()),
        )
        .with_header(
            "fuzz-a",
            Payload::json(serde_json::to_string(&c.after).unwrap()),
        )
        .with_header(
            "fuzz-db",
            Payload::json(serde_json::to_string(&c.decide_before).unwrap()),
        )
        .with_header(
            "fuzz-da",
            Payload::json(serde_json::to_string(&c.decide_after).unwrap()),
        )
}

/// What one run of a case produced, for comparing live with replay.
#[derive(Debug, PartialEq)]
struct Seen {
    /// Each call's outcome or error.
    result: Result<String, String>,
    call: String,
    fuel: u64,
    deadline: bool,
}

impl Seen {
    /// `ok`, `rejected` (the call's outcome is a failure the guests decided), or the
    /// first word of the first guest failure's cause (`trap`, `output`, ...).
    fn first_failure(&self) -> String {
        let text = self.result.as_deref().unwrap_or("");
        match text.find("Err(\"interceptor") {
            None if text.contains("Err(") => "rejected".to_owned(),
            None => "ok".to_owned(),
            Some(at) => text[at..]
                .split("): ")
                .nth(1)
                .and_then(|c| c.split([' ', ':']).next())
                .unwrap_or("error")
                .to_owned(),
        }
    }
}

fn check_error(c: &Case, e: &GuestError, earlier_failure: bool) {
    assert!(!c.skip, "under skip no call fails: {e}");
    assert_eq!(e.guest, "fuzzer", "{e}");
    assert_eq!(e.hook, c.hook, "{e}");
    assert!(matches!(e.phase, Phase::Before | Phase::After), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("`fuzzer`") && text.contains(&format!("`{}`", c.hook)),
        "names guest and hook: {text}"
    );
    match &e.cause {
        GuestFailure::OutOfFuel { limit } => assert_eq!(*limit, FUEL),
        GuestFailure::OutputLimit { size, limit } => {
            assert_eq!(*limit, OUTPUT);
            assert!(size > limit, "{e}");
        }
        GuestFailure::Deadline { limit } => assert_eq!(limit.as_secs(), 3),
        // A run whose guest failed keeps it discarded for the rest of the run.
        GuestFailure::Poisoned => assert!(earlier_failure, "poisoned without a failure: {e}"),
        GuestFailure::Capacity { .. } => panic!("no capacity failure here: {e}"),
        _ => assert!(!e.cause.to_string().is_empty()),
    }
}

/// What the guests emitted so far (log lines, metric samples).
fn emitted(t: &TestChain) -> (usize, usize) {
    (t.logs.lines().len(), t.metrics.samples().len())
}

fn run(t: &TestChain, c: &Case, wf: &Arc<FixedWorkflow>) -> Seen {
    let fuel = t.chain.stats("fuzzer").unwrap().fuel;
    let emitted_before = emitted(t);
    // A workflow session serves the same hook twice (state the guest keeps between calls:
    // timers, memory, handles); a client or activity session serves one call.
    let calls = if matches!(scope(c.hook, wf), Scope::Workflow(_)) {
        2
    } else {
        1
    };
    let mut session = t.chain.session(scope(c.hook, wf));
    let mut results = Vec::new();
    let mut calls_seen = Vec::new();
    let mut deadline = false;
    for _ in 0..calls {
        let failures = t.chain.stats("fuzzer").unwrap().failures;
        let mut call = original(c);
        let expected_if_skipped = {
            // The probe's own edits on top of the original call (none in read-only hooks).
            let mut e = original(c);
            if !c.hook.is_read_only() {
                e.headers_mut()
                    .insert("trail".into(), Payload::json("\"t,p\""));
                e.headers_mut().insert(
                    "seen-p".into(),
                    Payload::json(format!("\"{}\"", results.len() + 1)),
                );
            }
            format!("{:?} {:?}", e.headers(), e.args())
        };
        let result = session.run(&mut call, |real| {
            let failed_before = t.chain.stats("fuzzer").unwrap().failures > failures;
            if c.skip && failed_before {
                assert_eq!(
                    format!("{:?} {:?}", real.headers(), real.args()),
                    expected_if_skipped,
                    "the skipped guest's edits were rolled back"
                );
            }
            Outcome::Ok(vec![Payload::json("\"real\"")])
        });
        if let Err(e) = &result {
            check_error(c, e, results.iter().any(Result::is_err));
            deadline |= matches!(e.cause, GuestFailure::Deadline { .. });
            let poisoned = matches!(e.cause, GuestFailure::Poisoned);
            if !poisoned && c.before.is_empty() && c.decide_before == "p" {
                assert_eq!(e.phase, Phase::After, "nothing could fail in before: {e}");
            }
            if !poisoned && c.after.is_empty() && c.decide_after == "p" {
                assert_eq!(e.phase, Phase::Before, "nothing could fail in after: {e}");
            }
        }
        calls_seen.push(format!(
            "{:?} {:?} {:?}",
            call.detail(),
            call.headers(),
            call.args()
        ));
        results.push(result.map(|o| format!("{o:?}")).map_err(|e| e.to_string()));
    }
    drop(session);
    if interpose::services::WorkflowHost::is_replaying(&**wf) {
        assert_eq!(
            emitted(t),
            emitted_before,
            "nothing is logged or counted in replay"
        );
    }
    for g in ["fuzzer", "probe"] {
        assert_eq!(
            t.chain.stats(g).unwrap().live,
            0,
            "{g}: every instance is gone with its session"
        );
    }
    Seen {
        result: Ok(format!("{results:?}")),
        call: calls_seen.join("\n"),
        fuel: t.chain.stats("fuzzer").unwrap().fuel - fuel,
        deadline,
    }
}

fn cases() -> u32 {
    std::env::var("GUEST_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256)
}

#[test]
fn hostile_fuzz_guest_calls_every_import_with_arbitrary_arguments() {
    let closed = fuzz_chain("fail-closed");
    let skip = fuzz_chain("skip");
    let started = Instant::now();
    let mut runner = TestRunner::new(RunnerConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "../proptest-regressions",
        ))),
        ..RunnerConfig::default()
    });
    let mut stats = std::collections::BTreeMap::<String, u32>::new();
    let stats_cell = std::cell::RefCell::new(&mut stats);
    runner
        .run(&case(), |c| {
            let t = if c.skip { &skip } else { &closed };
            let workflow_hook = matches!(scope(c.hook, &workflow()), Scope::Workflow(_));
            let wf = workflow();
            let live = run(t, &c, &wf);
            let outcome = live.first_failure();
            *stats_cell.borrow_mut().entry(outcome).or_default() += 1;
            if workflow_hook {
                let wf = workflow();
                wf.set_replaying(true);
                let replayed = run(t, &c, &wf);
                if !live.deadline && !replayed.deadline {
                    // Reading `is-replaying` lifts a different bool, which runs a few
                    // different instructions: the one documented way fuel may differ.
                    let reads_flag = c
                        .before
                        .split(';')
                        .chain(c.after.split(';'))
                        .any(|o| o == "Y");
                    if reads_flag {
                        prop_assert_eq!(&live.result, &replayed.result, "live and replay differ");
                        prop_assert_eq!(&live.call, &replayed.call, "live and replay differ");
                    } else {
                        prop_assert_eq!(&live, &replayed, "live and replay differ");
                    }
                }
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "guest fuzz: {} cases in {:.1?}; outcomes {stats:?}",
        cases(),
        started.elapsed()
    );
    // The programs really ran: calls succeed and fail in several ways.
    if cases() >= 100 {
        let ok = stats.get("ok").copied().unwrap_or(0);
        assert!(
            ok * 5 >= cases(),
            "at least a fifth of the calls succeed: {stats:?}"
        );
        assert!(
            stats.len() >= 5,
            "guest failures of at least three kinds: {stats:?}"
        );
    }
}
