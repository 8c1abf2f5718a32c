//! The client adapter: a [`ClientInterceptor`] that runs every client operation through the
//! chain's `client` guests.
//!
//! What guests see per operation: the typed detail (ids, types, task queues, names), the
//! Temporal header where the operation has one (start, signal-with-start, signal, query,
//! update, update-with-start), and the result payloads of queries. Operations without a
//! Temporal header (list, count, describe, history, schedules, async activity completion)
//! refuse header edits with `not-supported`. Client arguments stay typed inside the Temporal
//! client (a sealed trait the SDK does not let an interceptor serialize), so guests see
//! `arg-count = 0` and `set-args` replaces the arguments with raw payloads.
//!
//! Over 600 lines on purpose: it is one table, one `op!` row per `ClientInterceptor` method
//! (27, each the SDK input's fields mapped to a detail and back), all served by one
//! `run_op`. Split, the table would be read in pieces while it is checked as a whole against
//! the SDK trait.

use std::future::Future;

use futures_util::future::BoxFuture;
use temporalio_client::errors::{
    AsyncActivityError, ClientError, WorkflowInteractionError, WorkflowQueryError,
    WorkflowStartError, WorkflowUpdateError, WorkflowUpdateWithStartError,
};
use temporalio_client::interceptors::*;
use temporalio_client::schedules::ScheduleError;
use temporalio_client::{ActivityIdentifier, ClientInterceptor};
use temporalio_common::data_converters::RawValue;

use super::convert::{headers_in, headers_out, payload_in, payload_out, rejection_status};
use crate::chain::*;
use crate::services::Scope;

/// Runs client operations through the chain. Register it with
/// `ClientOptions::client_interceptors`, or through [`super::Interpose`].
#[derive(Clone, Debug)]
pub struct WasmClientInterceptor {
    chain: Chain,
}

impl WasmClientInterceptor {
    /// An interceptor over `chain`.
    pub fn new(chain: Chain) -> WasmClientInterceptor {
        WasmClientInterceptor { chain }
    }
}

/// How one operation's result looks to guests, and how a replaced result is written back.
trait ClientResult: Sized {
    fn payloads(&self) -> Vec<Payload> {
        Vec::new()
    }
    fn replace(&mut self, _payloads: Vec<Payload>) {}
}

macro_rules! plain_result {
    ($($t:ty),*) => { $(impl ClientResult for $t {})* };
}
plain_result!(
    StartWorkflowOutput,
    ListWorkflowsPageOutput,
    CountWorkflowsOutput,
    DescribeWorkflowOutput,
    FetchWorkflowHistoryPageOutput,
    StartWorkflowUpdateOutput,
    UpdateWithStartWorkflowOutput,
    PollWorkflowUpdateOutput,
    CreateScheduleOutput,
    ListSchedulesPageOutput,
    DescribeScheduleOutput,
    (),
    temporalio_client::ActivityHeartbeatResponse
);

impl ClientResult for QueryWorkflowOutput {
    fn payloads(&self) -> Vec<Payload> {
        self.response
            .query_result
            .as_ref()
            .map(|p| p.payloads.iter().cloned().map(payload_in).collect())
            .unwrap_or_default()
    }
    fn replace(&mut self, payloads: Vec<Payload>) {
        self.response.query_result = Some(
            temporalio_common::protos::temporal::api::common::v1::Payloads {
                payloads: payloads.into_iter().map(payload_out).collect(),
            },
        );
    }
}

