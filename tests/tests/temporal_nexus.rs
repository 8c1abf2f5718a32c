//! Integration tier, Nexus: a workflow on an Interpose worker starts an operation on a Nexus
//! endpoint of the dev server, served by a handler on a worker of the Temporal Python SDK
//! (`tests/python/nexus_handler.py`). The guests see the operation's details (and cannot
//! change which operation runs), the context-propagation guest's `user-id` reaches the
//! handler as a Nexus header, a recorded history replays with the same guests, and a guest
//! that rejects the operation fails the workflow task with the guest named.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use interpose::temporal::Interpose;
use interpose_tests::{chain, dev_server, guest, guests, runtime, scenario};
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_common::error::ApplicationFailure;
use temporalio_common::protos::coresdk::nexus::nexus_operation_result::Status;
use temporalio_common::protos::temporal::api::common::v1::Payload as ProtoPayload;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use temporalio_sdk::{NexusOperationOptions, WorkerOptions, WorkflowContext, WorkflowResult};

/// Calls `Greeting/greet` on the endpoint it is given with the name it is given, and
/// returns the operation's result.
#[workflow]
#[derive(Default)]
struct NexusCaller;

#[workflow_methods]
impl NexusCaller {
    #[run]
    async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: (String, String),
    ) -> WorkflowResult<String> {
        let (endpoint, name) = input;
        let fail = |m: String| ApplicationFailure::non_retryable(m);
        let started = ctx
            .start_nexus_operation(
                NexusOperationOptions::builder()
                    .endpoint(endpoint)
                    .service("Greeting")
                    .operation("greet")
                    .input(json(&name))
                    .schedule_to_close_timeout(Duration::from_secs(30))
                    .build(),
            )
            .await
            .map_err(|f| fail(format!("the operation did not start: {}", f.message)))?;
        match started.result().await.status {
            Some(Status::Completed(p)) => Ok(serde_json::from_slice(&p.data)
                .map_err(|e| fail(format!("the operation's result: {e}")))?),
            other => Err(fail(format!("the operation did not complete: {other:?}")).into()),
        }
    }
}

fn json(s: &str) -> ProtoPayload {
    ProtoPayload {
        metadata: [("encoding".to_owned(), b"json/plain".to_vec())].into(),
        data: serde_json::to_vec(s).unwrap(),
        ..Default::default()
    }
}

/// The Python handler and the endpoint that routes to it, one per test binary.
struct Handler {
    endpoint: String,
    /// Every line the handler printed after `ready`: one JSON object per call.
    calls: Arc<Mutex<Vec<String>>>,
    _child: Mutex<Child>,
    /// The handler leaves when this closes (when the test process ends).
    _stdin: Mutex<ChildStdin>,
}

fn handler() -> &'static Handler {
    static HANDLER: OnceLock<Handler> = OnceLock::new();
    HANDLER.get_or_init(|| {
        let pid = std::process::id();
        let queue = format!("nexus-handler-{pid}");
        let endpoint = format!("interpose-nexus-{pid}");
        let address = dev_server().url().trim_start_matches("http://").to_owned();
        let cli = interpose::devserver::find_cli().unwrap_or_else(|e| panic!("{e}"));
        let out = Command::new(cli)
            .args([
                "operator", "nexus", "endpoint", "create", "--name", &endpoint,
            ])
            .args([
                "--target-namespace",
                "default",
                "--target-task-queue",
                &queue,
            ])
            .args(["--address", &address])
            .output()
            .expect("running `temporal operator nexus endpoint create`");
        assert!(
            out.status.success(),
            "creating the Nexus endpoint: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let (python, site) = interpose_tests::python_peer();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/nexus_handler.py");
        let mut child = Command::new(python)
            .env("PYTHONPATH", site)
            .arg(script)
            .args([&address, &queue])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the Python Nexus handler");
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, rx) = std::sync::mpsc::channel();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        std::thread::spawn(move || {
            let first = lines.next();
            let _ = tx.send(
                first
                    .as_ref()
                    .map(|l| l.as_deref().unwrap_or("").to_owned()),
            );
            for line in lines.map_while(Result::ok) {
                seen.lock().unwrap().push(line);
            }
        });
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Some(l)) if l == "ready" => {}
            other => panic!("the Python Nexus handler did not start: {other:?}"),
        }
        Handler {
            endpoint,
            calls,
            _child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
        }
    })
}

