//! The guest side of the sandbox fuzzer (`tests/tests/guest_fuzz.rs`): it runs whatever
//! program the test hands it, calling every host import the contract offers (and WASI)
//! with the arguments the program says — sizes at and past every limit, strings that are
//! empty, huge or cut inside a character, edits in `after` and in read-only hooks, metric
//! names and labels of every shape, handles kept past their call — then decides as the
//! program says.
//!
//! The program arrives in the call's headers (JSON strings): `fuzz-b` runs in `before`,
//! `fuzz-a` in `after`, `fuzz-db` is the `before` decision, `fuzz-da` the `after` decision.
//! Ops are separated by `;`, fields by `,`; unknown ops and bad numbers are skipped (the
//! test generates valid ones; the guest never panics on its own program, so every failure
//! the test sees comes from what the host did with a call).
//!
//! Ops:
//! - `h,K,k,v,e`: set a header (an edit carried by `proceed`, even where the hook may not
//!   edit headers: the host must refuse it), key of kind `K` and `k` bytes, value of `v`
//!   bytes and `e` empty metadata entries; `K,i,k`: read header keys, the arg count, the args, arg `i`,
//!   arg `u32::MAX` and a `k`-byte header;
//! - `r,K,k`: remove a header (carried like `h`); `a,n,s`: set `n` args of `s` bytes; `d`: set the detail to
//!   itself; `D`: set the detail of another hook;
//! - `l,L,K,n`: log `n` bytes of kind `K` at level `L` (0-4); `E,L`: ask `log.enabled`;
//! - `m,T,N,n,V`: metric of type `T` (0 counter, 1 histogram, 2 gauge), name shape `N`,
//!   `n` labels, value shape `V`;
//! - `b,n,s`: heartbeat `n` payloads of `s` bytes; `w`: every workflow-context call but
//!   `is-replaying`; `Y`: `is-replaying`; `c`:
//!   every activity-context call; `g,k`: config get of a `k`-byte key; `G`: config get-all;
//! - `M,n`: allocate and touch `n` bytes (kept until the instance ends); `s,n`: spin `n`
//!   iterations; `R,n`: recurse `n` deep;
//! - `p,n,s`: print `n` lines of `s` bytes to stdout; `P,s`: write `s` bytes to stderr
//!   without a newline; `W,s`: a raw `write` of `s` bytes to stdout, without a flush;
//!   `t,ns`: subscribe a timer and ask `ready`; `T`: block on a 1 ns
//!   timer; `k`: keep a timer of 1 ms (asked `ready` in every later op `k`);
//! - `f`: read, write and list files; `e`: environment and arguments; `q`: std randomness
//!   and clocks;
//! - `H`: use a call handle kept from an earlier call;
//! - `Q`: `poll` a due and a far timer; `Z,n`: `poll` one due timer `n` times in one list;
//!   `I,n`: insecure random, its seed, `n` secure random bytes; `X,n`: hold `n` pollables at
//!   once (past the host's cap of 4,096 WASI resources).
//!
//! Kinds `K`: `a` ASCII, `m` four-byte characters, `u` mixed (a multi-byte character
//! straddles every 2 KiB boundary), `e` empty.
//! Decisions: `p` proceed / keep, `j,n` reject / fail with an `n`-byte message, `J,n,K,t,d,s,r`
//! the same with a type of kind `K` and `t` bytes, `d` details of `s` bytes, non-retryable
//! when `r` is odd, `s,n,s`
//! respond / replace with `n` payloads of `s` bytes, `x,n` panic with an `n`-byte message.

use std::cell::RefCell;
use std::hash::BuildHasher;

use interpose_guest::bindings::interpose::interceptor::log::Level;
use interpose_guest::{
    After, Before, Call, CallDetail, Failure, HeaderEdit, Interceptor, Outcome, Payload, activity,
    config, interceptor, log, metrics, workflow,
};

#[derive(Default)]
struct Fuzzer {
    hoard: Vec<Vec<u8>>,
    timer: Option<wasip2::io::poll::Pollable>,
    handle: Option<u32>,
}

