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
//!   activities, local activities, child workflows and outbound signals. The SDK exposes no
//!   headers on continue-as-new or on cancelling an external workflow; those hooks refuse
//!   header edits with `not-supported`.
//! - Results are visible as payloads (Temporal's default converter) for execute, update and
//!   query, and replaceable there; outbound results are observed (success or failure).
//! - Guests see workflow time, the replay flag and the run's identity from the SDK's
//!   interceptor context, refreshed at every phase: the `after` of an outbound call or of
//!   an async handler sees the activation in which the call resolved.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use temporalio_common::data_converters::RawValue;
use temporalio_common::error::ApplicationFailure;
use temporalio_common::protos::temporal::api::common::v1::Payload as ProtoPayload;
use temporalio_workflow::WorkflowTermination;
use temporalio_workflow::workflow_interceptors::*;

use super::args::ArgTypes;
use super::convert::{boxed_payloads, payload_in, payload_out};
use crate::chain::{self, Before, Call, CallDetail, Chain, Failure, Hook, Outcome, Payload};
use crate::services::{Scope, WorkflowHost, WorkflowInfo};

/// What guests of this run see, refreshed from the SDK context at every hook.
#[derive(Default)]
struct Snapshot {
    info: WorkflowInfo,
    now: u64,
    replaying: bool,
    history: u32,
}

struct SdkWorkflow(Mutex<Snapshot>);

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
        WorkflowInfo::new(
            $ctx.namespace(),
            $ctx.workflow_id(),
            $ctx.run_id(),
            $ctx.workflow_type(),
            $ctx.task_queue(),
        )
    };
}

/// Context facts common to both SDK interceptor contexts.
trait Facts {
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

/// A guest failure in a query or an update validator, as the error the caller gets (the
/// query fails, the update is rejected). It names guest, hook, phase and cause; the chain
/// also logs it at error level.
fn read_only_failure<E: From<Box<dyn std::error::Error + Send + Sync>>>(e: crate::GuestError) -> E {
    workflow_error(&Failure::new(e.to_string()))
}

/// How guests see a result that carries no payloads (signals, validators, outbound calls).
fn unit_outcome<T, E: std::fmt::Display>(r: &Result<T, E>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok(Vec::new()),
        Err(e) => Outcome::Err(Failure::new(e.to_string())),
    }
}

/// How guests see a handler's payload result, with the result kept for the caller.
fn payload_outcome<T, E>(r: Result<Box<T>, E>) -> (Outcome, Result<Box<T>, E>)
where
    T: ?Sized + temporalio_common::data_converters::TemporalSerializable + 'static,
    E: std::fmt::Display,
{
    match r {
        Ok(v) => {
            let (v, p) = boxed_payloads(v);
            (Outcome::Ok(p), Ok(v))
        }
        Err(e) => (Outcome::Err(Failure::new(e.to_string())), Err(e)),
    }
}

