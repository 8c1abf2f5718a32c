//! The sandbox and the loader: virtual WASI, forbidden imports, bad components, config
//! errors, the artifact cache and `interpose check`.

use std::path::{Path, PathBuf};

use interpose::chain::{Hook, Outcome};
use interpose::error::{ConfigError, LoadError};
use interpose::runtime::{CacheStatus, Runtime};
use interpose::services::{FixedWorkflow, Scope, WorkflowInfo};
use interpose_tests::{call, chain, guest, guests, header, load, start_call};

const T0: u64 = 1_700_000_000_123_456_789;

fn wasi_headers(run_id: &str) -> interpose::chain::Call {
    let t = chain(&guest("wasi", guests::WASI_PROBE, ""));
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", run_id, "T", "q"), T0);
    let mut c = call(Hook::ExecuteWorkflow);
    t.chain
        .session(Scope::Workflow(wf))
        .run(&mut c, |_| Outcome::Ok(vec![]))
        .unwrap();
    let lines = t.logs.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.message == "wasi-probe says hello on stdout"
                && l.level == tracing::Level::INFO),
        "stdout reaches the log sink: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.message == "wasi-probe says hello on stderr"
                && l.level == tracing::Level::WARN)
    );
    c
}

#[test]
fn replay_wasi_guest_sees_workflow_time_deterministic_random_and_nothing_else() {
    let c = wasi_headers("run-1");
    assert_eq!(
        header(&c, "now").unwrap(),
        T0.to_string(),
        "wall clock is workflow time"
    );
    assert_eq!(
        header(&c, "mono").unwrap(),
        "0",
        "monotonic clock does not advance within a call"
    );
    assert_eq!(header(&c, "env").unwrap(), "0", "no environment");
    assert_eq!(header(&c, "args").unwrap(), "0", "no arguments");
    assert_eq!(header(&c, "file").unwrap(), "denied", "no files");
    assert_eq!(header(&c, "dir").unwrap(), "denied", "no directories");
    let again = wasi_headers("run-1");
    assert_eq!(
        header(&c, "random"),
        header(&again, "random"),
        "same run, same random (replay)"
    );
    let other = wasi_headers("run-2");
    assert_ne!(
        header(&c, "random"),
        header(&other, "random"),
        "another run, another stream"
    );
}

