//! Built for wasm32-wasip2 so that Rust std really imports WASI clocks, random, environment,
//! filesystem and stdio. It tries every ambient capability and reports what came back.
//!
//! On `execute-workflow` and `start-workflow` it reports in headers (the fast tests read
//! these):
//!
//! - `now`: wall clock, ns since the epoch; `mono`: monotonic clock, ns;
//! - `random`: a value derived from WASI randomness (via std's `RandomState`);
//! - `env`: number of environment variables; `args`: number of arguments;
//! - `file`: `denied` when reading `/etc/passwd` fails, else `READ`;
//! - `dir`: `denied` when listing `/` fails, else `LISTED`.
//!
//! In every workflow hook (inbound and outbound, `before`; outbound `after` too, labelled
//! `<hook>/after`) it also records one observation
//!
//! `<hook>:now=<ns>,mono=<ns since its first hook>,random=<std>,ctx-now=<ns>,
//!  ctx-random=<u64>,env=<n>,args=<n>,read=<..>,list=<..>,write=<..>,stdin=<..>,
//!  timer=<ready|pending>`
//!
//! where `timer` is the readiness of a `monotonic-clock.subscribe-duration` pollable of
//! `timer-ns` nanoseconds (default 1 ms) made in the instance's first hook and kept: it
//! must follow the instance's clock (workflow time), never real time.
//!
//! and writes it into the `probe` header. Outbound hooks without headers (timers,
//! cancelling an external workflow) leave theirs pending; the next outbound hook with
//! headers (continue-as-new included) carries them all (`;`-separated), so that Temporal
//! records them. With `answer-queries = "yes"`, a query's result is replaced by its observation.
//! The Temporal replay tests compare these live and in replay.
//!
//! It also prints one line to stdout and one to stderr. With `sleep = "<ms>"` it first
//! sleeps that long (a guest that tries to block the worker's thread); with
//! `block-timer = "yes"` it blocks on a fresh 1 ns timer pollable instead. With
//! `newlines = "<n>"` it writes `n` newlines in one write; with `partial = "<text>"` it
//! writes `text` to stderr with a raw `write` (no newline, no flush).

use std::hash::BuildHasher;
use std::io::Read;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use interpose_guest::{
    After, Before, Call, Hook, Interceptor, Outcome, Payload, config, interceptor, workflow,
};

#[derive(Default)]
struct WasiProbe {
    first: Option<Instant>,
    timer: Option<wasip2::io::poll::Pollable>,
    pending: Vec<String>,
    last: String,
}

fn wall() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn std_random() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(42u64)
}

