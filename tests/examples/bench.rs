//! The benchmark suite behind `BENCHMARKS.md`: `cargo xtask bench` (release build,
//! `RUST_BACKTRACE=0`). Every Wasm figure is measured beside its native baseline in the same
//! process and run; figures are medians over rounds (each round the mean of many
//! iterations), because this machine is noisy. Writes `BENCHMARKS.md` at the repository root
//! (or the path given as the first argument).
//!
//! Sections (the letters of issue 7): a. hop vs native; b. uninterested hop; c. instance per
//! workflow run; d. worker start with 10 guests, cold and warm; e. end to end on the dev
//! server; f. resident memory per cached run, and 10,000 runs with three guests; g. fuel
//! metering on vs off.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use interpose::chain::{Call, Hook, NativeDecision, NativeInterceptor};
use interpose::config::Config;
use interpose::runtime::Runtime;
use interpose::services::{FixedWorkflow, NoMetrics, Scope, TracingLogs, WorkflowInfo};
use interpose::temporal::Interpose;
use interpose_tests::guests;

const ROUNDS: usize = 11;

fn median<T: PartialOrd + Copy>(v: Vec<T>) -> T {
    interpose_tests::timing::median(v)
}

/// Median over rounds of the mean time per iteration.
fn time(iters: u32, f: impl FnMut()) -> Duration {
    interpose_tests::timing::time(ROUNDS, iters, f)
}

fn toml(entries: &[(&str, &str, &str)]) -> Config {
    let mut text = String::new();
    for (name, path, extra) in entries {
        if path.is_empty() {
            text.push_str(&format!(
                "[[guest]]\nname = \"{name}\"\nnative = true\n{extra}\n"
            ));
        } else {
            text.push_str(&format!(
                "[[guest]]\nname = \"{name}\"\npath = \"{path}\"\n{extra}\n"
            ));
        }
    }
    Config::from_toml(&text, Path::new("/"), Path::new("bench.toml")).expect("config")
}

fn runtime(max_instances: u32, metering: bool) -> Runtime {
    Runtime::builder()
        .cache(false)
        .max_instances(max_instances)
        .fuel_metering(metering)
        .build()
        .expect("engine")
}

/// The native baseline of the `hop` guest: read `in`, write it to `out`.
struct NativeHop;

impl NativeInterceptor for NativeHop {
    fn wants(&self, hook: Hook) -> bool {
        hook == Hook::ScheduleActivity
    }
    fn before(&self, call: &mut Call, _scope: &Scope) -> NativeDecision {
        if let Some(v) = call.headers().get("in").cloned() {
            call.headers_mut().insert("out".into(), v);
        }
        NativeDecision::Proceed
    }
}

fn activity_call() -> Call {
    Call::new(Hook::ScheduleActivity.empty_detail(), None)
        .with_header("in", interpose::chain::Payload::json("\"alice\""))
}

fn workflow_scope(run: &str) -> Scope {
    Scope::Workflow(FixedWorkflow::new(
        WorkflowInfo::new("ns", "wf", run, "T", "q"),
        1,
    ))
}

struct Row {
    id: &'static str,
    what: String,
    value: String,
    target: String,
    verdict: String,
}

fn us(d: Duration) -> String {
    format!("{:.3} µs", d.as_secs_f64() * 1e6)
}

fn verdict(met: bool, detail: String) -> String {
    if met {
        format!("met{detail}")
    } else {
        format!("**missed**{detail}")
    }
}

