//! Hostile guests end to end on a real dev server, in every category: an infinite loop (out
//! of fuel, and past its deadline with fuel to spare), memory growth past its cap, deep
//! recursion, a panic, an oversized header, malformed edits (edit, then crash), an answer
//! where none is allowed, and a guest that rejects everything.
//!
//! One worker carries all of them at once, each restricted to one hook and to workflows
//! whose id starts with its name, beside bystander workflows that no guest touches. Phase
//! one runs the worker fail-closed and checks each victim's outcome and error (which guest,
//! which hook, which phase, why) while the bystanders complete. Phase two replaces it with a
//! worker whose guests are skipped on failure, on the same task queue: every victim left
//! running by phase one completes (no workflow is lost), and fresh victims complete too,
//! with the skipped guests' half-made edits rolled back.
//!
//! Every test here has `hostile` in its name: `cargo test --workspace -- hostile`.

use std::time::{Duration, Instant};

use interpose::temporal::Interpose;
use interpose_tests::scenario::{self, Acts};
use interpose_tests::{dev_server, guest, guests, runtime};
use temporalio_client::{
    Client, WorkflowDescribeOptions, WorkflowGetResultOptions, WorkflowStartOptions,
};
use temporalio_common::protos::temporal::api::enums::v1::{EventType, WorkflowExecutionStatus};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult};

/// Runs one activity that returns its `tainted` header, with two attempts at most; reports
/// an activity failure as its result rather than failing.
#[workflow]
#[derive(Default)]
struct Target;

#[workflow_methods]
impl Target {
    #[run]
    async fn run(ctx: &mut WorkflowContext<Self>, _: ()) -> WorkflowResult<String> {
        let mut options = ActivityOptions::start_to_close_timeout(Duration::from_secs(5));
        options.retry_policy = Some(
            temporalio_common::RetryPolicy::builder()
                .maximum_attempts(2)
                .initial_interval(Duration::from_millis(100))
                .build(),
        );
        match ctx
            .execute_activity(Acts::header, "tainted".to_string(), options)
            .await
        {
            Ok(v) => Ok(format!("ok tainted={v:?}")),
            Err(e) => Ok(format!("activity failed: {e:?}")),
        }
    }
}

struct Case {
    /// Guest name and workflow id prefix.
    name: &'static str,
    behavior: &'static str,
    limits: &'static str,
    /// What the error says about the cause.
    cause: &'static str,
    /// A deliberate decision (not a failure): the same under both policies.
    deliberate: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "fuel",
        behavior: "loop",
        limits: "fuel = 5_000_000",
        cause: "out of fuel (budget 5000000 units per call)",
        deliberate: false,
    },
    Case {
        name: "spin",
        behavior: "loop",
        limits: "fuel = 10_000_000_000_000\ndeadline = \"300ms\"",
        cause: "deadline exceeded (300ms per call)",
        deliberate: false,
    },
    Case {
        name: "grow",
        behavior: "grow",
        limits: "memory = \"16MiB\"",
        cause: "memory limit",
        deliberate: false,
    },
    Case {
        name: "recurse",
        behavior: "recurse",
        limits: "",
        cause: "stack overflow",
        deliberate: false,
    },
    Case {
        name: "panic",
        behavior: "panic",
        limits: "",
        cause: "hostile guest panics on purpose",
        deliberate: false,
    },
    Case {
        name: "oversize",
        behavior: "oversize",
        limits: "",
        cause: "exceeds the limit of",
        deliberate: false,
    },
    Case {
        name: "malformed",
        behavior: "edit-then-panic",
        limits: "",
        cause: "hostile guest panics after editing",
        deliberate: false,
    },
    Case {
        name: "respond",
        behavior: "respond",
        limits: "",
        cause: "invalid decision",
        deliberate: false,
    },
    Case {
        name: "reject",
        behavior: "reject",
        limits: "",
        cause: "hostile guest rejects everything",
        deliberate: true,
    },
];

/// The hook each category's guests misbehave in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cat {
    Client,
    WorkflowInbound,
    WorkflowOutbound,
    Activity,
}

