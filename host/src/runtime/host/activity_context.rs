//! `interpose:interceptor/activity-context`: the attempt's info, time and heartbeats
//! (activity hooks only).

use std::sync::atomic::Ordering;

use super::HostState;
use crate::model::{Payload, Phase};

/// The most bytes of heartbeat details (data and metadata) a guest may record in one
/// heartbeat: well under Temporal's blob size limits (the frontend fails the activity, not
/// just the heartbeat, above them).
pub(crate) use crate::model::MAX_HEARTBEAT_BYTES;
use crate::model::wit::interpose::interceptor::activity_context;
use crate::services::Scope;

impl activity_context::Host for HostState {
    fn info(&mut self) -> wasmtime::Result<activity_context::ActivityInfo> {
        let Scope::Activity(a) = &self.scope else {
            return Err(self.context_misuse("activity-context", "info"));
        };
        let i = a.info();
        Ok(activity_context::ActivityInfo {
            activity_id: i.activity_id,
            activity_type: i.activity_type,
            namespace: i.namespace,
            task_queue: i.task_queue,
            workflow_id: i.workflow_id,
            workflow_run_id: i.workflow_run_id,
            workflow_type: i.workflow_type,
            attempt: i.attempt,
            is_local: i.is_local,
            scheduled_time: i.scheduled_time,
            current_attempt_scheduled_time: i.current_attempt_scheduled_time,
            started_time: i.started_time,
        })
    }

    fn now(&mut self) -> wasmtime::Result<u64> {
        if !matches!(self.scope, Scope::Activity(_)) {
            return Err(self.context_misuse("activity-context", "now"));
        }
        Ok(match self.guest.clock {
            crate::config::ClockMode::Real => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            _ => self.shared.now.load(Ordering::Relaxed),
        })
    }

    fn heartbeat(&mut self, details: Vec<Payload>) -> wasmtime::Result<()> {
        if !matches!(self.scope, Scope::Activity(_)) {
            return Err(self.context_misuse("activity-context", "heartbeat"));
        }
        self.charge_payloads(&details)?;
        if self.cur.phase != Phase::Before {
            // After the body ran, a heartbeat would replace the details the activity
            // itself recorded (Temporal keeps one set per activity).
            return Err(wasmtime::format_err!(
                "`activity-context.heartbeat` was called in `after`; it is only available in \
                 `before`, so that a guest never replaces the heartbeat details the activity \
                 recorded"
            ));
        }
        let size = crate::model::encoded_bytes(&details);
        if size > MAX_HEARTBEAT_BYTES {
            return Err(wasmtime::format_err!(
                "`activity-context.heartbeat` details are {size} bytes; at most \
                 {MAX_HEARTBEAT_BYTES} are allowed (Temporal fails an activity whose heartbeat \
                 details are too large)"
            ));
        }
        // Kept until the call returns a valid decision: a failed call's heartbeat is
        // dropped with its edits.
        self.cur.heartbeat = Some(details);
        Ok(())
    }
}
