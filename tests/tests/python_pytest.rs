//! The `interpose` Python package's own suite (`python/tests/`, pytest) on the dev server
//! this tier starts, with the test guests built from source: Python clients and workers
//! with Interpose, every hook of the Python SDK's interceptor classes, replay with the
//! SDK's `Replayer`, hostile guests. Extra pytest arguments (say `-k replay`) come from
//! `INTERPOSE_PYTEST_ARGS`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use interpose_tests::{dev_server, guests};

/// The guests the suite may name, by the names its `config` fixture uses.
fn guest_paths() -> serde_json::Value {
    serde_json::json!({
        "probe": guests::PROBE,
        "hostile": guests::HOSTILE,
        "witness": guests::WITNESS,
        "context-propagation": guests::CONTEXT_PROPAGATION,
        "context-propagation-py": guests::CONTEXT_PROPAGATION_PY
            .unwrap_or("(the Python guest could not be built)"),
        "latency-metrics": guests::LATENCY_METRICS,
        "tracing": guests::TRACING,
    })
}

#[tokio::test(flavor = "current_thread")]
async fn the_python_package_suite_passes() {
    let (python, site) = interpose_tests::python_peer();
    let package = interpose_tests::python_package();
    let path = std::env::join_paths([package, site]).unwrap();
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../python/tests");
    let address = dev_server().url().trim_start_matches("http://").to_owned();
    let extra: Vec<String> = std::env::var("INTERPOSE_PYTEST_ARGS")
        .map(|a| a.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .env("PYTHONPATH", path)
            .env("INTERPOSE_TEST_TEMPORAL", address)
            .env("INTERPOSE_TEST_GUESTS", guest_paths().to_string())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .args([
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--durations=5",
            ])
            .args(extra)
            .arg(&suite)
            .current_dir(&suite)
            .output()
            .expect("running pytest")
    });
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("the Python suite finishes within ten minutes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "the Python suite failed ({}):\n{stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed"), "pytest ran no test: {stdout}");
}
