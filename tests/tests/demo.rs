//! The README's first command keeps working: `interpose demo` on the example config runs
//! the whole scenario (embedded dev server, worker, client, every hook kind) and succeeds.

use interpose_tests::guests;

#[test]
fn temporal_demo_runs_the_whole_scenario_on_the_example_config() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let example = std::fs::read_to_string(root.join("guest-examples/interpose.toml")).unwrap();
    // Point the example config at the guests this build compiled from source.
    let mut config = example;
    for (file, path) in [
        ("context-propagation.wasm", guests::CONTEXT_PROPAGATION),
        ("deny-list.wasm", guests::DENY_LIST),
        ("latency-metrics.wasm", guests::LATENCY_METRICS),
        ("replay-logger.wasm", guests::REPLAY_LOGGER),
        ("tracing.wasm", guests::TRACING),
    ] {
        let from = format!("../target/guests/{file}");
        assert!(config.contains(&from), "the example config names {from}");
        config = config.replace(&from, path);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("interpose.toml");
    std::fs::write(&path, config).unwrap();
    let mut out = Vec::new();
    interpose_cli::run(
        ["interpose", "demo", "--config", path.to_str().unwrap()],
        &mut out,
    )
    .unwrap_or_else(|e| panic!("the demo failed: {e:#}"));
}