/// Before, the real call, after; edits applied with `apply`, failures mapped with `err`.
async fn run_op<I, O, E, F>(
    chain: &Chain,
    mut input: I,
    mut call: Call,
    apply: impl FnOnce(&mut I, &Call),
    next: impl FnOnce(I) -> F,
    err: fn(temporalio_client::tonic::Status) -> E,
) -> Result<O, E>
where
    F: Future<Output = Result<O, E>>,
    O: ClientResult,
    E: std::fmt::Display,
{
    let hook = call.hook();
    let guest_failed =
        |e: crate::GuestError| err(temporalio_client::tonic::Status::internal(e.to_string()));
    let mut session = chain.session(Scope::Client);
    match session.before(&mut call).map_err(guest_failed)? {
        Before::Proceed(entered) => {
            apply(&mut input, &call);
            let result = next(input).await;
            let seen = match &result {
                Ok(o) => Outcome::Ok(o.payloads()),
                Err(e) => Outcome::Err(Failure::new(e.to_string())),
            };
            let original = seen.clone();
            let last = session
                .after(&mut call, entered, seen)
                .map_err(guest_failed)?;
            match (result, last) {
                (Ok(mut o), Outcome::Ok(p)) => {
                    if !matches!(&original, Outcome::Ok(q) if *q == p) {
                        o.replace(p);
                    }
                    Ok(o)
                }
                (Ok(_), Outcome::Err(f)) => Err(err(rejection_status(&f))),
                (Err(e), Outcome::Err(f)) => {
                    if matches!(&original, Outcome::Err(g) if g.message == f.message) {
                        Err(e)
                    } else {
                        Err(err(rejection_status(&f)))
                    }
                }
                (Err(e), Outcome::Ok(_)) => {
                    tracing::warn!(hook = %hook, "an interceptor replaced a failed {hook} with a result; the Temporal client cannot build one, so the failure stands");
                    Err(e)
                }
            }
        }
        Before::Done(entered, outcome) => {
            match session
                .after(&mut call, entered, outcome)
                .map_err(guest_failed)?
            {
                Outcome::Err(f) => Err(err(rejection_status(&f))),
                Outcome::Ok(_) => Err(err(temporalio_client::tonic::Status::internal(format!(
                    "an interceptor answered {hook}, which the Temporal client cannot answer locally"
                )))),
            }
        }
    }
}

fn target(workflow_id: &str, run_id: &str) -> WorkflowTarget {
    WorkflowTarget {
        workflow_id: workflow_id.into(),
        run_id: run_id.into(),
    }
}

fn message(workflow_id: &str, run_id: &str, name: &str) -> WorkflowMessage {
    WorkflowMessage {
        target: target(workflow_id, run_id),
        name: name.into(),
    }
}

fn async_activity(id: &ActivityIdentifier) -> AsyncActivity {
    match id {
        ActivityIdentifier::TaskToken(t) => {
            AsyncActivity::TaskToken(std::borrow::Borrow::<[u8]>::borrow(t).to_vec())
        }
        ActivityIdentifier::ByIdWorkflow {
            workflow_id,
            run_id,
            activity_id,
        } => AsyncActivity::ById(AsyncActivityId {
            workflow_id: workflow_id.clone(),
            run_id: run_id.clone(),
            activity_id: activity_id.clone(),
        }),
        #[allow(unreachable_patterns)]
        _ => AsyncActivity::TaskToken(Vec::new()),
    }
}

/// Raw payload arguments set by a guest, if it replaced them.
fn new_args(call: &Call) -> Option<RawValue> {
    call.args()
        .filter(|a| !a.is_empty())
        .map(|a| RawValue::new(a.iter().cloned().map(payload_out).collect()))
}

macro_rules! op {
    ($method:ident, $input:ty, $output:ty, $error:ty, $hook:ident, $err:expr,
     build = |$b:ident| $build:expr, apply = |$ai:ident, $ac:ident| $apply:expr $(,)?) => {
        fn $method<'a>(
            &'a self,
            input: $input,
            next: Next<'a, $input, BoxFuture<'a, Result<$output, $error>>>,
        ) -> BoxFuture<'a, Result<$output, $error>> {
            if !self.chain.wants(Hook::$hook) {
                return next.run(input);
            }
            Box::pin(async move {
                let call = {
                    let $b = &input;
                    $build
                };
                run_op(
                    &self.chain,
                    input,
                    call,
                    |$ai: &mut $input, $ac: &Call| $apply,
                    move |i| next.run(i),
                    $err,
                )
                .await
            })
        }
    };
}

fn start_detail(id: &str, ty: &str, queue: &str) -> WorkflowStart {
    WorkflowStart {
        workflow_id: id.into(),
        workflow_type: ty.into(),
        task_queue: queue.into(),
    }
}

fn with_headers(
    detail: CallDetail,
    h: Option<&temporalio_common::protos::temporal::api::common::v1::Header>,
) -> Call {
    let mut c = Call::for_operation(detail, Some(Vec::new()));
    *c.headers_mut() = headers_in(h);
    c
}

