//! Integration tier, workflows on a real worker and dev server: the seed's context propagation
//! through the Rust guest (the scenario is `interpose_tests::propagation`, shared with the
//! Python, JavaScript and C guests in `polyglot.rs`), and guest failures in workflow tasks.

use std::str::FromStr;
use std::time::Duration;

use interpose::temporal::Interpose;
use interpose_tests::propagation::{Greetings, ShipWorkflow};
use interpose_tests::{chain, dev_server, guest, guests, runtime};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowGetResultOptions,
    WorkflowStartOptions,
};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

#[tokio::test(flavor = "current_thread")]
async fn temporal_workflow_user_id_propagates_from_client_to_workflow_activities_child_and_signal()
{
    interpose_tests::propagation::user_id_propagates(
        guests::CONTEXT_PROPAGATION,
        "propagation-rust",
    )
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_plugin_registration_runs_the_same_chain_as_explicit_registration() {
    use interpose_tests::propagation::{Registration, user_id_propagates_with};
    let explicit = user_id_propagates_with(
        guests::CONTEXT_PROPAGATION,
        "registered-explicitly",
        Registration::Explicit,
    )
    .await;
    let plugin = user_id_propagates_with(
        guests::CONTEXT_PROPAGATION,
        "registered-as-plugin",
        Registration::Plugin,
    )
    .await;
    // The user id comes from the client guest (start-workflow), so `user=alice` in
    // workflow and activity hooks shows all three categories ran.
    assert!(
        explicit.contains(&"witness: OrderWorkflow execute-workflow user=alice".to_owned())
            && explicit.contains(&"witness: OrderWorkflow execute-activity user=alice".to_owned()),
        "client, workflow and activity hooks ran: {explicit:#?}"
    );
    assert_eq!(
        plugin, explicit,
        "the plugin runs the same guests in the same hooks with the same headers"
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
        .activity_inbound_interceptor(interpose.activity_interceptor(&client))
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

/// Records how each run ended, as `after(execute-workflow)` saw it.
#[derive(Debug, Default)]
struct RunEnds(std::sync::Mutex<Vec<String>>);

impl interpose::chain::NativeInterceptor for RunEnds {
    fn wants(&self, hook: interpose::chain::Hook) -> bool {
        hook == interpose::chain::Hook::ExecuteWorkflow
    }

    fn after(
        &self,
        _: &interpose::chain::Call,
        outcome: interpose::chain::Outcome,
        scope: &interpose::services::Scope,
    ) -> interpose::chain::Outcome {
        let interpose::services::Scope::Workflow(w) = scope else {
            return outcome;
        };
        let how = match &outcome {
            interpose::chain::Outcome::Ok(_) => "completed".to_owned(),
            interpose::chain::Outcome::Err(f) => format!("{}: {}", f.error_type, f.message),
        };
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {how}", w.info().workflow_type));
        outcome
    }
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_after_execute_workflow_sees_a_run_continue_as_new_and_a_run_cancelled() {
    use interpose_tests::scenario::Poked;
    use std::sync::Arc;
    use temporalio_client::WorkflowCancelOptions;
    let ends = Arc::new(RunEnds::default());
    // A guest that fails every run's end, before `ends` in the chain (so `ends` sees each
    // end as Temporal produced it): its change holds for a run that completes and is
    // ignored for one that continues as new or is cancelled.
    let toml = guest(
        "p",
        guests::PROBE,
        "[guest.config]\ntag = 'p'\nafter = 'fail-run'",
    ) + "[[guest]]\nname = 'ends'\nnative = true\n";
    let config = interpose::config::Config::from_toml(
        &toml,
        std::path::Path::new("/"),
        std::path::Path::new("ends.toml"),
    )
    .unwrap();
    let loaded = interpose::chain::Chain::load(
        runtime(),
        &config,
        vec![(
            "ends".into(),
            ends.clone() as Arc<dyn interpose::chain::NativeInterceptor>,
        )],
    )
    .unwrap();
    let interpose = Interpose::from_chain(runtime().clone(), loaded);
    let client = interpose_tests::scenario::client(&dev_server().url(), None).await;
    let queue = "interpose-run-ends";
    let options = WorkerOptions::new(queue)
        .register_workflow::<ShipWorkflow>()
        .unwrap()
        .register_workflow::<Poked>()
        .unwrap()
        .register_activities(Greetings)
        .workflow_interceptor(interpose.workflow_interceptor())
        .activity_inbound_interceptor(interpose.activity_interceptor(&client))
        .build();
    let pid = std::process::id();
    let driver = client.clone();
    interpose_tests::scenario::with_worker(&client, options, async move {
        // A run that continues as new; the next run completes, and the guest fails it.
        let ship = driver
            .start_workflow(
                ShipWorkflow::run,
                format!("{}bob", interpose_tests::propagation::CONTINUE),
                WorkflowStartOptions::new(queue, format!("ends-ship-{pid}")).build(),
            )
            .await
            .unwrap();
        let shipped = tokio::time::timeout(
            Duration::from_secs(60),
            ship.get_result(WorkflowGetResultOptions::default()),
        )
        .await
        .expect("the ship workflow ends within a minute");
        let err = format!(
            "{:?}",
            shipped.expect_err("the guest fails the completed run")
        );
        assert!(err.contains("failed by p"), "{err}");
        // A run cancelled while it waits.
        let poked = driver
            .start_workflow(
                Poked::run,
                (),
                WorkflowStartOptions::new(queue, format!("ends-poked-{pid}")).build(),
            )
            .await
            .unwrap();
        poked
            .cancel(WorkflowCancelOptions::builder().reason("test").build())
            .await
            .unwrap();
        let r = tokio::time::timeout(
            Duration::from_secs(60),
            poked.get_result(WorkflowGetResultOptions::default()),
        )
        .await
        .expect("the cancelled workflow ends within a minute");
        let err = format!("{:?}", r.expect_err("the run was cancelled"));
        assert!(
            err.to_lowercase().contains("cancel") && !err.contains("failed by p"),
            "cancelled, whatever the guest did: {err}"
        );
    })
    .await;
    let mut ends = ends.0.lock().unwrap().clone();
    ends.sort();
    assert_eq!(
        ends,
        [
            "Poked Cancelled: cancelled",
            "ShipWorkflow ContinueAsNew: continued as new",
            "ShipWorkflow completed",
        ],
        "every run's end reaches `after`, and a guest's change does not stop a run from \
         continuing as new or being cancelled"
    );
}
