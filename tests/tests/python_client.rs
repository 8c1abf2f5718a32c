//! The `interpose` Python package (built from `python/` by `cargo xtask python-package`) in a
//! Temporal Python SDK client: the same guest components the Rust host runs. A Python client
//! with Interpose starts a workflow on a Rust worker with Interpose, and the context
//! propagation guest's `user-id` travels from the Python client's `start-workflow` through the
//! Rust worker's workflow and activity; a guest's rejection reaches the Python caller as an
//! `ApplicationError` and nothing starts; a bad config is refused by `interpose.load` with
//! one exception naming the guest.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use interpose::temporal::Interpose;
use interpose_tests::propagation::{Greetings, ShipWorkflow};
use interpose_tests::{chain, dev_server, guest, guests, runtime, scenario};
use temporalio_sdk::WorkerOptions;

#[tokio::test(flavor = "current_thread")]
async fn python_client_with_interpose_carries_the_user_to_a_rust_worker_with_interpose() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, toml: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, toml).unwrap();
        path.display().to_string()
    };
    let propagation = guest(
        "propagation",
        guests::CONTEXT_PROPAGATION,
        "[guest.config]\nuser-id = 'alice'",
    );
    let config = write("client.toml", propagation.clone());
    let reject = write(
        "reject.toml",
        guest(
            "gatekeeper",
            guests::HOSTILE,
            "[guest.config]\nbehavior = 'reject'\nonly = 'start-workflow'",
        ),
    );
    let bad = write("bad.toml", guest("missing", "/nonexistent/guest.wasm", ""));

    // The Rust worker: the same propagation guest (it forwards the user to the activity)
    // and a witness that logs what each hook carried.
    let t = chain(&(propagation + &guest("witness", guests::WITNESS, "")));
    let logs = t.logs.clone();
    let interpose = Interpose::from_chain(runtime().clone(), t.chain);
    let client = scenario::client(&dev_server().url(), None).await;
    let queue = "python-client";
    let options = WorkerOptions::new(queue)
        .register_workflow::<ShipWorkflow>()
        .unwrap()
        .register_activities(Greetings)
        .workflow_interceptor(interpose.workflow_interceptor())
        .activity_inbound_interceptor(interpose.activity_interceptor(&client))
        .build();
    let (python, site) = interpose_tests::python_peer();
    let package = interpose_tests::python_package();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/interpose_client.py");
    let address = dev_server().url().trim_start_matches("http://").to_owned();
    let id = format!("python-client-{}", std::process::id());
    let out = scenario::with_worker(&client, options, async move {
        let run = tokio::task::spawn_blocking(move || {
            Command::new(python)
                .env("PYTHONPATH", std::env::join_paths([package, site]).unwrap())
                .arg(script)
                .args([&address, queue, &id, &config, &reject, &bad])
                .output()
                .expect("running the Python client")
        });
        tokio::time::timeout(Duration::from_secs(120), run)
            .await
            .expect("the Python client finishes within two minutes")
            .unwrap()
    })
    .await;
    assert!(
        out.status.success(),
        "the Python client failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the Python client's output: {e}\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(report["result"], "hello ship parcel", "{report}");
    let lines: Vec<String> = logs
        .lines()
        .into_iter()
        .filter(|l| l.guest == "witness")
        .map(|l| l.message)
        .collect();
    for hook in ["execute-workflow", "execute-activity"] {
        assert!(
            lines.contains(&format!("ShipWorkflow {hook} user=alice")),
            "the Python client's guest stamped the user the Rust worker's hooks carry: \
             {lines:#?}"
        );
    }
    assert_eq!(
        report["rejected"], "hostile guest rejects everything",
        "{report}"
    );
    assert_eq!(
        report["started_anyway"], false,
        "a rejected start never reaches Temporal"
    );
    let bad = report["bad"].as_str().unwrap_or_default();
    assert!(
        bad.contains("missing") && bad.contains("/nonexistent/guest.wasm"),
        "one exception naming the guest and its file: {bad}"
    );
}