#[test]
fn wasi_guest_in_client_hooks_sees_a_frozen_clock_and_fresh_randomness() {
    let t = chain(&guest("wasi", guests::WASI_PROBE, ""));
    let mut a = start_call("X");
    let mut b = start_call("X");
    t.chain
        .session(Scope::Client)
        .run(&mut a, |_| Outcome::Ok(vec![]))
        .unwrap();
    t.chain
        .session(Scope::Client)
        .run(&mut b, |_| Outcome::Ok(vec![]))
        .unwrap();
    let now: u128 = header(&a, "now").unwrap().parse().unwrap();
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    assert!(
        real - now < 60_000_000_000,
        "the time the hook was entered: {now} vs {real}"
    );
    assert_eq!(header(&a, "mono").unwrap(), "0", "frozen during the call");
    assert_ne!(
        header(&a, "random"),
        header(&b, "random"),
        "client guests are not replayed"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn wasi_guest_prints_from_inside_a_tokio_task() {
    // Temporal calls every hook from a tokio task. wasmtime-wasi's synchronous `wasi:io`
    // would `block_on` the current runtime for `println!` and panic; Interpose's own
    // `wasi:io` settles in-memory streams on the spot.
    let t = chain(&guest("wasi", guests::WASI_PROBE, ""));
    let mut c = start_call("X");
    t.chain
        .session(Scope::Client)
        .run(&mut c, |_| Outcome::Ok(vec![]))
        .expect("a WASI guest runs inside tokio");
    assert_eq!(header(&c, "env").as_deref(), Some("0"));
    assert!(
        t.logs
            .lines()
            .iter()
            .any(|l| l.message == "wasi-probe says hello on stdout"),
        "stdout reached the log sink: {:?}",
        t.logs.lines()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_wasi_guest_that_sleeps_is_refused_instead_of_blocking_the_worker() {
    let t = chain(&guest(
        "sleepy",
        guests::WASI_PROBE,
        "[guest.config]\nsleep = '600000'",
    ));
    let started = std::time::Instant::now();
    let mut c = start_call("X");
    let err = t
        .chain
        .session(Scope::Client)
        .run(&mut c, |_| Outcome::Ok(vec![]))
        .expect_err("a ten-minute sleep is refused");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "it did not wait"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("sleepy") && msg.contains("start-workflow"),
        "{msg}"
    );
    assert!(msg.contains("cannot sleep or wait"), "{msg}");
}

/// The `timer=` field of the wasi-probe's observation in the `probe` header.
fn timer_of(c: &interpose::chain::Call) -> String {
    let obs = header(c, "probe").expect("the probe observed");
    obs.rsplit_once("timer=").expect("timer field").1.to_owned()
}

#[tokio::test(flavor = "current_thread")]
async fn replay_a_kept_timer_pollable_follows_workflow_time_not_real_time() {
    // The guest subscribes a 1 ms timer in its first hook and asks `ready` in each later
    // one. Real time passes between hooks (and the tokio driver turns, which is what fired
    // wasmtime-wasi's real timers): the answer must move only with workflow time, or a
    // replay, which runs the same hooks a few microseconds apart, would see another value.
    let t = chain(&guest(
        "wasi",
        guests::WASI_PROBE,
        "[guest.config]\ntimer-ns = '1000000'",
    ));
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "r", "T", "q"), T0);
    let mut run = t.chain.session(Scope::Workflow(wf.clone()));
    let mut seen = Vec::new();
    for step in 0..3 {
        if step == 2 {
            wf.set_now(T0 + 1_000_000);
        }
        let mut c = call(if step == 0 {
            Hook::ExecuteWorkflow
        } else {
            Hook::HandleSignal
        });
        run.run(&mut c, |_| Outcome::Ok(vec![])).unwrap();
        seen.push(timer_of(&c));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        seen,
        ["pending", "pending", "ready"],
        "ready exactly when workflow time reaches the deadline"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_wasi_guest_that_blocks_on_a_timer_is_refused_at_once() {
    let t = chain(&guest(
        "blocker",
        guests::WASI_PROBE,
        "deadline = '10s'\n[guest.config]\nblock-timer = 'yes'",
    ));
    let started = std::time::Instant::now();
    let err = t
        .chain
        .session(Scope::Client)
        .run(&mut start_call("X"), |_| Outcome::Ok(vec![]))
        .expect_err("blocking on a timer is refused");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "refused without waiting for the deadline: {:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("cannot sleep or wait"), "{err}");
}

#[test]
fn hostile_one_write_of_many_newlines_hits_the_output_limit() {
    // Each line is an item: one write of 60,000 newlines is 60,000 bytes (under the
    // limit) but 60,000 log lines.
    let t = chain(&guest(
        "flood",
        guests::WASI_PROBE,
        "max-output = '64KiB'\n[guest.config]\nnewlines = '60000'",
    ));
    let err = t
        .chain
        .session(Scope::Client)
        .run(&mut start_call("X"), |_| Outcome::Ok(vec![]))
        .expect_err("a million lines pass the output limit");
    assert!(
        matches!(err.cause, interpose::GuestFailure::OutputLimit { .. }),
        "{err}"
    );
    assert!(
        t.logs.lines().len() <= 1024,
        "emission stopped at the limit: {} lines",
        t.logs.lines().len()
    );
}

#[test]
fn a_partial_stdout_line_is_emitted_with_the_call_that_printed_it() {
    let t = chain(&guest(
        "partial",
        guests::WASI_PROBE,
        "[guest.config]\npartial = 'no newline here'",
    ));
    t.chain
        .session(Scope::Client)
        .run(&mut start_call("X"), |_| Outcome::Ok(vec![]))
        .unwrap();
    let lines = t.logs.lines();
    assert!(
        lines.iter().any(|l| l.message == "no newline here"
            && l.hook == Some(Hook::StartWorkflow)
            && l.level == tracing::Level::WARN),
        "emitted at the end of the call, attributed to its hook: {lines:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_network_imports_load_as_stubs_and_every_socket_call_traps() {
    // Language runtimes (CPython) import `wasi:sockets` whether or not the guest uses it, so
    // the host links stubs: the guest loads, and opening a socket is a guest failure that
    // names the network, never a connection.
    let t = chain(&guest("net", guests::FORBIDDEN_IMPORT, ""));
    let mut c = start_call("X");
    let err = t
        .chain
        .session(Scope::Client)
        .run(&mut c, |_| Outcome::Ok(vec![]))
        .expect_err("the connect traps");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("net") && msg.contains("start-workflow"),
        "{msg}"
    );
    assert!(msg.contains("guests get no network"), "{msg}");
    assert!(msg.contains("wasi:sockets/"), "{msg}");
}

#[test]
fn hostile_forbidden_import_is_refused_at_load_naming_the_import() {
    // wasi:http is refused outright (no runtime needs it unused).
    let component = wat::parse_str(
        r#"(component
            (import "wasi:http/outgoing-handler@0.2.0" (instance))
        )"#,
    )
    .unwrap();
    let (_dir, path) = temp_file("http.wasm", &component);
    let err = load(&guest("net", path.to_str().unwrap(), "")).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            interpose::Error::Load(LoadError::ForbiddenImport { .. })
        ),
        "{msg}"
    );
    assert!(msg.contains("guest `net`"), "{msg}");
    assert!(msg.contains("wasi:http/"), "{msg}");
    assert!(msg.contains("no network"), "{msg}");
    assert!(msg.contains("http.wasm"), "{msg}");
}

