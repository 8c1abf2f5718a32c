//! Logs and counts every workflow hook once: the host drops guest logs and metrics while a
//! workflow replays, so a run that is evicted and replayed does not log or count its history
//! again (metric `replay_logger_hooks`, attribute `hook`). The guest also counts
//! the hooks it saw while replaying and reports, on the first live hook after a replay,
//! how many it caught up on.

use interpose_guest::{
    After, Before, Call, Interceptor, Outcome, interceptor, log, metrics, workflow,
};

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
        let hook = interpose_guest::hook_name(call.hook());
        metrics::counter_add(
            "replay_logger_hooks",
            1,
            &[("hook".to_owned(), hook.to_owned())],
        );
        log::info(&format!(
            "{} {} {phase} {hook}{}",
            info.workflow_type,
            info.workflow_id,
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
