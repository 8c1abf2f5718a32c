//! Capacity never changes what a workflow does: a full instance pool is a host error that
//! no failure policy skips, it poisons nothing, and a default config holds what a worker
//! with the SDK's default cache can need.

use std::path::Path;
use std::sync::Arc;

use interpose::GuestFailure;
use interpose::chain::{Hook, Outcome};
use interpose::config::Config;
use interpose::runtime::Runtime;
use interpose::services::{FixedWorkflow, MemoryLogs, NoMetrics, Scope, WorkflowInfo};
use interpose_tests::{call, guest, guests};

fn config(toml: &str) -> Config {
    Config::from_toml(toml, Path::new("/"), Path::new("capacity.toml")).unwrap()
}

fn run(n: usize) -> Scope {
    Scope::Workflow(FixedWorkflow::new(
        WorkflowInfo::new("ns", format!("w-{n}"), format!("r-{n}"), "T", "q"),
        1,
    ))
}

#[test]
fn a_full_pool_is_a_host_error_that_skip_never_hides_and_that_poisons_nothing() {
    let rt = Runtime::builder()
        .cache(false)
        .max_instances(3)
        .build()
        .unwrap();
    // A deny-list-like guest under `skip`: were a capacity failure its failure, the run
    // would go on without it, and what the run does would depend on how busy the worker is.
    let c = config(&guest(
        "gate",
        guests::PROBE,
        "on-failure = 'skip'\n[guest.config]\ntag = 'g'",
    ));
    let chain = interpose::chain::Chain::load(
        &rt.with_sinks(Arc::new(NoMetrics), Arc::new(MemoryLogs::default())),
        &c,
        Vec::new(),
    )
    .unwrap();
    let mut runs: Vec<_> = (0..3)
        .map(|n| {
            let mut s = chain.session(run(n));
            s.run(&mut call(Hook::ExecuteWorkflow), |_| Outcome::Ok(vec![]))
                .unwrap();
            s
        })
        .collect();
    let mut fourth = chain.session(run(3));
    let mut real_ran = false;
    let e = fourth
        .run(&mut call(Hook::ExecuteWorkflow), |_| {
            real_ran = true;
            Outcome::Ok(vec![])
        })
        .expect_err("no instance, no call, whatever the policy");
    assert!(!real_ran, "the call did not run without the guest");
    assert_eq!(e.guest, "gate");
    match &e.cause {
        GuestFailure::Capacity { message } => {
            assert!(message.contains("concurrent limit"), "{message}")
        }
        other => panic!("expected a capacity failure, got {other}"),
    }
    assert!(e.to_string().contains("max-instances"), "{e}");
    assert_eq!(
        chain.stats("gate").unwrap().failures,
        0,
        "not counted as the guest's failure"
    );
    // Room again: the same run goes on with its guest (the slot was not poisoned).
    runs.pop();
    let trail = {
        let mut c = call(Hook::ExecuteWorkflow);
        fourth.run(&mut c, |_| Outcome::Ok(vec![])).unwrap();
        interpose_tests::header(&c, "trail")
    };
    assert_eq!(trail.as_deref(), Some("g"), "the guest ran");
}

#[test]
fn the_pool_holds_its_count_of_instances_whatever_their_shape() {
    // The Python guest has 14 core modules; the pool's totals of core instances, memories
    // and tables must not run out before its count of instances.
    let js = interpose_tests::polyglot(guests::CONTEXT_PROPAGATION_PY);
    let rt = Runtime::builder()
        .cache(false)
        .max_instances(4)
        .build()
        .unwrap();
    let c = config(&guest("py", js, ""));
    let chain = interpose::chain::Chain::load(
        &rt.with_sinks(Arc::new(NoMetrics), Arc::new(MemoryLogs::default())),
        &c,
        Vec::new(),
    )
    .unwrap();
    let runs: Vec<_> = (0..4)
        .map(|n| {
            let mut s = chain.session(run(n));
            s.run(&mut call(Hook::ExecuteWorkflow), |_| Outcome::Ok(vec![]))
                .unwrap_or_else(|e| panic!("run {n} of 4: {e}"));
            s
        })
        .collect();
    assert_eq!(chain.stats("py").unwrap().live, 4);
    drop(runs);
}

