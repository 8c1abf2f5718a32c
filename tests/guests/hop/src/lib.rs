//! The benchmark's hop: in `schedule-activity` (before only) it reads the `in` header and
//! writes its value to the `out` header — one header read, one header added. A native Rust
//! interceptor doing the same is the baseline it is measured against.
//!
//! Two more hooks split the hop's cost (row a of the benchmark): `schedule-local-activity`
//! proceeds without looking at anything (the crossing alone), and `start-child-workflow`
//! reads the declared `in` header without editing (the crossing with one header handed in).

use interpose_guest::{Before, Call, Interceptor, interceptor};

#[derive(Default)]
struct Hop;

#[interceptor]
impl Interceptor for Hop {
    fn before_schedule_activity(&mut self, call: &Call) -> Before {
        if let Some(v) = call.header("in") {
            let _ = call.set_header("out", v);
        }
        Before::Proceed
    }

    fn before_schedule_local_activity(&mut self, _call: &Call) -> Before {
        Before::Proceed
    }

    fn before_start_child_workflow(&mut self, call: &Call) -> Before {
        core::hint::black_box(call.header("in"));
        Before::Proceed
    }
}

interpose_guest::export!(Hop);
