//! Test fixture: logs the `user-id` header it sees on every workflow and activity hook, as
//! `<workflow type> <hook> user=<id or none>`. Placed after context propagation in a chain,
//! it shows what each hop carried.
//!
//! On `start-nexus-operation` it also logs the operation's details and tries to change the
//! operation, which the host must refuse: `nexus <endpoint> <service>/<operation> timeout=<ns>
//! input=<payloads> edit=<refused: why | accepted>`.

use interpose_guest::{
    Before, Call, CallDetail, Interceptor, activity, hook_name, interceptor, log, workflow,
};

#[derive(Default)]
struct Witness;

fn report(call: &Call, workflow_type: String) -> Before {
    let user = call
        .header_string("user-id")
        .unwrap_or_else(|| "none".into());
    log::info(&format!(
        "{workflow_type} {} user={user}",
        hook_name(call.hook())
    ));
    Before::Proceed
}

#[interceptor(reads("user-id"))]
impl Interceptor for Witness {
    fn before_workflow_inbound(&mut self, call: &Call) -> Before {
        report(call, workflow::info().workflow_type)
    }
    fn before_workflow_outbound(&mut self, call: &Call) -> Before {
        if let CallDetail::StartNexusOperation(mut n) = call.detail() {
            let head = format!(
                "nexus {} {}/{} timeout={} input={}",
                n.endpoint,
                n.service,
                n.operation,
                n.schedule_to_close_timeout,
                call.args().len()
            );
            n.operation = "other".into();
            let edit = match call.set_detail(CallDetail::StartNexusOperation(n)) {
                Ok(()) => "accepted".to_owned(),
                Err(e) => format!("refused: {e:?}"),
            };
            log::info(&format!("{head} edit={edit}"));
        }
        report(call, workflow::info().workflow_type)
    }
    fn before_activity_inbound(&mut self, call: &Call) -> Before {
        report(call, activity::info().workflow_type)
    }
}

interpose_guest::export!(Witness);