fn headerless(detail: CallDetail) -> Call {
    Call::for_operation(detail, None)
}

impl ClientInterceptor for WasmClientInterceptor {
    op!(
        start_workflow,
        StartWorkflowInput,
        StartWorkflowOutput,
        WorkflowStartError,
        StartWorkflow,
        WorkflowStartError::Rpc,
        build = |i| with_headers(
            CallDetail::StartWorkflow(start_detail(
                &i.options.workflow_id,
                &i.workflow_type,
                &i.options.task_queue
            )),
            i.options.header.as_ref()
        ),
        apply = |i, c| {
            if let CallDetail::StartWorkflow(d) = c.detail() {
                i.options.workflow_id = d.workflow_id.clone();
                i.options.task_queue = d.task_queue.clone();
            }
            i.options.header = headers_out(c.headers());
            if let Some(a) = new_args(c) {
                i.replace_args(a);
            }
        }
    );

    op!(
        signal_with_start_workflow,
        SignalWithStartWorkflowInput,
        StartWorkflowOutput,
        WorkflowStartError,
        SignalWithStartWorkflow,
        WorkflowStartError::Rpc,
        build = |i| with_headers(
            CallDetail::SignalWithStartWorkflow(WorkflowStartWithMessage {
                start: start_detail(
                    &i.options.workflow_id,
                    &i.workflow_type,
                    &i.options.task_queue
                ),
                name: i.signal_name.clone(),
            }),
            i.options.header.as_ref()
        ),
        apply = |i, c| {
            if let CallDetail::SignalWithStartWorkflow(d) = c.detail() {
                i.options.workflow_id = d.start.workflow_id.clone();
                i.options.task_queue = d.start.task_queue.clone();
            }
            i.options.header = headers_out(c.headers());
        }
    );

    op!(
        list_workflows_page,
        ListWorkflowsPageInput,
        ListWorkflowsPageOutput,
        ClientError,
        ListWorkflows,
        ClientError::Rpc,
        build = |i| headerless(CallDetail::ListWorkflows(VisibilityQuery {
            query: i.query.clone()
        })),
        apply = |i, c| if let CallDetail::ListWorkflows(q) = c.detail() {
            i.query = q.query.clone();
        }
    );

    op!(
        count_workflows,
        CountWorkflowsInput,
        CountWorkflowsOutput,
        ClientError,
        CountWorkflows,
        ClientError::Rpc,
        build = |i| headerless(CallDetail::CountWorkflows(VisibilityQuery {
            query: i.query.clone()
        })),
        apply = |i, c| if let CallDetail::CountWorkflows(q) = c.detail() {
            i.query = q.query.clone();
        }
    );

    op!(
        describe_workflow,
        DescribeWorkflowInput,
        DescribeWorkflowOutput,
        WorkflowInteractionError,
        DescribeWorkflow,
        WorkflowInteractionError::Rpc,
        build = |i| headerless(CallDetail::DescribeWorkflow(target(
            &i.workflow_id,
            &i.run_id
        ))),
        apply = |_i, _c| ()
    );

    op!(
        fetch_workflow_history_page,
        FetchWorkflowHistoryPageInput,
        FetchWorkflowHistoryPageOutput,
        WorkflowInteractionError,
        FetchWorkflowHistory,
        WorkflowInteractionError::Rpc,
        build = |i| headerless(CallDetail::FetchWorkflowHistory(target(
            &i.workflow_id,
            &i.run_id
        ))),
        apply = |_i, _c| ()
    );

    op!(
        signal_workflow,
        SignalWorkflowInput,
        (),
        WorkflowInteractionError,
        SignalWorkflow,
        WorkflowInteractionError::Rpc,
        build = |i| with_headers(
            CallDetail::SignalWorkflow(message(&i.workflow_id, &i.run_id, &i.signal_name)),
            i.options.header.as_ref()
        ),
        apply = |i, c| {
            i.options.header = headers_out(c.headers());
            if let Some(a) = new_args(c) {
                i.replace_args(a);
            }
        }
    );

