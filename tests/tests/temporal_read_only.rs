//! Guest failures in queries and update validators, on a real dev server. They produce no
//! commands, so a failure there must not touch the run: a failed query returns an error
//! naming guest, hook, phase and cause; a failed validator rejects that update with the
//! same message; the workflow task never fails and the run completes.
//!
//! Every test here has `hostile` in its name: `cargo test --workspace -- hostile`.

use std::time::Duration;

use interpose::temporal::Interpose;
use interpose_tests::{dev_server, guest, guests, runtime, scenario};
use temporalio_client::{
    WorkflowExecuteUpdateOptions, WorkflowGetResultOptions, WorkflowQueryOptions,
    WorkflowSignalOptions, WorkflowStartOptions,
};
use temporalio_common::protos::temporal::api::enums::v1::EventType;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult};

/// Waits for `approve`; serves a query and an update with a validator meanwhile.
#[workflow]
#[derive(Default)]
struct Gated {
    approved: bool,
    value: u32,
}

#[workflow_methods]
impl Gated {
    #[run]
    async fn run(ctx: &mut WorkflowContext<Self>, _: ()) -> WorkflowResult<u32> {
        ctx.wait_condition(|s| s.approved).await?;
        Ok(ctx.state(|s| s.value))
    }

    #[signal]
    fn approve(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _: ()) {
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
        _v: &u32,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(())
    }

    #[update]
    fn set_value(&mut self, _ctx: &mut SyncWorkflowContext<Self>, v: u32) -> u32 {
        std::mem::replace(&mut self.value, v)
    }
}

/// Two hostile guests, fail-closed: one panics in `handle-query`, one in `validate-update`
/// (`before`), both only for workflows whose id starts `gated-`.
fn interpose() -> Interpose {
    let hostile = |name: &str, hook: &str| {
        guest(
            name,
            guests::HOSTILE,
            &format!(
                "[guest.config]\nbehavior = 'panic'\nonly = '{hook}'\nonly-workflow = 'gated-'"
            ),
        )
    };
    let toml =
        hostile("query-panics", "handle-query") + &hostile("validator-panics", "validate-update");
    let config = interpose::config::Config::from_toml(
        &toml,
        std::path::Path::new("/"),
        std::path::Path::new("read-only.toml"),
    )
    .expect("config");
    Interpose::from_chain(
        runtime().clone(),
        interpose::chain::Chain::load(&runtime(), &config, Vec::new()).expect("load"),
    )
}

fn names(err: &str, guest: &str, hook: &str) {
    for part in [
        &format!("`{guest}`"),
        &format!("`{hook}`"),
        "(before)",
        "hostile guest panics on purpose",
    ] {
        assert!(err.contains(part), "the error names {part}: {err}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_guest_failures_in_queries_and_validators_fail_only_that_query_or_update() {
    let interpose = interpose();
    let client = scenario::client(&dev_server().url(), None).await;
    let queue = "interpose-read-only";
    let mut options = temporalio_sdk::WorkerOptions::new(queue)
        .register_workflow::<Gated>()
        .expect("register")
        .workflow_interceptor(interpose.workflow_interceptor())
        .build();
    options.max_cached_workflows = 10;
    let id = format!("gated-{}", std::process::id());
    let c = client.clone();
    scenario::with_worker(&client, options, async move {
        let handle = c
            .start_workflow(
                Gated::run,
                (),
                WorkflowStartOptions::new(queue, &id)
                    .task_timeout(Duration::from_secs(2))
                    .build(),
            )
            .await
            .expect("start");
        for _ in 0..2 {
            let err = handle
                .query(Gated::value, (), WorkflowQueryOptions::default())
                .await
                .expect_err("the query's guest failed");
            names(&format!("{err:?}"), "query-panics", "handle-query");
        }
        let err = handle
            .execute_update(Gated::set_value, 5, WorkflowExecuteUpdateOptions::default())
            .await
            .expect_err("the validator's guest failed: the update is rejected");
        names(&format!("{err:?}"), "validator-panics", "validate-update");
        handle
            .signal(Gated::approve, (), WorkflowSignalOptions::default())
            .await
            .expect("signal");
        let result = tokio::time::timeout(
            Duration::from_secs(60),
            handle.get_result(WorkflowGetResultOptions::default()),
        )
        .await
        .expect("finishes within a minute")
        .expect("the run completes");
        assert_eq!(result, 0, "the rejected update changed nothing");
        let events = handle
            .fetch_history(Default::default())
            .into_events()
            .await
            .expect("history");
        assert!(
            !events
                .iter()
                .any(|e| e.event_type() == EventType::WorkflowTaskFailed),
            "no workflow task failed: {:?}",
            events.iter().map(|e| e.event_type()).collect::<Vec<_>>()
        );
    })
    .await;
}