/// a, b, g: hops through a reused workflow instance.
fn hops(rows: &mut Vec<Row>) {
    let rt = runtime(64, true);
    let wasm = interpose::chain::Chain::load(&rt, &toml(&[("hop", guests::HOP, "")]), Vec::new())
        .expect("hop guest");
    let native = interpose::chain::Chain::load(
        &rt.with_sinks(Arc::new(NoMetrics), Arc::new(TracingLogs)),
        &toml(&[("hop", "", "")]),
        vec![(
            "hop".into(),
            Arc::new(NativeHop) as Arc<dyn NativeInterceptor>,
        )],
    )
    .expect("native chain");
    let hop = |chain: &interpose::Chain, hook: Hook| {
        let mut session = chain.session(workflow_scope("r"));
        move || {
            let mut call = if hook == Hook::ScheduleActivity {
                activity_call()
            } else {
                Call::new(hook.empty_detail(), None)
            };
            let b = session.before(&mut call).expect("hop");
            let _ = black_box((b, call));
        }
    };
    // Check the work is the same.
    let mut c = activity_call();
    let _ = wasm.session(workflow_scope("x")).before(&mut c).unwrap();
    assert!(c.headers().contains_key("out"), "the guest adds the header");

    let n = 20_000;
    let (mut w, mut nat) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        // Alternate, so that drift on a noisy machine hits both.
        w.push(time(n, hop(&wasm, Hook::ScheduleActivity)));
        nat.push(time(n, hop(&native, Hook::ScheduleActivity)));
    }
    let (w, nat) = (median(w), median(nat));
    rows.push(Row {
        id: "a",
        what: "one hop, Rust guest reads one header and adds one (reused workflow instance)".into(),
        value: us(w),
        target: "≤ 1 µs".into(),
        verdict: verdict(w <= Duration::from_micros(1), String::new()),
    });
    rows.push(Row {
        id: "a",
        what: "the same hop, native Rust interceptor in the same chain machinery".into(),
        value: us(nat),
        target: "baseline".into(),
        verdict: format!(
            "Wasm / native = {:.1}x",
            w.as_secs_f64() / nat.as_secs_f64()
        ),
    });
    let idle = time(200_000, hop(&wasm, Hook::StartTimer));
    rows.push(Row {
        id: "b",
        what: "hop through a guest not interested in the hook".into(),
        value: format!("{:.1} ns", idle.as_secs_f64() * 1e9),
        target: "≤ 50 ns".into(),
        verdict: verdict(idle <= Duration::from_nanos(50), String::new()),
    });

    // g: the same hop on an engine without fuel metering.
    let off = runtime(64, false);
    let unmetered =
        interpose::chain::Chain::load(&off, &toml(&[("hop", guests::HOP, "")]), Vec::new())
            .expect("hop guest");
    let (mut on_v, mut off_v) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        on_v.push(time(n, hop(&wasm, Hook::ScheduleActivity)));
        off_v.push(time(n, hop(&unmetered, Hook::ScheduleActivity)));
    }
    let (on_t, off_t) = (median(on_v), median(off_v));
    let fuel_per_hop = wasm.stats("hop").unwrap().fuel / wasm.stats("hop").unwrap().calls.max(1);
    rows.push(Row {
        id: "g",
        what: format!(
            "fuel metering: hop with metering on vs off ({fuel_per_hop} fuel units per hop)"
        ),
        value: format!("{} vs {}", us(on_t), us(off_t)),
        target: "report".into(),
        verdict: format!(
            "metering costs {:+.0} ns per hop ({:+.1} %)",
            (on_t.as_secs_f64() - off_t.as_secs_f64()) * 1e9,
            (on_t.as_secs_f64() / off_t.as_secs_f64() - 1.0) * 100.0
        ),
    });
}

/// c: a new workflow run's instance (session + instantiation + first hop).
fn instances(rows: &mut Vec<Row>) {
    let rt = runtime(256, true);
    for (name, path) in [
        ("hop (Rust, no WASI)", guests::HOP),
        (
            "context-propagation (Rust, no WASI)",
            guests::CONTEXT_PROPAGATION,
        ),
        ("wasi-probe (Rust std, wasip2)", guests::WASI_PROBE),
    ] {
        let chain = interpose::chain::Chain::load(&rt, &toml(&[("g", path, "")]), Vec::new())
            .expect("guest");
        let hook = if path == guests::WASI_PROBE {
            Hook::ExecuteWorkflow
        } else {
            Hook::ScheduleActivity
        };
        let mut i = 0u64;
        let new_run = time(2_000, || {
            i += 1;
            let mut s = chain.session(workflow_scope(&format!("run-{i}")));
            let mut c = Call::new(hook.empty_detail(), None);
            let _ = black_box(s.before(&mut c).expect("first hop"));
        });
        let is_target = path == guests::HOP;
        rows.push(Row {
            id: "c",
            what: format!("new workflow run: instance + first hop, {name}"),
            value: us(new_run),
            target: if is_target {
                "≤ 10 µs (Rust)".into()
            } else {
                "report".into()
            },
            verdict: if is_target {
                verdict(
                    new_run <= Duration::from_micros(10),
                    if new_run > Duration::from_micros(10) {
                        format!(" by {:.1}x", new_run.as_secs_f64() / 10e-6)
                    } else {
                        String::new()
                    },
                )
            } else {
                String::new()
            },
        });
    }
}

