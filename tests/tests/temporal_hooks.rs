//! Integration tier: a tracing guest sees every workflow and activity hook exactly as
//! Temporal's own SDK interceptor tests enumerate them — execute (initial, child, external,
//! after continue-as-new), signal (direct, via child handle, via external handle), query,
//! update handler, update validator rejecting an input, activity and local activity
//! execution, start child, signal child, signal external, continue-as-new, timer — and
//! nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::Duration;

use interpose::temporal::Interpose;
use interpose_tests::{chain, dev_server, guest, guests, runtime};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowExecuteUpdateOptions,
    WorkflowGetResultOptions, WorkflowQueryOptions, WorkflowSignalOptions, WorkflowStartOptions,
};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{
    ActivityOptions, ChildWorkflowOptions, ContinueAsNewOptions, LocalActivityOptions, Runtime,
    SyncWorkflowContext, Worker, WorkerOptions, WorkflowContext, WorkflowContextView,
    WorkflowResult,
};

#[workflow]
#[derive(Default)]
struct Traced {
    approved: bool,
    value: u32,
}

#[workflow_methods]
impl Traced {
    #[run]
    async fn run(ctx: &mut WorkflowContext<Self>, input: (String, u32)) -> WorkflowResult<u32> {
        let (target, round) = input;
        if round == 1 {
            return Ok(ctx.state(|s| s.value));
        }
        ctx.execute_activity(
            Acts::work,
            1u32,
            ActivityOptions::start_to_close_timeout(Duration::from_secs(10)),
        )
        .await?;
        ctx.execute_local_activity(
            Acts::work,
            2u32,
            LocalActivityOptions::builder()
                .start_to_close_timeout(Duration::from_secs(10))
                .build(),
        )
        .await?;
        ctx.timer(Duration::from_millis(10)).await;
        let child = ctx
            .start_child_workflow(
                Poked::run,
                (),
                ChildWorkflowOptions::workflow_id(format!("{}-child", ctx.workflow_id())),
            )
            .await?;
        child.signal(Poked::poke, (), Default::default()).await?;
        ctx.external_workflow(target, None)
            .signal(Poked::poke, (), Default::default())
            .await?;
        child.result().await?;
        ctx.wait_condition(|s| s.approved).await?;
        ctx.continue_as_new((String::new(), 1), ContinueAsNewOptions::default())?;
        unreachable!("continue-as-new does not return")
    }

    #[signal]
    fn approve(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _by: String) {
        self.approved = true;
    }

    #[query]
    fn value(&self, _ctx: &WorkflowContextView) -> u32 {
        self.value
    }

    #[update_validator(set_value)]
    fn validate_value(
        &self,
        _ctx: &WorkflowContextView,
        v: &u32,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if *v > 10 {
            Err("value must be at most 10".into())
        } else {
            Ok(())
        }
    }

    #[update]
    fn set_value(&mut self, _ctx: &mut SyncWorkflowContext<Self>, v: u32) -> u32 {
        std::mem::replace(&mut self.value, v)
    }
}

#[workflow]
#[derive(Default)]
struct Poked {
    poked: bool,
}

#[workflow_methods]
impl Poked {
    #[run]
    async fn run(ctx: &mut WorkflowContext<Self>, _: ()) -> WorkflowResult<()> {
        ctx.wait_condition(|s| s.poked).await?;
        Ok(())
    }

    #[signal]
    fn poke(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _: ()) {
        self.poked = true;
    }
}

struct Acts;