fn outcome(ok: bool, yes: &'static str) -> &'static str {
    if ok { yes } else { "denied" }
}

fn report(call: &Call) -> Before {
    if let Some(ms) = config::get("sleep").and_then(|s| s.parse().ok()) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    if let Some(n) = config::get("newlines").and_then(|s| s.parse().ok()) {
        print!("{}", "\n".repeat(n));
    }
    if config::get("block-timer").as_deref() == Some("yes") {
        wasip2::clocks::monotonic_clock::subscribe_duration(1).block();
    }
    let mono = {
        let a = Instant::now();
        let b = Instant::now();
        b.duration_since(a).as_nanos()
    };
    println!("wasi-probe says hello on stdout");
    eprintln!("wasi-probe says hello on stderr");
    for (k, v) in [
        ("now", wall().to_string()),
        ("mono", mono.to_string()),
        ("random", std_random().to_string()),
        ("env", std::env::vars().count().to_string()),
        ("args", std::env::args().count().to_string()),
        (
            "file",
            outcome(std::fs::read("/etc/passwd").is_ok(), "READ").into(),
        ),
        (
            "dir",
            outcome(std::fs::read_dir("/").is_ok(), "LISTED").into(),
        ),
    ] {
        let _ = call.set_header(k, Payload::json_string(&v));
    }
    // Last, so that nothing else this call prints joins the line.
    if let Some(text) = config::get("partial") {
        // A raw `write` (std's streams always flush): the text reaches the host without a
        // newline and without a flush, and the stream handle is dropped unflushed.
        let _ = wasip2::cli::stderr::get_stderr().write(text.as_bytes());
    }
    Before::Proceed
}

impl WasiProbe {
    fn observe(&mut self, call: &Call) {
        self.observe_as(call, "");
    }

    /// Observe; `suffix` marks the phase in the observation's label (`/after`).
    fn observe_as(&mut self, call: &Call, suffix: &str) {
        let first = *self.first.get_or_insert_with(Instant::now);
        let timer_ns = config::get("timer-ns")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1_000_000);
        let timer = self
            .timer
            .get_or_insert_with(|| wasip2::clocks::monotonic_clock::subscribe_duration(timer_ns));
        let timer = if timer.ready() { "ready" } else { "pending" };
        let mut stdin = String::new();
        let stdin = match std::io::stdin().read_to_string(&mut stdin) {
            Ok(0) => "empty".to_owned(),
            Ok(n) => format!("READ {n} bytes"),
            Err(_) => "denied".to_owned(),
        };
        let obs = format!(
            "{}{suffix}:now={},mono={},random={},ctx-now={},ctx-random={},env={},args={},read={},list={},write={},stdin={stdin},timer={timer}",
            interpose_guest::hook_name(call.hook()),
            wall(),
            Instant::now().duration_since(first).as_nanos(),
            std_random(),
            workflow::now(),
            workflow::random_u64(),
            std::env::vars().count(),
            std::env::args().count(),
            outcome(std::fs::read("/etc/passwd").is_ok(), "READ"),
            outcome(std::fs::read_dir("/").is_ok(), "LISTED"),
            outcome(std::fs::write("probe.txt", b"x").is_ok(), "WRITTEN"),
        );
        self.last = obs.clone();
        if interpose_guest::category_of(call.hook()) != "workflow-outbound" {
            let _ = call.set_header("probe", Payload::json_string(&obs));
            return;
        }
        self.pending.push(obs);
        if call
            .set_header("probe", Payload::json_string(&self.pending.join(";")))
            .is_ok()
        {
            self.pending.clear();
        }
    }
}

#[interceptor]
impl Interceptor for WasiProbe {
    fn before_execute_workflow(&mut self, call: &Call) -> Before {
        self.observe(call);
        report(call)
    }
    fn before_start_workflow(&mut self, call: &Call) -> Before {
        report(call)
    }
    fn before_initialize_workflow(&mut self, call: &Call) -> Before {
        self.observe(call);
        Before::Proceed
    }
    fn before_handle_signal(&mut self, call: &Call) -> Before {
        self.observe(call);
        Before::Proceed
    }
    fn before_handle_update(&mut self, call: &Call) -> Before {
        self.observe(call);
        Before::Proceed
    }
    fn before_validate_update(&mut self, call: &Call) -> Before {
        self.observe(call);
        Before::Proceed
    }
    fn before_handle_query(&mut self, call: &Call) -> Before {
        self.observe(call);
        Before::Proceed
    }
    fn after_handle_query(&mut self, call: &Call, _outcome: &Outcome) -> After {
        if call.hook() == Hook::HandleQuery
            && config::get("answer-queries").as_deref() == Some("yes")
        {
            After::Replace(vec![Payload::json_string(&self.last)])
        } else {
            After::Keep
        }
    }
    fn before_workflow_outbound(&mut self, call: &Call) -> Before {
        self.observe(call);
        Before::Proceed
    }
    fn after_workflow_outbound(&mut self, call: &Call, _outcome: &Outcome) -> After {
        // Runs in the activation where the call resolved: its time, not the scheduling
        // hook's. Carried by the next outbound command with headers (edits are refused in
        // `after`).
        self.observe_as(call, "/after");
        After::Keep
    }
}

interpose_guest::export!(WasiProbe);
