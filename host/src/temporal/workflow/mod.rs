//! The workflow adapter: a `WorkflowInterceptor` per workflow run that runs workflow inbound
//! and outbound calls through the chain, with one guest instance per run.
//!
//! Semantics:
//! - A guest failure under fail-closed fails the workflow TASK (the adapter panics inside
//!   workflow code, which the SDK turns into a task failure that Temporal retries); the
//!   workflow resumes once the guest is fixed or configured to be skipped. Queries and
//!   update validators are the exception, since they produce no commands: a guest failure
//!   fails that query (the caller gets an error naming guest, hook, phase and cause) or
//!   rejects that update with the same message; the run and its task are untouched.
//! - Queries and validators run on a session and snapshot of their own, so nothing they
//!   see or do reaches the hooks that replay.
//! - A guest's deliberate `reject` fails what it rejected: `execute` fails the workflow with
//!   an application failure, a query or signal or update handler returns an error, an update
//!   validator rejects the update. An outbound command cannot be refused without changing
//!   the command sequence, so a `reject` (or an `after` that fails the result) of an
//!   outbound call fails the workflow task, with the guest's message.
//! - Headers are read and written on execute, initialize, signals, queries, updates,
//!   activities, local activities, child workflows, outbound signals and continue-as-new
//!   (`ContinueAsNewInput::headers_mut`: the next run starts with them; the SDK hands the
//!   hook none of the current run's, so the next run gets what guests set). Cancelling an
//!   external workflow carries none (`CancelExternalWorkflowInput` has no headers, nor has
//!   Temporal's cancel command); its hook refuses header edits.
//! - Results are visible as payloads (Temporal's default converter) for execute, update and
//!   query, and replaceable there; outbound results are observed (success or failure).
//! - Guests see workflow time, the replay flag and the run's identity from the SDK's
//!   interceptor context, refreshed at every phase: the `after` of an outbound call or of
//!   an async handler sees the activation in which the call resolved.

mod context;
mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use temporalio_workflow::WorkflowTermination;
use temporalio_workflow::workflow_interceptors::*;

use super::args::ArgTypes;
use super::convert::{application_failure, boxed_payloads, unix_nanos};
use crate::chain::{self, Before, Call, CallDetail, Chain, Failure, Hook, Outcome};
use crate::services::Scope;
use context::{SdkWorkflow, Snapshot, refresh, workflow_info};
use support::{
    call_of, payload_outcome, raw_output, settle, task_failure, unit_outcome, write_headers,
};

/// Builds one [`WasmWorkflowInterceptor`] per workflow run. Register it with
/// `WorkerOptions::workflow_interceptor`.
pub fn constructor(chain: Chain, args: ArgTypes) -> WorkflowInterceptorConstructor {
    WorkflowInterceptorConstructor::new(move |view| {
        let snapshot = || {
            Arc::new(SdkWorkflow(Mutex::new(Snapshot {
                info: workflow_info!(view),
                ..Snapshot::default()
            })))
        };
        let (host, read_only_host) = (snapshot(), snapshot());
        WasmWorkflowInterceptor {
            args: args.clone(),
            chain: chain.clone(),
            session: Rc::new(RefCell::new(chain.session(Scope::Workflow(host.clone())))),
            host,
            read_only: RefCell::new(chain.session(Scope::Workflow(read_only_host.clone()))),
            read_only_host,
        }
    })
}

/// The chain for one workflow run.
pub struct WasmWorkflowInterceptor {
    args: ArgTypes,
    chain: Chain,
    session: Rc<RefCell<chain::Session>>,
    host: Arc<SdkWorkflow>,
    /// Queries and update validators: a session and a snapshot of their own, so that
    /// nothing they see or do (a query runs outside replay) reaches the hooks that replay.
    read_only: RefCell<chain::Session>,
    read_only_host: Arc<SdkWorkflow>,
}