fn text(kind: &str, len: usize) -> String {
    let len = len.min(8 << 20);
    match kind {
        "m" => "\u{1f980}".repeat(len / 4 + 1),
        "u" => {
            let mut s = String::with_capacity(len + 4);
            while s.len() < len {
                // A two-byte character at every odd offset: any cut lands inside one.
                s.push_str(if s.len() % 2 == 0 { "x" } else { "\u{e9}" });
            }
            s
        }
        "e" => String::new(),
        _ => "x".repeat(len),
    }
}

fn payloads(n: usize, size: usize) -> Vec<Payload> {
    (0..n.min(1 << 20))
        .map(|_| Payload {
            metadata: vec![],
            data: vec![b'p'; size.min(8 << 20)],
        })
        .collect()
}

fn num(f: &[&str], i: usize) -> usize {
    f.get(i).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn level(n: usize) -> Level {
    match n {
        0 => Level::Trace,
        1 => Level::Debug,
        2 => Level::Info,
        3 => Level::Warn,
        _ => Level::Error,
    }
}

#[inline(never)]
fn recurse(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let pad = core::hint::black_box([n as u8; 64]);
    recurse(n - 1) + pad[n % 64] as usize
}

thread_local! {
    static SINK: RefCell<u64> = const { RefCell::new(0) };
}

fn keep<T: std::fmt::Debug>(v: T) {
    // Consume a result without letting the optimizer drop the call.
    let s = format!("{v:?}");
    SINK.with(|k| *k.borrow_mut() += s.len() as u64);
}

impl Fuzzer {
    fn run(&mut self, call: &Call, program: &str) {
        for op in program.split(';').filter(|o| !o.is_empty()) {
            let f: Vec<&str> = op.split(',').collect();
            match f[0] {
                // Header edits go into the decision without the SDK's checks: the host
                // must refuse them where headers are read-only or absent.
                "h" => call.__force_edit(HeaderEdit::Set((
                    text(f.get(1).copied().unwrap_or("a"), num(&f, 2)),
                    Payload {
                        metadata: vec![(String::new(), vec![]); num(&f, 4).min(1 << 20)],
                        data: vec![b'v'; num(&f, 3).min(8 << 20)],
                    },
                ))),
                "K" => {
                    keep(call.header_keys());
                    keep(call.arg_count());
                    keep(call.args().len());
                    keep(call.arg(num(&f, 1) as u32));
                    keep(call.arg(u32::MAX));
                    keep(call.header(&text("u", num(&f, 2))));
                }
                "r" => call.__force_edit(HeaderEdit::Remove(text(
                    f.get(1).copied().unwrap_or("a"),
                    num(&f, 2),
                ))),
                "a" => keep(call.set_args(payloads(num(&f, 1), num(&f, 2)))),
                "d" => keep(call.set_detail(call.detail())),
                "D" => keep(call.set_detail(match call.detail() {
                    CallDetail::StartTimer(_) => CallDetail::InitializeWorkflow,
                    _ => CallDetail::StartTimer(5),
                })),
                "l" => log::log(
                    level(num(&f, 1)),
                    &text(f.get(2).copied().unwrap_or("a"), num(&f, 3)),
                ),
                "E" => keep(log::enabled(level(num(&f, 1)))),
                "m" => {
                    let name = match num(&f, 2) {
                        0 => "fz_metric".to_owned(),
                        1 => "temporal_workflow_completed".to_owned(),
                        2 => "bad-name".to_owned(),
                        3 => String::new(),
                        4 => "m".repeat(200),
                        5 => "\u{1f980}".repeat(40),
                        n => format!("fz_series_{n}"),
                    };
                    let labels: Vec<(String, String)> = (0..num(&f, 3).min(64))
                        .map(|i| match i % 7 {
                            0 => (format!("k{i}"), "v".into()),
                            1 => ("__name__".into(), "x".into()),
                            2 => ("interpose_guest".into(), "other".into()),
                            3 => (format!("k{i}"), text("u", 300)),
                            4 => ("le".into(), "1".into()),
                            5 => ("quantile".into(), "0.5".into()),
                            _ => (format!("k{}", i / 2), format!("{i}")),
                        })
                        .collect();
                    let value = match num(&f, 4) {
                        0 => 1.0,
                        1 => f64::NAN,
                        2 => f64::INFINITY,
                        _ => -1.0,
                    };
                    match num(&f, 1) {
                        0 => metrics::counter_add(&name, value.abs() as u64, &labels),
                        1 => metrics::histogram_record(
                            &name,
                            value,
                            ["ms", "", "a b", "\u{1f980}", &"u".repeat(40)][num(&f, 5) % 5],
                            &labels,
                        ),
                        _ => metrics::gauge_set(&name, value, &labels),
                    }
                }
                "b" => activity::heartbeat(&payloads(num(&f, 1), num(&f, 2))),
                "w" => {
                    keep(workflow::info());
                    keep(workflow::now());
                    keep(workflow::random_u64());
                    keep(workflow::is_read_only());
                }
                // Reading the flag alone changes the instructions run (lifting a different
                // bool): the one import whose use makes fuel differ live and in replay.
                "Y" => keep(workflow::is_replaying()),
                "c" => {
                    keep(activity::info());
                    keep(activity::now());
                }
                "g" => keep(config::get(&text("u", num(&f, 1)))),
                "G" => keep(config::get_all()),
                "M" => {
                    let n = num(&f, 1).min(1 << 30);
                    let mut v = Vec::new();
                    if v.try_reserve_exact(n).is_ok() {
                        v.resize(n, 1u8);
                        self.hoard.push(v);
                    }
                }
                "s" => {
                    let mut x = 0u64;
                    for i in 0..num(&f, 1) as u64 {
                        x = core::hint::black_box(x.wrapping_add(i));
                    }
                    keep(x);
                }
                "R" => keep(recurse(num(&f, 1))),
                "p" => {
                    let line = text("u", num(&f, 2));
                    for _ in 0..num(&f, 1).min(100_000) {
                        println!("{line}");
                    }
                }
                "P" => eprint!("{}", text("m", num(&f, 1))),
                "W" => {
                    // A raw write, no flush: the line stays with the host until the call ends.
                    let out = wasip2::cli::stdout::get_stdout();
                    keep(out.check_write().is_ok());
                    keep(out.write(text("u", num(&f, 1)).as_bytes()).is_ok());
                }
                "t" => {
                    let p = wasip2::clocks::monotonic_clock::subscribe_duration(num(&f, 1) as u64);
                    keep(p.ready());
                }
                "T" => wasip2::clocks::monotonic_clock::subscribe_duration(1).block(),
                "k" => {
                    let t = self.timer.get_or_insert_with(|| {
                        wasip2::clocks::monotonic_clock::subscribe_duration(1_000_000)
                    });
                    keep(t.ready());
                }
                "f" => {
                    keep(std::fs::read("/etc/passwd").is_ok());
                    keep(std::fs::write("x.txt", b"x").is_ok());
                    keep(std::fs::read_dir("/").is_ok());
                }
                "e" => {
                    keep(std::env::vars().count());
                    keep(std::env::args().count());
                }
                "q" => {
                    keep(std::collections::hash_map::RandomState::new().hash_one(1u8));
                    keep(std::time::SystemTime::now());
                    keep(std::time::Instant::now());
                }
                "Q" => {
                    // Poll a due timer and one that is far away: index 0 is ready at once.
                    let now = wasip2::clocks::monotonic_clock::subscribe_duration(0);
                    let later = wasip2::clocks::monotonic_clock::subscribe_duration(u64::MAX);
                    keep(wasip2::io::poll::poll(&[&now, &later]));
                }
                "Z" => {
                    // One due pollable, `n` times in one list.
                    let due = wasip2::clocks::monotonic_clock::subscribe_duration(0);
                    let list = vec![&due; num(&f, 1).min(1 << 20)];
                    keep(wasip2::io::poll::poll(&list).len());
                }
                "I" => {
                    keep(wasip2::random::insecure::get_insecure_random_u64());
                    keep(wasip2::random::insecure_seed::insecure_seed());
                    keep(
                        wasip2::random::random::get_random_bytes(num(&f, 1).min(1 << 16) as u64)
                            .len(),
                    );
                }
                "X" => {
                    // Hold `n` pollables at once: past the host's cap of WASI resources.
                    let held: Vec<_> = (0..num(&f, 1).min(10_000))
                        .map(|_| wasip2::clocks::monotonic_clock::subscribe_duration(1))
                        .collect();
                    keep(held.len());
                }
                "H" => {
                    use interpose_guest::bindings::interpose::interceptor::types::Call as Raw;
                    let raw = call.__raw().handle();
                    if let Some(old) = self.handle.replace(raw) {
                        // SAFETY: deliberately wrong towards the host: a borrowed handle
                        // from an earlier call, which the host must refuse with a trap. It
                        // is forgotten, never dropped.
                        let stale = unsafe { Raw::from_handle(old) };
                        keep(stale.hook());
                        std::mem::forget(stale);
                    }
                }
                _ => {}
            }
        }
    }

    fn program(call: &Call, key: &str) -> String {
        call.header_string(key).unwrap_or_default()
    }
}

/// A failure with every field set from the program: message, type, details, retryable.
fn failure(f: &[&str]) -> Failure {
    let mut failure = Failure::new(text("u", num(f, 1)))
        .with_type(text(f.get(2).copied().unwrap_or("a"), num(f, 3)));
    failure.details = payloads(num(f, 4), num(f, 5));
    if num(f, 6) % 2 == 1 {
        failure = failure.non_retryable();
    }
    failure
}

fn decide_before(d: &str) -> Before {
    let f: Vec<&str> = d.split(',').collect();
    match f[0] {
        "j" => Before::Reject(Failure::new(text("u", num(&f, 1)))),
        "J" => Before::Reject(failure(&f)),
        "s" => Before::Respond(payloads(num(&f, 1), num(&f, 2))),
        "x" => panic!("{}", text("m", num(&f, 1))),
        _ => Before::Proceed,
    }
}

fn decide_after(d: &str) -> After {
    let f: Vec<&str> = d.split(',').collect();
    match f[0] {
        "j" => After::Fail(Failure::new(text("u", num(&f, 1)))),
        "J" => After::Fail(failure(&f)),
        "s" => After::Replace(payloads(num(&f, 1), num(&f, 2))),
        "x" => panic!("{}", text("m", num(&f, 1))),
        _ => After::Keep,
    }
}

impl Fuzzer {
    fn before(&mut self, call: &Call) -> Before {
        let (program, decision) = (
            Self::program(call, "fuzz-b"),
            Self::program(call, "fuzz-db"),
        );
        self.run(call, &program);
        decide_before(&decision)
    }

    fn after(&mut self, call: &Call, outcome: &Outcome) -> After {
        keep(outcome.is_ok());
        keep(outcome.payloads().len());
        keep(outcome.failure());
        let (program, decision) = (
            Self::program(call, "fuzz-a"),
            Self::program(call, "fuzz-da"),
        );
        self.run(call, &program);
        decide_after(&decision)
    }
}

#[interceptor(reads("fuzz-a", "fuzz-b", "fuzz-da", "fuzz-db"))]
impl Interceptor for Fuzzer {
    fn before_client(&mut self, call: &Call) -> Before {
        self.before(call)
    }
    fn after_client(&mut self, call: &Call, outcome: &Outcome) -> After {
        self.after(call, outcome)
    }
    fn before_workflow_inbound(&mut self, call: &Call) -> Before {
        self.before(call)
    }
    fn after_workflow_inbound(&mut self, call: &Call, outcome: &Outcome) -> After {
        self.after(call, outcome)
    }
    fn before_workflow_outbound(&mut self, call: &Call) -> Before {
        self.before(call)
    }
    fn after_workflow_outbound(&mut self, call: &Call, outcome: &Outcome) -> After {
        self.after(call, outcome)
    }
    fn before_activity_inbound(&mut self, call: &Call) -> Before {
        self.before(call)
    }
    fn after_activity_inbound(&mut self, call: &Call, outcome: &Outcome) -> After {
        self.after(call, outcome)
    }
    fn before_activity_outbound(&mut self, call: &Call) -> Before {
        self.before(call)
    }
    fn after_activity_outbound(&mut self, call: &Call, outcome: &Outcome) -> After {
        self.after(call, outcome)
    }
}

interpose_guest::export!(Fuzzer);
