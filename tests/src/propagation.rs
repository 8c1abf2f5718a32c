//! The seed's context propagation on a real worker and dev server, for any context-propagation
//! guest (Rust, Python, JavaScript, C): a user id set by the client guest reaches workflow
//! execute, each activity, a child workflow, the child's next run after continue-as-new and a
//! signal handler. The `witness` guest, placed
//! after the guest under test, logs the `user-id` header it sees in every hook.

use std::time::Duration;

use interpose::temporal::Interpose;
use temporalio_client::{WorkflowGetResultOptions, WorkflowSignalOptions, WorkflowStartOptions};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{
    ActivityOptions, ChildWorkflowOptions, ContinueAsNewOptions, SyncWorkflowContext,
    WorkerOptions, WorkflowContext, WorkflowResult,
};

use crate::{chain, dev_server, guest, guests, runtime, scenario};

#[workflow]
#[derive(Default)]
pub struct OrderWorkflow {
    approved: bool,
}

#[workflow_methods]
impl OrderWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let greeting = ctx
            .execute_activity(
                Greetings::greet,
                name.clone(),
                ActivityOptions::start_to_close_timeout(Duration::from_secs(10)),
            )
            .await?;
        // The child continues as new once before it ships: the user must reach its next run.
        let child = ctx
            .start_child_workflow(
                ShipWorkflow::run,
                format!("{CONTINUE}{name}"),
                ChildWorkflowOptions::workflow_id(format!("{}-ship", ctx.workflow_id())),
            )
            .await?;
        let shipped = child.result().await?;
        ctx.wait_condition(|s| s.approved).await?;
        Ok(format!("{greeting}; {shipped}"))
    }

    #[signal]
    pub fn approve(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _by: String) {
        self.approved = true;
    }
}

#[workflow]
#[derive(Default)]
pub struct ShipWorkflow;

/// A `ShipWorkflow` input with this prefix continues as new (without it) before it ships.
pub const CONTINUE: &str = "continue:";

#[workflow_methods]
impl ShipWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        if let Some(rest) = name.strip_prefix(CONTINUE) {
            ctx.continue_as_new(rest.to_string(), ContinueAsNewOptions::default())?;
            unreachable!("continue-as-new does not return");
        }
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

pub struct Greetings;

#[activities]
impl Greetings {
    #[activity]
    pub async fn greet(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
        Ok(format!("hello {name}"))
    }
}

/// Run `OrderWorkflow` (activity, child with its own activity, signal) on a worker whose chain
/// is the context-propagation guest at `component` (config `user-id = 'alice'`) followed by
/// the witness, on task queue `queue`; assert that every hop carried `alice` and that the
/// guest logged the user with the activity.
pub async fn user_id_propagates(component: &str, queue: &str) {
    user_id_propagates_with(component, queue, Registration::Explicit).await;
}

/// How the test registers Interpose with the client and the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    /// Each interceptor on its own: client interceptors, then the worker's.
    Explicit,
    /// `Interpose::plugin` on the client only; the worker picks it up from the client.
    Plugin,
}

/// [`user_id_propagates`], registered as `how` says; returns every line the two guests
/// logged, sorted (what ran, in which hooks, with which headers).
pub async fn user_id_propagates_with(
    component: &str,
    queue: &str,
    how: Registration,
) -> Vec<String> {
    let t = chain(
        &(guest("ctx", component, "[guest.config]\nuser-id = 'alice'")
            + &guest("witness", guests::WITNESS, "")),
    );
    let interpose = Interpose::from_chain(runtime().clone(), t.chain.clone());

    let options = WorkerOptions::new(queue)
        .register_workflow::<OrderWorkflow>()
        .unwrap()
        .register_workflow::<ShipWorkflow>()
        .unwrap()
        .register_activities(Greetings);
    let (client, options) = match how {
        Registration::Explicit => {
            let client = scenario::client(&dev_server().url(), Some(&interpose)).await;
            let options = options
                .workflow_interceptor(interpose.workflow_interceptor())
                .activity_inbound_interceptor(interpose.activity_interceptor(&client))
                .build();
            (client, options)
        }
        Registration::Plugin => {
            let url = temporalio_client::Url::parse(&dev_server().url()).unwrap();
            let connection = temporalio_client::Connection::connect(
                temporalio_client::ConnectionOptions::new(url).build(),
            )
            .await
            .unwrap();
            let client = temporalio_client::Client::new(
                connection.clone(),
                temporalio_client::ClientOptions::new("default")
                    .plugin(interpose.plugin(&connection))
                    .build(),
            )
            .unwrap();
            (client, options.build())
        }
    };
    let id = format!("order-{queue}-{}", std::process::id());
    let result = scenario::with_worker(&client, options, async {
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
        tokio::time::timeout(
            Duration::from_secs(60),
            handle.get_result(WorkflowGetResultOptions::default()),
        )
        .await
        .expect("the workflow finishes within a minute")
        .unwrap()
    })
    .await;
    assert_eq!(result, "hello bob; hello ship bob");

    let lines = t.logs.lines();
    let witnessed: Vec<&str> = lines
        .iter()
        .filter(|l| l.guest == "witness")
        .map(|l| l.message.as_str())
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
            witnessed.contains(&expected),
            "{component}: missing `{expected}` in {witnessed:#?}"
        );
    }
    assert!(
        !witnessed.iter().any(|l| l.ends_with("user=none")),
        "{component}: every hop carried the user: {witnessed:#?}"
    );
    let used: Vec<&str> = lines
        .iter()
        .filter(|l| l.guest == "ctx")
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(
        used.iter()
            .filter(|l| l.starts_with("activity ") && l.ends_with(" runs for user alice"))
            .count(),
        2,
        "{component}: the guest used the user in both activities: {used:#?}"
    );
    let mut all: Vec<String> = lines
        .iter()
        .map(|l| format!("{}: {}", l.guest, l.message))
        .collect();
    all.sort();
    all
}
