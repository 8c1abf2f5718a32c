//! The pieces every workflow hook is built from: calls from SDK inputs and their headers
//! back, how guests see results, how their outcome settles the result, the shapes of a
//! hook (a command, a read-only hook, an async handler) and what a guest failure does in
//! each.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use temporalio_common::data_converters::RawValue;
use temporalio_common::protos::temporal::api::common::v1::Payload as ProtoPayload;
use temporalio_workflow::workflow_interceptors::*;

use super::super::convert::{boxed_payloads, header_map_in, header_map_out, payload_out};
use super::WasmWorkflowInterceptor;
use super::context::{Facts, SdkWorkflow, refresh};
use crate::chain::{self, Before, Call, CallDetail, Failure, Outcome, Payload};

/// A guest failure in a query or an update validator, as the error the caller gets (the
/// query fails, the update is rejected). It names guest, hook, phase and cause; the chain
/// also logs it at error level.
pub(super) fn read_only_failure<E: From<Box<dyn std::error::Error + Send + Sync>>>(
    e: crate::GuestError,
) -> E {
    workflow_error(&Failure::new(e.to_string()))
}

/// How guests see a result that carries no payloads (signals, validators, outbound calls).
pub(super) fn unit_outcome<T, E: std::fmt::Display>(r: &Result<T, E>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok(Vec::new()),
        Err(e) => Outcome::Err(Failure::new(e.to_string())),
    }
}

