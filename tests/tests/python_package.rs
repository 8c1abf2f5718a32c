//! The `interpose` Python package (built from `python/` by `cargo xtask python-package`) in
//! Temporal Python SDK clients and workers: the same guest components the Rust host runs.
//!
//! - A Python client with Interpose starts a workflow on a Rust worker with Interpose, and
//!   the context-propagation guest's `user-id` travels from the Python client's
//!   `start-workflow` through the Rust worker's workflow and activity; a guest's rejection
//!   reaches the Python caller as an `ApplicationError` and nothing starts; a bad config is
//!   refused by `interpose.load` with one exception naming the guest.
//! - A Rust client and worker with Interpose run a workflow whose activity runs on a Python
//!   worker with Interpose: the user reaches the Python activity's guest (its log line
//!   arrives through Python `logging`), and a guest replaces the activity's result.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use interpose::temporal::Interpose;
use interpose_tests::propagation::{Greetings, ShipWorkflow};
use interpose_tests::{chain, dev_server, guest, guests, runtime, scenario};
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkerOptions, WorkflowContext, WorkflowResult};

/// The context-propagation guest, stamping `alice` on client calls.
fn propagation() -> String {
    guest(
        "propagation",
        guests::CONTEXT_PROPAGATION,
        "[guest.config]\nuser-id = 'alice'",
    )
}

/// `PYTHONPATH` for the Python peer with the `interpose` package.
fn python_path() -> (std::path::PathBuf, std::ffi::OsString) {
    let (python, site) = interpose_tests::python_peer();
    let package = interpose_tests::python_package();
    (python, std::env::join_paths([package, site]).unwrap())
}

