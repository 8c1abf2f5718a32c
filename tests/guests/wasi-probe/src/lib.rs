//! Built for wasm32-wasip2 so that Rust std really imports WASI clocks, random, environment,
//! filesystem and stdout. On `execute-workflow` and `start-workflow` it reports what each
//! ambient capability returned, in headers:
//!
//! - `now`: wall clock, ns since the epoch; `mono`: monotonic clock, ns;
//! - `random`: a value derived from WASI randomness (via std's `RandomState`);
//! - `env`: number of environment variables; `args`: number of arguments;
//! - `file`: `denied` when reading `/etc/passwd` fails, else `READ`;
//! - `dir`: `denied` when listing `/` fails, else `LISTED`.
//!
//! It also prints one line to stdout and one to stderr.

use std::hash::BuildHasher;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use interpose_guest::{Before, Call, Interceptor, Payload, interceptor};

#[derive(Default)]
struct WasiProbe;

fn report(call: &Call) -> Before {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mono = {
        let a = Instant::now();
        let b = Instant::now();
        b.duration_since(a).as_nanos()
    };
    let random = std::collections::hash_map::RandomState::new().hash_one(42u64);
    let env = std::env::vars().count();
    let args = std::env::args().count();
    let file = if std::fs::read("/etc/passwd").is_ok() {
        "READ"
    } else {
        "denied"
    };
    let dir = if std::fs::read_dir("/").is_ok() {
        "LISTED"
    } else {
        "denied"
    };
    println!("wasi-probe says hello on stdout");
    eprintln!("wasi-probe says hello on stderr");
    for (k, v) in [
        ("now", now.to_string()),
        ("mono", mono.to_string()),
        ("random", random.to_string()),
        ("env", env.to_string()),
        ("args", args.to_string()),
        ("file", file.to_string()),
        ("dir", dir.to_string()),
    ] {
        let _ = call.set_header(k, Payload::json_string(&v));
    }
    Before::Proceed
}

#[interceptor]
impl Interceptor for WasiProbe {
    fn before_execute_workflow(&mut self, call: &Call) -> Before {
        report(call)
    }
    fn before_start_workflow(&mut self, call: &Call) -> Before {
        report(call)
    }
}

interpose_guest::export!(WasiProbe);