impl WorkflowInterceptor for WasmWorkflowInterceptor {
    fn initialize_workflow(
        &self,
        ctx: temporalio_workflow::WorkflowContextView,
        mut input: InitializeWorkflowInput,
        next: WorkflowNext<'_, InitializeWorkflowInput, InitializeWorkflowOutput>,
    ) -> InitializeWorkflowOutput {
        if !self.chain.wants(Hook::InitializeWorkflow) {
            return next.run(input);
        }
        // The SDK's view at initialization says neither the workflow time nor whether the
        // run is replaying. Guests see the run's start time, and the run is treated as
        // replaying: their logs and metrics here are dropped, so that a replay can never
        // emit them twice (the price: initialize-workflow emits nothing live either).
        if let Ok(mut s) = self.host.0.lock() {
            s.info = workflow_info!(ctx);
            if let Some(t) = unix_nanos(ctx.start_time()) {
                s.now = t;
            }
            s.replaying = true;
        }
        let mut call = call_of(CallDetail::InitializeWorkflow, None, &input);
        match self.before(&mut call) {
            Before::Proceed(entered) => {
                write_headers(&mut input, &call);
                let out = next.run(input);
                Self::observe(&self.session, call, entered, &Ok::<(), String>(()));
                out
            }
            Before::Done(..) => panic!(
                "interceptor {} refused `initialize-workflow`, which cannot be refused; the \
                 workflow task fails",
                self.refuser()
            ),
        }
    }