#[tokio::test(flavor = "current_thread")]
async fn python_client_with_interpose_carries_the_user_to_a_rust_worker_with_interpose() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, toml: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, toml).unwrap();
        path.display().to_string()
    };
    let propagation = propagation();
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
    let (python, path) = python_path();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/interpose_client.py");
    let address = dev_server().url().trim_start_matches("http://").to_owned();
    let id = format!("python-client-{}", std::process::id());
    let out = scenario::with_worker(&client, options, async move {
        let run = tokio::task::spawn_blocking(move || {
            Command::new(python)
                .env("PYTHONPATH", path)
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

/// Runs `Greetings::greet` on the task queue it is given (a Python worker's).
#[workflow]
#[derive(Default)]
struct RemoteGreet;

#[workflow_methods]
impl RemoteGreet {
    #[run]
    async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: (String, String),
    ) -> WorkflowResult<String> {
        let (queue, name) = input;
        let mut options = ActivityOptions::start_to_close_timeout(Duration::from_secs(20));
        options.task_queue = Some(queue);
        Ok(ctx
            .execute_activity(Greetings::greet, name, options)
            .await?)
    }
}

#[tokio::test(flavor = "current_thread")]
async fn python_worker_with_interpose_runs_a_rust_workflows_activity_with_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let propagation = propagation();
    // The Python worker: the propagation guest (it logs the activity's user) and a probe
    // that appends its tag to the activity's result.
    let config = dir.path().join("worker.toml");
    std::fs::write(
        &config,
        propagation.clone()
            + &guest(
                "p",
                guests::PROBE,
                "[guest.config]\ntag = 'p'\nafter = 'append'",
            ),
    )
    .unwrap();
    let pid = std::process::id();
    let python_queue = format!("python-activities-{pid}");
    let worker = PythonWorker::start(&python_queue, &config);
    assert!(
        worker.at_load.iter().any(|l| l.contains("WARNING")
            && l.contains("never call")
            && l.contains("`start-timer`")
            && l.contains("no timer method")),
        "load warns of the probe's hooks Python never calls, and why: {:#?}",
        worker.at_load
    );

    // The Rust side: a client and a worker with the propagation guest.
    let t = chain(&propagation);
    let interpose = Interpose::from_chain(runtime().clone(), t.chain);
    let client = scenario::client(&dev_server().url(), Some(&interpose)).await;
    let queue = "rust-workflows-for-python";
    let options = WorkerOptions::new(queue)
        .register_workflow::<RemoteGreet>()
        .unwrap()
        .workflow_interceptor(interpose.workflow_interceptor())
        .build();
    let driver = client.clone();
    let result = scenario::with_worker(&client, options, async move {
        let handle = driver
            .start_workflow(
                RemoteGreet::run,
                (python_queue, "bob".to_owned()),
                WorkflowStartOptions::new(queue, format!("remote-greet-{pid}")).build(),
            )
            .await
            .unwrap();
        tokio::time::timeout(
            Duration::from_secs(60),
            handle.get_result(WorkflowGetResultOptions::default()),
        )
        .await
        .expect("the workflow ends within a minute")
    })
    .await;
    let logged = worker.finish();
    assert_eq!(
        result.as_ref().ok().map(String::as_str),
        Some("hello bob from python+p"),
        "the Python activity ran and the probe replaced its result: {result:?}; {logged:#?}"
    );
    assert!(
        logged.iter().any(|l| l.contains(
            "[propagation] execute-activity: activity Greetings::greet runs for user alice"
        )),
        "the user reached the Python activity's guest, whose line came through Python \
         logging: {logged:#?}"
    );
}

/// A Python worker (`tests/python/interpose_worker.py`) with Interpose on `queue`.
struct PythonWorker {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    /// What it printed before `ready`: what `interpose.load` logged.
    at_load: Vec<String>,
}

impl PythonWorker {
    fn start(queue: &str, config: &Path) -> PythonWorker {
        let (python, path) = python_path();
        let mut child = Command::new(python)
            .env("PYTHONPATH", path)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/interpose_worker.py"))
            .arg(dev_server().url().trim_start_matches("http://"))
            .arg(queue)
            .arg(config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the Python worker");
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut at_load = Vec::new();
        loop {
            match lines.recv_timeout(Duration::from_secs(120)) {
                Ok(l) if l == "ready" => break,
                Ok(l) => at_load.push(l),
                Err(e) => panic!("the Python worker did not start ({e}); it said {at_load:#?}"),
            }
        }
        PythonWorker {
            child,
            stdin,
            lines,
            at_load,
        }
    }

    /// Stop it; the lines it printed after `ready` (guest log lines).
    fn finish(mut self) -> Vec<String> {
        drop(self.stdin.take());
        let _ = self.child.wait();
        self.lines.try_iter().collect()
    }
}

/// The Python worker's `PyOrder` workflow, as the Rust client names it (never run here).
#[workflow]
#[derive(Default)]
struct PyOrder;

#[workflow_methods]
impl PyOrder {
    #[run]
    async fn run(_ctx: &mut WorkflowContext<Self>, _name: String) -> WorkflowResult<String> {
        unreachable!("PyOrder runs on the Python worker")
    }
}

#[tokio::test(flavor = "current_thread")]
async fn python_workflow_with_interpose_carries_the_rust_clients_user_to_its_activity() {
    let dir = tempfile::tempdir().unwrap();
    let propagation = propagation();
    let config = dir.path().join("worker.toml");
    std::fs::write(&config, &propagation).unwrap();
    let pid = std::process::id();
    let queue = format!("python-workflows-{pid}");
    let worker = PythonWorker::start(&queue, &config);
    let t = chain(&propagation);
    let interpose = Interpose::from_chain(runtime().clone(), t.chain);
    let client = scenario::client(&dev_server().url(), Some(&interpose)).await;
    let handle = client
        .start_workflow(
            PyOrder::run,
            "bob".to_owned(),
            WorkflowStartOptions::new(&queue, format!("py-order-{pid}")).build(),
        )
        .await
        .unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        handle.get_result(WorkflowGetResultOptions::default()),
    )
    .await
    .expect("the workflow ends within a minute");
    let logged = worker.finish();
    assert_eq!(
        result.as_ref().ok().map(String::as_str),
        Some("hello bob from python"),
        "{result:?}; {logged:#?}"
    );
    assert!(
        logged.iter().any(|l| l.contains(
            "[propagation] execute-activity: activity Greetings::greet runs for user alice"
        )),
        "the Rust client's user reached the Python workflow (execute-workflow) and went on \
         to its activity (schedule-activity): {logged:#?}"
    );
}

/// The Python worker's `PyCatching` workflow, as the Rust client names it.
#[workflow]
#[derive(Default)]
struct PyCatching;

#[workflow_methods]
impl PyCatching {
    #[run]
    async fn run(_ctx: &mut WorkflowContext<Self>, _name: String) -> WorkflowResult<String> {
        unreachable!("PyCatching runs on the Python worker")
    }
}

#[tokio::test(flavor = "current_thread")]
async fn python_workflow_guest_refusal_fails_the_task_even_when_workflow_code_catches_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("worker.toml");
    std::fs::write(
        &config,
        guest(
            "gatekeeper",
            guests::HOSTILE,
            "[guest.config]\nbehavior = 'reject'\nonly = 'schedule-activity'",
        ),
    )
    .unwrap();
    let pid = std::process::id();
    let queue = format!("python-refusals-{pid}");
    let worker = PythonWorker::start(&queue, &config);
    let client = scenario::client(&dev_server().url(), None).await;
    let handle = client
        .start_workflow(
            PyCatching::run,
            "carol".to_owned(),
            WorkflowStartOptions::new(&queue, format!("py-catching-{pid}")).build(),
        )
        .await
        .unwrap();
    let finished = tokio::time::timeout(
        Duration::from_secs(5),
        handle.get_result(WorkflowGetResultOptions::default()),
    )
    .await;
    let events = handle
        .fetch_history(Default::default())
        .into_events()
        .await
        .unwrap();
    let _ = handle
        .terminate(temporalio_client::WorkflowTerminateOptions::default())
        .await;
    let logged = worker.finish();
    assert!(
        finished.is_err(),
        "the workflow must not complete by swallowing the refusal: {finished:?}; {logged:#?}"
    );
    let failures = scenario::workflow_task_failures(&events);
    assert!(
        failures
            .iter()
            .any(|m| m.contains("gatekeeper") && m.contains("schedule-activity")),
        "the workflow task fails naming the guest and the hook: {failures:#?}"
    );
}

/// `pip install` of the wheel `cargo xtask python-package` built, into a fresh virtual
/// environment (its dependencies, `temporalio`, from PyPI): the package imports and loads a
/// guest there, with nothing from the workspace on its path, and without the optional
/// OpenTelemetry dependency (guest spans are then dropped, not an error).
#[test]
fn the_wheel_installs_with_pip_into_a_fresh_virtual_environment_and_loads_a_guest() {
    let wheels = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wheels");
    let wheel = std::fs::read_dir(&wheels)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}: run `cargo xtask python-package`",
                wheels.display()
            )
        })
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .expect("a wheel in target/wheels");
    let (python, _) = interpose_tests::python_peer();
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let run = |cmd: &mut Command| {
        let out = cmd.env_remove("PYTHONPATH").output().expect("running");
        assert!(
            out.status.success(),
            "{cmd:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(Command::new(&python).args(["-m", "venv"]).arg(&venv));
    run(Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg(&wheel));
    let config = dir.path().join("interpose.toml");
    std::fs::write(&config, propagation()).unwrap();
    let out = run(Command::new(venv.join("bin/python"))
        .current_dir(dir.path())
        .args([
            "-c",
            "import sys, interpose, temporalio.client\n\
             chain = interpose.load(sys.argv[1])\n\
             assert isinstance(chain, temporalio.client.Interceptor)\n\
             import interpose._spans\n\
             assert interpose._spans.trace is None, 'no opentelemetry here'\n\
             print(interpose.__file__)\n\
             print(chain.fingerprint)",
        ])
        .arg(&config));
    assert!(
        out.starts_with(&venv.display().to_string()),
        "imported from the virtual environment: {out}"
    );
}
