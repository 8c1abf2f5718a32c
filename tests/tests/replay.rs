//! Replay safety, proven on Temporal's own replayer and a real dev server.
//!
//! - Recorded histories (`tests/fixtures/histories`, re-recorded by
//!   `cargo xtask record-histories`) replay with the same guests with zero nondeterminism
//!   errors, and the WASI probe sees in replay exactly the values it recorded live.
//! - The negative: a guest version that no longer edits activity ids makes replay fail
//!   with a nondeterminism error.
//! - Live runs: the probe's observations are identical live and in replay; queries see
//!   virtual values too.
//! - A run replayed after eviction logs and counts nothing twice.
//! - A guest out of fuel runs out at the same hook live and in replay.
//!
//! Every test here has `replay` in its name: `cargo test --workspace -- replay`.

use std::collections::BTreeMap;

use interpose::chain::Hook;
use interpose_tests::dev_server;
use interpose_tests::scenario::{self, Recorder, Seen};
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use temporalio_sdk::workflow_replayer::WorkflowReplayFailure;

/// The committed fixtures: (name, events).
fn fixtures() -> Vec<(String, Vec<HistoryEvent>)> {
    let dir = scenario::fixtures_dir();
    let mut out = Vec::new();
    for name in ["covered", "covered-after-can", "child", "target", "victim"] {
        let path = dir.join(format!("{name}.json"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; re-record with `cargo xtask record-histories`",
                path.display()
            )
        });
        let history: temporalio_common::protos::temporal::api::history::v1::History =
            serde_json::from_slice(&bytes).expect("fixture is a history");
        out.push((name.to_owned(), history.events));
    }
    out
}

fn run_key(events: &[HistoryEvent]) -> (String, String) {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    match events.first().and_then(|e| e.attributes.as_ref()) {
        Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
            (a.workflow_id.clone(), a.original_execution_run_id.clone())
        }
        _ => panic!("history does not start with WorkflowExecutionStarted"),
    }
}

/// What the recorder saw per run, in order, restricted to hooks whose headers Temporal
/// records.
fn per_run(seen: &[Seen], only_recorded: bool) -> BTreeMap<(String, String), Vec<(Hook, String)>> {
    let mut out: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for s in seen {
        // Read-only hooks are not replayed; the headers they show came from the client.
        if s.hook.is_read_only() {
            continue;
        }
        if !only_recorded || scenario::recorded_hook(s.hook) {
            out.entry((s.workflow_id.clone(), s.run_id.clone()))
                .or_default()
                .push((s.hook, s.value.clone()));
        }
    }
    out
}

/// One WASI-probe observation, parsed: `hook:k=v,k=v,...`.
fn observation(o: &str) -> (String, BTreeMap<String, String>) {
    let (hook, rest) = o.split_once(':').expect("hook:fields");
    let fields = rest
        .split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("k=v");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    (hook.to_owned(), fields)
}

/// Every ambient capability was refused or virtual, and time was workflow time within
/// `[from, to]` (ns since the epoch).
fn assert_virtual(o: &str, from: u128, to: u128) {
    let (hook, f) = observation(o);
    assert_eq!(f["env"], "0", "{hook}: no environment: {o}");
    assert_eq!(f["args"], "0", "{hook}: no arguments: {o}");
    for k in ["read", "list", "write"] {
        assert_eq!(f[k], "denied", "{hook}: no files ({k}): {o}");
    }
    assert!(
        f["stdin"] == "empty" || f["stdin"] == "denied",
        "{hook}: no stdin: {o}"
    );
    assert_eq!(
        f["now"], f["ctx-now"],
        "{hook}: the WASI wall clock is workflow time: {o}"
    );
    let now: u128 = f["now"].parse().expect("now");
    assert!(
        (from..=to).contains(&now),
        "{hook}: time {now} is workflow time within the history [{from}, {to}]: {o}"
    );
}

/// The id of the first activity the fixture scheduled (set by the probe: `p-<n>`).
fn probe_activity_id(events: &[HistoryEvent]) -> String {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    events
        .iter()
        .find_map(|e| match e.attributes.as_ref()? {
            Attributes::ActivityTaskScheduledEventAttributes(a) => Some(a.activity_id.clone()),
            _ => None,
        })
        .expect("the fixture schedules an activity")
}