/// One row of the languages table.
struct LangRow {
    language: &'static str,
    size: u64,
    compile: Duration,
    new_run: Option<Duration>,
    new_run_cow: Option<Duration>,
    per_call: Option<Duration>,
    note: &'static str,
}

/// Enough iterations of `f` for ~20 ms per round, from one timed call.
fn iterations(mut f: impl FnMut()) -> u32 {
    f();
    let t = Instant::now();
    f();
    let one = t.elapsed().max(Duration::from_nanos(50));
    (Duration::from_millis(20).as_nanos() / one.as_nanos()).clamp(5, 50_000) as u32
}

/// c (Python, JS) and the languages table of docs/languages.md: the same context-propagation
/// guest in every language. New run = a fresh workflow instance + its first hop
/// (execute-workflow with a `user-id` header, remembered); per call = schedule-activity on
/// the run's instance (the user id copied onto the command: one host call to set a header).
fn languages(rows: &mut Vec<Row>, table: &mut Vec<LangRow>) {
    use interpose::chain::Payload;
    let rt = runtime(256, true);
    let cow = Runtime::builder()
        .cache(false)
        .max_instances(256)
        .memory_images(interpose::config::MemoryImages::CopyOnWrite)
        .build()
        .expect("engine");
    let guests: [(&'static str, Result<&str, &str>, &'static str); 5] = [
        ("Rust", Ok(guests::CONTEXT_PROPAGATION), ""),
        ("C (clang, wasi-libc)", guests::CONTEXT_PROPAGATION_C, ""),
        (
            "Python (componentize-py)",
            guests::CONTEXT_PROPAGATION_PY,
            "",
        ),
        (
            "JavaScript (componentize-js, StarlingMonkey)",
            guests::CONTEXT_PROPAGATION_JS,
            "",
        ),
        (
            "JavaScript (componentize-qjs, QuickJS)",
            guests::CONTEXT_PROPAGATION_QJS,
            "loads; every call traps (componentize-qjs 0.4.5 leaves the borrowed `call` handle undropped)",
        ),
    ];
    let first = || {
        Call::new(Hook::ExecuteWorkflow.empty_detail(), None)
            .with_header("user-id", Payload::json("\"alice\""))
    };
    let next = || Call::new(Hook::ScheduleActivity.empty_detail(), None);
    for (language, path, note) in guests {
        let path = interpose_tests::polyglot(path);
        let size = std::fs::metadata(path).expect("guest file").len();
        let started = Instant::now();
        let chain = interpose::chain::Chain::load(&rt, &toml(&[("ctx", path, "")]), Vec::new())
            .expect("guest loads");
        let compile = started.elapsed();
        if !note.is_empty() {
            table.push(LangRow {
                language,
                size,
                compile,
                new_run: None,
                new_run_cow: None,
                per_call: None,
                note,
            });
            continue;
        }
        // The work is the same in every language.
        let mut s = chain.session(workflow_scope("check"));
        let _ = s.before(&mut first()).expect("first hop");
        let mut c = next();
        let _ = s.before(&mut c).expect("hop");
        assert_eq!(
            c.headers().get("user-id").map(|p| p.data.clone()),
            Some(b"\"alice\"".to_vec()),
            "{language}: the guest forwards the user"
        );
        drop(s);

        let new_run_on = |chain: &interpose::Chain| {
            let mut i = 0u64;
            let mut new_run = || {
                i += 1;
                let mut s = chain.session(workflow_scope(&format!("run-{i}")));
                let _ = black_box(s.before(&mut first()).expect("first hop"));
            };
            let n = iterations(&mut new_run);
            time(n, new_run)
        };
        let new_run = new_run_on(&chain);
        let cow_chain =
            interpose::chain::Chain::load(&cow, &toml(&[("ctx", path, "")]), Vec::new())
                .expect("guest loads");
        let new_run_cow = new_run_on(&cow_chain);
        drop(cow_chain);
        let mut s = chain.session(workflow_scope("calls"));
        let _ = s.before(&mut first()).expect("first hop");
        let mut call = || {
            let mut c = next();
            let b = s.before(&mut c).expect("hop");
            let _ = black_box((b, c));
        };
        let n = iterations(&mut call);
        let per_call = time(n, call);
        eprintln!(
            "bench: {language}: {size} bytes, compile {compile:.1?}, new run {new_run:.1?} (copy-on-write {new_run_cow:.1?}), per call {per_call:.2?}"
        );
        if language != "Rust" && language != "C (clang, wasi-libc)" {
            rows.push(Row {
                id: "c",
                what: format!(
                    "new workflow run: instance + first hop, {language} context-propagation"
                ),
                value: short(new_run),
                target: "report".into(),
                verdict: format!(
                    "{:.0}x the Rust guest",
                    new_run.as_secs_f64() / table[0].new_run.map_or(f64::NAN, |d| d.as_secs_f64())
                ),
            });
        }
        table.push(LangRow {
            language,
            size,
            compile,
            new_run: Some(new_run),
            new_run_cow: Some(new_run_cow),
            per_call: Some(per_call),
            note,
        });
    }
}