impl Cat {
    fn hook(self) -> &'static str {
        match self {
            Cat::Client => "start-workflow",
            Cat::WorkflowInbound => "execute-workflow",
            Cat::WorkflowOutbound => "schedule-activity",
            Cat::Activity => "execute-activity",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Cat::Client => "cl",
            Cat::WorkflowInbound => "wi",
            Cat::WorkflowOutbound => "wo",
            Cat::Activity => "ac",
        }
    }

    /// What `Target` returns when the `respond` guest answers this category's hook, where
    /// answering is allowed (execute-workflow, execute-activity): there `respond` is a
    /// decision, not a failure, and it must be the run's (or the activity's) result under
    /// either policy.
    fn answered(self) -> Option<&'static str> {
        match self {
            Cat::WorkflowInbound => Some("not allowed here"),
            Cat::Activity => Some("ok tainted=\"not allowed here\""),
            Cat::Client | Cat::WorkflowOutbound => None,
        }
    }

    fn cases(self) -> impl Iterator<Item = &'static Case> {
        CASES.iter()
    }
}

/// Every hostile guest of the category, each restricted to its hook and its id prefix, then
/// a well-behaved guest (the context propagation example) after them.
fn config(cat: Cat, policy: &str) -> String {
    let mut toml = String::new();
    for c in cat.cases() {
        toml.push_str(&guest(
            c.name,
            guests::HOSTILE,
            &format!(
                "{}\non-failure = \"{policy}\"\n[guest.config]\nbehavior = \"{}\"\nonly = \"{}\"\nonly-workflow = \"{}-\"",
                c.limits,
                c.behavior,
                cat.hook(),
                c.name
            ),
        ));
    }
    toml.push_str(&guest("context", guests::CONTEXT_PROPAGATION, ""));
    toml
}

fn interpose(cat: Cat, policy: &str) -> Interpose {
    let config = interpose::config::Config::from_toml(
        &config(cat, policy),
        std::path::Path::new("/"),
        std::path::Path::new("hostile.toml"),
    )
    .expect("config");
    Interpose::from_chain(
        runtime().clone(),
        interpose::chain::Chain::load(&runtime(), &config, Vec::new()).expect("load"),
    )
}

fn worker_options(
    queue: &str,
    i: &Interpose,
    client: &temporalio_client::Client,
) -> temporalio_sdk::WorkerOptions {
    let mut o = temporalio_sdk::WorkerOptions::new(queue)
        .register_workflow::<Target>()
        .expect("register")
        .register_activities(Acts)
        .workflow_interceptor(i.workflow_interceptor())
        .activity_inbound_interceptor(i.activity_interceptor(client))
        .build();
    o.sticky_queue_schedule_to_start_timeout = Duration::from_secs(1);
    o
}

fn start_options(queue: &str, id: &str) -> WorkflowStartOptions {
    WorkflowStartOptions::new(queue, id)
        .task_timeout(Duration::from_secs(2))
        .build()
}

async fn result(client: &Client, id: &str) -> Result<String, String> {
    tokio::time::timeout(
        Duration::from_secs(60),
        client
            .get_workflow_handle::<Target>(id)
            .get_result(WorkflowGetResultOptions::default()),
    )
    .await
    .unwrap_or_else(|_| panic!("{id}: finished within 60 s"))
    .map_err(|e| format!("{e:?}"))
}

/// Where a skipped guest's leftover `tainted` edit would arrive in history: the start
/// request's headers (client start) and every recorded command's headers (activities).
async fn tainted_in_history(client: &Client, id: &str) -> Vec<String> {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let events = client
        .get_workflow_handle::<Target>(id)
        .fetch_history(Default::default())
        .into_events()
        .await
        .expect("history");
    let mut found: Vec<String> = scenario::recorded_headers(&events, "tainted")
        .into_iter()
        .map(|(hook, v)| format!("{hook}: {v}"))
        .collect();
    for e in &events {
        if let Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) = &e.attributes
            && a.header
                .as_ref()
                .is_some_and(|h| h.fields.contains_key("tainted"))
        {
            found.push("start-workflow".into());
        }
    }
    found
}