#[activities]
impl Acts {
    #[activity]
    async fn work(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
        Ok(n * 2)
    }
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_tracing_guest_sees_every_hook_exactly_and_nothing_else() {
    let t = chain(&guest("witness", guests::WITNESS, ""));
    let interpose = Interpose::from_chain(runtime().clone(), t.chain.clone());
    let url = Url::from_str(&dev_server().url()).unwrap();
    let connection = Connection::connect(ConnectionOptions::new(url).build())
        .await
        .unwrap();
    let client = Client::new(connection, ClientOptions::new("default").build()).unwrap();
    let queue = "interpose-hooks";
    let sdk = Runtime::from_current_tokio(Default::default()).unwrap();
    let options = WorkerOptions::new(queue)
        .register_workflow::<Traced>()
        .unwrap()
        .register_workflow::<Poked>()
        .unwrap()
        .register_activities(Acts)
        .workflow_interceptor(interpose.workflow_interceptor())
        .activity_inbound_interceptor(interpose.activity_interceptor(&client))
        .build();
    let mut worker = Worker::new(&sdk, client.clone(), options).unwrap();
    let shutdown = worker.shutdown_handle();
    let pid = std::process::id();
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let running = tokio::task::spawn_local(async move { worker.run().await });
            let target = format!("target-{pid}");
            let target_handle = client
                .start_workflow(
                    Poked::run,
                    (),
                    WorkflowStartOptions::new(queue, &target).build(),
                )
                .await
                .unwrap();
            let handle = client
                .start_workflow(
                    Traced::run,
                    (target.clone(), 0),
                    WorkflowStartOptions::new(queue, format!("traced-{pid}")).build(),
                )
                .await
                .unwrap();
            let old = handle
                .execute_update(
                    Traced::set_value,
                    7,
                    WorkflowExecuteUpdateOptions::default(),
                )
                .await
                .unwrap();
            assert_eq!(old, 0);
            let rejected = handle
                .execute_update(
                    Traced::set_value,
                    99,
                    WorkflowExecuteUpdateOptions::default(),
                )
                .await;
            let err = rejected.expect_err("the validator rejects 99");
            assert!(
                err.to_string().contains("value must be at most 10"),
                "{err}"
            );
            let v = handle
                .query(Traced::value, (), WorkflowQueryOptions::default())
                .await
                .unwrap();
            assert_eq!(v, 7);
            handle
                .signal(
                    Traced::approve,
                    "carol".to_string(),
                    WorkflowSignalOptions::default(),
                )
                .await
                .unwrap();
            let r = tokio::time::timeout(
                Duration::from_secs(60),
                handle.get_result(WorkflowGetResultOptions::default()),
            )
            .await
            .expect("finishes within a minute")
            .unwrap();
            assert_eq!(
                r, 0,
                "the run after continue-as-new starts with fresh state"
            );
            target_handle
                .get_result(WorkflowGetResultOptions::default())
                .await
                .unwrap();
            shutdown();
            running.await.unwrap().unwrap();
        })
        .await;

    // What the witness saw, per workflow type: hook -> count.
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for l in t.logs.lines().into_iter().filter(|l| l.guest == "witness") {
        let mut parts = l.message.split(' ');
        let (wf, hook) = (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        );
        *seen.entry((wf, hook)).or_default() += 1;
    }
    let pairs: BTreeSet<(&str, &str)> =
        seen.keys().map(|(w, h)| (w.as_str(), h.as_str())).collect();
    let expected: BTreeSet<(&str, &str)> = [
        ("Traced", "execute-workflow"),
        ("Traced", "schedule-activity"),
        ("Traced", "schedule-local-activity"),
        ("Traced", "execute-activity"),
        ("Traced", "start-timer"),
        ("Traced", "start-child-workflow"),
        ("Traced", "signal-external-workflow"),
        ("Traced", "handle-signal"),
        ("Traced", "handle-query"),
        ("Traced", "validate-update"),
        ("Traced", "handle-update"),
        ("Traced", "continue-as-new"),
        ("Poked", "execute-workflow"),
        ("Poked", "handle-signal"),
    ]
    .into_iter()
    .collect();
    assert_eq!(pairs, expected, "hooks seen: {seen:#?}");
    let count = |w: &str, h: &str| {
        seen.get(&(w.to_owned(), h.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(
        count("Traced", "execute-workflow"),
        2,
        "initial run and the run after continue-as-new"
    );
    assert_eq!(
        count("Poked", "execute-workflow"),
        2,
        "the child and the external target"
    );
    assert_eq!(
        count("Poked", "handle-signal"),
        2,
        "via the child handle and via the external handle"
    );
    assert_eq!(
        count("Traced", "signal-external-workflow"),
        2,
        "signal child and signal external"
    );
    assert_eq!(
        count("Traced", "execute-activity"),
        2,
        "the activity and the local activity"
    );
    assert_eq!(
        count("Traced", "validate-update"),
        2,
        "one accepted, one rejected"
    );
    assert_eq!(
        count("Traced", "handle-update"),
        1,
        "only the accepted update runs its handler"
    );
}