/// µs below a millisecond, ms above.
fn short(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        us(d)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

fn languages_table(table: &[LangRow]) -> String {
    let mut md = String::from(
        "## Guest languages\n\nThe same context-propagation guest in each language (`BENCH_ONLY=l`). Compile: cranelift, once, cache off (the artifact cache makes later starts a load). New run: a workflow run's fresh instance and its first hop, with the default `memory-images = \"copy\"` and with `\"copy-on-write\"`. Per call: one hop on the run's instance that copies the user id onto an activity.\n\n| language | component | compile | new run | new run, copy-on-write | per call | |\n|---|---|---|---|---|---|---|\n",
    );
    let fmt = |d: Option<Duration>| d.map_or("—".to_owned(), short);
    for r in table {
        md.push_str(&format!(
            "| {} | {} | {:.2} s | {} | {} | {} | {} |\n",
            r.language,
            bytesize::ByteSize(r.size).display().iec(),
            r.compile.as_secs_f64(),
            fmt(r.new_run),
            fmt(r.new_run_cow),
            fmt(r.per_call),
            r.note
        ));
    }
    md
}

/// d: worker start with 10 guests.
fn start(rows: &mut Vec<Row>) {
    let guests10 = [
        ("context-propagation", guests::CONTEXT_PROPAGATION),
        ("deny-list", guests::DENY_LIST),
        ("latency-metrics", guests::LATENCY_METRICS),
        ("replay-logger", guests::REPLAY_LOGGER),
        ("probe", guests::PROBE),
        ("witness", guests::WITNESS),
        ("hostile", guests::HOSTILE),
        ("hop", guests::HOP),
        ("wasi-probe", guests::WASI_PROBE),
        ("probe-2", guests::PROBE),
    ];
    let entries: Vec<(&str, &str, &str)> = guests10.iter().map(|(n, p)| (*n, *p, "")).collect();
    let config = toml(&entries);
    let load = |dir: &Path| {
        let t = Instant::now();
        let rt = Runtime::builder().cache_dir(dir).build().expect("engine");
        let chain = interpose::chain::Chain::load(&rt, &config, Vec::new()).expect("10 guests");
        black_box(chain);
        t.elapsed()
    };
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        cold.push(load(dir.path()));
        for _ in 0..3 {
            warm.push(load(dir.path()));
        }
    }
    let (cold, warm) = (median(cold), median(warm));
    rows.push(Row {
        id: "d",
        what: "worker start, 10 guests (9 distinct components), cold: compile + cache".into(),
        value: format!("{:.0} ms", cold.as_secs_f64() * 1e3),
        target: "report".into(),
        verdict: String::new(),
    });
    rows.push(Row {
        id: "d",
        what: "worker start, 10 guests, warm: artifact cache".into(),
        value: format!("{:.1} ms", warm.as_secs_f64() * 1e3),
        target: "≤ 100 ms".into(),
        verdict: verdict(warm <= Duration::from_millis(100), String::new()),
    });
}

