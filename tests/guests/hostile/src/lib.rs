//! A guest that misbehaves on purpose, in `before` of every hook of every category, as its
//! config value `behavior` says:
//!
//! - `loop`: spins forever (out of fuel, or past its deadline when fuel is large);
//! - `grow`: allocates until memory runs out;
//! - `recurse`: unbounded recursion (stack overflow);
//! - `panic`: panics with a message;
//! - `oversize`: writes a header larger than the output limit;
//! - `respond`: answers hooks that cannot be answered (an invalid decision);
//! - `edit-then-panic`: edits a header and the args, then panics (edits must be rolled back);
//! - `reject`: rejects everything;
//! - anything else: behaves.
//!
//! The config value `only` restricts misbehaviour to one hook (by WIT name).

use interpose_guest::{Before, Call, Failure, Interceptor, Payload, config, interceptor};

#[derive(Default)]
struct Hostile {
    hoard: Vec<Vec<u8>>,
}

#[inline(never)]
#[expect(unconditional_recursion, reason = "unbounded recursion is the point of this guest")]
fn recurse(n: u64, pad: &mut [u8; 256]) -> u64 {
    pad[(n % 256) as usize] = n as u8;
    let mut next = [0u8; 256];
    next[0] = pad[0];
    core::hint::black_box(recurse(n + 1, &mut next)) + pad[1] as u64
}

impl Hostile {
    fn misbehave(&mut self, call: &Call) -> Before {
        if let Some(only) = config::get("only") {
            if only != interpose_guest::hook_name(call.hook()) {
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
                let mut pad = [0u8; 256];
                let _ = recurse(0, &mut pad);
                Before::Proceed
            }
            Some("panic") => panic!("hostile guest panics on purpose"),
            Some("oversize") => {
                let big = vec![b'x'; 4 << 20];
                let _ = call.set_header("big", Payload { metadata: vec![], data: big });
                Before::Proceed
            }
            Some("respond") => Before::Respond(vec![Payload::json_string("not allowed here")]),
            Some("edit-then-panic") => {
                let _ = call.set_header("tainted", Payload::json_string("yes"));
                let _ = call.remove_header("trail");
                let _ = call.set_args(vec![]);
                panic!("hostile guest panics after editing");
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
}

interpose_guest::export!(Hostile);
