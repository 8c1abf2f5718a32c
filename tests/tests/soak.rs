//! Load and soak on a real dev server: N workflows, each with two activities, a signal and a
//! child (which it signals), through three guests in every category (context propagation,
//! and two probes, one with reused instances). Asserts that every workflow completes with
//! the user id the client's guest stamped, that resident memory after the run stays within
//! 10 % of where it levelled off, and that live guest instances come back to the number of
//! cached runs (parked workflows, then zero). Reports throughput and memory.
//!
//! `cargo xtask test` runs it reduced (`SOAK_WORKFLOWS`, default 200); the full soak is
//! `cargo xtask soak` (5,000 workflows, release build).
//!
//! Named `hostile_soak_*`: `cargo test --workspace -- hostile` selects it.

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use interpose::temporal::Interpose;
use interpose_tests::scenario::{self, Acts, Poked};
use interpose_tests::{dev_server, guest, guests, runtime};
use temporalio_client::{WorkflowGetResultOptions, WorkflowSignalOptions, WorkflowStartOptions};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, ChildWorkflowOptions, SyncWorkflowContext, WorkflowContext, WorkflowResult,
};

#[workflow]
#[derive(Default)]
struct Soak {
    go: bool,
}

#[workflow_methods]
impl Soak {
    #[run]
    async fn run(ctx: &mut WorkflowContext<Self>, _: ()) -> WorkflowResult<String> {
        let options = || ActivityOptions::start_to_close_timeout(Duration::from_secs(30));
        let user = ctx
            .execute_activity(Acts::header, "user-id".to_string(), options())
            .await?;
        ctx.wait_condition(|s| s.go).await?;
        let child = ctx
            .start_child_workflow(
                Poked::run,
                (),
                ChildWorkflowOptions::workflow_id(format!("{}-child", ctx.workflow_id())),
            )
            .await?;
        child.signal(Poked::poke, (), Default::default()).await?;
        child.result().await?;
        let again = ctx
            .execute_activity(Acts::header, "user-id".to_string(), options())
            .await?;
        Ok(format!("{user}/{again}"))
    }

