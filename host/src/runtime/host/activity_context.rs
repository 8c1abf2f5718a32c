//! `interpose:interceptor/activity-context`: the attempt's info, time and heartbeats
//! (activity hooks only).

use std::sync::atomic::Ordering;

use super::HostState;
use crate::model::Payload;
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
        let Scope::Activity(a) = &self.scope else {
            return Err(self.context_misuse("activity-context", "heartbeat"));
        };
        let a = a.clone();
        self.charge_payloads(&details)?;
        a.heartbeat(details);
        Ok(())
    }
}
