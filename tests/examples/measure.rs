//! Measures component size, compile time, instantiate-and-call time and per-hop time on a
//! reused instance for the guests built from source, against a native Rust baseline doing
//! the same header work in the same run. Medians of 7 rounds.
//!
//! ```sh
//! RUST_BACKTRACE=0 cargo run --release -p interpose-tests --example measure
//! ```
//!
//! (The full benchmark suite with targets is `BENCHMARKS.md`'s job; this is the quick look.)

use std::hint::black_box;
use std::time::Duration;

use interpose::chain::{Call, Hook, Outcome, Payload};
use interpose::runtime::Runtime;
use interpose::services::{FixedWorkflow, Scope, WorkflowInfo};
use interpose_tests::{call, guest, guests, load, start_call};

const ROUNDS: usize = 7;

/// Median over rounds of the mean time per iteration.
fn time(iters: u32, f: impl FnMut()) -> Duration {
    interpose_tests::timing::time(ROUNDS, iters, f)
}

fn main() {
    println!("guest                   size      compile   inst+call (per-call session)");
    for (name, path) in [
        ("context-propagation", guests::CONTEXT_PROPAGATION),
        ("deny-list", guests::DENY_LIST),
        ("latency-metrics", guests::LATENCY_METRICS),
        ("replay-logger", guests::REPLAY_LOGGER),
        ("probe", guests::PROBE),
        ("wasi-probe (wasip2)", guests::WASI_PROBE),
    ] {
        let rt = Runtime::builder()
            .cache(false)
            .max_instances(64)
            .build()
            .expect("engine");
        let info = rt.inspect(path).expect("guest loads");
        let t = load(&guest("g", path, "")).expect("chain");
        let hop = time(300, || {
            let mut c = start_call("Order");
            let _ = black_box(
                t.chain
                    .session(Scope::Client)
                    .run(&mut c, |_| Outcome::Ok(vec![])),
            );
        });
        println!(
            "{name:<22} {:>9} {:>9.1?} {:>10.1?}",
            bytesize::ByteSize(info.size).to_string(),
            info.compile_time,
            hop
        );
    }

    // One hop on a reused (per-run) instance: context-propagation copies the run's user id
    // onto schedule-activity (reads nothing from the host, writes one header).
    let t = load(&guest("ctx", guests::CONTEXT_PROPAGATION, "")).expect("chain");
    let wf = FixedWorkflow::new(WorkflowInfo::new("ns", "w", "r", "T", "q"), 1);
    let mut run = t.chain.session(Scope::Workflow(wf));
    let mut exec = call(Hook::ExecuteWorkflow).with_header("user-id", Payload::json("\"alice\""));
    run.run(&mut exec, |_| Outcome::Ok(vec![])).unwrap();
    let wasm = time(20_000, || {
        let mut c = Call::new(Hook::ScheduleActivity.empty_detail(), Some(vec![]));
        let _ = black_box(run.run(&mut c, |_| Outcome::Ok(vec![])));
    });
    let user = Payload::json("\"alice\"");
    let native = time(20_000, || {
        let mut c = Call::new(Hook::ScheduleActivity.empty_detail(), Some(vec![]));
        let read = black_box(c.headers().get("user-id").cloned());
        c.headers_mut()
            .insert("user-id".into(), read.unwrap_or_else(|| user.clone()));
        black_box(&c);
    });
    let nothing = time(20_000, || {
        let mut c = Call::new(Hook::StartTimer.empty_detail(), None);
        let _ = black_box(run.run(&mut c, |_| Outcome::Ok(vec![])));
    });
    println!("\nhop on a reused workflow instance (set one header): {wasm:.2?}");
    println!(
        "native baseline (same header work):                 {native:.2?}  ratio {:.1}x",
        wasm.as_secs_f64() / native.as_secs_f64()
    );
    println!("hop through a guest not interested in the hook:     {nothing:.2?}");
}