/// f: resident memory per cached run, and 10,000 runs with three guests.
fn density(rows: &mut Vec<Row>) {
    let runs = 10_000usize;
    let three = [
        ("context", guests::CONTEXT_PROPAGATION),
        ("hop", guests::HOP),
        ("probe", guests::PROBE),
    ];
    let rt = Runtime::builder()
        .cache(false)
        .max_instances((runs * 3 + 64) as u32)
        .max_memory(16 * 1024 * 1024)
        .build();
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            rows.push(Row {
                id: "f",
                what: format!("{runs} cached runs x 3 guests"),
                value: "engine refused".into(),
                target: "fits".into(),
                verdict: format!("**missed**: {e}"),
            });
            return;
        }
    };
    let entries: Vec<(&str, &str, &str)> = three
        .iter()
        .map(|(n, p)| (*n, *p, "memory = \"16MiB\""))
        .collect();
    let chain =
        interpose::chain::Chain::load(&rt, &toml(&entries), Vec::new()).expect("three guests");
    let before = interpose_tests::timing::resident_bytes();
    let mut sessions = Vec::with_capacity(runs);
    let started = Instant::now();
    let mut failure = None;
    for i in 0..runs {
        let mut s = chain.session(workflow_scope(&format!("run-{i}")));
        let mut c = activity_call();
        // The context guest's state for the run: the execute-workflow hook.
        let mut e = Call::new(Hook::ExecuteWorkflow.empty_detail(), None)
            .with_header("user-id", interpose::chain::Payload::json("\"alice\""));
        if let Err(err) = s.before(&mut c).and_then(|_| s.before(&mut e)) {
            failure = Some(format!("run {i}: {err}"));
            break;
        }
        sessions.push(s);
    }
    if let Some(f) = &failure {
        eprintln!("bench f: stopped at {f}");
    }
    let took = started.elapsed();
    let after = interpose_tests::timing::resident_bytes();
    let live: u64 = three
        .iter()
        .map(|(n, _)| chain.stats(n).unwrap().live)
        .sum();
    let per = (after.saturating_sub(before)) as f64 / live as f64;
    rows.push(Row {
        id: "f",
        what: "resident memory per cached workflow run per Rust guest".into(),
        value: format!("{:.0} KiB", per / 1024.0),
        target: "≤ 256 KiB".into(),
        verdict: verdict(per <= 256.0 * 1024.0, String::new()),
    });
    rows.push(Row {
        id: "f",
        what: format!("{runs} cached runs x 3 guests ({live} live instances)"),
        value: format!(
            "{:.2} GiB resident, created in {:.1} s",
            after as f64 / (1u64 << 30) as f64,
            took.as_secs_f64()
        ),
        target: "fits in 24 GiB".into(),
        verdict: verdict(
            failure.is_none() && live as usize == runs * 3 && after < (20u64 << 30),
            failure.map(|f| format!(": {f}")).unwrap_or_default(),
        ),
    });
    drop(sessions);
}

