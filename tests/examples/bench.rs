//! The benchmark suite behind `BENCHMARKS.md`: `cargo xtask bench` (release build,
//! `RUST_BACKTRACE=0`). Every Wasm figure is measured beside its native baseline in the same
//! process and run; every figure is reported as median (min–max) over its rounds (each
//! round the mean of many iterations), because this machine is noisy. Writes `BENCHMARKS.md`
//! at the repository root (or the path given as the first argument), with the notes of
//! `docs/benchmarks-notes.md` filled in with this run's figures (`{{name}}` placeholders).
//!
//! Sections: a. hop vs native; b. uninterested hop; c. instance per workflow run, over
//! rotating pool slots; d. worker start with 10 guests, cold and warm; e. end to end on the
//! dev server; f. resident memory per cached run, and 10,000 runs with three guests; g. fuel
//! metering on vs off; r. replay cost per interceptor event; l. guest languages.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use interpose::chain::{Call, Hook, NativeDecision, NativeInterceptor, Outcome};
use interpose::config::Config;
use interpose::runtime::Runtime;
use interpose::services::{FixedWorkflow, NoMetrics, Scope, TracingLogs, WorkflowInfo};
use interpose::temporal::Interpose;
use interpose_tests::guests;
use interpose_tests::timing::{Spread, per_round};

const ROUNDS: usize = 11;

fn median<T: PartialOrd + Copy>(v: Vec<T>) -> T {
    interpose_tests::timing::median(v)
}

/// Min, median and max over rounds of the mean time per iteration.
fn time(iters: u32, f: impl FnMut()) -> Spread<Duration> {
    Spread::of(per_round(ROUNDS, iters, f))
}

/// The time on clock `id` (`clock_gettime`).
fn clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to write.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({id})");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Run `f`; with `BENCH_MARKS=1`, print when it started and ended on `CLOCK_MONOTONIC` (the
/// clock `perf record -k mono` stamps samples with), so that one figure can be profiled:
/// `BENCH_MARKS=1 BENCH_PERFMAP=1 perf record -k mono ...`, then `perf report --time
/// <start>,<end>` (`BENCH_PERFMAP=1` names guest functions).
fn marked<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let on = std::env::var_os("BENCH_MARKS").is_some();
    let now = || {
        let t = clock(libc::CLOCK_MONOTONIC);
        format!("{}.{:06}", t.as_secs(), t.subsec_micros())
    };
    let start = on.then(now);
    let r = f();
    if let Some(start) = start {
        eprintln!("bench-mark {name} {start},{}", now());
    }
    r
}

/// The figures of this run that the notes quote, by name (`{{name}}` in the notes).
type Figures = std::collections::BTreeMap<String, String>;

/// `median (min–max)` in µs.
fn us_spread(s: Spread<Duration>) -> String {
    let f = |d: Duration| d.as_secs_f64() * 1e6;
    format!("{:.3} µs ({:.3}–{:.3})", f(s.median), f(s.min), f(s.max))
}

/// `median (min–max)` in ns.
fn ns_spread(s: Spread<Duration>) -> String {
    let f = |d: Duration| d.as_secs_f64() * 1e9;
    format!("{:.1} ns ({:.1}–{:.1})", f(s.median), f(s.min), f(s.max))
}

/// `median (min–max)` in µs below a millisecond, ms above.
fn short_spread(s: Spread<Duration>) -> String {
    if s.median < Duration::from_millis(1) {
        us_spread(s)
    } else {
        let f = |d: Duration| d.as_secs_f64() * 1e3;
        format!("{:.2} ms ({:.2}–{:.2})", f(s.median), f(s.min), f(s.max))
    }
}