/// How guests see a handler's payload result, with the result kept for the caller.
pub(super) fn payload_outcome<T, E>(r: Result<Box<T>, E>) -> (Outcome, Result<Box<T>, E>)
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
pub(super) fn task_failure<T>(r: Result<T, crate::GuestError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// The SDK inputs that carry headers.
pub(super) trait SdkHeaders {
    fn sdk_headers(&self) -> &HashMap<String, ProtoPayload>;
    fn sdk_headers_mut(&mut self) -> &mut HashMap<String, ProtoPayload>;
}

macro_rules! sdk_headers {
    ($($t:ty),* $(,)?) => {$(
        impl SdkHeaders for $t {
            fn sdk_headers(&self) -> &HashMap<String, ProtoPayload> {
                self.headers()
            }
            fn sdk_headers_mut(&mut self) -> &mut HashMap<String, ProtoPayload> {
                self.headers_mut()
            }
        }
    )*};
}
sdk_headers!(
    InitializeWorkflowInput,
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    HandleQueryInput,
    ValidateUpdateInput,
    ScheduleActivityInput,
    ScheduleLocalActivityInput,
    StartChildWorkflowInput,
    SignalWorkflowInput,
    ContinueAsNewInput,
);

/// A call for `detail` that carries the input's headers.
pub(super) fn call_of(
    detail: CallDetail,
    args: Option<Vec<Payload>>,
    input: &impl SdkHeaders,
) -> Call {
    let mut call = Call::for_operation(detail, args);
    *call.headers_mut() = header_map_in(input.sdk_headers());
    call
}

/// The guests' header edits, written back into the input.
pub(super) fn write_headers(input: &mut impl SdkHeaders, call: &Call) {
    *input.sdk_headers_mut() = header_map_out(call.headers());
}

/// An outbound command whose `before` ran: `after` observes how it resolved.
pub(super) struct Pending {
    session: Rc<RefCell<chain::Session>>,
    host: Arc<SdkWorkflow>,
    ctx: WorkflowInterceptorContext,
    call: Call,
    entered: chain::Entered,
}

impl Pending {
    /// The command resolved, in a later activation: guests see that one's time.
    pub(super) fn resolved<T, E: std::fmt::Display>(self, r: &Result<T, E>) {
        self.resolved_as(unit_outcome(r));
    }

    /// The command resolved, and guests see it as `seen`.
    pub(super) fn resolved_as(self, seen: Outcome) {
        refresh(&self.host, &self.ctx);
        WasmWorkflowInterceptor::observe_as(&self.session, self.call, self.entered, seen);
    }
}

/// A guest failure as the SDK's handler error (its type is not nameable outside the SDK,
/// so it is reached through its `From` conversion).
pub(super) fn workflow_error<E: From<Box<dyn std::error::Error + Send + Sync>>>(f: &Failure) -> E {
    E::from(f.message.clone().into())
}

pub(super) fn raw_output(p: Vec<Payload>) -> Box<dyn WorkflowOutputValue> {
    Box::new(RawValue::new(p.into_iter().map(payload_out).collect()))
}

/// The call's final result: the real one when the guests left the outcome as they saw it,
/// else one built from the outcome they produced.
pub(super) fn settle<T, E>(
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
    pub(super) fn before(&self, call: &mut Call) -> Before {
        task_failure(self.session.borrow_mut().before(call))
    }

    /// Run `after` for an outbound call whose result can only be observed.
    pub(super) fn observe<T, E: std::fmt::Display>(
        session: &RefCell<chain::Session>,
        call: Call,
        entered: chain::Entered,
        result: &Result<T, E>,
    ) {
        Self::observe_as(session, call, entered, unit_outcome(result));
    }

    /// Run `after` for an outbound call that guests see as `seen` and can only observe.
    pub(super) fn observe_as(
        session: &RefCell<chain::Session>,
        mut call: Call,
        entered: chain::Entered,
        seen: Outcome,
    ) {
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

    /// An outbound command's `before`, in the activation that issues it: returns the call
    /// as the guests left it (a refusal fails the task).
    pub(super) fn command(&self, ctx: &impl Facts, mut call: Call) -> (Call, chain::Entered) {
        refresh(&self.host, ctx);
        let entered = self.outbound_before(&mut call);
        (call, entered)
    }

    /// What the `after` of a command that resolves later needs.
    pub(super) fn pending(
        &self,
        ctx: WorkflowInterceptorContext,
        call: Call,
        entered: chain::Entered,
    ) -> Pending {
        Pending {
            session: self.session.clone(),
            host: self.host.clone(),
            ctx,
            call,
            entered,
        }
    }

    /// A read-only hook (query, update validator) on its own session: `run` runs the
    /// handler and says how guests see its result. A guest failure fails only this call
    /// (an error naming guest, hook, phase and cause), never the workflow task.
    pub(super) fn read_only<T, E>(
        &self,
        mut call: Call,
        run: impl FnOnce() -> (Outcome, Result<T, E>),
        ok: impl FnOnce(Vec<Payload>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<Box<dyn std::error::Error + Send + Sync>>,
    {
        let before = self.read_only.borrow_mut().before(&mut call);
        let (entered, seen, result) = match before.map_err(read_only_failure)? {
            Before::Proceed(entered) => {
                let (seen, r) = run();
                (entered, seen, Some(r))
            }
            Before::Done(entered, outcome) => (entered, outcome, None),
        };
        let last = self
            .read_only
            .borrow_mut()
            .after(&mut call, entered, seen.clone());
        settle(
            result,
            &seen,
            last.map_err(read_only_failure)?,
            ok,
            workflow_error,
        )
    }

    /// An async inbound handler (signal, update): `before` in the activation that delivers
    /// it, the handler, then `after` in the activation where it finished. `outcome` says
    /// how guests see the handler's result; `ok` builds a result from payloads a guest
    /// answered or replaced with.
    pub(super) fn handler<'a, I, T, E>(
        &'a self,
        ctx: WorkflowInterceptorContext,
        mut call: Call,
        mut input: I,
        run: impl FnOnce(I) -> WorkflowInterceptorFuture<'a, Result<T, E>> + 'a,
        outcome: impl FnOnce(Result<T, E>) -> (Outcome, Result<T, E>) + 'a,
        ok: impl FnOnce(Vec<Payload>) -> Result<T, E> + 'a,
    ) -> WorkflowInterceptorFuture<'a, Result<T, E>>
    where
        I: SdkHeaders + 'a,
        T: 'a,
        E: From<Box<dyn std::error::Error + Send + Sync>> + 'a,
    {
        refresh(&self.host, &ctx);
        let before = self.before(&mut call);
        let session = self.session.clone();
        let host = self.host.clone();
        WorkflowInterceptorFuture::new(async move {
            let (entered, seen, result) = match before {
                Before::Proceed(entered) => {
                    write_headers(&mut input, &call);
                    let r = run(input).await;
                    refresh(&host, &ctx);
                    let (seen, r) = outcome(r);
                    (entered, seen, Some(r))
                }
                Before::Done(entered, outcome) => (entered, outcome, None),
            };
            let last = task_failure(session.borrow_mut().after(&mut call, entered, seen.clone()));
            settle(result, &seen, last, ok, workflow_error)
        })
    }

    /// The guest that ended the last `before` early, for messages.
    pub(super) fn refuser(&self) -> String {
        self.session
            .borrow()
            .decided_by()
            .map_or_else(|| "(unknown)".to_owned(), |g| format!("`{g}`"))
    }

    /// Outbound `before`: returns the entered set, or fails the task on a rejection.
    pub(super) fn outbound_before(&self, call: &mut Call) -> chain::Entered {
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