/// e: end to end on the dev server.
mod e2e {
    use super::*;
    use futures::StreamExt as _;
    use interpose_tests::scenario::{self, Acts};
    use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
    use temporalio_macros::{workflow, workflow_methods};
    use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult};

    #[workflow]
    #[derive(Default)]
    pub(crate) struct Flow;

    #[workflow_methods]
    impl Flow {
        #[run]
        pub(crate) async fn run(ctx: &mut WorkflowContext<Self>, _: ()) -> WorkflowResult<String> {
            let o = || ActivityOptions::start_to_close_timeout(Duration::from_secs(30));
            let a = ctx
                .execute_activity(Acts::header, "user-id".to_string(), o())
                .await?;
            let b = ctx
                .execute_activity(Acts::header, "user-id".to_string(), o())
                .await?;
            Ok(format!("{a}/{b}"))
        }
    }

    /// The native equivalent of the context-propagation guest.
    #[derive(Default)]
    pub(crate) struct NativeContext {
        runs: Mutex<HashMap<String, interpose::chain::Payload>>,
    }

    impl NativeInterceptor for NativeContext {
        fn wants(&self, hook: Hook) -> bool {
            matches!(
                hook,
                Hook::StartWorkflow
                    | Hook::ExecuteWorkflow
                    | Hook::ScheduleActivity
                    | Hook::ExecuteActivity
            )
        }
        fn before(&self, call: &mut Call, scope: &Scope) -> NativeDecision {
            match (call.hook(), scope) {
                (Hook::StartWorkflow, _) => {
                    call.headers_mut()
                        .entry("user-id".into())
                        .or_insert_with(|| interpose::chain::Payload::json("\"alice\""));
                }
                (Hook::ExecuteWorkflow, Scope::Workflow(w)) => {
                    if let Some(v) = call.headers().get("user-id") {
                        self.runs.lock().unwrap().insert(w.info().run_id, v.clone());
                    }
                }
                (Hook::ScheduleActivity, Scope::Workflow(w)) => {
                    if let Some(v) = self.runs.lock().unwrap().get(&w.info().run_id) {
                        call.headers_mut().insert("user-id".into(), v.clone());
                    }
                }
                _ => {}
            }
            NativeDecision::Proceed
        }
    }

    pub(crate) fn interpose(kind: &str) -> Option<Interpose> {
        let rt = interpose_tests::runtime();
        match kind {
            "none" => None,
            "wasm" => {
                let ctx = "[guest.config]\nuser-id = \"alice\"";
                let c = toml(&[
                    ("c1", guests::CONTEXT_PROPAGATION, ctx),
                    ("c2", guests::CONTEXT_PROPAGATION, ctx),
                    ("c3", guests::CONTEXT_PROPAGATION, ctx),
                ]);
                Some(Interpose::from_chain(
                    rt.clone(),
                    interpose::chain::Chain::load(&rt, &c, Vec::new()).unwrap(),
                ))
            }
            _ => {
                let c = toml(&[("n1", "", ""), ("n2", "", ""), ("n3", "", "")]);
                let natives = ["n1", "n2", "n3"]
                    .map(|n| {
                        (
                            n.to_string(),
                            Arc::new(NativeContext::default()) as Arc<dyn NativeInterceptor>,
                        )
                    })
                    .to_vec();
                let chain = interpose::chain::Chain::load(
                    &rt.with_sinks(Arc::new(NoMetrics), Arc::new(TracingLogs)),
                    &c,
                    natives,
                )
                .unwrap();
                Some(Interpose::from_chain(rt.clone(), chain))
            }
        }
    }

    /// Workflows per second for one configuration over `n` workflows.
    pub(crate) async fn round(kind: &str, n: usize, tag: &str) -> f64 {
        let i = interpose(kind);
        let client = scenario::client(&interpose_tests::dev_server().url(), i.as_ref()).await;
        let queue = format!("bench-{kind}-{tag}");
        let mut b = temporalio_sdk::WorkerOptions::new(&queue)
            .register_workflow::<Flow>()
            .unwrap()
            .register_activities(Acts);
        if let Some(i) = &i {
            b = b
                .workflow_interceptor(i.workflow_interceptor())
                .activity_inbound_interceptor(i.activity_interceptor());
        }
        let options = b.build();
        let expect = if kind == "none" { "/" } else { "alice/alice" };
        scenario::with_worker(&client, options, async {
            let t = Instant::now();
            futures::stream::iter(0..n)
                .map(|k| {
                    let client = client.clone();
                    let queue = queue.clone();
                    async move {
                        let id = format!("{queue}-{k}");
                        let h = client
                            .start_workflow(
                                Flow::run,
                                (),
                                WorkflowStartOptions::new(&queue, &id).build(),
                            )
                            .await
                            .expect("start");
                        let r = h
                            .get_result(WorkflowGetResultOptions::default())
                            .await
                            .expect("result");
                        assert_eq!(r, expect, "{id}");
                    }
                })
                .buffer_unordered(64)
                .collect::<Vec<()>>()
                .await;
            n as f64 / t.elapsed().as_secs_f64()
        })
        .await
    }
}