#[test]
fn hostile_an_export_of_the_wrong_type_is_an_incompatible_component() {
    // The right names, the wrong signatures: refused as incompatible at load, naming the
    // interface (a typed failure of instantiation, not a guest failure).
    let component = wat::parse_str(
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $inst
                (export "interests" (func $f))
                (export "before" (func $f))
                (export "after" (func $f)))
            (export "interpose:interceptor/client@0.5.0" (instance $inst)))"#,
    )
    .unwrap();
    let (_dir, path) = temp_file("shape.wasm", &component);
    let err = load(&guest("shape", path.to_str().unwrap(), "")).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, interpose::Error::Load(LoadError::Incompatible { .. })),
        "{msg}"
    );
    assert!(msg.contains("guest `shape`"), "{msg}");
    assert!(msg.contains("`client` has the wrong type"), "{msg}");
}

#[test]
fn hostile_a_guest_that_hangs_while_loading_stops_at_the_load_deadline() {
    // A start function that never returns: the load phase has a deadline of its own, the
    // guest's but at least 1 s (start-up on a loaded machine must not fail a guest whose
    // per-call deadline is tight), and it still ends.
    let component = wat::parse_str(
        r#"(component
            (core module $m
                (func $start (loop $l (br $l)))
                (start $start)
                (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $inst
                (export "interests" (func $f))
                (export "before" (func $f))
                (export "after" (func $f)))
            (export "interpose:interceptor/client@0.5.0" (instance $inst)))"#,
    )
    .unwrap();
    let (_dir, path) = temp_file("hang.wasm", &component);
    let started = std::time::Instant::now();
    let msg = load(&guest(
        "hang",
        path.to_str().unwrap(),
        "deadline = '100ms'\nfuel = 1_000_000_000_000",
    ))
    .unwrap_err()
    .to_string();
    let took = started.elapsed();
    assert!(msg.contains("guest `hang`"), "{msg}");
    assert!(msg.contains("deadline exceeded (1s per call)"), "{msg}");
    assert!(
        took >= std::time::Duration::from_secs(1) && took < std::time::Duration::from_secs(10),
        "{took:?}"
    );
}

#[test]
fn hostile_context_calls_while_loading_name_no_hook() {
    // A component whose core module calls `workflow-context.is-replaying` from its start
    // function, i.e. while the host instantiates it at load, outside any hook. The refusal
    // must say so, not name the placeholder hook the instance holds between hooks.
    let component = wat::parse_str(
        r#"(component
            (import "interpose:interceptor/workflow-context@0.5.0" (instance $wc
                (export "is-replaying" (func (result bool)))))
            (core func $replaying (canon lower (func $wc "is-replaying")))
            (core module $m
                (import "wc" "is-replaying" (func $r (result i32)))
                (func $start (drop (call $r)))
                (start $start)
                (func (export "f")))
            (core instance $wci (export "is-replaying" (func $replaying)))
            (core instance $i (instantiate $m (with "wc" (instance $wci))))
            (func $f (canon lift (core func $i "f")))
            (instance $inst
                (export "interests" (func $f))
                (export "before" (func $f))
                (export "after" (func $f)))
            (export "interpose:interceptor/activity-inbound@0.5.0" (instance $inst)))"#,
    )
    .unwrap();
    let (_dir, path) = temp_file("context.wasm", &component);
    let msg = load(&guest("ctx", path.to_str().unwrap(), ""))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("guest `ctx`"), "{msg}");
    assert!(
        msg.contains("`workflow-context.is-replaying` was called while the guest was loaded"),
        "{msg}"
    );
    assert!(msg.contains("outside any hook"), "{msg}");
    assert!(!msg.contains("execute-activity"), "{msg}");
}

fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn load_err(path: &Path) -> String {
    let e = load(&guest("bad", path.to_str().unwrap(), "")).unwrap_err();
    assert!(matches!(e, interpose::Error::Load(_)), "{e}");
    e.to_string()
}

