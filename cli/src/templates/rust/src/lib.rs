//! {{name}}: an Interpose interceptor. Implement only the hooks you need; `#[interceptor]`
//! derives the guest's interests from the methods you write.

use interpose_guest::{Before, Call, Interceptor, Payload, interceptor};

#[derive(Default)]
struct {{type}};

#[interceptor]
impl Interceptor for {{type}} {
    fn before_start_workflow(&mut self, call: &Call) -> Before {
        let _ = call.set_header("{{name}}", Payload::json_string("seen"));
        Before::Proceed
    }
}

interpose_guest::export!({{type}});
