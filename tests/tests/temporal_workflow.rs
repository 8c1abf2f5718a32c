//! Integration tier: the seed's context propagation through Wasm guests only, on a real
//! worker and dev server: a user id set by a client guest reaches workflow execute, each
//! activity, a child workflow and a signal handler.

use std::str::FromStr;
use std::time::Duration;

use interpose::temporal::Interpose;
use interpose_tests::{chain, dev_server, guest, guests, runtime};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowGetResultOptions,
    WorkflowSignalOptions, WorkflowStartOptions,
};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{
    ActivityOptions, ChildWorkflowOptions, Runtime, SyncWorkflowContext, Worker, WorkerOptions,
    WorkflowContext, WorkflowResult,
};

#[workflow]
#[derive(Default)]
struct OrderWorkflow {
    approved: bool,
}

#[workflow_methods]
impl OrderWorkflow {
    #[run]
    async fn run(ctx: &mut WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let greeting = ctx
            .execute_activity(
                Greetings::greet,
                name.clone(),
                ActivityOptions::start_to_close_timeout(Duration::from_secs(10)),
            )
            .await?;
        let child = ctx
            .start_child_workflow(
                ShipWorkflow::run,
                name,
                ChildWorkflowOptions::workflow_id(format!("{}-ship", ctx.workflow_id())),
            )
            .await?;
        let shipped = child.result().await?;
        ctx.wait_condition(|s| s.approved).await?;
        Ok(format!("{greeting}; {shipped}"))
    }

    #[signal]
    fn approve(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _by: String) {
        self.approved = true;
    }
}

#[workflow]
#[derive(Default)]
struct ShipWorkflow;

#[workflow_methods]
impl ShipWorkflow {
    #[run]
    async fn run(ctx: &mut WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let r = ctx
            .execute_activity(
                Greetings::greet,
                format!("ship {name}"),
                ActivityOptions::start_to_close_timeout(Duration::from_secs(10)),
            )
            .await?;
        Ok(r)
    }
}

struct Greetings;