fn event_nanos(e: &HistoryEvent) -> u128 {
    let t = e.event_time.as_ref().expect("event time");
    t.seconds as u128 * 1_000_000_000 + t.nanos as u128
}

async fn replay(
    toml: &str,
    histories: &[(String, Vec<HistoryEvent>)],
) -> (
    Vec<Option<WorkflowReplayFailure>>,
    std::sync::Arc<Recorder>,
    std::sync::Arc<interpose::services::MemoryLogs>,
    std::sync::Arc<interpose::services::MemoryMetrics>,
) {
    let recorder = Recorder::new("probe");
    let (interpose, logs, metrics) = scenario::load_recorded(toml, recorder.clone());
    let results = scenario::replayer(&interpose)
        .replay_workflows(
            histories
                .iter()
                .map(|(_, e)| scenario::replayable(e.clone())),
        )
        .await
        .expect("the replayer ran");
    (
        results.into_iter().map(|r| r.replay_failure).collect(),
        recorder,
        logs,
        metrics,
    )
}

#[tokio::test(flavor = "current_thread")]
async fn replay_recorded_histories_with_the_same_guests() {
    let histories = fixtures();
    let toml = scenario::fixture_config(scenario::FIXTURE_PROBE);
    let (failures, recorder, logs, metrics) = replay(&toml, &histories).await;
    for ((name, _), f) in histories.iter().zip(&failures) {
        assert!(f.is_none(), "{name} replays without error: {f:?}");
    }
    // The guests really shaped the commands: the probe named the activity.
    let id = probe_activity_id(&histories[0].1);
    assert!(
        id.starts_with("p-"),
        "the fixture holds the probe's activity id: {id}"
    );

    // The WASI probe saw in replay exactly what it wrote into the history live.
    let replayed = per_run(&recorder.seen(), true);
    let mut compared = 0;
    for (name, events) in &histories {
        let recorded = scenario::recorded_headers(events, "probe");
        let key = run_key(events);
        let seen = replayed.get(&key).cloned().unwrap_or_default();
        assert_eq!(
            seen, recorded,
            "{name}: observations in replay == observations recorded live"
        );
        let (from, to) = (event_nanos(&events[0]), event_nanos(events.last().unwrap()));
        for (_, value) in &recorded {
            for o in value.split(';') {
                assert_virtual(o, from, to);
                compared += 1;
            }
        }
    }
    assert!(
        compared >= 4,
        "activity, child, timer and signals observed: {compared}"
    );
    let hooks_seen: Vec<String> = histories
        .iter()
        .flat_map(|(_, e)| scenario::recorded_headers(e, "probe"))
        .flat_map(|(_, v)| v.split(';').map(|o| observation(o).0).collect::<Vec<_>>())
        .collect();
    // (Local activities carry headers, but Temporal does not record them.)
    for hook in [
        "schedule-activity",
        "start-timer",
        "start-child-workflow",
        "signal-external-workflow",
        "cancel-external-workflow",
    ] {
        assert!(
            hooks_seen.iter().any(|h| h == hook),
            "{hook} observed: {hooks_seen:?}"
        );
    }

    // Nothing a guest emits during replay reaches the sinks.
    assert!(
        logs.lines().is_empty(),
        "no guest log lines in replay: {:?}",
        logs.lines()
    );
    assert!(
        metrics.samples().is_empty(),
        "no metric samples in replay: {:?}",
        metrics.samples()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn replay_negative_a_guest_that_changes_commands_fails_with_nondeterminism() {
    let histories = fixtures();
    // The same probe without its activity-id edit: the activity command changes.
    let toml = scenario::fixture_config("");
    let (failures, ..) = replay(&toml, &histories[..1]).await;
    match &failures[0] {
        Some(WorkflowReplayFailure::Nondeterminism { message }) => {
            let id = probe_activity_id(&histories[0].1);
            assert!(
                message.contains(&format!("'{id}'")) && message.contains("Activity id"),
                "the error names the activity id the guest no longer sets: {message}"
            );
        }
        other => panic!("expected a nondeterminism error, got {other:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn replay_without_the_random_drawing_guests_still_matches() {
    // Live, the WASI probe drew WASI randomness and workflow-context randomness in every
    // hook. The workflow chose its activity type from its own random stream. Replaying
    // without that guest still picks the same activity type: guest draws never touched the
    // workflow's stream. Header-only guests (context propagation) can also go: headers are
    // not part of Temporal's determinism check.
    let histories = fixtures();
    let toml = format!(
        "{}\n[[guest]]\nname = \"recorder\"\nnative = true\n",
        interpose_tests::guest(
            "probe",
            interpose_tests::guests::PROBE,
            &format!("[guest.config]\ntag = \"p\"\n{}", scenario::FIXTURE_PROBE)
        )
    );
    let (failures, ..) = replay(&toml, &histories).await;
    for ((name, _), f) in histories.iter().zip(&failures) {
        assert!(
            f.is_none(),
            "{name} replays without the random-drawing guests: {f:?}"
        );
    }
}

/// Run the scenario live with `toml`, then replay every run's history with the same guests.
/// Returns (live recorder, replay recorder, query answers, histories).
async fn live_then_replay(
    toml: &str,
    prefix: &str,
    key: &str,
) -> (
    Vec<Seen>,
    Vec<Seen>,
    Vec<String>,
    Vec<(String, Vec<HistoryEvent>)>,
) {
    let live = Recorder::new(key);
    let (interpose, _logs, _metrics) = scenario::load_recorded(toml, live.clone());
    let client = scenario::client(&dev_server().url(), Some(&interpose)).await;
    let queue = format!("replay-{prefix}");
    let runs = scenario::with_worker(
        &client,
        scenario::worker_options(&queue, &interpose, &client),
        scenario::drive(&client, &queue, &format!("{prefix}-{}", std::process::id())),
    )
    .await;
    let mut histories = Vec::new();
    for (name, wid, rid) in &runs.runs {
        histories.push((name.clone(), scenario::history(&client, wid, rid).await));
    }
    let again = Recorder::new(key);
    let (replaying, _, _) = scenario::load_recorded(toml, again.clone());
    let results = scenario::replayer(&replaying)
        .replay_workflows(
            histories
                .iter()
                .map(|(_, e)| scenario::replayable(e.clone())),
        )
        .await
        .expect("replayer ran");
    for ((name, _), r) in histories.iter().zip(&results) {
        assert!(r.replay_failure.is_none(), "{name}: {:?}", r.replay_failure);
    }
    // (initialize-workflow always counts as replaying: the SDK does not say; see temporal/workflow/mod.rs.)
    let live_seen = live
        .seen()
        .into_iter()
        .filter(|s| !s.replaying || s.hook == Hook::InitializeWorkflow)
        .collect();
    (live_seen, again.seen(), runs.query_answers, histories)
}

#[tokio::test(flavor = "current_thread")]
async fn replay_probe_sees_identical_values_live_and_in_replay() {
    let toml = scenario::fixture_config(&format!(
        "{}\n\n[[guest]]\nname = \"wasi-queries\"\npath = \"{}\"\n[guest.config]\nanswer-queries = \"yes\"",
        scenario::FIXTURE_PROBE,
        interpose_tests::guests::WASI_PROBE
    ));
    let (live, replayed, answers, histories) = live_then_replay(&toml, "probe", "probe").await;
    let live = per_run(&live, false);
    let replayed = per_run(&replayed, false);
    assert!(!live.is_empty());
    for (run, seq) in &live {
        let hooks: Vec<Hook> = seq.iter().map(|(h, _)| *h).collect();
        assert_eq!(
            replayed.get(run),
            Some(seq),
            "run {run:?}: every observation (hooks {hooks:?}) is identical in replay"
        );
    }
    let span = |run: &(String, String)| {
        let events = &histories
            .iter()
            .find(|(_, e)| run_key(e) == *run)
            .expect("a history per run")
            .1;
        (event_nanos(&events[0]), event_nanos(events.last().unwrap()))
    };
    let inbound: Vec<&Hook> = live.values().flatten().map(|(h, _)| h).collect();
    for hook in [
        Hook::InitializeWorkflow,
        Hook::ExecuteWorkflow,
        Hook::HandleSignal,
        Hook::HandleUpdate,
        Hook::ScheduleActivity,
    ] {
        assert!(
            inbound.contains(&&hook),
            "{hook} observed live: {inbound:?}"
        );
    }
    for (run, seq) in &live {
        let (from, to) = span(run);
        for (_, v) in seq {
            for o in v.split(';') {
                assert_virtual(o, from, to);
            }
        }
    }
    // Queries (not replayed) run on the read-only instance and see virtual values too.
    let covered = &histories[0].1;
    let (from, to) = (
        event_nanos(&covered[0]),
        event_nanos(covered.last().unwrap()),
    );
    assert_eq!(answers.len(), 2);
    for a in &answers {
        assert!(
            a.starts_with("handle-query:"),
            "the query answer is the observation: {a}"
        );
        assert_virtual(a, from, to);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn replay_after_eviction_logs_and_counts_nothing_twice() {
    // Scenario twice: once with the workflow cache, once with no cache, where every workflow
    // task replays the run from its start. The probe logs and counts every hook without
    // checking the replay flag; the host must drop what it emits in replay.
    async fn run(cached: bool) -> (Vec<String>, BTreeMap<String, u64>, usize) {
        let recorder = Recorder::new("probe");
        let toml = scenario::fixture_config(scenario::FIXTURE_PROBE);
        let (interpose, logs, metrics) = scenario::load_recorded(&toml, recorder);
        let client = scenario::client(&dev_server().url(), Some(&interpose)).await;
        let tag = if cached { "cached" } else { "evicted" };
        let queue = format!("replay-dup-{tag}");
        let mut options = scenario::worker_options(&queue, &interpose, &client);
        if !cached {
            options.max_cached_workflows = 0;
        }
        let prefix = format!("dup-{tag}-{}", std::process::id());
        scenario::with_worker(&client, options, scenario::drive(&client, &queue, &prefix)).await;
        let mut lines: Vec<String> = logs
            .lines()
            .into_iter()
            .filter(|l| l.guest == "probe" || l.guest == "logger")
            .map(|l| l.message.replace(&prefix, "X"))
            .filter(|m| !m.contains("caught up"))
            .filter(|m| !m.contains("handle-query") && !m.contains("validate-update"))
            .collect();
        lines.sort();
        let caught_up = logs
            .lines()
            .iter()
            .filter(|l| l.message.contains("caught up"))
            .count();
        let mut counts = BTreeMap::new();
        for s in metrics.samples() {
            let read_only = s
                .attributes
                .iter()
                .any(|(_, v)| v == "handle-query" || v == "validate-update");
            if s.guest == "probe" && !read_only {
                *counts
                    .entry(format!("{}{:?}", s.name, s.attributes))
                    .or_default() += 1;
            }
        }
        (lines, counts, caught_up)
    }
    let (cached_lines, cached_counts, _) = run(true).await;
    let (evicted_lines, evicted_counts, caught_up) = run(false).await;
    assert!(
        caught_up > 0,
        "without a cache the runs were really replayed (the replay logger caught up)"
    );
    assert!(!cached_lines.is_empty());
    assert_eq!(
        evicted_lines, cached_lines,
        "replay after eviction adds no log line"
    );
    assert_eq!(
        evicted_counts, cached_counts,
        "replay after eviction adds no metric sample"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn replay_fuel_runs_out_at_the_same_hook_live_and_in_replay() {
    // Call n of the run costs about n * GROWTH iterations of the probe's work loop (its
    // `work-growth`); the limit lets three calls through. Under `skip`, the guest is skipped
    // from call 4 to the end of the run, so its `seen-p` header stops at "3" — at the same
    // hook in replay. What one iteration costs depends on how the probe was compiled, so it
    // is measured first: a client call runs `work` iterations in `before` and in `after`.
    const GROWTH: u64 = 100_000;
    let per_iteration = {
        use interpose::chain::Outcome;
        use interpose::services::Scope;
        let t = interpose_tests::chain(&interpose_tests::guest(
            "probe",
            interpose_tests::guests::PROBE,
            &format!("[guest.config]\ntag = \"p\"\nwork = \"{GROWTH}\""),
        ));
        t.chain
            .session(Scope::Client)
            .run(&mut interpose_tests::start_call("Order"), |_| {
                Outcome::Ok(vec![])
            })
            .unwrap();
        t.chain.stats("probe").unwrap().fuel as f64 / (2 * GROWTH) as f64
    };
    let limit = (3.5 * GROWTH as f64 * per_iteration) as u64;
    let toml = format!(
        "{}\n[[guest]]\nname = \"recorder\"\nnative = true\n",
        interpose_tests::guest(
            "probe",
            interpose_tests::guests::PROBE,
            &format!(
                "fuel = {limit}\non-failure = \"skip\"\n[guest.config]\ntag = \"p\"\nwork-growth = \"{GROWTH}\""
            )
        )
    );
    let (live, replayed, _, histories) = live_then_replay(&toml, "fuel", "seen-p").await;
    let live = per_run(&live, false);
    let replayed = per_run(&replayed, false);
    let first_run = &histories[0].1;
    let covered = live
        .get(&run_key(first_run))
        .expect("the first Covered run was seen");
    // The probe's own count rises 1, 2, 3 and never reaches 4: call 4 ran out of fuel and
    // the guest was skipped for the rest of the run. (Inbound calls may also carry the
    // client-side probe's `seen-p`, always "1".)
    let max = covered.iter().map(|(_, v)| v.parse::<u32>().unwrap()).max();
    assert_eq!(max, Some(3), "three calls, then out of fuel: {covered:?}");
    assert!(covered.iter().any(|(_, v)| v == "2"), "{covered:?}");
    let outbound: Vec<Hook> = covered
        .iter()
        .filter(|(h, _)| h.category() == interpose::chain::Category::WorkflowOutbound)
        .map(|(h, _)| *h)
        .collect();
    assert_eq!(
        outbound,
        [Hook::ScheduleActivity],
        "after the activity (call 3), no outbound hook got the probe's edits"
    );
    for (run, seq) in &live {
        assert_eq!(replayed.get(run), Some(seq), "run {run:?}");
    }
}

/// A worker process that is SIGKILLed when dropped.
struct WorkerProcess(std::process::Child);

impl WorkerProcess {
    fn start(url: &str, queue: &str, config: &std::path::Path) -> WorkerProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_crash-worker"))
            .args([url, queue])
            .arg(config)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the worker process");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok));
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the worker process says ready within 60 s");
        assert_eq!(line.as_deref(), Some("ready"), "worker process output");
        WorkerProcess(child)
    }

    /// SIGKILL, no goodbye.
    fn kill(mut self) {
        self.0.kill().expect("SIGKILL the worker");
        let status = self.0.wait().expect("reap the worker");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc_sigkill()),
            "the worker died of SIGKILL"
        );
    }
}

fn libc_sigkill() -> i32 {
    9
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type StepperHandle =
    temporalio_client::WorkflowHandle<temporalio_client::Client, scenario::Stepper>;

async fn completed_activities(h: &StepperHandle) -> usize {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let events = h
        .fetch_history(Default::default())
        .into_events()
        .await
        .expect("history");
    events
        .iter()
        .filter(|e| {
            matches!(
                e.attributes,
                Some(Attributes::ActivityTaskCompletedEventAttributes(_))
            )
        })
        .count()
}

/// Signal `go` to every run.
async fn step(handles: &[StepperHandle]) {
    for h in handles {
        h.signal(
            scenario::Stepper::go,
            (),
            temporalio_client::WorkflowSignalOptions::default(),
        )
        .await
        .expect("signal go");
    }
}

/// Wait until every run has completed `n` activities (bounded).
async fn wait_for(handles: &[StepperHandle], n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for h in handles {
        while completed_activities(h).await < n {
            assert!(
                std::time::Instant::now() < deadline,
                "{}: {n} activities done within 60 s",
                h.info().workflow_id
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn replay_rebuilds_guest_state_after_the_worker_is_killed() {
    use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

    // The probe counts the hooks of each run in its per-run instance and stamps the count on
    // every scheduled activity; Stepper returns what its activities got. After the crash, the
    // new worker has no guest state: only a full replay can bring each run's count back.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("interpose.toml");
    std::fs::write(
        &config,
        interpose_tests::guest(
            "p",
            interpose_tests::guests::PROBE,
            "[guest.config]\ntag = \"p\"\nscope = \"workflow\"",
        ),
    )
    .unwrap();
    let url = dev_server().url();
    let queue = format!("crash-{}", std::process::id());
    let client = scenario::client(&url, None).await;
    let mut handles = Vec::new();
    for n in 0..5 {
        let id = format!("{queue}-{n}");
        let options = WorkflowStartOptions::new(&queue, &id)
            .task_timeout(std::time::Duration::from_secs(2))
            .build();
        client
            .start_workflow(scenario::Stepper::run, 4, options)
            .await
            .expect("start Stepper");
        handles.push(client.get_workflow_handle::<scenario::Stepper>(&id));
    }
    let first = WorkerProcess::start(&url, &queue, &config);
    for n in 1..=2 {
        step(&handles).await;
        wait_for(&handles, n).await;
    }
    // Step 3 is signalled and the worker killed at once: its workflow tasks (and activities)
    // may be in flight on the dead worker; they time out and move to the new one.
    step(&handles).await;
    first.kill();
    let _second = WorkerProcess::start(&url, &queue, &config);
    wait_for(&handles, 3).await;
    step(&handles).await;
    for h in &handles {
        let got = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            h.get_result(WorkflowGetResultOptions::default()),
        )
        .await
        .expect("completes within 60 s after the restart")
        .expect("completes");
        // execute 1; then per step: signal, activity. Without a replay that re-ran the
        // run's hooks through the guest, the counts after the crash would restart at 1.
        assert_eq!(got, ["3", "5", "7", "9"], "{}", h.info().workflow_id);
    }
}

fn versions_cli(args: Vec<String>) -> String {
    let mut out = Vec::new();
    let mut argv = vec!["interpose".to_owned(), "versions".to_owned()];
    argv.extend(args);
    interpose_cli::run(argv.clone(), &mut out).unwrap_or_else(|e| panic!("{argv:?}: {e:#}"));
    String::from_utf8(out).unwrap()
}

#[test]
fn replay_versions_fingerprint_names_exactly_what_can_change_behaviour() {
    use interpose_tests::{chain, guest, guests};
    let base = "[guest.config]\ntag = \"p\"";
    let fp = |toml: &str| chain(toml).chain.fingerprint().to_owned();
    let a = fp(&guest("p", guests::PROBE, base));
    assert_eq!(a.len(), 64, "SHA-256 hex");
    assert_eq!(
        a,
        fp(&guest("p", guests::PROBE, base)),
        "same config, same fingerprint"
    );
    let changed = [
        ("another component", guest("p", guests::WITNESS, base)),
        ("another name", guest("q", guests::PROBE, base)),
        (
            "fuel",
            guest("p", guests::PROBE, &format!("fuel = 5_000_000\n{base}")),
        ),
        (
            "policy",
            guest(
                "p",
                guests::PROBE,
                &format!("on-failure = \"skip\"\n{base}"),
            ),
        ),
        (
            "a config value",
            guest("p", guests::PROBE, "[guest.config]\ntag = \"q\""),
        ),
        (
            "order",
            format!(
                "{}{}",
                guest("w", guests::WITNESS, ""),
                guest("p", guests::PROBE, base)
            ),
        ),
    ];
    let reordered = fp(&format!(
        "{}{}",
        guest("p", guests::PROBE, base),
        guest("w", guests::WITNESS, "")
    ));
    for (what, toml) in changed {
        let f = fp(&toml);
        assert_ne!(f, a, "{what} changes the fingerprint");
        if what == "order" {
            assert_ne!(f, reordered, "the same guests in another order differ");
        }
    }
}

#[test]
fn replay_versions_cli_reads_a_history_file_from_an_unstamped_worker() {
    let path = scenario::fixtures_dir().join("covered.json");
    let out = versions_cli(vec!["--history".into(), path.display().to_string()]);
    assert!(out.contains("(Covered run "), "{out}");
    assert!(out.contains("without an interceptor stamp"), "{out}");
}

#[tokio::test(flavor = "current_thread")]
async fn replay_versions_a_run_records_each_chain_it_ran_under() {
    use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
    let dir = tempfile::tempdir().unwrap();
    let configs: Vec<std::path::PathBuf> = ["", "fuel = 50_000_000\n", "fuel = 70_000_000\n"]
        .iter()
        .enumerate()
        .map(|(i, extra)| {
            let p = dir.path().join(format!("v{i}.toml"));
            let g = interpose_tests::guest(
                "p",
                interpose_tests::guests::PROBE,
                &format!("{extra}[guest.config]\ntag = \"p\"\nscope = \"workflow\""),
            );
            std::fs::write(&p, g).unwrap();
            p
        })
        .collect();
    let load = |p: &std::path::Path| {
        interpose::temporal::Interpose::from_chain(
            interpose_tests::runtime().clone(),
            interpose::chain::Chain::load(
                &interpose_tests::runtime(),
                &interpose::config::Config::from_file(p).unwrap(),
                Vec::new(),
            )
            .unwrap(),
        )
    };
    let (v1, v2) = (load(&configs[0]), load(&configs[1]));
    assert_ne!(v1.fingerprint(), v2.fingerprint());
    let url = dev_server().url();
    let client = scenario::client(&url, None).await;
    let queue = format!("versions-{}", std::process::id());
    let id = format!("{queue}-stepper");
    let options = |i: &interpose::temporal::Interpose| {
        let mut o = scenario::worker_options(&queue, i, &client);
        o.sticky_queue_schedule_to_start_timeout = std::time::Duration::from_secs(1);
        i.stamp_worker(&mut o);
        o
    };
    // Worker v1 starts the run and completes step 1; worker v2 takes over for step 2.
    client
        .start_workflow(
            scenario::Stepper::run,
            2,
            WorkflowStartOptions::new(&queue, &id).build(),
        )
        .await
        .unwrap();
    let handles = [client.get_workflow_handle::<scenario::Stepper>(&id)];
    scenario::with_worker(&client, options(&v1), async {
        step(&handles).await;
        wait_for(&handles, 1).await;
    })
    .await;
    let got = scenario::with_worker(&client, options(&v2), async {
        step(&handles).await;
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            handles[0].get_result(WorkflowGetResultOptions::default()),
        )
        .await
        .expect("completes within 60 s")
        .expect("completes")
    })
    .await;
    assert_eq!(got, ["3", "5"], "v2 rebuilt the guest's state by replay");

    let events = handles[0]
        .fetch_history(Default::default())
        .into_events()
        .await
        .unwrap();
    let stamps = interpose::temporal::versions::stamps(&events);
    let summary = interpose::temporal::versions::summarize(&stamps);
    let short = |i: &interpose::temporal::Interpose| i.fingerprint()[..12].to_owned();
    assert_eq!(summary.started_with, Some(short(&v1)), "{stamps:?}");
    assert_eq!(summary.changes.len(), 1, "{stamps:?}");
    assert_eq!(summary.changes[0].2, Some(short(&v2)));
    assert!(stamps.iter().all(|s| s.build_id.contains("+interpose.")));

    let (url2, id2, c1, c2, c3) = (
        url.clone(),
        id.clone(),
        configs[0].clone(),
        configs[1].clone(),
        configs[2].clone(),
    );
    let (same, latest, different) = tokio::task::spawn_blocking(move || {
        let args = |c: &std::path::Path| {
            vec![
                id2.clone(),
                "--address".into(),
                url2.clone(),
                "--config".into(),
                c.display().to_string(),
            ]
        };
        (
            versions_cli(args(&c1)),
            versions_cli(args(&c2)),
            versions_cli(args(&c3)),
        )
    })
    .await
    .unwrap();
    if std::env::var_os("SHOW_VERSIONS").is_some() {
        eprintln!("{same}\n{latest}\n{different}");
    }
    assert!(
        same.contains(&format!("started with interceptor chain {}", short(&v1))),
        "{same}"
    );
    assert!(
        same.contains(&format!(
            "interceptor chain {} -> {}",
            short(&v1),
            short(&v2)
        )),
        "{same}"
    );
    assert!(
        same.contains(&format!(
            "same chain as the run started with; its later tasks ran under {}",
            short(&v2)
        )),
        "{same}"
    );
    assert!(
        latest.contains(&format!(
            "same chain as the run's latest workflow task; the run started under {}",
            short(&v1)
        )),
        "{latest}"
    );
    assert!(
        different.contains("DIFFERENT from every chain the run ran under"),
        "{different}"
    );
    assert!(different.contains("1. p sha256:"), "{different}");
}
