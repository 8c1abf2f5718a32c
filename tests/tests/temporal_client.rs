//! Integration tier: the client adapter against a real Temporal dev server started by the
//! test. Wasm guests only: context propagation stamps the user id on real starts; the deny
//! list rejects a start before it reaches the server.

use std::str::FromStr;
use std::sync::Arc;

use interpose::temporal::WasmClientInterceptor;
use interpose_tests::{chain, dev_server, guest, guests};
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowDescribeOptions,
    WorkflowStartOptions,
};
use temporalio_common::UntypedWorkflow;
use temporalio_common::data_converters::RawValue;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

async fn client(chain: Option<interpose::Chain>) -> Client {
    let url = Url::from_str(&dev_server().url()).unwrap();
    let connection = Connection::connect(ConnectionOptions::new(url).build())
        .await
        .expect("connect");
    let options = match chain {
        Some(c) => ClientOptions::new("default")
            .client_interceptors(vec![Arc::new(WasmClientInterceptor::new(c))])
            .build(),
        None => ClientOptions::new("default").build(),
    };
    Client::new(connection, options).expect("client")
}

fn example_chain() -> interpose::Chain {
    chain(
        &(guest(
            "ctx",
            guests::CONTEXT_PROPAGATION,
            "[guest.config]\nuser-id = 'alice'",
        ) + &guest(
            "deny",
            guests::DENY_LIST,
            "[guest.config]\nworkflow-types = 'WipeEverything'",
        )),
    )
    .chain
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporal_client_start_carries_the_user_id_header_to_the_server() {
    let c = client(Some(example_chain())).await;
    let id = format!("order-{}", std::process::id());
    let handle = c
        .start_workflow(
            UntypedWorkflow::new("Order"),
            RawValue::new(vec![]),
            WorkflowStartOptions::new("interpose-test", &id).build(),
        )
        .await
        .expect("start");
    let events = handle
        .fetch_history(Default::default())
        .into_events()
        .await
        .expect("history");
    let Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) = &events[0].attributes
    else {
        panic!(
            "first event is not WorkflowExecutionStarted: {:?}",
            events[0]
        );
    };
    let header = started.header.as_ref().expect("the start carries a header");
    let user = header
        .fields
        .get("user-id")
        .expect("user-id header reached the server");
    assert_eq!(user.data, b"\"alice\"");
    assert_eq!(
        user.metadata.get("encoding").map(Vec::as_slice),
        Some(&b"json/plain"[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporal_client_deny_list_rejects_a_start_and_the_server_has_no_such_workflow() {
    let c = client(Some(example_chain())).await;
    let id = format!("wipe-{}", std::process::id());
    let err = c
        .start_workflow(
            UntypedWorkflow::new("WipeEverything"),
            RawValue::new(vec![]),
            WorkflowStartOptions::new("interpose-test", &id).build(),
        )
        .await
        .err()
        .expect("the deny list must reject this start");
    let msg = err.to_string();
    assert!(
        msg.contains(
            "rejected by an interceptor: workflow type `WipeEverything` is on the deny list"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("DeniedWorkflowType") && msg.contains("non-retryable"),
        "{msg}"
    );

    let plain = client(None).await;
    let described = plain
        .get_workflow_handle::<UntypedWorkflow>(&id)
        .describe(WorkflowDescribeOptions::default())
        .await;
    assert!(
        described.is_err(),
        "the server must not know workflow {id}: {described:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporal_client_guest_failure_fails_the_call_naming_guest_hook_and_cause() {
    let t = chain(&guest(
        "hostile",
        guests::HOSTILE,
        "fuel = 1_000_000\n[guest.config]\nbehavior = 'loop'\nonly = 'start-workflow'",
    ));
    let c = client(Some(t.chain)).await;
    let err = c
        .start_workflow(
            UntypedWorkflow::new("Order"),
            RawValue::new(vec![]),
            WorkflowStartOptions::new("interpose-test", "never-started").build(),
        )
        .await
        .err()
        .expect("a failing fail-closed guest fails the call");
    let msg = err.to_string();
    assert!(
        msg.contains("interceptor `hostile` failed in hook `start-workflow` (before): out of fuel"),
        "{msg}"
    );
}
