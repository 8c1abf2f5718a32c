//! `interpose:interceptor/workflow-context`: the run's identity, workflow time, the replay
//! flag and the guest's own random stream (workflow hooks only).

use rand::Rng as _;

use super::HostState;
use crate::model::wit::interpose::interceptor::workflow_context;
use crate::services::Scope;

impl workflow_context::Host for HostState {
    fn info(&mut self) -> wasmtime::Result<workflow_context::WorkflowInfo> {
        let Scope::Workflow(w) = &self.scope else {
            return Err(self.context_misuse("workflow-context", "info"));
        };
        let i = w.info();
        Ok(workflow_context::WorkflowInfo {
            namespace: i.namespace,
            workflow_id: i.workflow_id,
            run_id: i.run_id,
            workflow_type: i.workflow_type,
            task_queue: i.task_queue,
            history_length: w.history_length(),
        })
    }

    fn now(&mut self) -> wasmtime::Result<u64> {
        let Scope::Workflow(w) = &self.scope else {
            return Err(self.context_misuse("workflow-context", "now"));
        };
        Ok(w.now_nanos())
    }

    fn is_replaying(&mut self) -> wasmtime::Result<bool> {
        let Scope::Workflow(w) = &self.scope else {
            return Err(self.context_misuse("workflow-context", "is-replaying"));
        };
        Ok(w.is_replaying())
    }

    fn is_read_only(&mut self) -> wasmtime::Result<bool> {
        if !matches!(self.scope, Scope::Workflow(_)) {
            return Err(self.context_misuse("workflow-context", "is-read-only"));
        }
        Ok(self.cur.hook.is_read_only())
    }

    fn random_u64(&mut self) -> wasmtime::Result<u64> {
        if !matches!(self.scope, Scope::Workflow(_)) {
            return Err(self.context_misuse("workflow-context", "random-u64"));
        }
        Ok(self.rng.next_u64())
    }
}