#[test]
fn the_default_pool_holds_a_full_default_cache_of_runs_with_queries() {
    // Two workflow guests and the SDK's default cache of 1,000 runs, each run with its
    // replayed instance and its read-only instance (it served a query): 4,000 instances.
    let toml = guest("a", guests::PROBE, "[guest.config]\ntag = 'a'")
        + &guest("b", guests::PROBE, "[guest.config]\ntag = 'b'");
    let c = config(&toml);
    assert_eq!(c.runtime.cached_runs, 1000);
    let rt = Runtime::builder()
        .for_config(&c)
        .cache(false)
        .build()
        .unwrap();
    let chain = interpose::chain::Chain::load(
        &rt.with_sinks(Arc::new(NoMetrics), Arc::new(MemoryLogs::default())),
        &c,
        Vec::new(),
    )
    .unwrap();
    assert_eq!(chain.instances_needed(&c.runtime), 4000 + 2 * 256);
    let mut runs = Vec::with_capacity(1000);
    for n in 0..1000 {
        let mut s = chain.session(run(n));
        s.run(&mut call(Hook::ExecuteWorkflow), |_| Outcome::Ok(vec![]))
            .unwrap_or_else(|e| panic!("run {n}: {e}"));
        s.run(&mut call(Hook::HandleQuery), |_| Outcome::Ok(vec![]))
            .unwrap_or_else(|e| panic!("query of run {n}: {e}"));
        runs.push(s);
    }
    assert_eq!(chain.stats("a").unwrap().live, 2000);
    assert_eq!(chain.stats("b").unwrap().live, 2000);
    drop(runs);
    assert_eq!(chain.stats("a").unwrap().live, 0, "back to baseline");
}

#[test]
fn an_explicit_pool_too_small_for_the_cache_is_refused_at_load() {
    let toml = "[runtime]\nmax-instances = 1000\ncache = false\n".to_owned()
        + &guest("a", guests::PROBE, "")
        + &guest("b", guests::PROBE, "");
    let Err(err) = interpose::temporal::Interpose::from_config(&config(&toml)) else {
        panic!("1,000 instances cannot hold 1,000 cached runs of two workflow guests");
    };
    let msg = err.to_string();
    assert!(msg.contains("max-instances = 1000"), "{msg}");
    assert!(msg.contains("4512"), "names what is needed: {msg}");
    // Sized from a smaller cache, it fits; a worker caching more than that is refused.
    let toml = "[runtime]\nmax-instances = 1000\ncached-runs = 100\ncache = false\n".to_owned()
        + &guest("a", guests::PROBE, "")
        + &guest("b", guests::PROBE, "");
    let interpose = interpose::temporal::Interpose::from_config(&config(&toml)).unwrap();
    let mut options = temporalio_sdk::WorkerOptions::new("q").build();
    options.max_cached_workflows = 1000;
    let err = interpose.check_worker(&options).unwrap_err().to_string();
    assert!(err.contains("cached-runs = 1000"), "{err}");
    assert!(err.contains("4512"), "{err}");
    options.max_cached_workflows = 100;
    interpose.check_worker(&options).unwrap();
    // An Interpose wrapped around a chain checks against the pool it really has.
    let small = Runtime::builder()
        .cache(false)
        .max_instances(100)
        .build()
        .unwrap();
    let chain = interpose::chain::Chain::load(
        &small.with_sinks(Arc::new(NoMetrics), Arc::new(MemoryLogs::default())),
        &config(&(guest("a", guests::PROBE, "") + &guest("b", guests::PROBE, ""))),
        Vec::new(),
    )
    .unwrap();
    let wrapped = interpose::temporal::Interpose::from_chain(small, chain);
    let err = wrapped.check_worker(&options).unwrap_err().to_string();
    assert!(
        err.contains("max-instances") && err.contains("912"),
        "{err}"
    );
}

/// `RuntimeBuilder::perf_map` is how the benchmark's profiles name guest functions
/// (BENCHMARKS.md): with it, compiling a guest writes perf's map of JIT code for this
/// process; without it, nothing is written.
#[test]
fn a_runtime_built_with_perf_map_names_guest_code_for_perf() {
    let map = std::path::PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()));
    let _ = std::fs::remove_file(&map);
    let c = config(&guest("hop", guests::HOP, ""));
    let plain = Runtime::builder().cache(false).build().unwrap();
    interpose::chain::Chain::load(&plain, &c, Vec::new()).unwrap();
    assert!(!map.exists(), "no perf map unless asked for");
    let rt = Runtime::builder()
        .cache(false)
        .perf_map(true)
        .build()
        .unwrap();
    interpose::chain::Chain::load(&rt, &c, Vec::new()).unwrap();
    let text = std::fs::read_to_string(&map).expect("a perf map for this process");
    let _ = std::fs::remove_file(&map);
    assert!(
        text.lines().any(|l| l.contains("wasm[")),
        "the map names guest functions: {}",
        text.lines().take(3).collect::<Vec<_>>().join(" | ")
    );
}
