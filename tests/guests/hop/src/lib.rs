//! The benchmark's hop: in `schedule-activity` (before only) it reads the `in` header and
//! writes its value to the `out` header — one header read, one header added. A native Rust
//! interceptor doing the same is the baseline it is measured against.

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
}

interpose_guest::export!(Hop);
