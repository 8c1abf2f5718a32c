//! Rejects client calls that would start disallowed workflow types or act for disallowed
//! users. Config values (comma-separated lists):
//!
//! - `workflow-types`: workflow types that may not be started;
//! - `users`: user ids (the `user-id` header) that may not start or message workflows.
//!
//! A rejection is non-retryable and names the rule that matched.

use interpose_guest::{Before, Call, CallDetail, Failure, Interceptor, config, interceptor};

#[derive(Default)]
struct DenyList;

fn listed(key: &str, value: &str) -> bool {
    config::get(key).is_some_and(|list| list.split(',').any(|v| v.trim() == value))
}

fn check(call: &Call) -> Before {
    let workflow_type = match call.detail() {
        CallDetail::StartWorkflow(s) => Some(s.workflow_type),
        CallDetail::SignalWithStartWorkflow(s) | CallDetail::UpdateWithStartWorkflow(s) => {
            Some(s.start.workflow_type)
        }
        _ => None,
    };
    if let Some(t) = workflow_type {
        if listed("workflow-types", &t) {
            return Before::Reject(
                Failure::new(format!("workflow type `{t}` is on the deny list"))
                    .with_type("DeniedWorkflowType")
                    .non_retryable(),
            );
        }
    }
    if let Some(user) = call.header_string("user-id") {
        if listed("users", &user) {
            return Before::Reject(
                Failure::new(format!("user `{user}` is on the deny list"))
                    .with_type("DeniedUser")
                    .non_retryable(),
            );
        }
    }
    Before::Proceed
}

#[interceptor(reads("user-id"))]
impl Interceptor for DenyList {
    fn before_start_workflow(&mut self, call: &Call) -> Before {
        check(call)
    }
    fn before_signal_with_start_workflow(&mut self, call: &Call) -> Before {
        check(call)
    }
    fn before_update_with_start_workflow(&mut self, call: &Call) -> Before {
        check(call)
    }
    fn before_signal_workflow(&mut self, call: &Call) -> Before {
        check(call)
    }
    fn before_start_workflow_update(&mut self, call: &Call) -> Before {
        check(call)
    }
}

interpose_guest::export!(DenyList);