    #[signal]
    fn go(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _: ()) {
        self.go = true;
    }
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_soak_workflows_through_three_guests_in_every_category() {
    let total: usize = std::env::var("SOAK_WORKFLOWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let in_flight: usize = 64;
    let parked_count = 16;
    let toml = [
        guest(
            "context",
            guests::CONTEXT_PROPAGATION,
            "[guest.config]\nuser-id = \"alice\"",
        ),
        guest("p", guests::PROBE, "[guest.config]\ntag = \"p\""),
        guest(
            "q",
            guests::PROBE,
            "instances = \"reuse\"\n[guest.config]\ntag = \"q\"",
        ),
    ]
    .concat();
    let config = interpose::config::Config::from_toml(
        &toml,
        std::path::Path::new("/"),
        std::path::Path::new("soak.toml"),
    )
    .unwrap();
    // Guest logs go to tracing (no subscriber here): nothing accumulates in the test.
    let chain = interpose::chain::Chain::load(
        &runtime().with_sinks(
            std::sync::Arc::new(interpose::services::NoMetrics),
            std::sync::Arc::new(interpose::services::TracingLogs),
        ),
        &config,
        Vec::new(),
    )
    .unwrap();
    let interpose = Interpose::from_chain(runtime().clone(), chain.clone());
    let client = scenario::client(&dev_server().url(), Some(&interpose)).await;
    let queue = format!("soak-{}", std::process::id());
    let mut options = temporalio_sdk::WorkerOptions::new(&queue)
        .register_workflow::<Soak>()
        .unwrap()
        .register_workflow::<Poked>()
        .unwrap()
        .register_activities(Acts)
        .workflow_interceptor(interpose.workflow_interceptor())
        .activity_inbound_interceptor(interpose.activity_interceptor(&client))
        .build();
    options.max_cached_workflows = 1000;

    let start = |id: String| {
        let client = client.clone();
        let queue = queue.clone();
        async move {
            client
                .start_workflow(
                    Soak::run,
                    (),
                    WorkflowStartOptions::new(&queue, &id).build(),
                )
                .await
                .unwrap_or_else(|e| panic!("start {id}: {e}"));
            id
        }
    };
    let finish = |id: String| {
        let client = client.clone();
        async move {
            let h = client.get_workflow_handle::<Soak>(&id);
            h.signal(Soak::go, (), WorkflowSignalOptions::default())
                .await
                .unwrap_or_else(|e| panic!("signal {id}: {e}"));
            let r = tokio::time::timeout(
                Duration::from_secs(120),
                h.get_result(WorkflowGetResultOptions::default()),
            )
            .await
            .unwrap_or_else(|_| panic!("{id} finishes within 120 s"))
            .unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(r, "alice/alice", "{id}: the guests ran on every hop");
        }
    };
    let pid = std::process::id();
    let live = |name: &str| chain.stats(name).unwrap().live;

    scenario::with_worker(&client, options, async {
        // Parked runs stay cached (they wait for a signal) and hold one instance per guest
        // with workflow hooks.
        let mut parked = Vec::new();
        for n in 0..parked_count {
            parked.push(start(format!("soak-parked-{pid}-{n}")).await);
        }
        let started = Instant::now();
        let mut samples = Vec::new();
        let every = total.div_ceil(10);
        let mut done = 0;
        let mut runs = futures::stream::iter((0..total).map(|i| format!("soak-{pid}-{i}")))
            .map(|id| {
                let start = &start;
                let finish = &finish;
                async move { finish(start(id).await).await }
            })
            .buffer_unordered(in_flight);
        while runs.next().await.is_some() {
            done += 1;
            if done % every == 0 || done == total {
                samples.push(interpose_tests::timing::resident_bytes());
                eprintln!(
                    "soak: {done} workflows done, {:.0} s, rss {:.1} MiB",
                    started.elapsed().as_secs_f64(),
                    mib(*samples.last().unwrap())
                );
            }
        }
        drop(runs);
        let elapsed = started.elapsed();
        // Completed runs are evicted (asynchronously, by the worker); only the parked runs
        // stay cached.
        settle(|| {
            let idle_q = chain.idle_instances("q") as u64;
            [("context", 0), ("p", 0), ("q", idle_q)]
                .iter()
                .all(|(name, idle)| live(name) == parked_count as u64 + idle)
        })
        .await;
        let idle_q = chain.idle_instances("q") as u64;
        for (name, idle) in [("context", 0), ("p", 0), ("q", idle_q)] {
            assert_eq!(
                live(name),
                parked_count as u64 + idle,
                "{name}: live instances = cached runs ({parked_count}) + idle reusable ({idle})"
            );
        }
        let level = samples[samples.len() / 2]; // after half the run
        let end = *samples.last().unwrap();
        eprintln!(
            "soak: {total} workflows (2 activities, a signal, a child each) in {:.1} s = {:.1} workflows/s; rss at half {:.1} MiB, at end {:.1} MiB ({:+.1} %)",
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64(),
            mib(level),
            mib(end),
            (end as f64 / level as f64 - 1.0) * 100.0
        );
        assert!(
            end as f64 <= level as f64 * 1.10,
            "resident memory after the run ({:.1} MiB) within 10 % of where it levelled off ({:.1} MiB)",
            mib(end),
            mib(level)
        );
        futures::stream::iter(parked)
            .map(&finish)
            .buffer_unordered(in_flight)
            .collect::<Vec<()>>()
            .await;
        settle(|| {
            let idle_q = chain.idle_instances("q") as u64;
            [("context", 0), ("p", 0), ("q", idle_q)]
                .iter()
                .all(|(name, idle)| live(name) == *idle)
        })
        .await;
        for (name, idle) in [("context", 0), ("p", 0), ("q", chain.idle_instances("q") as u64)] {
            assert_eq!(live(name), idle, "{name}: every run's instances were freed");
        }
    })
    .await;
}

/// Wait (bounded, 30 s) until `done` holds: the worker evicts finished runs on its own
/// schedule. The assertions after it say what was expected when it does not.
async fn settle(done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !done() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