    fn execute<'a>(
        &'a self,
        ctx: WorkflowInterceptorContext,
        mut input: ExecuteWorkflowInput,
        next: WorkflowNext<
            'a,
            ExecuteWorkflowInput,
            WorkflowInterceptorFuture<'a, ExecuteWorkflowResult>,
        >,
    ) -> WorkflowInterceptorFuture<'a, ExecuteWorkflowResult> {
        if !self.chain.wants(Hook::ExecuteWorkflow) {
            return next.run(input);
        }
        refresh(&self.host, &ctx);
        let codec = self.args.for_workflow(ctx.workflow_type()).cloned();
        let original_args = codec.as_ref().and_then(|c| c.workflow_args(&input));
        let mut call = call_of(CallDetail::ExecuteWorkflow, original_args.clone(), &input);
        let before = self.before(&mut call);
        let session = self.session.clone();
        let host = self.host.clone();
        WorkflowInterceptorFuture::new(async move {
            let (entered, seen, result) = match before {
                Before::Proceed(entered) => {
                    write_headers(&mut input, &call);
                    if let (Some(codec), Some(args)) = (&codec, call.args())
                        && original_args.as_deref() != Some(args)
                    {
                        let set = codec.set_workflow_args(&mut input, args.to_vec());
                        set.unwrap_or_else(|e| {
                            panic!("an interceptor replaced the workflow arguments: {e}")
                        });
                    }
                    let result = next.run(input).await;
                    refresh(&host, &ctx);
                    match result {
                        Ok(v) => {
                            let (v, p) = boxed_payloads(v);
                            (entered, Outcome::Ok(p), Some(Ok(v)))
                        }
                        Err(WorkflowTermination::Failed(e)) if !cancelled(&ctx, &e) => {
                            let f = Failure::new(e.to_string());
                            (
                                entered,
                                Outcome::Err(f),
                                Some(Err(WorkflowTermination::Failed(e))),
                            )
                        }
                        // The run ends by control flow: continue-as-new, or cancellation
                        // (returned as such, or as a cancelled error the SDK turns into a
                        // cancellation). Guests observe it as a failure of type
                        // `ContinueAsNew` or `Cancelled`; a change they make is ignored (a
                        // workflow that cannot continue or be cancelled would be stuck).
                        Err(
                            t @ (WorkflowTermination::ContinueAsNew(_)
                            | WorkflowTermination::Cancelled { .. }
                            | WorkflowTermination::Failed(_)),
                        ) => {
                            let seen = Outcome::Err(control_flow_failure(&t));
                            let mut session = session.borrow_mut();
                            let last =
                                task_failure(session.after(&mut call, entered, seen.clone()));
                            if last != seen {
                                let who = session
                                    .decided_by()
                                    .map_or_else(|| "(unknown)".to_owned(), |g| format!("`{g}`"));
                                tracing::warn!(
                                    "interceptor {who} changed the end of a run that {} in \
                                     `after` of `execute-workflow`; ignored: such an end can \
                                     only be observed",
                                    match &t {
                                        WorkflowTermination::ContinueAsNew(_) => "continued as new",
                                        _ => "was cancelled",
                                    }
                                );
                            }
                            return Err(t);
                        }
                        // An eviction is not the run's end: no `after`.
                        Err(other) => return Err(other),
                    }
                }
                Before::Done(entered, outcome) => (entered, outcome, None),
            };
            let last = task_failure(session.borrow_mut().after(&mut call, entered, seen.clone()));
            settle(
                result,
                &seen,
                last,
                |p| Ok(raw_output(p)),
                |f| WorkflowTermination::failed_application(application_failure(f)),
            )
        })
    }

    fn handle_signal<'a>(
        &'a self,
        ctx: WorkflowInterceptorContext,
        input: HandleSignalInput,
        next: WorkflowNext<
            'a,
            HandleSignalInput,
            WorkflowInterceptorFuture<'a, HandleSignalResult>,
        >,
    ) -> WorkflowInterceptorFuture<'a, HandleSignalResult> {
        if !self.chain.wants(Hook::HandleSignal) {
            return next.run(input);
        }
        let handler = chain::Handler {
            name: input.name().into(),
            update_id: String::new(),
        };
        let call = call_of(CallDetail::HandleSignal(handler), None, &input);
        self.handler(
            ctx,
            call,
            input,
            |i| next.run(i),
            |r| (unit_outcome(&r), r),
            |_| Ok(()),
        )
    }

    fn handle_update<'a>(
        &'a self,
        ctx: WorkflowInterceptorContext,
        input: HandleUpdateInput,
        next: WorkflowNext<
            'a,
            HandleUpdateInput,
            WorkflowInterceptorFuture<'a, HandleUpdateResult>,
        >,
    ) -> WorkflowInterceptorFuture<'a, HandleUpdateResult> {
        if !self.chain.wants(Hook::HandleUpdate) {
            return next.run(input);
        }
        let handler = chain::Handler {
            name: input.name().into(),
            update_id: input.id().into(),
        };
        let call = call_of(CallDetail::HandleUpdate(handler), None, &input);
        self.handler(
            ctx,
            call,
            input,
            |i| next.run(i),
            payload_outcome,
            |p| Ok(raw_output(p)),
        )
    }

    fn handle_query(
        &self,
        ctx: SyncWorkflowInterceptorContext,
        input: HandleQueryInput,
        next: WorkflowNext<'_, HandleQueryInput, HandleQueryResult>,
    ) -> HandleQueryResult {
        if !self.chain.wants(Hook::HandleQuery) {
            return next.run(input);
        }
        refresh(&self.read_only_host, &ctx);
        // Queries are not part of history, so they never replay; the SDK can still report
        // `is_replaying` from the activation that carries the query, which would silence
        // the guest's logs and make it count the query as replayed. Only the read-only
        // snapshot says so: the hooks that replay never see it.
        if let Ok(mut s) = self.read_only_host.0.lock() {
            s.replaying = false;
        }
        let handler = chain::Handler {
            name: input.name().into(),
            update_id: String::new(),
        };
        let call = call_of(CallDetail::HandleQuery(handler), None, &input);
        self.read_only(
            call,
            || payload_outcome(next.run(input)),
            |p| Ok(raw_output(p)),
        )
    }

    fn validate_update(
        &self,
        ctx: SyncWorkflowInterceptorContext,
        input: ValidateUpdateInput,
        next: WorkflowNext<'_, ValidateUpdateInput, ValidateUpdateResult>,
    ) -> ValidateUpdateResult {
        if !self.chain.wants(Hook::ValidateUpdate) {
            return next.run(input);
        }
        refresh(&self.read_only_host, &ctx);
        let handler = chain::Handler {
            name: input.name().into(),
            update_id: input.id().into(),
        };
        let call = call_of(CallDetail::ValidateUpdate(handler), None, &input);
        // A guest failure rejects this update, explicitly: the rejection names guest,
        // hook, phase and cause (and the chain logs it at error level). Failing the
        // workflow task instead would not help: the SDK turns a panicking validator into a
        // rejection too, with a less useful message.
        self.read_only(
            call,
            || {
                let r = next.run(input);
                (unit_outcome(&r), r)
            },
            |_| Ok(()),
        )
    }

    /// A Nexus operation: its Nexus headers (strings) as `json/plain` string payloads, its
    /// input as the call's one argument; `after` sees the operation token, if it started
    /// asynchronously, or the start's failure. The operation's own result is not reachable:
    /// the SDK's interceptor wraps the start (`StartedNexusOperation::result` awaits a
    /// crate-private future), so guests see how the start resolved.
    #[cfg(feature = "nexus")]
    fn start_nexus_operation(
        &self,
        ctx: WorkflowInterceptorContext,
        mut input: StartNexusOperationInput,
        next: WorkflowNext<
            'static,
            StartNexusOperationInput,
            CancellableWorkflowOutboundFuture<StartNexusOperationResult>,
        >,
    ) -> CancellableWorkflowOutboundFuture<StartNexusOperationResult> {
        use super::convert::{payload_in, payload_out};
        if !self.chain.wants(Hook::StartNexusOperation) {
            return next.run(input);
        }
        let o = input.options();
        let detail = CallDetail::StartNexusOperation(chain::NexusStart {
            endpoint: o.endpoint.clone(),
            service: o.service.clone(),
            operation: o.operation.clone(),
            schedule_to_close_timeout: o
                .schedule_to_close_timeout
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        });
        let original: Vec<chain::Payload> = o.input.iter().cloned().map(payload_in).collect();
        let mut call = Call::for_operation(detail, Some(original.clone()));
        // HTTP-style headers match without case (Temporal lowercases them): guests see and
        // set lowercase keys.
        let incoming: std::collections::HashMap<String, String> = o
            .nexus_header
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        *call.headers_mut() = incoming
            .iter()
            .map(|(k, v)| (k.clone(), chain::Payload::from_header_string(v)))
            .collect();
        let (call, entered) = self.command(&ctx, call);
        let o = input.options_mut();
        // Guest edits were checked when applied; a native interceptor's are checked here. A
        // header the workflow set and nobody changed goes out as it came in (even one a guest
        // could not set, such as a value with a control character).
        o.nexus_header = call
            .headers()
            .iter()
            .map(|(k, p)| {
                if let Some(v) = incoming.get(k)
                    && *p == chain::Payload::from_header_string(v)
                {
                    return (k.clone(), v.clone());
                }
                let v = p.header_string().unwrap_or_else(|| {
                    panic!(
                        "an interceptor set Nexus header `{k}` to a payload that is not a \
                         string (a `json/plain` JSON string or UTF-8 data)"
                    )
                });
                (k.clone(), v)
            })
            .collect();
        if let Some(args) = call.args()
            && args != original.as_slice()
        {
            if args.len() > 1 {
                panic!(
                    "an interceptor gave a Nexus operation {} inputs; it takes one",
                    args.len()
                );
            }
            o.input = args.first().cloned().map(payload_out);
        }
        let pending = self.pending(ctx, call, entered);
        next.run(input).map(move |r| {
            pending.resolved_as(match &r {
                Ok(started) => chain::Outcome::Ok(
                    started
                        .operation_token
                        .iter()
                        .map(|t| chain::Payload::from_header_string(t))
                        .collect(),
                ),
                Err(f) => chain::Outcome::Err(Failure::new(f.message.clone())),
            });
            r
        })
    }

    fn start_timer(
        &self,
        ctx: WorkflowInterceptorContext,
        mut input: StartTimerInput,
        next: WorkflowNext<
            'static,
            StartTimerInput,
            CancellableWorkflowOutboundFuture<temporalio_workflow::TimerResult>,
        >,
    ) -> CancellableWorkflowOutboundFuture<temporalio_workflow::TimerResult> {
        if !self.chain.wants(Hook::StartTimer) {
            return next.run(input);
        }
        let nanos = input.options().duration.as_nanos() as u64;
        let call = Call::for_operation(CallDetail::StartTimer(nanos), None);
        let (call, entered) = self.command(&ctx, call);
        if let CallDetail::StartTimer(n) = call.detail() {
            input.options_mut().duration = std::time::Duration::from_nanos(*n);
        }
        let pending = self.pending(ctx, call, entered);
        next.run(input).map(move |r| {
            pending.resolved(&Ok::<(), String>(()));
            r
        })
    }

    #[expect(clippy::result_large_err, reason = "the result type is the SDK's")]
    fn schedule_activity(
        &self,
        ctx: WorkflowInterceptorContext,
        mut input: ScheduleActivityInput,
        next: WorkflowNext<
            'static,
            ScheduleActivityInput,
            CancellableWorkflowOutboundFuture<ScheduleActivityResult>,
        >,
    ) -> CancellableWorkflowOutboundFuture<ScheduleActivityResult> {
        if !self.chain.wants(Hook::ScheduleActivity) {
            return next.run(input);
        }
        let o = input.options();
        let codec = self.args.for_activity(input.activity_type()).cloned();
        let original_args = codec.as_ref().and_then(|c| c.schedule_args(&input));
        let detail = CallDetail::ScheduleActivity(chain::ActivitySchedule {
            activity_type: input.activity_type().into(),
            activity_id: o.activity_id.clone().unwrap_or_default(),
            task_queue: o.task_queue.clone().unwrap_or_default(),
        });
        let call = call_of(detail, original_args.clone(), &input);
        let (call, entered) = self.command(&ctx, call);
        write_headers(&mut input, &call);
        if let (Some(codec), Some(args)) = (&codec, call.args())
            && original_args.as_deref() != Some(args)
        {
            let set = codec.set_schedule_args(&mut input, args.to_vec());
            set.unwrap_or_else(|e| panic!("an interceptor replaced the activity arguments: {e}"));
        }
        if let CallDetail::ScheduleActivity(d) = call.detail() {
            let o = input.options_mut();
            o.activity_id = Some(d.activity_id.clone()).filter(|s| !s.is_empty());
            o.task_queue = Some(d.task_queue.clone()).filter(|s| !s.is_empty());
        }
        let pending = self.pending(ctx, call, entered);
        next.run(input).map(move |r| {
            pending.resolved(&r);
            r
        })
    }

    #[expect(clippy::result_large_err, reason = "the result type is the SDK's")]
    fn schedule_local_activity(
        &self,
        ctx: WorkflowInterceptorContext,
        mut input: ScheduleLocalActivityInput,
        next: WorkflowNext<
            'static,
            ScheduleLocalActivityInput,
            CancellableWorkflowOutboundFuture<ScheduleActivityResult>,
        >,
    ) -> CancellableWorkflowOutboundFuture<ScheduleActivityResult> {
        if !self.chain.wants(Hook::ScheduleLocalActivity) {
            return next.run(input);
        }
        let codec = self.args.for_activity(input.activity_type()).cloned();
        let original_args = codec.as_ref().and_then(|c| c.local_args(&input));
        let detail = CallDetail::ScheduleLocalActivity(chain::ActivitySchedule {
            activity_type: input.activity_type().into(),
            activity_id: input.options().activity_id.clone().unwrap_or_default(),
            task_queue: String::new(),
        });
        let call = call_of(detail, original_args.clone(), &input);
        let (call, entered) = self.command(&ctx, call);
        write_headers(&mut input, &call);
        if let (Some(codec), Some(args)) = (&codec, call.args())
            && original_args.as_deref() != Some(args)
        {
            let set = codec.set_local_args(&mut input, args.to_vec());
            set.unwrap_or_else(|e| panic!("an interceptor replaced the activity arguments: {e}"));
        }
        if let CallDetail::ScheduleLocalActivity(d) = call.detail() {
            input.options_mut().activity_id = Some(d.activity_id.clone()).filter(|s| !s.is_empty());
        }
        let pending = self.pending(ctx, call, entered);
        next.run(input).map(move |r| {
            pending.resolved(&r);
            r
        })
    }

    fn start_child_workflow(
        &self,
        ctx: WorkflowInterceptorContext,
        mut input: StartChildWorkflowInput,
        next: WorkflowNext<
            'static,
            StartChildWorkflowInput,
            CancellableWorkflowOutboundFuture<StartChildWorkflowResult>,
        >,
    ) -> CancellableWorkflowOutboundFuture<StartChildWorkflowResult> {
        if !self.chain.wants(Hook::StartChildWorkflow) {
            return next.run(input);
        }
        let o = input.options();
        let detail = CallDetail::StartChildWorkflow(chain::ChildStart {
            workflow_type: input.workflow_type().into(),
            workflow_id: o.workflow_id.clone().unwrap_or_default(),
            task_queue: o.task_queue.clone().unwrap_or_default(),
        });
        let call = call_of(detail, None, &input);
        let (call, entered) = self.command(&ctx, call);
        write_headers(&mut input, &call);
        if let CallDetail::StartChildWorkflow(d) = call.detail() {
            let o = input.options_mut();
            o.workflow_id = Some(d.workflow_id.clone()).filter(|s| !s.is_empty());
            o.task_queue = Some(d.task_queue.clone()).filter(|s| !s.is_empty());
        }
        let pending = self.pending(ctx, call, entered);
        next.run(input).map(move |r| {
            pending.resolved(&r.as_ref().map(|_| ()).map_err(|e| e.to_string()));
            r
        })
    }

    fn signal_workflow(
        &self,
        ctx: WorkflowInterceptorContext,
        mut input: SignalWorkflowInput,
        next: WorkflowNext<
            'static,
            SignalWorkflowInput,
            CancellableWorkflowOutboundFuture<SignalWorkflowResult>,
        >,
    ) -> CancellableWorkflowOutboundFuture<SignalWorkflowResult> {
        if !self.chain.wants(Hook::SignalExternalWorkflow) {
            return next.run(input);
        }
        let target = |workflow_id: &str, run_id: &str| chain::WorkflowTarget {
            workflow_id: workflow_id.to_owned(),
            run_id: run_id.to_owned(),
        };
        let (target, child) = match input.target() {
            SignalWorkflowTarget::Child { workflow_id } => (target(workflow_id, ""), true),
            SignalWorkflowTarget::External {
                workflow_id,
                run_id,
                ..
            } => (
                target(workflow_id, run_id.as_deref().unwrap_or_default()),
                false,
            ),
            _ => (target("", ""), false),
        };
        let detail = CallDetail::SignalExternalWorkflow(chain::OutboundSignal {
            name: input.signal_name().into(),
            target,
            child,
        });
        let call = call_of(detail, None, &input);
        let (call, entered) = self.command(&ctx, call);
        write_headers(&mut input, &call);
        let pending = self.pending(ctx, call, entered);
        next.run(input).map(move |r| {
            pending.resolved(&r.as_ref().map(|_| ()).map_err(|e| e.to_string()));
            r
        })
    }

    fn cancel_external_workflow(
        &self,
        ctx: WorkflowInterceptorContext,
        input: CancelExternalWorkflowInput,
        next: WorkflowNext<
            'static,
            CancelExternalWorkflowInput,
            WorkflowOutboundFuture<CancelExternalWorkflowResult>,
        >,
    ) -> WorkflowOutboundFuture<CancelExternalWorkflowResult> {
        if !self.chain.wants(Hook::CancelExternalWorkflow) {
            return next.run(input);
        }
        let detail = CallDetail::CancelExternalWorkflow(chain::OutboundCancel {
            target: chain::WorkflowTarget {
                workflow_id: input.workflow_id.clone(),
                run_id: input.run_id.clone().unwrap_or_default(),
            },
            reason: input.reason.clone().unwrap_or_default(),
        });
        let (call, entered) = self.command(&ctx, Call::for_operation(detail, None));
        let pending = self.pending(ctx, call, entered);
        next.run(input).map(move |r| {
            pending.resolved(&r.as_ref().map(|_| ()).map_err(|e| e.to_string()));
            r
        })
    }

    fn continue_as_new(
        &self,
        ctx: SyncWorkflowInterceptorContext,
        mut input: ContinueAsNewInput,
        next: WorkflowNext<'static, ContinueAsNewInput, ContinueAsNewResult>,
    ) -> ContinueAsNewResult {
        if !self.chain.wants(Hook::ContinueAsNew) {
            return next.run(input);
        }
        let o = input.options();
        let detail = CallDetail::ContinueAsNew(chain::ContinueAsNewOptions {
            workflow_type: o.workflow_type.clone().unwrap_or_default(),
            task_queue: o.task_queue.clone().unwrap_or_default(),
        });
        let (call, entered) = self.command(&ctx, call_of(detail, None, &input));
        write_headers(&mut input, &call);
        if let CallDetail::ContinueAsNew(d) = call.detail() {
            input.options_mut().task_queue = Some(d.task_queue.clone()).filter(|s| !s.is_empty());
        }
        Self::observe(&self.session, call, entered, &Ok::<(), String>(()));
        next.run(input)
    }
}

/// Whether a failed run is a cancelled one: the SDK completes it as cancelled when the
/// workflow was cancelled and the error is a cancellation (`WorkflowInstance`'s terminal
/// outcome, temporalio-workflow 1.1.1 `runtime/instance.rs`).
fn cancelled(
    ctx: &WorkflowInterceptorContext,
    e: &temporalio_common::error::OutgoingWorkflowError,
) -> bool {
    ctx.cancellation_token().is_cancelled() && e.as_cancelled().is_some()
}

/// What guests see in `after(execute-workflow)` when the run ends by control flow.
fn control_flow_failure(t: &WorkflowTermination) -> Failure {
    let (message, error_type) = match t {
        WorkflowTermination::ContinueAsNew(_) => ("continued as new", "ContinueAsNew"),
        _ => ("cancelled", "Cancelled"),
    };
    let mut f = Failure::new(message);
    f.error_type = error_type.into();
    f
}
