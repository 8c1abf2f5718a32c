//! A guest that misbehaves on purpose, in `before` of every hook of every category, as its
//! config value `behavior` says:
//!
//! - `loop`: spins forever (out of fuel, or past its deadline when fuel is large);
//! - `grow`: allocates until memory runs out;
//! - `recurse`: unbounded recursion on the Wasm stack (stack overflow);
//! - `recurse-shadow`: unbounded recursion on Rust's shadow stack in linear memory;
//! - `panic`: panics with a message;
//! - `panic-unicode`: logs an error line whose byte 2048 falls inside a four-byte character,
//!   then panics with a long message of four-byte characters (the host keeps the last error
//!   log for the trap report and must cut it on a character boundary);
//! - `oversize`: writes a header larger than the output limit;
//! - `respond`: answers hooks that cannot be answered (an invalid decision);
//! - `edit-then-panic`: edits a header and the args, then panics (edits must be rolled back);
//! - `empty-items`: sets the args to 100,000 empty payloads (output counts items);
//! - `log-flood`: logs 4,000 lines of 1 KiB (logs count against the output limit);
//! - `metric-reserved`: records a counter named like one of Temporal's own;
//! - `metric-series`: records 50 counter series (`hostile_series{n=..}`);
//! - `reject-with-log-enabled`: rejects with the message `log-enabled=<log.enabled(info)>`;
//! - `many-metadata`: sets a header whose payload has 200,000 empty metadata entries;
//! - `reject-huge-type`: rejects with a 4 MiB error type (the output limit counts it);
//! - `reject`: rejects everything;
//! - `non-string-header`: sets header `n` to a `json/plain` object and header `b` to data
//!   that is not UTF-8 (neither can be a Nexus header, which is a string);
//! - `two-args`: sets the args to two payloads (a Nexus operation takes one input);
//! - `big-args`: sets the args to one payload of 300 KiB (a heartbeat's details are at most
//!   256 KiB); logs whether the edit was refused: `big-args refused: <why>` or
//!   `big-args accepted`;
//! - `header-uppercase`, `header-newline`, `header-big`: sets a header whose key has
//!   uppercase letters, whose value holds a newline, or whose value is 5,000 bytes (a Nexus
//!   header must be a lowercase HTTP token, without control characters, 4 KiB in all);
//! - anything else: behaves.
//!
//! The config value `only` restricts misbehaviour to one hook (by WIT name); `only-workflow`
//! to workflows whose id starts with it (the id of a client start, of the workflow run, of
//! the workflow that scheduled an activity), so one worker can carry many hostile guests
//! and unrelated workflows beside them.

use interpose_guest::{
    Before, Call, CallDetail, Failure, Interceptor, Payload, activity, config, interceptor,
    workflow,
};

/// The workflow id this call belongs to, where there is one.
fn workflow_id(call: &Call) -> Option<String> {
    match interpose_guest::category_of(call.hook()) {
        "workflow-inbound" | "workflow-outbound" => Some(workflow::info().workflow_id),
        "activity-inbound" | "activity-outbound" => Some(activity::info().workflow_id),
        _ => match call.detail() {
            CallDetail::StartWorkflow(s) => Some(s.workflow_id),
            _ => None,
        },
    }
}

#[derive(Default)]
struct Hostile {
    hoard: Vec<Vec<u8>>,
}

/// Recursion on the Wasm call stack (small frames): ends in a stack overflow trap.
#[inline(never)]
#[expect(
    unconditional_recursion,
    reason = "unbounded recursion is the point of this guest"
)]
fn recurse(n: u64) -> u64 {
    core::hint::black_box(recurse(core::hint::black_box(n + 1))) + 1
}

/// Recursion with address-taken locals, which live on Rust's shadow stack in linear memory:
/// ends when the shadow stack runs below address 0 (an out-of-bounds access).
#[inline(never)]
#[expect(
    unconditional_recursion,
    reason = "unbounded recursion is the point of this guest"
)]
fn recurse_shadow(n: u64, pad: &mut [u8; 256]) -> u64 {
    pad[(n % 256) as usize] = n as u8;
    let mut next = [0u8; 256];
    next[0] = pad[0];
    core::hint::black_box(recurse_shadow(n + 1, &mut next)) + pad[1] as u64
}