fn end_to_end(rows: &mut Vec<Row>) {
    let n = 300;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut results: HashMap<&str, Vec<f64>> = HashMap::new();
    rt.block_on(async {
        // Warm up the server and the worker path once.
        e2e::round("none", 50, "warm").await;
        for r in 0..3 {
            for kind in ["none", "wasm", "native"] {
                let wps = e2e::round(kind, n, &format!("{r}")).await;
                eprintln!("bench e: round {r} {kind}: {wps:.1} workflows/s");
                results.entry(kind).or_default().push(wps);
            }
        }
    });
    let m = |k: &str| median(results[k].clone());
    let (none, wasm, native) = (m("none"), m("wasm"), m("native"));
    rows.push(Row {
        id: "e",
        what: format!("end to end, workflows/s (2 activities each, {n} per round, 64 in flight, 3 rounds alternating): no interceptors"),
        value: format!("{none:.1}/s"),
        target: "baseline".into(),
        verdict: String::new(),
    });
    rows.push(Row {
        id: "e",
        what: "three Wasm guests in every category (context propagation x3)".into(),
        value: format!("{wasm:.1}/s"),
        target: "≥ 0.95 of none".into(),
        verdict: verdict(
            wasm / none >= 0.95,
            format!(" ({:.3} of none)", wasm / none),
        ),
    });
    rows.push(Row {
        id: "e",
        what: "three native equivalents".into(),
        value: format!("{native:.1}/s"),
        target: "report".into(),
        verdict: format!(
            "{:.3} of none; Wasm / native = {:.3}",
            native / none,
            wasm / native
        ),
    });
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find(|l| l.starts_with("MemTotal")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<u64>().ok())
            })
        })
        .map_or(0.0, |kib| kib as f64 / (1024.0 * 1024.0));
    format!("{cpu}, {cores} cores, {mem:.0} GiB RAM")
}

fn main() {
    let out: PathBuf = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md"));
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let run = |s: &str| only.is_empty() || only.contains(s);
    let mut rows = Vec::new();
    let started = Instant::now();
    if run("a") || run("b") || run("g") {
        eprintln!("bench: hops (a, b, g) ...");
        hops(&mut rows);
    }
    if run("c") {
        eprintln!("bench: instances (c) ...");
        instances(&mut rows);
    }
    if run("d") {
        eprintln!("bench: worker start (d) ...");
        start(&mut rows);
    }
    if run("f") {
        eprintln!("bench: density (f) ...");
        density(&mut rows);
    }
    if run("e") {
        eprintln!("bench: end to end (e) ...");
        end_to_end(&mut rows);
    }
    // Last: compiling the interpreters' components leaves hundreds of MiB of allocator heap
    // in the process, which would inflate f's resident total if it ran before.
    let mut table = Vec::new();
    if run("c") || run("l") {
        eprintln!("bench: guest languages (c, l) ...");
        languages(&mut rows, &mut table);
    }
    rows.sort_by_key(|r| r.id);
    let mut md = String::new();
    md.push_str("# Benchmarks\n\n");
    md.push_str(&format!(
        "- Machine: {}\n- Command: `cargo xtask bench` (release build, `RUST_BACKTRACE=0`); took {:.0} s\n- Method: medians of {ROUNDS} rounds (each the mean of many iterations) for micro figures, 3 alternating rounds for end to end; every Wasm figure beside its native baseline in the same process and run. This machine is noisy: read ratios before absolutes.\n- wasmtime 48.0.8, pooling allocator, fuel metering and epoch interruption on (except where g turns metering off).\n\n",
        machine(),
        started.elapsed().as_secs_f64()
    ));
    md.push_str("| | what | median | target | result |\n|---|---|---|---|---|\n");
    for r in &rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.id, r.what, r.value, r.target, r.verdict
        ));
    }
    if !table.is_empty() {
        md.push('\n');
        md.push_str(&languages_table(&table));
    }
    md.push_str("\nWhere a target is missed, what bounds it is in the section below.\n");
    let notes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/benchmarks-notes.md");
    if let Ok(n) = std::fs::read_to_string(&notes) {
        md.push('\n');
        md.push_str(&n);
    }
    if only.is_empty() {
        std::fs::write(&out, &md).expect("write BENCHMARKS.md");
        eprintln!("bench: wrote {}", out.display());
    }
    print!("{md}");
}