#[test]
fn hostile_bad_components_are_refused_with_one_clear_error() {
    let (_d, corrupt) = temp_file("corrupt.wasm", b"\0asm\x0d\0\x01\0garbage");
    assert!(load_err(&corrupt).contains("is not a valid component"));
    let (_d, core) = temp_file(
        "core.wasm",
        &wat::parse_str("(module (func (export \"f\")))").unwrap(),
    );
    assert!(load_err(&core).contains("is a core Wasm module"));
    let (_d, text) = temp_file("text.wasm", b"hello");
    assert!(load_err(&text).contains("does not start with the Wasm component header"));

    let component = |export: &str| {
        wat::parse_str(format!(
            r#"(component
                (core module $m (func (export "f")))
                (core instance $i (instantiate $m))
                (func $f (canon lift (core func $i "f")))
                (instance $inst (export "f" (func $f)))
                (export "{export}" (instance $inst)))"#
        ))
        .unwrap()
    };
    let (_d, other) = temp_file("other.wasm", &component("other:pkg/thing@1.0.0"));
    let m = load_err(&other);
    assert!(
        m.contains("exports no interface of interpose:interceptor")
            && m.contains("other:pkg/thing@1.0.0"),
        "{m}"
    );
    let (_d, future) = temp_file(
        "future.wasm",
        &component("interpose:interceptor/client@0.6.0"),
    );
    let m = load_err(&future);
    assert!(
        m.contains("was built for interpose:interceptor@0.6.0")
            && m.contains("this host implements interpose:interceptor@0.5.0")
            && m.contains("upgrade Interpose"),
        "{m}"
    );
    // A guest built for contract 0.1 (one crossing per header read and edit): refused with
    // the version it was built for and what to do, before anything else about it.
    let (_d, old) = temp_file("old.wasm", &component("interpose:interceptor/client@0.1.0"));
    let err = load(&guest("old", old.to_str().unwrap(), "")).unwrap_err();
    let m = err.to_string();
    assert!(
        matches!(
            &err,
            interpose::Error::Load(LoadError::ContractVersion { found, .. }) if found == "0.1.0"
        ),
        "{m}"
    );
    assert!(m.contains("guest `old`"), "{m}");
    assert!(
        m.contains("was built for interpose:interceptor@0.1.0"),
        "{m}"
    );
    assert!(m.contains("rebuild it with this release's SDK"), "{m}");
    assert!(m.contains("`interpose new`"), "{m}");
    let (_d, wrong) = temp_file(
        "wrong.wasm",
        &component("interpose:interceptor/client@0.5.0"),
    );
    let m = load_err(&wrong);
    assert!(
        m.contains("does not export function `interests`") || m.contains("contract"),
        "{m}"
    );
    let (_d, empty) = temp_file("empty.wasm", &wat::parse_str("(component)").unwrap());
    assert!(load_err(&empty).contains("exports nothing"));

    let missing = load(&guest("gone", "/nonexistent/guest.wasm", ""))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("guest `gone`: cannot read `/nonexistent/guest.wasm`"),
        "{missing}"
    );
}

#[test]
fn hostile_a_bad_guest_stops_the_whole_load() {
    let toml = guest("ok", guests::DENY_LIST, "") + &guest("gone", "/nonexistent/guest.wasm", "");
    assert!(load(&toml).is_err(), "no partial chain is returned");
}

#[test]
fn hostile_config_errors_name_the_problem() {
    let e = load(&format!("{}feul = 1\n", guest("a", guests::PROBE, ""))).unwrap_err();
    assert!(
        matches!(e, interpose::Error::Config(ConfigError::Parse { .. }))
            && e.to_string().contains("feul"),
        "{e}"
    );
    let e = load(&(guest("a", guests::PROBE, "") + &guest("a", guests::PROBE, ""))).unwrap_err();
    assert!(e.to_string().contains("duplicate guest name `a`"), "{e}");
    let e = load(&guest("a", guests::PROBE, "deadline = 'soon'")).unwrap_err();
    assert!(e.to_string().contains("deadline"), "{e}");
    let e = load(&guest("a", guests::PROBE, "on-failure = 'ignore'")).unwrap_err();
    assert!(
        e.to_string().contains("on-failure") || e.to_string().contains("ignore"),
        "{e}"
    );
}

/// A runtime that caches compiled artifacts in `dir`.
fn cached_runtime(dir: &Path) -> Runtime {
    Runtime::builder()
        .cache_dir(dir)
        .max_instances(8)
        .build()
        .unwrap()
}

