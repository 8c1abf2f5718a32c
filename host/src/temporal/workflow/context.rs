//! What guests of a run see of it: the run's identity, workflow time, the replay flag and
//! the history length, refreshed from the SDK's interceptor context at every phase.

use std::sync::Mutex;
use std::time::SystemTime;

use temporalio_workflow::workflow_interceptors::*;

use super::super::convert::unix_nanos;
use crate::services::{WorkflowHost, WorkflowInfo};

/// What guests of this run see, refreshed from the SDK context at every hook.
#[derive(Default)]
pub(super) struct Snapshot {
    pub(super) info: WorkflowInfo,
    pub(super) now: u64,
    pub(super) replaying: bool,
    pub(super) history: u32,
}

pub(super) struct SdkWorkflow(pub(super) Mutex<Snapshot>);

impl WorkflowHost for SdkWorkflow {
    fn info(&self) -> WorkflowInfo {
        self.0.lock().map(|s| s.info.clone()).unwrap_or_default()
    }
    fn now_nanos(&self) -> u64 {
        self.0.lock().map_or(0, |s| s.now)
    }
    fn is_replaying(&self) -> bool {
        self.0.lock().is_ok_and(|s| s.replaying)
    }
    fn history_length(&self) -> u32 {
        self.0.lock().map_or(0, |s| s.history)
    }
}

/// The run's identity from any SDK context or view (they share these accessors).
macro_rules! workflow_info {
    ($ctx:expr) => {
        $crate::services::WorkflowInfo::new(
            $ctx.namespace(),
            $ctx.workflow_id(),
            $ctx.run_id(),
            $ctx.workflow_type(),
            $ctx.task_queue(),
        )
    };
}

/// Context facts common to both SDK interceptor contexts.
pub(super) trait Facts {
    fn facts(&self) -> (WorkflowInfo, Option<SystemTime>, bool, u32);
}

macro_rules! facts {
    ($t:ty) => {
        impl Facts for $t {
            fn facts(&self) -> (WorkflowInfo, Option<SystemTime>, bool, u32) {
                (
                    workflow_info!(self),
                    self.workflow_time(),
                    self.is_replaying(),
                    self.history_length(),
                )
            }
        }
    };
}
facts!(WorkflowInterceptorContext);
facts!(SyncWorkflowInterceptorContext);

/// Refresh what guests of this run see from the SDK context of the hook running now.
pub(super) fn refresh(host: &SdkWorkflow, ctx: &impl Facts) {
    let (info, time, replaying, history) = ctx.facts();
    if let Ok(mut s) = host.0.lock() {
        s.info = info;
        s.now = unix_nanos(time).unwrap_or(s.now);
        s.replaying = replaying;
        s.history = history;
    }
}

pub(super) use workflow_info;
