//! Logs every workflow hook once: the host drops guest logs while a workflow replays, so a
//! run that is evicted and replayed does not log its history again. The guest also counts
//! the hooks it saw while replaying and reports, on the first live hook after a replay,
//! how many it caught up on.

use interpose_guest::{After, Before, Call, Interceptor, Outcome, interceptor, log, workflow};

#[derive(Default)]
struct ReplayLogger {
    replayed: u32,
}

impl ReplayLogger {
    fn seen(&mut self, call: &Call, phase: &str) {
        if workflow::is_replaying() {
            self.replayed += 1;
            return;
        }
        let info = workflow::info();
        if self.replayed > 0 {
            log::info(&format!(
                "{} {}: caught up after replaying {} hooks",
                info.workflow_type, info.workflow_id, self.replayed
            ));
            self.replayed = 0;
        }
        log::info(&format!(
            "{} {} {phase} {}{}",
            info.workflow_type,
            info.workflow_id,
            interpose_guest::hook_name(call.hook()),
            if workflow::is_read_only() {
                " (read-only)"
            } else {
                ""
            }
        ));
    }
}

#[interceptor]
impl Interceptor for ReplayLogger {
    fn before_workflow_inbound(&mut self, call: &Call) -> Before {
        self.seen(call, "before");
        Before::Proceed
    }
    fn after_workflow_inbound(&mut self, call: &Call, _outcome: &Outcome) -> After {
        self.seen(call, "after");
        After::Keep
    }
    fn before_workflow_outbound(&mut self, call: &Call) -> Before {
        self.seen(call, "before");
        Before::Proceed
    }
}

interpose_guest::export!(ReplayLogger);