    op!(
        query_workflow,
        QueryWorkflowInput,
        QueryWorkflowOutput,
        WorkflowQueryError,
        QueryWorkflow,
        WorkflowQueryError::Rpc,
        build = |i| with_headers(
            CallDetail::QueryWorkflow(message(&i.workflow_id, &i.run_id, &i.query_name)),
            i.options.header.as_ref()
        ),
        apply = |i, c| {
            i.options.header = headers_out(c.headers());
            if let Some(a) = new_args(c) {
                i.replace_args(a);
            }
        }
    );

    op!(
        start_workflow_update,
        StartWorkflowUpdateInput,
        StartWorkflowUpdateOutput,
        WorkflowUpdateError,
        StartWorkflowUpdate,
        WorkflowUpdateError::Rpc,
        build = |i| with_headers(
            CallDetail::StartWorkflowUpdate(message(&i.workflow_id, &i.run_id, &i.update_name)),
            i.options.header.as_ref()
        ),
        apply = |i, c| {
            i.options.header = headers_out(c.headers());
            if let Some(a) = new_args(c) {
                i.replace_args(a);
            }
        }
    );

    op!(
        update_with_start_workflow,
        UpdateWithStartWorkflowInput,
        UpdateWithStartWorkflowOutput,
        WorkflowUpdateWithStartError,
        UpdateWithStartWorkflow,
        WorkflowUpdateWithStartError::Rpc,
        build = |i| with_headers(
            CallDetail::UpdateWithStartWorkflow(WorkflowStartWithMessage {
                start: start_detail(
                    &i.options.workflow_id,
                    &i.workflow_type,
                    &i.options.task_queue
                ),
                name: i.update_name.clone(),
            }),
            i.options.start_header.as_ref()
        ),
        apply = |i, c| {
            if let CallDetail::UpdateWithStartWorkflow(d) = c.detail() {
                i.options.workflow_id = d.start.workflow_id.clone();
                i.options.task_queue = d.start.task_queue.clone();
            }
            i.options.start_header = headers_out(c.headers());
            i.options.update_header = headers_out(c.headers());
        }
    );

    op!(
        poll_workflow_update,
        PollWorkflowUpdateInput,
        PollWorkflowUpdateOutput,
        WorkflowUpdateError,
        PollWorkflowUpdate,
        WorkflowUpdateError::Rpc,
        build = |i| headerless(CallDetail::PollWorkflowUpdate(UpdateTarget {
            target: target(&i.workflow_id, &i.run_id),
            update_id: i.update_id.clone()
        })),
        apply = |_i, _c| ()
    );

    op!(
        cancel_workflow,
        CancelWorkflowInput,
        (),
        WorkflowInteractionError,
        CancelWorkflow,
        WorkflowInteractionError::Rpc,
        build = |i| headerless(CallDetail::CancelWorkflow(target(
            &i.workflow_id,
            &i.run_id
        ))),
        apply = |_i, _c| ()
    );

    op!(
        terminate_workflow,
        TerminateWorkflowInput,
        (),
        WorkflowInteractionError,
        TerminateWorkflow,
        WorkflowInteractionError::Rpc,
        build = |i| headerless(CallDetail::TerminateWorkflow(target(
            &i.workflow_id,
            &i.run_id
        ))),
        apply = |_i, _c| ()
    );

    op!(
        create_schedule,
        CreateScheduleInput,
        CreateScheduleOutput,
        ScheduleError,
        CreateSchedule,
        ScheduleError::Rpc,
        build = |i| headerless(CallDetail::CreateSchedule(ScheduleTarget {
            schedule_id: i.schedule_id.clone()
        })),
        apply = |_i, _c| ()
    );

    op!(
        list_schedules_page,
        ListSchedulesPageInput,
        ListSchedulesPageOutput,
        ScheduleError,
        ListSchedules,
        ScheduleError::Rpc,
        build = |i| headerless(CallDetail::ListSchedules(VisibilityQuery {
            query: i.query.clone()
        })),
        apply = |i, c| if let CallDetail::ListSchedules(q) = c.detail() {
            i.query = q.query.clone();
        }
    );

