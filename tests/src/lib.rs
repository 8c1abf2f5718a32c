//! Helpers shared by the workspace tests: guest paths, one shared engine, chains from TOML.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use interpose::chain::{Call, CallDetail, Chain, Hook, Payload, WorkflowStart};
use interpose::config::Config;
use interpose::runtime::Runtime;
use interpose::services::{MemoryLogs, MemoryMetrics};

pub mod timing;

#[allow(
    missing_docs,
    reason = "the Temporal SDK macros generate undocumented items"
)]
pub mod scenario;

#[allow(
    missing_docs,
    reason = "the Temporal SDK macros generate undocumented items"
)]
pub mod propagation;

/// Component paths of every guest, built from source by `build.rs`.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// The path of a guest built by a language toolchain, or a panic that says why it is
/// missing and how to install the toolchain: a missing toolchain fails its tests loudly.
pub fn polyglot(guest: Result<&'static str, &'static str>) -> &'static str {
    guest.unwrap_or_else(|why| {
        panic!(
            "\n\nthis test needs a guest that could not be built:\n{why}\n\n\
             `cargo xtask toolchains` installs the Python, JavaScript and C toolchains \
             (`cargo xtask test` does it first).\n"
        )
    })
}

/// One engine for all the tests of a test binary: guests are compiled once per process.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Runtime::builder()
            .cache(false)
            .max_instances(400)
            .max_memory(64 * 1024 * 1024)
            .build()
            .expect("engine")
    })
}

/// A chain loaded from TOML text, with its own log and metric sinks.
#[derive(Debug)]
pub struct TestChain {
    /// The chain.
    pub chain: Chain,
    /// Guest logs.
    pub logs: Arc<MemoryLogs>,
    /// Guest metrics.
    pub metrics: Arc<MemoryMetrics>,
    /// Guest spans.
    pub traces: Arc<interpose::services::MemoryTraces>,
}

/// Parse `toml` (paths may be absolute guest constants) and load it on the shared engine.
pub fn load(toml: &str) -> Result<TestChain, interpose::Error> {
    let config = Config::from_toml(toml, Path::new("/"), Path::new("test.toml"))?;
    let logs = Arc::new(MemoryLogs::default());
    let metrics = Arc::new(MemoryMetrics::default());
    let traces = Arc::new(interpose::services::MemoryTraces::default());
    let chain = interpose::chain::Chain::load(
        &runtime()
            .with_sinks(metrics.clone(), logs.clone())
            .with_traces(traces.clone()),
        &config,
        Vec::new(),
    )?;
    Ok(TestChain {
        chain,
        logs,
        metrics,
        traces,
    })
}

/// Like [`load`], panicking with the error.
pub fn chain(toml: &str) -> TestChain {
    load(toml).unwrap_or_else(|e| panic!("loading test chain: {e}"))
}

/// A `[[guest]]` table for `name` at `path` with extra TOML lines.
pub fn guest(name: &str, path: &str, extra: &str) -> String {
    format!("[[guest]]\nname = {name:?}\npath = {path:?}\n{extra}\n")
}

/// A client `start-workflow` call (workflow id `wf-1`) with one argument.
pub fn start_call(workflow_type: &str) -> Call {
    start_call_for("wf-1", workflow_type)
}

/// A client `start-workflow` call for `workflow_id` with one argument.
pub fn start_call_for(workflow_id: &str, workflow_type: &str) -> Call {
    Call::new(
        CallDetail::StartWorkflow(WorkflowStart {
            workflow_id: workflow_id.into(),
            workflow_type: workflow_type.into(),
            task_queue: "queue".into(),
        }),
        Some(vec![Payload::json("{}")]),
    )
}

/// A call for `hook` with empty detail and no arguments.
pub fn call(hook: Hook) -> Call {
    Call::new(hook.empty_detail(), Some(vec![]))
}

/// A header decoded as a JSON string.
pub fn header(call: &Call, key: &str) -> Option<String> {
    let p = call.headers().get(key)?;
    let s = std::str::from_utf8(&p.data).ok()?;
    Some(s.trim_matches('"').to_owned())
}

/// The Python peer (the Temporal Python SDK and OpenTelemetry), from the toolchain cache
/// (`cargo xtask toolchains` installs it): its interpreter and its `PYTHONPATH`.
pub fn python_peer() -> (PathBuf, PathBuf) {
    use interpose_build_support::toolchain::{Installed, Toolchain, cache_dir};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match Toolchain::PythonPeer.find(&root, &cache_dir(&root)) {
        Ok(Installed::Python { python, site }) => (python, site),
        Ok(_) => unreachable!("the Python peer is a Python installation"),
        Err(e) => panic!("{e:#}"),
    }
}

/// The `interpose` Python package (`cargo xtask python-package` builds and installs it;
/// `cargo xtask test` does that first): the `PYTHONPATH` entry that holds it.
pub fn python_package() -> PathBuf {
    use interpose_build_support::toolchain::{cache_dir, python_package_dir};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = python_package_dir(&cache_dir(&root));
    assert!(
        dir.join("interpose/__init__.py").exists(),
        "the interpose Python package is not installed in {}: run `cargo xtask python-package` \
         (`cargo xtask test` does it first)",
        dir.display()
    );
    dir
}

/// One Temporal dev server per test binary, started on first use (loopback, free port,
/// in-memory database). It dies with the test process. A missing `temporal` CLI is a test
/// failure with the install command, never a skip.
pub fn dev_server() -> &'static interpose::devserver::DevServer {
    static SERVER: OnceLock<interpose::devserver::DevServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        interpose::devserver::DevServer::start(std::time::Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"))
    })
}