/// A guest failure inside workflow code fails the workflow task.
fn task_failure<T>(r: Result<T, crate::GuestError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn refresh(host: &SdkWorkflow, ctx: &impl Facts) {
    let (info, time, replaying, history) = ctx.facts();
    if let Ok(mut s) = host.0.lock() {
        s.info = info;
        s.now = time
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(s.now, |d| d.as_nanos() as u64);
        s.replaying = replaying;
        s.history = history;
    }
}

fn headers_in(
    h: &std::collections::HashMap<String, ProtoPayload>,
) -> std::collections::BTreeMap<String, Payload> {
    h.iter()
        .map(|(k, v)| (k.clone(), payload_in(v.clone())))
        .collect()
}

fn write_headers(into: &mut std::collections::HashMap<String, ProtoPayload>, call: &Call) {
    *into = call
        .headers()
        .iter()
        .map(|(k, v)| (k.clone(), payload_out(v.clone())))
        .collect();
}

fn app_failure(f: &Failure) -> ApplicationFailure {
    let msg = if f.error_type.is_empty() {
        f.message.clone()
    } else {
        format!("{} ({})", f.message, f.error_type)
    };
    if f.non_retryable {
        ApplicationFailure::non_retryable(msg)
    } else {
        ApplicationFailure::new(msg)
    }
}

/// A guest failure as the SDK's handler error (its type is not nameable outside the SDK,
/// so it is reached through its `From` conversion).
fn workflow_error<E: From<Box<dyn std::error::Error + Send + Sync>>>(f: &Failure) -> E {
    E::from(f.message.clone().into())
}

fn raw_output(p: Vec<Payload>) -> Box<dyn WorkflowOutputValue> {
    Box::new(RawValue::new(p.into_iter().map(payload_out).collect()))
}

/// The call's final result: the real one when the guests left the outcome as they saw it,
/// else one built from the outcome they produced.
fn settle<T, E>(
    real: Option<Result<T, E>>,
    seen: &Outcome,
    last: Outcome,
    ok: impl FnOnce(Vec<Payload>) -> Result<T, E>,
    err: impl FnOnce(&Failure) -> E,
) -> Result<T, E> {
    match (real, last) {
        (Some(r), ref l) if seen == l => r,
        (_, Outcome::Ok(p)) => ok(p),
        (_, Outcome::Err(f)) => Err(err(&f)),
    }
}

impl WasmWorkflowInterceptor {
    fn before(&self, call: &mut Call) -> Before {
        task_failure(self.session.borrow_mut().before(call))
    }

    /// Run `after` for an outbound call whose result can only be observed.
    fn observe<T, E: std::fmt::Display>(
        session: &RefCell<chain::Session>,
        mut call: Call,
        entered: chain::Entered,
        result: &Result<T, E>,
    ) {
        let seen = unit_outcome(result);
        let last = task_failure(session.borrow_mut().after(&mut call, entered, seen.clone()));
        if seen != last {
            let who = session
                .borrow()
                .decided_by()
                .map_or_else(|| "(unknown)".to_owned(), |g| format!("`{g}`"));
            let what = match &last {
                Outcome::Err(f) => format!("failed it: {}", f.message),
                Outcome::Ok(_) => "replaced it".to_owned(),
            };
            panic!(
                "interceptor {who} changed the result of `{}`, which can only be observed \
                 (the workflow task fails): it {what}",
                call.hook()
            );
        }
    }

    /// The guest that ended the last `before` early, for messages.
    fn refuser(&self) -> String {
        self.session
            .borrow()
            .decided_by()
            .map_or_else(|| "(unknown)".to_owned(), |g| format!("`{g}`"))
    }

    /// Outbound `before`: returns the entered set, or fails the task on a rejection.
    fn outbound_before(&self, call: &mut Call) -> chain::Entered {
        match self.before(call) {
            Before::Proceed(entered) => entered,
            Before::Done(entered, outcome) => {
                let who = self.refuser();
                let last = task_failure(self.session.borrow_mut().after(call, entered, outcome));
                let msg = match last {
                    Outcome::Err(f) => f.message,
                    Outcome::Ok(_) => "answered locally".into(),
                };
                panic!(
                    "interceptor {who} refused `{}` (an outbound command cannot be refused \
                     without changing the run's commands; the workflow task fails): {msg}",
                    call.hook()
                );
            }
        }
    }
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
            if let Some(t) = ctx
                .start_time()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            {
                s.now = t.as_nanos() as u64;
            }
            s.replaying = true;
        }
        let mut call = Call::for_operation(CallDetail::InitializeWorkflow, None);
        *call.headers_mut() = headers_in(input.headers());
        match self.before(&mut call) {
            Before::Proceed(entered) => {
                write_headers(input.headers_mut(), &call);
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
        let mut call = Call::for_operation(CallDetail::ExecuteWorkflow, original_args.clone());
        *call.headers_mut() = headers_in(input.headers());
        let before = self.before(&mut call);
        let session = self.session.clone();
        let host = self.host.clone();
        WorkflowInterceptorFuture::new(async move {
            let (entered, seen, result) = match before {
                Before::Proceed(entered) => {
                    write_headers(input.headers_mut(), &call);
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
                        // Control flow (continue-as-new, cancellation, eviction) passes
                        // through: guests observe it but cannot change it.
                        Err(WorkflowTermination::Failed(e)) => {
                            let f = Failure::new(e.to_string());
                            (
                                entered,
                                Outcome::Err(f),
                                Some(Err(WorkflowTermination::Failed(e))),
                            )
                        }
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
                |f| WorkflowTermination::failed_application(app_failure(f)),
            )
        })
    }

    fn handle_signal<'a>(
        &'a self,
        ctx: WorkflowInterceptorContext,
        mut input: HandleSignalInput,
        next: WorkflowNext<
            'a,
            HandleSignalInput,
            WorkflowInterceptorFuture<'a, HandleSignalResult>,
        >,
    ) -> WorkflowInterceptorFuture<'a, HandleSignalResult> {
        if !self.chain.wants(Hook::HandleSignal) {
            return next.run(input);
        }
        refresh(&self.host, &ctx);
        let mut call = Call::for_operation(
            CallDetail::HandleSignal(chain::Handler {
                name: input.name().into(),
                update_id: String::new(),
            }),
            None,
        );
        *call.headers_mut() = headers_in(input.headers());
        let before = self.before(&mut call);
        let session = self.session.clone();
        let host = self.host.clone();
        WorkflowInterceptorFuture::new(async move {
            let (entered, seen, result) = match before {
                Before::Proceed(entered) => {
                    write_headers(input.headers_mut(), &call);
                    let r = next.run(input).await;
                    refresh(&host, &ctx);
                    (entered, unit_outcome(&r), Some(r))
                }
                Before::Done(entered, outcome) => (entered, outcome, None),
            };
            let last = task_failure(session.borrow_mut().after(&mut call, entered, seen.clone()));
            settle(result, &seen, last, |_| Ok(()), workflow_error)
        })
    }

    fn handle_update<'a>(
        &'a self,
        ctx: WorkflowInterceptorContext,
        mut input: HandleUpdateInput,
        next: WorkflowNext<
            'a,
            HandleUpdateInput,
            WorkflowInterceptorFuture<'a, HandleUpdateResult>,
        >,
    ) -> WorkflowInterceptorFuture<'a, HandleUpdateResult> {
        if !self.chain.wants(Hook::HandleUpdate) {
            return next.run(input);
        }
        refresh(&self.host, &ctx);
        let mut call = Call::for_operation(
            CallDetail::HandleUpdate(chain::Handler {
                name: input.name().into(),
                update_id: input.id().into(),
            }),
            None,
        );
        *call.headers_mut() = headers_in(input.headers());
        let before = self.before(&mut call);
        let session = self.session.clone();
        let host = self.host.clone();
        WorkflowInterceptorFuture::new(async move {
            let (entered, seen, result) = match before {
                Before::Proceed(entered) => {
                    write_headers(input.headers_mut(), &call);
                    let r = next.run(input).await;
                    refresh(&host, &ctx);
                    let (seen, r) = payload_outcome(r);
                    (entered, seen, Some(r))
                }
                Before::Done(entered, outcome) => (entered, outcome, None),
            };
            let last = task_failure(session.borrow_mut().after(&mut call, entered, seen.clone()));
            settle(result, &seen, last, |p| Ok(raw_output(p)), workflow_error)
        })
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
        let mut call = Call::for_operation(
            CallDetail::HandleQuery(chain::Handler {
                name: input.name().into(),
                update_id: String::new(),
            }),
            None,
        );
        *call.headers_mut() = headers_in(input.headers());
        // A guest failure fails this query only (an error naming guest, hook, phase and
        // cause), never the workflow task.
        let before = match self.read_only.borrow_mut().before(&mut call) {
            Ok(b) => b,
            Err(e) => return Err(read_only_failure(e)),
        };
        let (entered, seen, result) = match before {
            Before::Proceed(entered) => {
                let (seen, r) = payload_outcome(next.run(input));
                (entered, seen, Some(r))
            }
            Before::Done(entered, outcome) => (entered, outcome, None),
        };
        let last = match self
            .read_only
            .borrow_mut()
            .after(&mut call, entered, seen.clone())
        {
            Ok(l) => l,
            Err(e) => return Err(read_only_failure(e)),
        };
        settle(result, &seen, last, |p| Ok(raw_output(p)), workflow_error)
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
        let mut call = Call::for_operation(
            CallDetail::ValidateUpdate(chain::Handler {
                name: input.name().into(),
                update_id: input.id().into(),
            }),
            None,
        );
        *call.headers_mut() = headers_in(input.headers());
        // A guest failure rejects this update, explicitly: the rejection names guest,
        // hook, phase and cause (and the chain logs it at error level). Failing the
        // workflow task instead would not help: the SDK turns a panicking validator into a
        // rejection too, with a less useful message.
        let before = match self.read_only.borrow_mut().before(&mut call) {
            Ok(b) => b,
            Err(e) => return Err(read_only_failure(e)),
        };
        let (entered, seen, result) = match before {
            Before::Proceed(entered) => {
                let r = next.run(input);
                (entered, unit_outcome(&r), Some(r))
            }
            Before::Done(entered, outcome) => (entered, outcome, None),
        };
        let last = match self
            .read_only
            .borrow_mut()
            .after(&mut call, entered, seen.clone())
        {
            Ok(l) => l,
            Err(e) => return Err(read_only_failure(e)),
        };
        settle(result, &seen, last, |_| Ok(()), workflow_error)
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
        refresh(&self.host, &ctx);
        let nanos = input.options().duration.as_nanos() as u64;
        let mut call = Call::for_operation(CallDetail::StartTimer(nanos), None);
        let entered = self.outbound_before(&mut call);
        if let CallDetail::StartTimer(n) = call.detail() {
            input.options_mut().duration = std::time::Duration::from_nanos(*n);
        }
        let session = self.session.clone();
        let host = self.host.clone();
        next.run(input).map(move |r| {
            // The call resolved in a later activation: guests see that one's time.
            refresh(&host, &ctx);
            Self::observe(&session, call, entered, &Ok::<(), String>(()));
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
        refresh(&self.host, &ctx);
        let o = input.options();
        let codec = self.args.for_activity(input.activity_type()).cloned();
        let original_args = codec.as_ref().and_then(|c| c.schedule_args(&input));
        let mut call = Call::for_operation(
            CallDetail::ScheduleActivity(chain::ActivitySchedule {
                activity_type: input.activity_type().into(),
                activity_id: o.activity_id.clone().unwrap_or_default(),
                task_queue: o.task_queue.clone().unwrap_or_default(),
            }),
            original_args.clone(),
        );
        *call.headers_mut() = headers_in(input.headers());
        let entered = self.outbound_before(&mut call);
        write_headers(input.headers_mut(), &call);
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
        let session = self.session.clone();
        let host = self.host.clone();
        next.run(input).map(move |r| {
            // The call resolved in a later activation: guests see that one's time.
            refresh(&host, &ctx);
            Self::observe(&session, call, entered, &r);
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
        refresh(&self.host, &ctx);
        let codec = self.args.for_activity(input.activity_type()).cloned();
        let original_args = codec.as_ref().and_then(|c| c.local_args(&input));
        let mut call = Call::for_operation(
            CallDetail::ScheduleLocalActivity(chain::ActivitySchedule {
                activity_type: input.activity_type().into(),
                activity_id: input.options().activity_id.clone().unwrap_or_default(),
                task_queue: String::new(),
            }),
            original_args.clone(),
        );
        *call.headers_mut() = headers_in(input.headers());
        let entered = self.outbound_before(&mut call);
        write_headers(input.headers_mut(), &call);
        if let (Some(codec), Some(args)) = (&codec, call.args())
            && original_args.as_deref() != Some(args)
        {
            let set = codec.set_local_args(&mut input, args.to_vec());
            set.unwrap_or_else(|e| panic!("an interceptor replaced the activity arguments: {e}"));
        }
        if let CallDetail::ScheduleLocalActivity(d) = call.detail() {
            input.options_mut().activity_id = Some(d.activity_id.clone()).filter(|s| !s.is_empty());
        }
        let session = self.session.clone();
        let host = self.host.clone();
        next.run(input).map(move |r| {
            // The call resolved in a later activation: guests see that one's time.
            refresh(&host, &ctx);
            Self::observe(&session, call, entered, &r);
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
        refresh(&self.host, &ctx);
        let o = input.options();
        let mut call = Call::for_operation(
            CallDetail::StartChildWorkflow(chain::ChildStart {
                workflow_type: input.workflow_type().into(),
                workflow_id: o.workflow_id.clone().unwrap_or_default(),
                task_queue: o.task_queue.clone().unwrap_or_default(),
            }),
            None,
        );
        *call.headers_mut() = headers_in(input.headers());
        let entered = self.outbound_before(&mut call);
        write_headers(input.headers_mut(), &call);
        if let CallDetail::StartChildWorkflow(d) = call.detail() {
            let o = input.options_mut();
            o.workflow_id = Some(d.workflow_id.clone()).filter(|s| !s.is_empty());
            o.task_queue = Some(d.task_queue.clone()).filter(|s| !s.is_empty());
        }
        let session = self.session.clone();
        let host = self.host.clone();
        next.run(input).map(move |r| {
            // The call resolved in a later activation: guests see that one's time.
            refresh(&host, &ctx);
            Self::observe(
                &session,
                call,
                entered,
                &r.as_ref().map(|_| ()).map_err(|e| e.to_string()),
            );
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
        refresh(&self.host, &ctx);
        let (target, child) = match input.target() {
            SignalWorkflowTarget::Child { workflow_id } => (
                chain::WorkflowTarget {
                    workflow_id: workflow_id.clone(),
                    run_id: String::new(),
                },
                true,
            ),
            SignalWorkflowTarget::External {
                workflow_id,
                run_id,
                ..
            } => (
                chain::WorkflowTarget {
                    workflow_id: workflow_id.clone(),
                    run_id: run_id.clone().unwrap_or_default(),
                },
                false,
            ),
            _ => (
                chain::WorkflowTarget {
                    workflow_id: String::new(),
                    run_id: String::new(),
                },
                false,
            ),
        };
        let mut call = Call::for_operation(
            CallDetail::SignalExternalWorkflow(chain::OutboundSignal {
                name: input.signal_name().into(),
                target,
                child,
            }),
            None,
        );
        *call.headers_mut() = headers_in(input.headers());
        let entered = self.outbound_before(&mut call);
        write_headers(input.headers_mut(), &call);
        let session = self.session.clone();
        let host = self.host.clone();
        next.run(input).map(move |r| {
            // The call resolved in a later activation: guests see that one's time.
            refresh(&host, &ctx);
            Self::observe(
                &session,
                call,
                entered,
                &r.as_ref().map(|_| ()).map_err(|e| e.to_string()),
            );
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
        refresh(&self.host, &ctx);
        let mut call = Call::for_operation(
            CallDetail::CancelExternalWorkflow(chain::OutboundCancel {
                target: chain::WorkflowTarget {
                    workflow_id: input.workflow_id.clone(),
                    run_id: input.run_id.clone().unwrap_or_default(),
                },
                reason: input.reason.clone().unwrap_or_default(),
            }),
            None,
        );
        let entered = self.outbound_before(&mut call);
        let session = self.session.clone();
        let host = self.host.clone();
        next.run(input).map(move |r| {
            // The call resolved in a later activation: guests see that one's time.
            refresh(&host, &ctx);
            Self::observe(
                &session,
                call,
                entered,
                &r.as_ref().map(|_| ()).map_err(|e| e.to_string()),
            );
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
        refresh(&self.host, &ctx);
        let o = input.options();
        let mut call = Call::for_operation(
            CallDetail::ContinueAsNew(chain::ContinueAsNewOptions {
                workflow_type: o.workflow_type.clone().unwrap_or_default(),
                task_queue: o.task_queue.clone().unwrap_or_default(),
            }),
            None,
        );
        let entered = self.outbound_before(&mut call);
        if let CallDetail::ContinueAsNew(d) = call.detail() {
            input.options_mut().task_queue = Some(d.task_queue.clone()).filter(|s| !s.is_empty());
        }
        Self::observe(&self.session, call, entered, &Ok::<(), String>(()));
        next.run(input)
    }
}