/// `a` alternated with `b`, `batches` times, each batch `ROUNDS / 2` rounds of `iters`: so
/// that drift on a noisy machine hits both.
fn alternate<'a>(
    batches: usize,
    iters: u32,
    mut a: impl FnMut() -> Box<dyn FnMut() + 'a>,
    mut b: impl FnMut() -> Box<dyn FnMut() + 'a>,
) -> (Spread<Duration>, Spread<Duration>) {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..batches {
        x.extend(per_round(ROUNDS / 2, iters, a()));
        y.extend(per_round(ROUNDS / 2, iters, b()));
    }
    (Spread::of(x), Spread::of(y))
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
        .perf_map(std::env::var_os("BENCH_PERFMAP").is_some())
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

/// A call on `hook` carrying the `in` header the hop guest reads.
fn call_with_in(hook: Hook) -> Call {
    Call::new(hook.empty_detail(), None)
        .with_header("in", interpose::chain::Payload::json("\"alice\""))
}

fn activity_call() -> Call {
    call_with_in(Hook::ScheduleActivity)
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

fn verdict(met: bool, detail: String) -> String {
    if met {
        format!("met{detail}")
    } else {
        format!("**missed**{detail}")
    }
}

/// a, b, g: hops through a reused workflow instance.
fn hops(rows: &mut Vec<Row>, figures: &mut Figures) {
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
    /// Hops on `hook` through one session; every hook the guest is interested in gets the
    /// `in` header (an uninterested one gets a bare call, as b measures the skip alone).
    fn hop(chain: &interpose::Chain, hook: Hook) -> Box<dyn FnMut() + '_> {
        let mut session = chain.session(workflow_scope("r"));
        Box::new(move || {
            let mut call = if hook == Hook::StartTimer {
                Call::new(hook.empty_detail(), None)
            } else {
                call_with_in(hook)
            };
            let b = session.before(&mut call).expect("hop");
            let _ = black_box((b, call));
        })
    }
    // Check the work is the same.
    let mut c = activity_call();
    let _ = wasm.session(workflow_scope("x")).before(&mut c).unwrap();
    assert!(c.headers().contains_key("out"), "the guest adds the header");

    let n = 20_000;
    let (w, nat) = alternate(
        5,
        n,
        || hop(&wasm, Hook::ScheduleActivity),
        || hop(&native, Hook::ScheduleActivity),
    );
    let ratio = w.median.as_secs_f64() / nat.median.as_secs_f64();
    figures.insert("a.wasm".into(), us_spread(w));
    figures.insert("a.native".into(), us_spread(nat));
    figures.insert("a.ratio".into(), format!("{ratio:.1}x"));
    rows.push(Row {
        id: "a",
        what: "one hop, Rust guest reads one header and adds one (reused workflow instance)".into(),
        value: us_spread(w),
        target: "≤ 2.5x native".into(),
        verdict: verdict(
            ratio <= 2.5,
            format!(
                ": {ratio:.1}x native{}",
                if ratio > 2.5 {
                    format!(", by {:.2}x", ratio / 2.5)
                } else {
                    String::new()
                }
            ),
        ),
    });
    rows.push(Row {
        id: "a",
        what: "the same hop, native Rust interceptor in the same chain machinery".into(),
        value: us_spread(nat),
        target: "baseline".into(),
        verdict: format!("Wasm / native = {ratio:.1}x (of medians)"),
    });
    // Fuel per hop of what `f` ran, from two readings of the guest's counters.
    fn fuel_of<T>(chain: &interpose::Chain, f: impl FnOnce() -> T) -> (T, u64) {
        let before = chain.stats("hop").unwrap();
        let r = f();
        let after = chain.stats("hop").unwrap();
        (
            r,
            (after.fuel - before.fuel) / (after.calls - before.calls).max(1),
        )
    }
    // What bounds the hop: the crossing alone (a hook that proceeds without looking), and
    // the crossing with the declared header handed in and read (no edit).
    let (floor, floor_fuel) = fuel_of(&wasm, || {
        Spread::of(per_round(
            ROUNDS,
            n,
            hop(&wasm, Hook::ScheduleLocalActivity),
        ))
    });
    let (read, read_fuel) = fuel_of(&wasm, || {
        Spread::of(per_round(ROUNDS, n, hop(&wasm, Hook::StartChildWorkflow)))
    });
    let of_native = |s: Spread<Duration>| s.median.as_secs_f64() / nat.median.as_secs_f64();
    figures.insert("a.floor".into(), us_spread(floor));
    figures.insert("a.floor_ratio".into(), format!("{:.1}x", of_native(floor)));
    figures.insert("a.read".into(), us_spread(read));
    figures.insert("a.floor_fuel".into(), floor_fuel.to_string());
    figures.insert("a.read_fuel".into(), read_fuel.to_string());
    rows.push(Row {
        id: "a",
        what: format!(
            "the crossing alone: a hook of the same guest that proceeds without reading \
             ({floor_fuel} fuel units)"
        ),
        value: us_spread(floor),
        target: "report".into(),
        verdict: format!("{:.1}x the native hop", of_native(floor)),
    });
    rows.push(Row {
        id: "a",
        what: format!(
            "the crossing with the declared header handed in and read, no edit ({read_fuel} \
             fuel units)"
        ),
        value: us_spread(read),
        target: "report".into(),
        verdict: format!("{:.1}x the native hop", of_native(read)),
    });
    let idle = Spread::of(per_round(ROUNDS, 200_000, hop(&wasm, Hook::StartTimer)));
    figures.insert("b.idle".into(), ns_spread(idle));
    rows.push(Row {
        id: "b",
        what: "hop through a guest not interested in the hook".into(),
        value: ns_spread(idle),
        target: "≤ 25 ns".into(),
        verdict: verdict(idle.median <= Duration::from_nanos(25), String::new()),
    });

    // g: the same hop on an engine without fuel metering.
    let off = runtime(64, false);
    let unmetered =
        interpose::chain::Chain::load(&off, &toml(&[("hop", guests::HOP, "")]), Vec::new())
            .expect("hop guest");
    let (on_t, off_t) = alternate(
        5,
        n,
        || hop(&wasm, Hook::ScheduleActivity),
        || hop(&unmetered, Hook::ScheduleActivity),
    );
    let ((), fuel_per_hop) = fuel_of(&wasm, || {
        let mut f = hop(&wasm, Hook::ScheduleActivity);
        (0..1000).for_each(|_| f())
    });
    figures.insert("g.fuel".into(), fuel_per_hop.to_string());
    let cost = (on_t.median.as_secs_f64() - off_t.median.as_secs_f64()) * 1e9;
    figures.insert("g.cost".into(), format!("{cost:+.0} ns"));
    rows.push(Row {
        id: "g",
        what: format!(
            "fuel metering: hop with metering on vs off ({fuel_per_hop} fuel units per hop)"
        ),
        value: format!("{} vs {}", us_spread(on_t), us_spread(off_t)),
        target: "report".into(),
        verdict: format!(
            "metering costs {cost:+.0} ns per hop ({:+.1} %)",
            (on_t.median.as_secs_f64() / off_t.median.as_secs_f64() - 1.0) * 100.0
        ),
    });
}

/// How many runs are alive at once while new runs are measured: each takes its own pool
/// slot, so consecutive runs rotate over the pool's slots instead of reusing one hot slot.
const LIVE_RUNS: usize = 32;

/// A new workflow run's cost: its session, its instance and its first hop (`first`), then its
/// teardown, per run. Each round creates `LIVE_RUNS` runs that live at once, then drops
/// them; the figure is the round's time divided by the runs. Rows c and l use this, so the
/// same guest gets the same figure in both.
fn new_runs(chain: &interpose::Chain, first: &dyn Fn() -> Call) -> Spread<Duration> {
    let mut i = 0u64;
    let mut round = || {
        let t = Instant::now();
        let mut live = Vec::with_capacity(LIVE_RUNS);
        for _ in 0..LIVE_RUNS {
            i += 1;
            let mut s = chain.session(workflow_scope(&format!("run-{i}")));
            let _ = black_box(s.before(&mut first()).expect("first hop"));
            live.push(s);
        }
        drop(live);
        t.elapsed() / LIVE_RUNS as u32
    };
    round(); // warm-up
    Spread::of((0..ROUNDS).map(|_| round()).collect())
}

/// The first hop of a run of the context-propagation guest: execute-workflow with the user
/// id, which the guest remembers for the run.
fn execute_with_user() -> Call {
    Call::new(Hook::ExecuteWorkflow.empty_detail(), None)
        .with_header("user-id", interpose::chain::Payload::json("\"alice\""))
}

/// c: a new workflow run's instance (session + instantiation + first hop + teardown).
fn instances(rows: &mut Vec<Row>, figures: &mut Figures) {
    let rt = runtime(256, true);
    let hop_first = || activity_call();
    let wasi_first = || Call::new(Hook::ExecuteWorkflow.empty_detail(), None);
    let cases: [(&str, &str, &str, &dyn Fn() -> Call); 3] = [
        ("hop (Rust, no WASI)", "hop", guests::HOP, &hop_first),
        (
            "context-propagation (Rust, no WASI)",
            "context",
            guests::CONTEXT_PROPAGATION,
            &execute_with_user,
        ),
        (
            "wasi-probe (Rust std, wasip2)",
            "wasi",
            guests::WASI_PROBE,
            &wasi_first,
        ),
    ];
    for (name, key, path, first) in cases {
        let chain = interpose::chain::Chain::load(&rt, &toml(&[("g", path, "")]), Vec::new())
            .expect("guest");
        let new_run = marked(&format!("c.{key}"), || new_runs(&chain, first));
        figures.insert(format!("c.{key}"), us_spread(new_run));
        let is_target = path == guests::HOP;
        rows.push(Row {
            id: "c",
            what: format!("new workflow run: instance + first hop + teardown, {name} ({LIVE_RUNS} runs live, rotating pool slots)"),
            value: us_spread(new_run),
            target: if is_target {
                "≤ 10 µs (Rust)".into()
            } else {
                "report".into()
            },
            verdict: if is_target {
                verdict(
                    new_run.median <= Duration::from_micros(10),
                    if new_run.median > Duration::from_micros(10) {
                        format!(" by {:.1}x", new_run.median.as_secs_f64() / 10e-6)
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
    new_run: Option<Spread<Duration>>,
    new_run_cow: Option<Spread<Duration>>,
    per_call: Option<Spread<Duration>>,
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
/// guest in every language. New run = [`new_runs`] with execute-workflow carrying a `user-id`
/// header (remembered), as row c; per call = schedule-activity on the run's instance (the
/// user id copied onto the command: an edit returned with the decision).
fn languages(rows: &mut Vec<Row>, table: &mut Vec<LangRow>, figures: &mut Figures) {
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
    let first = execute_with_user;
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

        let new_run_on = |chain: &interpose::Chain| new_runs(chain, &first);
        let new_run = marked(&format!("l.{language}.new_run"), || new_run_on(&chain));
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
        let per_call = marked(&format!("l.{language}.per_call"), || time(n, call));
        eprintln!(
            "bench: {language}: {size} bytes, compile {compile:.1?}, new run {} (copy-on-write {}), per call {}",
            short_spread(new_run),
            short_spread(new_run_cow),
            short_spread(per_call)
        );
        let key = match language {
            "Rust" => "rust",
            "C (clang, wasi-libc)" => "c",
            "Python (componentize-py)" => "python",
            _ => "js",
        };
        figures.insert(format!("l.{key}.new_run"), short_spread(new_run));
        figures.insert(format!("l.{key}.per_call"), short_spread(per_call));
        if language != "Rust" && language != "C (clang, wasi-libc)" {
            rows.push(Row {
                id: "c",
                what: format!(
                    "new workflow run: instance + first hop + teardown, {language} context-propagation"
                ),
                value: short_spread(new_run),
                target: "report".into(),
                verdict: format!(
                    "{:.0}x the Rust guest",
                    new_run.median.as_secs_f64()
                        / table[0].new_run.map_or(f64::NAN, |d| d.median.as_secs_f64())
                ),
            });
            rows.push(Row {
                id: "l",
                what: format!(
                    "per call, {language} context-propagation (schedule-activity, one header edit)"
                ),
                value: short_spread(per_call),
                target: "half of 0.1's (Python 18.8 µs, JavaScript 68.4 µs)".into(),
                verdict: {
                    let before = if key == "python" { 18.8e-6 } else { 68.4e-6 };
                    let r = per_call.median.as_secs_f64() / before;
                    verdict(r <= 0.5, format!(": {r:.2} of 0.1's"))
                },
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

fn languages_table(table: &[LangRow]) -> String {
    let mut md = String::from(
        "## Guest languages\n\nThe same context-propagation guest in each language (`BENCH_ONLY=l`). Compile: cranelift, once, cache off (the artifact cache makes later starts a load). New run: a workflow run's fresh instance, its first hop and its teardown, measured as row c (32 runs live, rotating pool slots), with the default `memory-images = \"copy\"` and with `\"copy-on-write\"`. Per call: one hop on the run's instance that copies the user id onto an activity. Median (min–max) over rounds.\n\n| language | component | compile | new run | new run, copy-on-write | per call | |\n|---|---|---|---|---|---|---|\n",
    );
    let fmt = |d: Option<Spread<Duration>>| d.map_or("—".to_owned(), short_spread);
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

    /// Replay: a workflow of `TIMERS` sequential timers, five history events each.
    #[workflow]
    #[derive(Default)]
    pub(crate) struct Timers;

    pub(crate) const TIMERS: usize = 250;

    #[workflow_methods]
    impl Timers {
        #[run]
        pub(crate) async fn run(ctx: &mut WorkflowContext<Self>, _: ()) -> WorkflowResult<u32> {
            for _ in 0..TIMERS {
                ctx.timer(Duration::from_millis(1)).await;
            }
            Ok(TIMERS as u32)
        }
    }

    /// The native equivalent of the context-propagation guest. Its per-run state lives
    /// while the run executes and is dropped when `execute-workflow` ends, as a guest's
    /// instance is: the map holds only the runs in flight.
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
        fn after(&self, call: &Call, outcome: Outcome, scope: &Scope) -> Outcome {
            if let (Hook::ExecuteWorkflow, Scope::Workflow(w)) = (call.hook(), scope) {
                self.runs.lock().unwrap().remove(&w.info().run_id);
            }
            outcome
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

    /// CPU time of this process, all threads. Replay is timed in CPU time: a replay worker
    /// also waits (for its pollers to stop, on timers of its own), and that idle wall time
    /// varied by more than the guests' cost.
    fn cpu_time() -> Duration {
        super::clock(libc::CLOCK_PROCESS_CPUTIME_ID)
    }

    /// Copies of the history one replay worker replays per round (r).
    pub(crate) const PER_WORKER: usize = 8;

    /// r: record one run of [`Timers`] (no interceptors), then replay its history in
    /// alternation with no guests and with three probe guests in every workflow hook.
    /// Returns (history events, guest calls per replay, per-replay times none / guests).
    pub(crate) async fn replay(rounds: usize) -> (usize, u64, Vec<Duration>, Vec<Duration>) {
        let client = scenario::client(&interpose_tests::dev_server().url(), None).await;
        let queue = "bench-replay";
        let options = temporalio_sdk::WorkerOptions::new(queue)
            .register_workflow::<Timers>()
            .unwrap()
            .build();
        let id = format!("bench-replay-{}", std::process::id());
        let run_id = scenario::with_worker(&client, options, async {
            let h = client
                .start_workflow(
                    Timers::run,
                    (),
                    WorkflowStartOptions::new(queue, &id).build(),
                )
                .await
                .expect("start");
            let n = h
                .get_result(WorkflowGetResultOptions::default())
                .await
                .expect("result");
            assert_eq!(n as usize, TIMERS);
            h.run_id().expect("run id").to_owned()
        })
        .await;
        let events = scenario::history(&client, &id, &run_id).await;
        let probe = |tag: &str| {
            format!(
                "[[guest]]\nname = \"{tag}\"\npath = \"{}\"\n[guest.config]\ntag = \"{tag}\"\nscope = \"workflow\"\n",
                guests::PROBE
            )
        };
        let config = Config::from_toml(
            &format!("{}{}{}", probe("p1"), probe("p2"), probe("p3")),
            Path::new("/"),
            Path::new("replay.toml"),
        )
        .expect("config");
        let rt = interpose_tests::runtime();
        let chain = interpose::chain::Chain::load(
            &rt.with_sinks(Arc::new(NoMetrics), Arc::new(TracingLogs)),
            &config,
            Vec::new(),
        )
        .expect("three probes");
        let guests = Interpose::from_chain(rt.clone(), chain.clone());
        let replayer = |with: Option<&Interpose>| {
            let mut o = temporalio_sdk::workflow_replayer::WorkflowReplayerOptions::new()
                .register_workflow::<Timers>()
                .expect("register");
            if let Some(i) = with {
                o = o.workflow_interceptor(i.workflow_interceptor());
            }
            temporalio_sdk::workflow_replayer::WorkflowReplayer::new(o.build()).expect("replayer")
        };
        let (bare, probed) = (replayer(None), replayer(Some(&guests)));
        /// One replay worker replaying `PER_WORKER` copies of the history (each under its
        /// own workflow id), so that the worker's start-up, which varies, is spread over
        /// many events instead of dominating the figure.
        async fn once(
            r: &temporalio_sdk::workflow_replayer::WorkflowReplayer,
            events: &[temporalio_common::protos::temporal::api::history::v1::HistoryEvent],
        ) -> Duration {
            use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
            let histories: Vec<_> = (0..PER_WORKER)
                .map(|k| {
                    let mut copy = events.to_vec();
                    if let Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) =
                        copy.first_mut().and_then(|e| e.attributes.as_mut())
                    {
                        a.workflow_id = format!("bench-replay-copy-{k}");
                    }
                    scenario::replayable(copy)
                })
                .collect();
            let t = cpu_time();
            let results = r.replay_workflows(histories).await.expect("replay runs");
            let elapsed = cpu_time() - t;
            assert_eq!(results.len(), PER_WORKER, "one result per history");
            for result in results {
                assert!(
                    result.replay_failure.is_none(),
                    "replay matches: {:?}",
                    result.replay_failure
                );
            }
            elapsed
        }
        // Warm-up: compile, first instances.
        once(&bare, &events).await;
        once(&probed, &events).await;
        let calls_before = chain.stats("p1").unwrap().calls;
        let (mut none, mut three) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            none.push(once(&bare, &events).await);
            three.push(once(&probed, &events).await);
        }
        let calls =
            (chain.stats("p1").unwrap().calls - calls_before) / (rounds * PER_WORKER) as u64 * 3;
        (events.len(), calls, none, three)
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
                .activity_inbound_interceptor(i.activity_interceptor(&client));
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

/// e: end to end on the dev server; r: replay.
/// p: one workflow-outbound hop in a Python worker's adapter (the `interpose` package's
/// release wheel, which `cargo xtask bench` builds) through the Rust hop guest, against a
/// native Python interceptor doing the same header work, alternating in one Python process
/// (`python/bench/hop.py`).
fn python_hop(rows: &mut Vec<Row>, figures: &mut Figures) {
    let Some(package) = std::env::var_os("INTERPOSE_BENCH_PYTHON_PACKAGE") else {
        panic!("row p needs the release wheel: run it with `cargo xtask bench`");
    };
    let (python, site) = interpose_tests::python_peer();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../python/bench/hop.py");
    let out = std::process::Command::new(python)
        .env(
            "PYTHONPATH",
            std::env::join_paths([PathBuf::from(package), site]).unwrap(),
        )
        .arg(&script)
        .arg(guests::HOP)
        .arg(ROUNDS.to_string())
        .output()
        .expect("running python/bench/hop.py");
    assert!(
        out.status.success(),
        "python/bench/hop.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rounds: HashMap<String, Vec<f64>> =
        serde_json::from_slice(&out.stdout).expect("hop.py prints its rounds as JSON");
    let spread = |side: &str| {
        Spread::of(
            rounds[side]
                .iter()
                .map(|s| Duration::from_secs_f64(*s))
                .collect(),
        )
    };
    let (w, nat) = (spread("wasm"), spread("native"));
    let ratio = w.median.as_secs_f64() / nat.median.as_secs_f64();
    let added = w.median.saturating_sub(nat.median);
    figures.insert("p.wasm".into(), us_spread(w));
    figures.insert("p.native".into(), us_spread(nat));
    figures.insert("p.ratio".into(), format!("{ratio:.1}x"));
    figures.insert(
        "p.added".into(),
        format!("{:.1} µs", added.as_secs_f64() * 1e6),
    );
    rows.push(Row {
        id: "p",
        what: "one hop in a Python worker (workflow outbound, schedule-activity): Rust guest reads one header and adds one, through the `interpose` package's adapter".into(),
        value: us_spread(w),
        target: "report".into(),
        verdict: format!("{ratio:.1}x the native Python hop (of medians), +{:.1} µs per call", added.as_secs_f64() * 1e6),
    });
    rows.push(Row {
        id: "p",
        what: "the same hop, native Python `WorkflowOutboundInterceptor` copying the header".into(),
        value: us_spread(nat),
        target: "baseline".into(),
        verdict: String::new(),
    });
}

fn end_to_end(rows: &mut Vec<Row>, figures: &mut Figures, only: &dyn Fn(&str) -> bool) {
    let n = 300;
    let rounds = 7;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if only("r") {
        let (events, calls, none, three) = rt.block_on(e2e::replay(ROUNDS));
        // Events replayed per round (every copy of the history).
        let replayed = events * e2e::PER_WORKER;
        // Per round: the difference of two adjacent replays, per history event.
        let per_event: Vec<f64> = none
            .iter()
            .zip(&three)
            .map(|(a, b)| (b.as_secs_f64() - a.as_secs_f64()) / replayed as f64 * 1e6)
            .collect();
        let per_event = Spread::of(per_event);
        let bare = Spread::of(
            none.iter()
                .map(|d| d.as_secs_f64() / replayed as f64 * 1e6)
                .collect(),
        );
        let per_call = per_event.median * events as f64 / calls.max(1) as f64;
        let f = |s: Spread<f64>| format!("{:.2} µs ({:.2}–{:.2})", s.median, s.min, s.max);
        figures.insert("r.events".into(), events.to_string());
        figures.insert("r.calls".into(), calls.to_string());
        figures.insert("r.bare".into(), f(bare));
        figures.insert("r.added".into(), f(per_event));
        figures.insert("r.per_call".into(), format!("{per_call:.2} µs"));
        rows.push(Row {
            id: "r",
            what: format!(
                "replay of a {events}-event history ({} timers), {} copies per replay worker, no guests, CPU time per event",
                e2e::TIMERS,
                e2e::PER_WORKER
            ),
            value: f(bare),
            target: "baseline".into(),
            verdict: format!("{ROUNDS} rounds alternating"),
        });
        rows.push(Row {
            id: "r",
            what: format!("replay cost added by three guests in every workflow hook (probe x3, {calls} guest calls per history), CPU time per history event"),
            value: f(per_event),
            target: "≤ 5 µs per event".into(),
            verdict: verdict(
                per_event.median <= 5.0,
                format!(": {per_call:.2} µs per guest call; Obelisk publishes ~1,200 µs per event"),
            ),
        });
    }
    if !only("e") {
        return;
    }
    let mut results: HashMap<&str, Vec<f64>> = HashMap::new();
    rt.block_on(async {
        // Warm up the server and the worker path once.
        e2e::round("none", 50, "warm").await;
        for r in 0..rounds {
            for kind in ["none", "wasm", "native"] {
                let wps = e2e::round(kind, n, &format!("{r}")).await;
                eprintln!("bench e: round {r} {kind}: {wps:.1} workflows/s");
                results.entry(kind).or_default().push(wps);
            }
        }
    });
    // Ratios of adjacent rounds: the drift of a noisy machine hits both sides of each.
    let ratio = |k: &str| {
        Spread::of(
            results[k]
                .iter()
                .zip(&results["none"])
                .map(|(x, none)| x / none)
                .collect(),
        )
    };
    let wps = |k: &str| Spread::of(results[k].clone());
    let f = |s: Spread<f64>| format!("{:.1}/s ({:.1}–{:.1})", s.median, s.min, s.max);
    let r3 = |s: Spread<f64>| format!("{:.3} ({:.3}–{:.3})", s.median, s.min, s.max);
    let (wasm, native) = (ratio("wasm"), ratio("native"));
    figures.insert("e.wasm".into(), r3(wasm));
    figures.insert("e.native".into(), r3(native));
    rows.push(Row {
        id: "e",
        what: format!("end to end, workflows/s (2 activities each, {n} per round, 64 in flight, {rounds} rounds alternating): no interceptors"),
        value: f(wps("none")),
        target: "baseline".into(),
        verdict: String::new(),
    });
    rows.push(Row {
        id: "e",
        what: "three Wasm guests in every category (context propagation x3)".into(),
        value: f(wps("wasm")),
        target: "≥ 0.97 of none".into(),
        verdict: verdict(
            wasm.median >= 0.97,
            format!(": {} of none, per round", r3(wasm)),
        ),
    });
    rows.push(Row {
        id: "e",
        what: "three native equivalents".into(),
        value: f(wps("native")),
        target: "report".into(),
        verdict: format!("{} of none, per round", r3(native)),
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

/// The notes with every `{{name}}` replaced by this run's figure. A name the run did not
/// measure is an error for a full run (the notes would quote a figure from nowhere) and
/// left as `(not measured)` for a partial one (`BENCH_ONLY`).
fn fill(notes: &str, figures: &Figures, full: bool) -> String {
    let mut out = String::with_capacity(notes.len());
    let mut rest = notes;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find("}}") else {
            panic!("docs/benchmarks-notes.md: an unclosed `{{{{`");
        };
        let name = &rest[at + 2..at + end];
        match figures.get(name) {
            Some(v) => out.push_str(v),
            None if !full => out.push_str("(not measured)"),
            None => panic!(
                "docs/benchmarks-notes.md quotes `{{{{{name}}}}}`, which this run did not measure \
                 (measured: {:?})",
                figures.keys().collect::<Vec<_>>()
            ),
        }
        rest = &rest[at + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Where a full run keeps its table and figures, so that `BENCH_RENDER=1` can fill edited
/// notes with the figures of that same run.
fn last_run() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-last-run.json")
}

fn notes_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/benchmarks-notes.md")
}

fn main() {
    let out: PathBuf = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md"));
    if std::env::var_os("BENCH_RENDER").is_some() {
        // Re-render the last full run with the current notes: no measuring.
        let saved: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(last_run()).expect("a full `cargo xtask bench` run first"),
        )
        .expect("bench-last-run.json");
        let table = saved["table"].as_str().expect("table").to_owned();
        let figures: Figures = serde_json::from_value(saved["figures"].clone()).expect("figures");
        let notes = std::fs::read_to_string(notes_path()).expect("docs/benchmarks-notes.md");
        let md = format!("{table}\n{}", fill(&notes, &figures, true));
        std::fs::write(&out, &md).expect("write BENCHMARKS.md");
        eprintln!(
            "bench: rendered {} from {}",
            out.display(),
            last_run().display()
        );
        return;
    }
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let run = |s: &str| only.is_empty() || only.contains(s);
    let mut rows = Vec::new();
    let mut figures = Figures::new();
    let started = Instant::now();
    if run("a") || run("b") || run("g") {
        eprintln!("bench: hops (a, b, g) ...");
        hops(&mut rows, &mut figures);
    }
    if run("c") {
        eprintln!("bench: instances (c) ...");
        instances(&mut rows, &mut figures);
    }
    if run("d") {
        eprintln!("bench: worker start (d) ...");
        start(&mut rows);
    }
    if run("f") {
        eprintln!("bench: density (f) ...");
        density(&mut rows);
    }
    if run("e") || run("r") {
        eprintln!("bench: end to end and replay (e, r) ...");
        end_to_end(&mut rows, &mut figures, &run);
    }
    if run("p") {
        eprintln!("bench: a hop in a Python worker (p) ...");
        python_hop(&mut rows, &mut figures);
    }
    // Last: compiling the interpreters' components leaves hundreds of MiB of allocator heap
    // in the process, which would inflate f's resident total if it ran before.
    let mut table = Vec::new();
    if run("c") || run("l") {
        eprintln!("bench: guest languages (c, l) ...");
        languages(&mut rows, &mut table, &mut figures);
    }
    rows.sort_by_key(|r| r.id);
    let mut md = String::new();
    md.push_str("# Benchmarks\n\n");
    md.push_str(&format!(
        "- Machine: {}\n- Command: `cargo xtask bench` (release build, `RUST_BACKTRACE=0`); took {:.0} s\n- Method: every figure is median (min–max) over its rounds: {ROUNDS} rounds (each the mean of many iterations) for micro figures, Wasm and native alternated in batches; 7 alternating rounds for end to end, reported as per-round ratios to the no-interceptor round beside it; {ROUNDS} alternating replays for r. Every Wasm figure is beside its native baseline in the same process and run. This machine is noisy: read ratios before absolutes.\n- wasmtime 48.0.8, pooling allocator, fuel metering and epoch interruption on (except where g turns metering off).\n\n",
        machine(),
        started.elapsed().as_secs_f64()
    ));
    md.push_str("| | what | median (min–max) | target | result |\n|---|---|---|---|---|\n");
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
    if only.is_empty() {
        let saved = serde_json::json!({ "table": md, "figures": figures });
        std::fs::write(last_run(), saved.to_string()).expect("write bench-last-run.json");
    }
    let notes = std::fs::read_to_string(notes_path()).expect("docs/benchmarks-notes.md");
    md.push('\n');
    md.push_str(&fill(&notes, &figures, only.is_empty()));
    if only.is_empty() {
        std::fs::write(&out, &md).expect("write BENCHMARKS.md");
        eprintln!("bench: wrote {}", out.display());
    }
    print!("{md}");
}