    op!(
        describe_schedule,
        DescribeScheduleInput,
        DescribeScheduleOutput,
        ScheduleError,
        DescribeSchedule,
        ScheduleError::Rpc,
        build = |i| headerless(CallDetail::DescribeSchedule(ScheduleTarget {
            schedule_id: i.schedule_id.clone()
        })),
        apply = |_i, _c| ()
    );

    op!(
        update_schedule,
        UpdateScheduleInput,
        (),
        ScheduleError,
        UpdateSchedule,
        ScheduleError::Rpc,
        build = |i| headerless(CallDetail::UpdateSchedule(ScheduleTarget {
            schedule_id: i.schedule_id.clone()
        })),
        apply = |_i, _c| ()
    );

    op!(
        send_schedule_update,
        SendScheduleUpdateInput,
        (),
        ScheduleError,
        SendScheduleUpdate,
        ScheduleError::Rpc,
        build = |i| headerless(CallDetail::SendScheduleUpdate(ScheduleTarget {
            schedule_id: i.schedule_id.clone()
        })),
        apply = |_i, _c| ()
    );

    op!(
        delete_schedule,
        DeleteScheduleInput,
        (),
        ScheduleError,
        DeleteSchedule,
        ScheduleError::Rpc,
        build = |i| headerless(CallDetail::DeleteSchedule(ScheduleTarget {
            schedule_id: i.schedule_id.clone()
        })),
        apply = |_i, _c| ()
    );

    op!(
        pause_schedule,
        PauseScheduleInput,
        (),
        ScheduleError,
        PauseSchedule,
        ScheduleError::Rpc,
        build = |i| headerless(CallDetail::PauseSchedule(ScheduleTarget {
            schedule_id: i.schedule_id.clone()
        })),
        apply = |_i, _c| ()
    );

    op!(
        unpause_schedule,
        UnpauseScheduleInput,
        (),
        ScheduleError,
        UnpauseSchedule,
        ScheduleError::Rpc,
        build = |i| headerless(CallDetail::UnpauseSchedule(ScheduleTarget {
            schedule_id: i.schedule_id.clone()
        })),
        apply = |_i, _c| ()
    );

    op!(
        trigger_schedule,
        TriggerScheduleInput,
        (),
        ScheduleError,
        TriggerSchedule,
        ScheduleError::Rpc,
        build = |i| headerless(CallDetail::TriggerSchedule(ScheduleTarget {
            schedule_id: i.schedule_id.clone()
        })),
        apply = |_i, _c| ()
    );

    op!(
        backfill_schedule,
        BackfillScheduleInput,
        (),
        ScheduleError,
        BackfillSchedule,
        ScheduleError::Rpc,
        build = |i| headerless(CallDetail::BackfillSchedule(ScheduleTarget {
            schedule_id: i.schedule_id.clone()
        })),
        apply = |_i, _c| ()
    );

    op!(
        complete_async_activity,
        CompleteAsyncActivityInput,
        (),
        AsyncActivityError,
        CompleteAsyncActivity,
        AsyncActivityError::Rpc,
        build = |i| headerless(CallDetail::CompleteAsyncActivity(async_activity(
            &i.identifier
        ))),
        apply = |_i, _c| ()
    );

    op!(
        fail_async_activity,
        FailAsyncActivityInput,
        (),
        AsyncActivityError,
        FailAsyncActivity,
        AsyncActivityError::Rpc,
        build = |i| headerless(CallDetail::FailAsyncActivity(async_activity(&i.identifier))),
        apply = |_i, _c| ()
    );

    op!(
        report_async_activity_cancellation,
        ReportAsyncActivityCancellationInput,
        (),
        AsyncActivityError,
        ReportAsyncActivityCancellation,
        AsyncActivityError::Rpc,
        build = |i| headerless(CallDetail::ReportAsyncActivityCancellation(async_activity(
            &i.identifier
        ))),
        apply = |_i, _c| ()
    );

    op!(
        heartbeat_async_activity,
        HeartbeatAsyncActivityInput,
        temporalio_client::ActivityHeartbeatResponse,
        AsyncActivityError,
        HeartbeatAsyncActivity,
        AsyncActivityError::Rpc,
        build = |i| headerless(CallDetail::HeartbeatAsyncActivity(async_activity(
            &i.identifier
        ))),
        apply = |_i, _c| ()
    );
}