/// A worker with `toml`'s chain on `queue` runs `NexusCaller` for `name`; returns its
/// result (or failure text), the guests' log lines, the run's history and the guests' spans.
async fn call_nexus(
    toml: &str,
    queue: &str,
    name: &str,
    wait: Duration,
) -> (
    Result<String, String>,
    Vec<String>,
    Vec<temporalio_common::protos::temporal::api::history::v1::HistoryEvent>,
    Vec<interpose::services::FinishedSpan>,
) {
    let h = handler();
    let t = chain(toml);
    let traces = t.traces.clone();
    let interpose = Interpose::from_chain(runtime().clone(), t.chain);
    let client = scenario::client(&dev_server().url(), Some(&interpose)).await;
    let options = WorkerOptions::new(queue)
        .register_workflow::<NexusCaller>()
        .unwrap()
        .workflow_interceptor(interpose.workflow_interceptor())
        .build();
    let id = format!("{queue}-{}", std::process::id());
    let driver = client.clone();
    let (result, events) = scenario::with_worker(&client, options, async move {
        let handle = driver
            .start_workflow(
                NexusCaller::run,
                (h.endpoint.clone(), name.to_owned()),
                WorkflowStartOptions::new(queue, &id).build(),
            )
            .await
            .unwrap();
        let result =
            tokio::time::timeout(wait, handle.get_result(WorkflowGetResultOptions::default()))
                .await;
        let result = match result {
            Ok(r) => r.map_err(|e| format!("{e:?}")),
            Err(_) => Err("still running".to_owned()),
        };
        let events = handle
            .fetch_history(Default::default())
            .into_events()
            .await
            .unwrap();
        if result.is_err() {
            let _ = handle
                .terminate(temporalio_client::WorkflowTerminateOptions::default())
                .await;
        }
        (result, events)
    })
    .await;
    let logs = t
        .logs
        .lines()
        .into_iter()
        .map(|l| format!("{}: {}", l.guest, l.message))
        .collect();
    (result, logs, events, traces.spans())
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_nexus_operation_carries_the_user_to_a_python_handler_and_replays() {
    let toml = guest(
        "propagation",
        guests::CONTEXT_PROPAGATION,
        "[guest.config]\nuser-id = 'alice'",
    ) + &guest("tracing", guests::TRACING, "")
        + &guest("witness", guests::WITNESS, "");
    let (result, logs, events, spans) =
        call_nexus(&toml, "nexus-caller", "bob", Duration::from_secs(60)).await;
    assert_eq!(
        result.as_deref(),
        Ok("hello bob for alice"),
        "the handler read the user-id Nexus header the guest set; logs: {logs:#?}"
    );
    let endpoint = &handler().endpoint;
    assert!(
        logs.iter().any(|l| l.starts_with(&format!(
            "witness: nexus {endpoint} Greeting/greet timeout=30000000000 input=1 edit=refused"
        ))),
        "the guest sees the operation's details and cannot change the operation: {logs:#?}"
    );
    assert!(
        logs.contains(&"witness: NexusCaller start-nexus-operation user=alice".to_owned()),
        "{logs:#?}"
    );
    let calls = handler().calls.lock().unwrap().clone();
    let call: serde_json::Value = calls
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|c| c["input"] == "bob")
        .unwrap_or_else(|| panic!("the handler was called for bob: {calls:#?}"));
    assert_eq!(call["headers"]["user-id"], "alice", "{call}");
    let span = spans
        .iter()
        .find(|s| s.name == "StartNexusOperation:Greeting/greet")
        .unwrap_or_else(|| panic!("the tracing guest's span: {spans:#?}"));
    assert_eq!(
        call["headers"]["traceparent"],
        format!("00-{}-{}-01", span.trace_id_hex(), span.span_id_hex()),
        "the handler gets the operation span's context as Temporal's tracing interceptors \
         send it to Nexus: {call}"
    );

    // The recorded history replays with the same guests.
    let t = chain(&toml);
    let interpose = Interpose::from_chain(runtime().clone(), t.chain);
    let replayer = WorkflowReplayer::new(
        WorkflowReplayerOptions::new()
            .register_workflow::<NexusCaller>()
            .unwrap()
            .workflow_interceptor(interpose.workflow_interceptor())
            .build(),
    )
    .unwrap();
    assert!(
        events.iter().any(|e| e.event_type
            == temporalio_common::protos::temporal::api::enums::v1::EventType::NexusOperationScheduled
                as i32),
        "the history holds the operation"
    );
    let results = replayer
        .replay_workflows([scenario::replayable(events)])
        .await
        .expect("the replayer ran");
    assert!(
        results[0].replay_failure.is_none(),
        "replays with the same guests: {:?}",
        results[0].replay_failure
    );
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_nexus_guest_reject_fails_the_workflow_task_naming_the_guest() {
    use temporalio_common::protos::temporal::api::enums::v1::EventType;
    let toml = guest(
        "gatekeeper",
        guests::HOSTILE,
        "[guest.config]\nbehavior = 'reject'\nonly = 'start-nexus-operation'",
    );
    let (result, logs, events, _) =
        call_nexus(&toml, "nexus-rejected", "carol", Duration::from_secs(5)).await;
    assert_eq!(result, Err("still running".to_owned()), "logs: {logs:#?}");
    let failures = scenario::workflow_task_failures(&events);
    assert!(
        failures
            .iter()
            .any(|m| m.contains("gatekeeper") && m.contains("start-nexus-operation")),
        "the workflow task fails naming the guest and the hook: {failures:#?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| e.event_type == EventType::NexusOperationScheduled as i32),
        "no operation was scheduled"
    );
    assert!(
        !handler()
            .calls
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("carol")),
        "the handler never ran for the rejected call"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn temporal_nexus_the_python_javascript_and_c_propagation_guests_carry_the_user_too() {
    // (The QuickJS build of the JavaScript guest traps on an undropped borrow; polyglot.rs
    // pins that down.)
    for (lang, path) in [
        ("py", guests::CONTEXT_PROPAGATION_PY),
        ("js", guests::CONTEXT_PROPAGATION_JS),
        ("c", guests::CONTEXT_PROPAGATION_C),
    ] {
        let toml = guest(
            "propagation",
            interpose_tests::polyglot(path),
            "[guest.config]\nuser-id = 'alice'",
        );
        let (result, logs, ..) = call_nexus(
            &toml,
            &format!("nexus-caller-{lang}"),
            lang,
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(
            result,
            Ok(format!("hello {lang} for alice")),
            "the {lang} guest: logs {logs:#?}"
        );
    }
}
