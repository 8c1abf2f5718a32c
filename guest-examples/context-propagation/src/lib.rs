//! The seed's context propagation, as one guest for every category: a user id travels in the
//! `user-id` header from the client to the workflow, and from the workflow to every
//! activity, local activity, child workflow, external signal, Nexus operation and
//! continue-as-new.
//!
//! - client: outbound calls that start or message a workflow get `user-id` if they do not
//!   carry one yet, from this guest's config value `user-id` (the application's default
//!   user; an application that sets the header itself wins);
//! - workflow inbound: the header of `execute-workflow` (and of signals and updates, which
//!   may carry a newer one) is remembered for the run;
//! - workflow outbound: the remembered id is copied onto every command that carries headers
//!   (the Temporal SDKs start outbound headers empty);
//! - activity inbound: the id is logged with the activity, as the seed's example would use
//!   it.

use interpose_guest::{Before, Call, Interceptor, Payload, config, interceptor, log};

const HEADER: &str = "user-id";

#[derive(Default)]
struct ContextPropagation {
    /// The user id of the current workflow run (workflow instances live for a run).
    user: Option<Payload>,
}

impl ContextPropagation {
    /// Client side: give the call the configured user id unless it carries one.
    fn stamp(call: &Call) -> Before {
        if call.header(HEADER).is_none() {
            if let Some(user) = config::get(HEADER) {
                let _ = call.set_header(HEADER, Payload::json_string(&user));
            }
        }
        Before::Proceed
    }

    /// Workflow outbound: copy the run's user id onto the command.
    fn forward(&self, call: &Call) -> Before {
        if let Some(user) = &self.user {
            let _ = call.set_header(HEADER, user.clone());
        }
        Before::Proceed
    }
}

#[interceptor(reads(HEADER))]
impl Interceptor for ContextPropagation {
    fn before_start_workflow(&mut self, call: &Call) -> Before {
        Self::stamp(call)
    }
    fn before_signal_with_start_workflow(&mut self, call: &Call) -> Before {
        Self::stamp(call)
    }
    fn before_update_with_start_workflow(&mut self, call: &Call) -> Before {
        Self::stamp(call)
    }
    fn before_signal_workflow(&mut self, call: &Call) -> Before {
        Self::stamp(call)
    }
    fn before_query_workflow(&mut self, call: &Call) -> Before {
        Self::stamp(call)
    }
    fn before_start_workflow_update(&mut self, call: &Call) -> Before {
        Self::stamp(call)
    }

    fn before_workflow_inbound(&mut self, call: &Call) -> Before {
        if let Some(user) = call.header(HEADER) {
            self.user = Some(user);
        }
        Before::Proceed
    }

    fn before_schedule_activity(&mut self, call: &Call) -> Before {
        self.forward(call)
    }
    fn before_schedule_local_activity(&mut self, call: &Call) -> Before {
        self.forward(call)
    }
    fn before_start_child_workflow(&mut self, call: &Call) -> Before {
        self.forward(call)
    }
    fn before_signal_external_workflow(&mut self, call: &Call) -> Before {
        self.forward(call)
    }
    fn before_continue_as_new(&mut self, call: &Call) -> Before {
        self.forward(call)
    }
    /// Nexus headers are strings: the host turns the `json/plain` string into the header's
    /// value (`alice`), which the Nexus handler reads as any Nexus header.
    /// A user id that is not a string stays off Nexus operations.
    fn before_start_nexus_operation(&mut self, call: &Call) -> Before {
        if let Some(user) = &self.user
            && user.as_json_string().is_some()
        {
            let _ = call.set_header(HEADER, user.clone());
        }
        Before::Proceed
    }

    fn before_execute_activity(&mut self, call: &Call) -> Before {
        if let Some(user) = call.header_string(HEADER) {
            let info = interpose_guest::activity::info();
            log::info(&format!(
                "activity {} runs for user {user}",
                info.activity_type
            ));
        }
        Before::Proceed
    }
}

interpose_guest::export!(ContextPropagation);