#[test]
fn compiled_artifacts_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let rt = || cached_runtime(dir.path());
    let first = rt().inspect(guests::DENY_LIST).unwrap();
    assert_eq!(first.cache, CacheStatus::Miss);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "one artifact written");
    let second = rt().inspect(guests::DENY_LIST).unwrap();
    assert_eq!(
        second.cache,
        CacheStatus::Hit,
        "a new engine loads the artifact"
    );
    assert_eq!(first.hash, second.hash);
    // A corrupt artifact is recompiled, not trusted.
    let path = files[0].as_ref().unwrap().path();
    std::fs::write(&path, b"not an artifact").unwrap();
    let third = rt().inspect(guests::DENY_LIST).unwrap();
    assert_eq!(third.cache, CacheStatus::Miss);
}

#[test]
fn hostile_a_cache_folder_or_artifact_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let rt = || cached_runtime(dir.path());
    assert_eq!(
        rt().inspect(guests::DENY_LIST).unwrap().cache,
        CacheStatus::Miss
    );
    let chmod = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    // Anyone could have dropped native code into a world-writable folder.
    chmod(dir.path(), 0o777).unwrap();
    let err = rt().inspect(guests::DENY_LIST).unwrap_err().to_string();
    assert!(err.contains("writable by group or others"), "{err}");
    chmod(dir.path(), 0o700).unwrap();
    // Or replaced an artifact that is group-writable.
    let artifact = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    chmod(&artifact, 0o664).unwrap();
    let err = rt().inspect(guests::DENY_LIST).unwrap_err().to_string();
    assert!(err.contains("artifact cache file"), "{err}");
    chmod(&artifact, 0o600).unwrap();
    assert_eq!(
        rt().inspect(guests::DENY_LIST).unwrap().cache,
        CacheStatus::Hit
    );
}

/// Run the `interpose` command line in-process; returns the report or the error.
fn cli(args: &[&str]) -> Result<String, String> {
    let mut out = Vec::new();
    let argv = std::iter::once("interpose").chain(args.iter().copied());
    match interpose_cli::run(argv, &mut out) {
        Ok(()) => Ok(String::from_utf8(out).unwrap()),
        Err(e) => Err(format!("{e:#}")),
    }
}

#[test]
fn interpose_check_reports_categories_and_interests() {
    let stdout = cli(&["check", guests::DENY_LIST]).unwrap();
    assert!(
        stdout.contains("client: signal-with-start-workflow (before; reads user-id)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("start-workflow (before; reads user-id)"),
        "the header reads the guest declared: {stdout}"
    );
    assert!(
        stdout.contains("workflow-inbound: exported, no hooks"),
        "{stdout}"
    );
    assert!(
        stdout.contains("interpose:interceptor/config@0.5.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("size:") && stdout.contains("compile:"),
        "{stdout}"
    );

    let stdout = cli(&["check", guests::CONTEXT_PROPAGATION]).unwrap();
    assert!(
        stdout.contains("activity-inbound: execute-activity (before; reads user-id)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("workflow-outbound: ")
            && stdout.contains("schedule-activity (before; reads user-id)"),
        "{stdout}"
    );

    let stdout = cli(&["check", guests::FORBIDDEN_IMPORT]).unwrap();
    assert!(
        stdout.contains("wasi:sockets/tcp-create-socket@0.2.")
            && stdout.contains("(stubbed: every call traps, guests get no network)"),
        "{stdout}"
    );
    let err = cli(&["check", "/nonexistent.wasm"]).unwrap_err();
    assert!(err.contains("cannot read `/nonexistent.wasm`"), "{err}");
}

#[test]
fn interpose_validate_loads_a_config_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("interpose.toml");
    std::fs::write(
        &cfg,
        guest("deny", guests::DENY_LIST, "") + &guest("ctx", guests::CONTEXT_PROPAGATION, ""),
    )
    .unwrap();
    let stdout = cli(&["validate", cfg.to_str().unwrap()]).unwrap();
    let deny = stdout.find("1. deny:").expect("first guest listed first");
    let ctx = stdout.find("2. ctx:").expect("second guest listed second");
    assert!(
        deny < ctx && stdout.contains("ok: 2 guests loaded"),
        "{stdout}"
    );
    std::fs::write(&cfg, "[[guest]]\nname = 'x'\npath = 'x.wasm'\nbogus = 1\n").unwrap();
    let err = cli(&["validate", cfg.to_str().unwrap()]).unwrap_err();
    assert!(err.contains("bogus"), "{err}");
}