#[activities]
impl Greetings {
    #[activity]
    async fn greet(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
        Ok(format!("hello {name}"))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_workflow_user_id_propagates_from_client_to_workflow_activities_child_and_signal()
{
    let t = chain(
        &(guest(
            "ctx",
            guests::CONTEXT_PROPAGATION,
            "[guest.config]\nuser-id = 'alice'",
        ) + &guest("witness", guests::WITNESS, "")),
    );
    let interpose = Interpose::from_chain(runtime().clone(), t.chain.clone());

    let url = Url::from_str(&dev_server().url()).unwrap();
    let connection = Connection::connect(ConnectionOptions::new(url).build())
        .await
        .unwrap();
    let client = Client::new(
        connection,
        ClientOptions::new("default")
            .client_interceptors(vec![interpose.client_interceptor()])
            .build(),
    )
    .unwrap();
    let queue = "interpose-propagation";
    let sdk = Runtime::from_current_tokio(Default::default()).unwrap();
    let options = WorkerOptions::new(queue)
        .register_workflow::<OrderWorkflow>()
        .unwrap()
        .register_workflow::<ShipWorkflow>()
        .unwrap()
        .register_activities(Greetings)
        .workflow_interceptor(interpose.workflow_interceptor())
        .activity_inbound_interceptor(interpose.activity_interceptor())
        .build();
    let mut worker = Worker::new(&sdk, client.clone(), options).unwrap();
    let shutdown = worker.shutdown_handle();
    let id = format!("order-{}", std::process::id());
    let local = tokio::task::LocalSet::new();
    let result = local
        .run_until(async move {
            let running = tokio::task::spawn_local(async move { worker.run().await });
            let handle = client
                .start_workflow(
                    OrderWorkflow::run,
                    "bob".to_string(),
                    WorkflowStartOptions::new(queue, &id).build(),
                )
                .await
                .unwrap();
            handle
                .signal(
                    OrderWorkflow::approve,
                    "carol".to_string(),
                    WorkflowSignalOptions::default(),
                )
                .await
                .unwrap();
            let result = tokio::time::timeout(
                Duration::from_secs(60),
                handle.get_result(WorkflowGetResultOptions::default()),
            )
            .await
            .expect("the workflow finishes within a minute")
            .unwrap();
            shutdown();
            running.await.unwrap().unwrap();
            result
        })
        .await;
    assert_eq!(result, "hello bob; hello ship bob");

    let lines: Vec<String> = t
        .logs
        .lines()
        .into_iter()
        .filter(|l| l.guest == "witness")
        .map(|l| l.message)
        .collect();
    for expected in [
        "OrderWorkflow execute-workflow user=alice",
        "OrderWorkflow schedule-activity user=alice",
        "OrderWorkflow execute-activity user=alice",
        "OrderWorkflow start-child-workflow user=alice",
        "ShipWorkflow execute-workflow user=alice",
        "ShipWorkflow schedule-activity user=alice",
        "ShipWorkflow execute-activity user=alice",
        "OrderWorkflow handle-signal user=alice",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "missing `{expected}` in {lines:#?}"
        );
    }
    assert!(
        !lines.iter().any(|l| l.ends_with("user=none")),
        "every hop carried the user: {lines:#?}"
    );
}

/// Run `OrderWorkflow`-like `ShipWorkflow` on a worker with `chain` until `stop` says so.
async fn run_worker_until<F: std::future::Future<Output = ()>>(
    chain: interpose::Chain,
    client: Client,
    queue: &str,
    stop: F,
) {
    let interpose = Interpose::from_chain(runtime().clone(), chain);
    let sdk = Runtime::from_current_tokio(Default::default()).unwrap();
    let options = WorkerOptions::new(queue)
        .register_workflow::<ShipWorkflow>()
        .unwrap()
        .register_activities(Greetings)
        .workflow_interceptor(interpose.workflow_interceptor())
        .activity_inbound_interceptor(interpose.activity_interceptor())
        .build();
    let mut worker = Worker::new(&sdk, client, options).unwrap();
    let shutdown = worker.shutdown_handle();
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let running = tokio::task::spawn_local(async move { worker.run().await });
            stop.await;
            shutdown();
            running.await.unwrap().unwrap();
        })
        .await;
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_workflow_guest_failure_fails_the_task_not_the_workflow_and_it_completes_once_skipped()
 {
    use temporalio_common::protos::temporal::api::enums::v1::EventType;
    let url = Url::from_str(&dev_server().url()).unwrap();
    let connection = Connection::connect(ConnectionOptions::new(url).build())
        .await
        .unwrap();
    let client = Client::new(connection, ClientOptions::new("default").build()).unwrap();
    let queue = "interpose-task-failure";
    let id = format!("ship-{}", std::process::id());
    let handle = client
        .start_workflow(
            ShipWorkflow::run,
            "parcel".to_string(),
            WorkflowStartOptions::new(queue, &id).build(),
        )
        .await
        .unwrap();

    // A guest that panics when the workflow schedules its activity, fail-closed.
    let hostile = |policy: &str| {
        chain(&guest(
            "hostile",
            guests::HOSTILE,
            &format!("on-failure = '{policy}'\n[guest.config]\nbehavior = 'panic'\nonly = 'schedule-activity'"),
        ))
        .chain
    };
    let history_has_task_failure = {
        let handle = &handle;
        async move {
            for _ in 0..100 {
                let events = handle
                    .fetch_history(Default::default())
                    .into_events()
                    .await
                    .unwrap();
                if events
                    .iter()
                    .any(|e| e.event_type() == EventType::WorkflowTaskFailed)
                {
                    return events;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("no workflow task failure within 10 s");
        }
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let watcher = async move {
        let events = history_has_task_failure.await;
        let _ = tx.send(events);
    };
    let closed = client.clone();
    let worker = run_worker_until(hostile("fail-closed"), closed, queue, async {
        let _ = rx.await;
    });
    tokio::join!(worker, watcher);
    let events = handle
        .fetch_history(Default::default())
        .into_events()
        .await
        .unwrap();
    let failed = events
        .iter()
        .find(|e| e.event_type() == EventType::WorkflowTaskFailed)
        .expect("the guest failure failed the workflow task");
    let text = format!("{failed:?}");
    assert!(
        text.contains("interceptor `hostile` failed in hook `schedule-activity` (before)"),
        "the task failure names guest, hook and phase: {text}"
    );
    assert!(
        text.contains("hostile guest panics on purpose"),
        "and the cause: {text}"
    );
    assert!(
        !events
            .iter()
            .any(|e| e.event_type() == EventType::WorkflowExecutionFailed),
        "the workflow itself did not fail"
    );

    // The operator switches the guest to skip; the retried task succeeds and the workflow
    // completes.
    let result = std::rc::Rc::new(std::cell::RefCell::new(None));
    let out = result.clone();
    let h = &handle;
    run_worker_until(hostile("skip"), client.clone(), queue, async move {
        let r = tokio::time::timeout(
            Duration::from_secs(60),
            h.get_result(WorkflowGetResultOptions::default()),
        )
        .await
        .expect("the workflow completes once the guest is skipped")
        .unwrap();
        *out.borrow_mut() = Some(r);
    })
    .await;
    assert_eq!(result.borrow().as_deref(), Some("hello ship parcel"));
}