/// The first workflow task failure of `id`, waiting for it (bounded).
async fn task_failure(client: &Client, id: &str) -> String {
    let handle = client.get_workflow_handle::<Target>(id);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let events = handle
            .fetch_history(Default::default())
            .into_events()
            .await
            .expect("history");
        if let Some(e) = events
            .iter()
            .find(|e| e.event_type() == EventType::WorkflowTaskFailed)
        {
            return format!("{e:?}");
        }
        assert!(
            Instant::now() < deadline,
            "{id}: a workflow task failure within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn status(client: &Client, id: &str) -> WorkflowExecutionStatus {
    client
        .get_workflow_handle::<Target>(id)
        .describe(WorkflowDescribeOptions::default())
        .await
        .expect("describe")
        .raw_description
        .workflow_execution_info
        .expect("info")
        .status()
}

/// Start to close of a closed run, by the server's clock.
async fn run_time(client: &Client, id: &str) -> Duration {
    let info = client
        .get_workflow_handle::<Target>(id)
        .describe(WorkflowDescribeOptions::default())
        .await
        .expect("describe")
        .raw_description
        .workflow_execution_info
        .expect("info");
    let (start, close) = (
        info.start_time.expect("start time"),
        info.close_time.expect("close time"),
    );
    Duration::new(close.seconds as u64, close.nanos as u32)
        - Duration::new(start.seconds as u64, start.nanos as u32)
}

/// The error names guest, hook, phase and cause.
fn names(text: &str, c: &Case, cat: Cat) {
    if c.deliberate {
        assert!(text.contains(c.cause), "{}: {text}", c.name);
        return;
    }
    let who = format!(
        "interceptor `{}` failed in hook `{}` (before)",
        c.name,
        cat.hook()
    );
    assert!(
        text.contains(&who),
        "{}: names guest, hook, phase: {text}",
        c.name
    );
    assert!(
        text.contains(c.cause),
        "{}: names the cause: {text}",
        c.name
    );
}

async fn hostile_on_temporal(cat: Cat) {
    let pid = std::process::id();
    let queue = format!("hostile-{}-{pid}", cat.tag());
    let closed = interpose(cat, "fail-closed");
    let client = scenario::client(&dev_server().url(), Some(&closed)).await;
    let victim = |c: &Case, phase: u32| format!("{}-{}-{phase}-{pid}", c.name, cat.tag());
    let bystanders: Vec<String> = (0..3)
        .map(|n| format!("bystander-{}-{pid}-{n}", cat.tag()))
        .collect();

    // Phase one: fail-closed.
    let mut running = Vec::new();
    let started = Instant::now();
    let slowest = scenario::with_worker(&client, worker_options(&queue, &closed, &client), async {
        for id in &bystanders {
            client
                .start_workflow(Target::run, (), start_options(&queue, id))
                .await
                .expect("bystanders start");
        }
        for c in cat.cases() {
            let id = victim(c, 1);
            let start = client
                .start_workflow(Target::run, (), start_options(&queue, &id))
                .await;
            if let (Some(answer), "respond") = (cat.answered(), c.behavior) {
                start.expect("starts");
                assert_eq!(
                    result(&client, &id).await.as_deref(),
                    Ok(answer),
                    "{id}: the guest's answer is the result"
                );
                continue;
            }
            match cat {
                Cat::Client => {
                    let err = format!("{:?}", start.err().expect("the start fails"));
                    names(&err, c, cat);
                    assert!(
                        client
                            .get_workflow_handle::<Target>(&id)
                            .describe(WorkflowDescribeOptions::default())
                            .await
                            .is_err(),
                        "{id}: never reached the server"
                    );
                }
                Cat::WorkflowInbound if c.deliberate => {
                    start.expect("starts");
                    let err = result(&client, &id).await.expect_err("the workflow fails");
                    names(&err, c, cat);
                }
                Cat::WorkflowOutbound if c.deliberate => {
                    // Rejecting a command fails the task, by design, under either policy.
                    start.expect("starts");
                    names(&task_failure(&client, &id).await, c, cat);
                    client
                        .get_workflow_handle::<Target>(&id)
                        .terminate(Default::default())
                        .await
                        .expect("clean up");
                }
                Cat::WorkflowInbound | Cat::WorkflowOutbound => {
                    start.expect("starts");
                    names(&task_failure(&client, &id).await, c, cat);
                    assert_eq!(
                        status(&client, &id).await,
                        WorkflowExecutionStatus::Running,
                        "{id}: the workflow task failed, the workflow did not"
                    );
                    running.push(id);
                }
                Cat::Activity => {
                    start.expect("starts");
                    let r = result(&client, &id).await.expect("completes");
                    assert!(r.starts_with("activity failed"), "{id}: {r}");
                    names(&r, c, cat);
                }
            }
        }
        // The bystanders completed beside all of it, untouched, and not held up: each ran
        // start to close in a few seconds although hostile guests sat in the same chain.
        let mut slowest = Duration::ZERO;
        for id in &bystanders {
            assert_eq!(
                result(&client, id).await.as_deref(),
                Ok("ok tainted=\"\""),
                "{id}"
            );
            slowest = slowest.max(run_time(&client, id).await);
        }
        assert!(
            slowest < Duration::from_secs(10),
            "bystanders ran at most {slowest:?} start to close"
        );
        slowest
    })
    .await;
    eprintln!(
        "hostile {cat:?}: slowest bystander {slowest:.1?} start to close; phase one {:.1?}",
        started.elapsed()
    );

    // Phase two: the operator sets every guest to skip; same queue, new worker.
    let skip = interpose(cat, "skip");
    let client = scenario::client(&dev_server().url(), Some(&skip)).await;
    scenario::with_worker(&client, worker_options(&queue, &skip, &client), async {
        for id in &running {
            assert_eq!(
                result(&client, id).await.as_deref(),
                Ok("ok tainted=\"\""),
                "{id}: left running by phase one, completes once its guest is skipped"
            );
        }
        for c in cat.cases() {
            let id = victim(c, 2);
            let start = client
                .start_workflow(Target::run, (), start_options(&queue, &id))
                .await;
            if let (Some(answer), "respond") = (cat.answered(), c.behavior) {
                start.expect("starts");
                assert_eq!(
                    result(&client, &id).await.as_deref(),
                    Ok(answer),
                    "{id}: an allowed answer is a decision, the same under skip"
                );
                continue;
            }
            if c.deliberate {
                // A rejection is a decision, not a failure: skip does not apply.
                match cat {
                    Cat::Client => names(&format!("{:?}", start.err().expect("rejected")), c, cat),
                    Cat::WorkflowInbound => {
                        start.unwrap();
                        names(&result(&client, &id).await.expect_err("fails"), c, cat);
                    }
                    Cat::WorkflowOutbound => {
                        start.unwrap();
                        names(&task_failure(&client, &id).await, c, cat);
                        client
                            .get_workflow_handle::<Target>(&id)
                            .terminate(Default::default())
                            .await
                            .expect("clean up");
                    }
                    Cat::Activity => {
                        start.unwrap();
                        names(&result(&client, &id).await.unwrap(), c, cat);
                    }
                }
                continue;
            }
            start.unwrap_or_else(|e| panic!("{id}: skipped guest, the start goes through: {e}"));
            // The activity returns the `tainted` header it got (execute-activity's edits
            // would arrive there); history holds the start's and the schedule's headers
            // (start-workflow's and schedule-activity's edits would arrive there).
            assert_eq!(
                result(&client, &id).await.as_deref(),
                Ok("ok tainted=\"\""),
                "{id}: the guest is skipped and its edits rolled back"
            );
            assert_eq!(
                tainted_in_history(&client, &id).await,
                Vec::<String>::new(),
                "{id}: no leftover edit reached history"
            );
        }
    })
    .await;
    for id in &running {
        assert_eq!(
            status(&client, id).await,
            WorkflowExecutionStatus::Completed,
            "{id}: no workflow lost"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_on_temporal_client_hooks() {
    hostile_on_temporal(Cat::Client).await;
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_on_temporal_workflow_inbound_hooks() {
    hostile_on_temporal(Cat::WorkflowInbound).await;
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_on_temporal_workflow_outbound_hooks() {
    hostile_on_temporal(Cat::WorkflowOutbound).await;
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_on_temporal_activity_hooks() {
    hostile_on_temporal(Cat::Activity).await;
}