impl Hostile {
    fn misbehave(&mut self, call: &Call) -> Before {
        if let Some(only) = config::get("only") {
            if only != interpose_guest::hook_name(call.hook()) {
                return Before::Proceed;
            }
        }
        if let Some(prefix) = config::get("only-workflow") {
            if !workflow_id(call).is_some_and(|id| id.starts_with(&prefix)) {
                return Before::Proceed;
            }
        }
        match config::get("behavior").as_deref() {
            Some("loop") => {
                let mut x = 0u64;
                loop {
                    x = core::hint::black_box(x.wrapping_add(1));
                }
            }
            Some("grow") => loop {
                self.hoard.push(vec![1u8; 1 << 20]);
            },
            Some("recurse") => {
                let _ = recurse(0);
                Before::Proceed
            }
            Some("recurse-shadow") => {
                let mut pad = [0u8; 256];
                let _ = recurse_shadow(0, &mut pad);
                Before::Proceed
            }
            Some("panic") => panic!("hostile guest panics on purpose"),
            Some("panic-unicode") => {
                let crabs = "\u{1f980}".repeat(1000);
                interpose_guest::log::error(&format!("{}{crabs}", "x".repeat(2046)));
                panic!("{crabs}");
            }
            Some("oversize") => {
                let big = vec![b'x'; 4 << 20];
                let _ = call.set_header(
                    "big",
                    Payload {
                        metadata: vec![],
                        data: big,
                    },
                );
                Before::Proceed
            }
            Some("respond") => Before::Respond(vec![Payload::json_string("not allowed here")]),
            Some("edit-then-panic") => {
                let _ = call.set_header("tainted", Payload::json_string("yes"));
                let _ = call.remove_header("trail");
                let _ = call.set_args(vec![]);
                panic!("hostile guest panics after editing");
            }
            Some("empty-items") => {
                let _ = call.set_args(vec![
                    Payload {
                        metadata: vec![],
                        data: vec![],
                    };
                    100_000
                ]);
                Before::Proceed
            }
            Some("log-flood") => {
                let line = "y".repeat(1024);
                for _ in 0..4000 {
                    interpose_guest::log::info(&line);
                }
                Before::Proceed
            }
            Some("metric-reserved") => {
                interpose_guest::metrics::counter_add("temporal_workflow_completed", 1, &[]);
                Before::Proceed
            }
            Some("metric-series") => {
                for n in 0..50 {
                    interpose_guest::metrics::counter_add(
                        "hostile_series",
                        1,
                        &[("n".to_owned(), n.to_string())],
                    );
                }
                Before::Proceed
            }
            Some("reject-with-log-enabled") => Before::Reject(Failure::new(format!(
                "log-enabled={}",
                interpose_guest::log::enabled(interpose_guest::log::Level::Info)
            ))),
            Some("non-string-header") => {
                let _ = call.set_header("n", Payload::json(b"{\"not\":\"a string\"}".to_vec()));
                let _ = call.set_header(
                    "b",
                    Payload {
                        metadata: vec![],
                        data: vec![0xff, 0xfe],
                    },
                );
                Before::Proceed
            }
            Some("big-args") => {
                match call.set_args(vec![Payload::json_string(&"x".repeat(300 * 1024))]) {
                    Ok(()) => interpose_guest::log::info("big-args accepted"),
                    Err(e) => interpose_guest::log::info(&format!("big-args refused: {e:?}")),
                }
                Before::Proceed
            }
            Some("two-args") => {
                let _ = call.set_args(vec![Payload::json_string("a"), Payload::json_string("b")]);
                Before::Proceed
            }
            Some("header-uppercase") => {
                let _ = call.set_header("User-Id", Payload::json_string("bob"));
                Before::Proceed
            }
            Some("header-newline") => {
                let _ = call.set_header("x", Payload::json_string("a\r\nforged: yes"));
                Before::Proceed
            }
            Some("header-big") => {
                let _ = call.set_header("x", Payload::json_string(&"y".repeat(5000)));
                Before::Proceed
            }
            Some("many-metadata") => {
                let _ = call.set_header(
                    "meta",
                    Payload {
                        metadata: vec![(String::new(), vec![]); 200_000],
                        data: vec![],
                    },
                );
                Before::Proceed
            }
            Some("reject-huge-type") => {
                Before::Reject(Failure::new("no").with_type("t".repeat(4 << 20)))
            }
            Some("reject") => Before::Reject(Failure::new("hostile guest rejects everything")),
            _ => Before::Proceed,
        }
    }
}

#[interceptor]
impl Interceptor for Hostile {
    fn before_client(&mut self, call: &Call) -> Before {
        self.misbehave(call)
    }
    fn before_workflow_inbound(&mut self, call: &Call) -> Before {
        self.misbehave(call)
    }
    fn before_workflow_outbound(&mut self, call: &Call) -> Before {
        self.misbehave(call)
    }
    fn before_activity_inbound(&mut self, call: &Call) -> Before {
        self.misbehave(call)
    }
    fn before_activity_outbound(&mut self, call: &Call) -> Before {
        self.misbehave(call)
    }
}

interpose_guest::export!(Hostile);
