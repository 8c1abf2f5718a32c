//! The hook catalogue and every per-hook property: category, read-only, editable detail,
//! payload result, whether a guest may answer the call, and the detail case of each hook.

use std::fmt;

use super::{
    ActivitySchedule, AsyncActivity, CallDetail, ChildStart, ContinueAsNewOptions, Handler, Hook,
    OutboundCancel, OutboundSignal, ScheduleTarget, UpdateTarget, VisibilityQuery, WorkflowMessage,
    WorkflowStart, WorkflowStartWithMessage, WorkflowTarget,
};

/// The four categories a guest can export, one WIT interface each.
///
/// The fifth category of other SDKs, activity outbound, has no interceptor in the Temporal
/// Rust SDK; guests reach activity `info` and `heartbeat` through host imports instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Category {
    /// Outbound client calls (`interpose:interceptor/client`).
    Client,
    /// Inbound workflow calls (`interpose:interceptor/workflow-inbound`).
    WorkflowInbound,
    /// Outbound workflow calls (`interpose:interceptor/workflow-outbound`).
    WorkflowOutbound,
    /// Inbound activity calls (`interpose:interceptor/activity-inbound`).
    ActivityInbound,
}

impl Category {
    /// All categories, in the order the host asks guests about them.
    pub const ALL: [Category; 4] = [
        Category::Client,
        Category::WorkflowInbound,
        Category::WorkflowOutbound,
        Category::ActivityInbound,
    ];

    /// The WIT interface name (without package and version).
    pub fn interface(self) -> &'static str {
        match self {
            Category::Client => "client",
            Category::WorkflowInbound => "workflow-inbound",
            Category::WorkflowOutbound => "workflow-outbound",
            Category::ActivityInbound => "activity-inbound",
        }
    }

    /// Index of the category in [`Category::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Interest-mask bits of every hook of this category.
    pub(crate) fn hook_mask(self) -> u64 {
        Hook::ALL
            .iter()
            .filter(|h| h.category() == self)
            .fold(0, |m, h| m | h.bit())
    }

    /// Whether hooks of this category are replayed with the workflow.
    pub fn is_replayed(self) -> bool {
        matches!(self, Category::WorkflowInbound | Category::WorkflowOutbound)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.interface())
    }
}

/// The phase of a hook a guest runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Declaring interests when the guest is loaded.
    Load,
    /// Before the call.
    Before,
    /// After the call.
    After,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Load => "load",
            Phase::Before => "before",
            Phase::After => "after",
        })
    }
}

macro_rules! hooks {
    ($($variant:ident => $name:literal, $cat:ident;)*) => {
        impl Hook {
            /// Every hook, in WIT order.
            pub const ALL: &'static [Hook] = &[$(Hook::$variant),*];

            /// The WIT name of the hook (kebab-case).
            pub fn name(self) -> &'static str {
                match self { $(Hook::$variant => $name),* }
            }

            /// The category the hook belongs to.
            pub fn category(self) -> Category {
                match self { $(Hook::$variant => Category::$cat),* }
            }

            /// A tracing span named after the hook, for one guest and phase.
            pub(crate) fn span(self, guest: &str, phase: Phase) -> tracing::Span {
                match self { $(Hook::$variant => tracing::debug_span!($name, guest, %phase)),* }
            }

            /// The hook with this WIT name.
            pub fn from_name(name: &str) -> Option<Hook> {
                match name { $($name => Some(Hook::$variant),)* _ => None }
            }
        }
    };
}

hooks! {
    StartWorkflow => "start-workflow", Client;
    SignalWithStartWorkflow => "signal-with-start-workflow", Client;
    SignalWorkflow => "signal-workflow", Client;
    QueryWorkflow => "query-workflow", Client;
    StartWorkflowUpdate => "start-workflow-update", Client;
    UpdateWithStartWorkflow => "update-with-start-workflow", Client;
    PollWorkflowUpdate => "poll-workflow-update", Client;
    CancelWorkflow => "cancel-workflow", Client;
    TerminateWorkflow => "terminate-workflow", Client;
    DescribeWorkflow => "describe-workflow", Client;
    ListWorkflows => "list-workflows", Client;
    CountWorkflows => "count-workflows", Client;
    FetchWorkflowHistory => "fetch-workflow-history", Client;
    CreateSchedule => "create-schedule", Client;
    ListSchedules => "list-schedules", Client;
    DescribeSchedule => "describe-schedule", Client;
    UpdateSchedule => "update-schedule", Client;
    SendScheduleUpdate => "send-schedule-update", Client;
    DeleteSchedule => "delete-schedule", Client;
    PauseSchedule => "pause-schedule", Client;
    UnpauseSchedule => "unpause-schedule", Client;
    TriggerSchedule => "trigger-schedule", Client;
    BackfillSchedule => "backfill-schedule", Client;
    CompleteAsyncActivity => "complete-async-activity", Client;
    FailAsyncActivity => "fail-async-activity", Client;
    ReportAsyncActivityCancellation => "report-async-activity-cancellation", Client;
    HeartbeatAsyncActivity => "heartbeat-async-activity", Client;
    InitializeWorkflow => "initialize-workflow", WorkflowInbound;
    ExecuteWorkflow => "execute-workflow", WorkflowInbound;
    HandleSignal => "handle-signal", WorkflowInbound;
    HandleQuery => "handle-query", WorkflowInbound;
    ValidateUpdate => "validate-update", WorkflowInbound;
    HandleUpdate => "handle-update", WorkflowInbound;
    ScheduleActivity => "schedule-activity", WorkflowOutbound;
    ScheduleLocalActivity => "schedule-local-activity", WorkflowOutbound;
    StartChildWorkflow => "start-child-workflow", WorkflowOutbound;
    SignalExternalWorkflow => "signal-external-workflow", WorkflowOutbound;
    CancelExternalWorkflow => "cancel-external-workflow", WorkflowOutbound;
    ContinueAsNew => "continue-as-new", WorkflowOutbound;
    StartTimer => "start-timer", WorkflowOutbound;
    ExecuteActivity => "execute-activity", ActivityInbound;
}

impl Hook {
    /// Bit of this hook in an interest mask.
    pub(crate) fn bit(self) -> u64 {
        1u64 << (self as u8)
    }

    /// Read-only hooks (queries, update validators) must not change anything.
    pub fn is_read_only(self) -> bool {
        matches!(self, Hook::HandleQuery | Hook::ValidateUpdate)
    }

    /// Whether guests may edit this hook's detail (`call.set-detail`): the hooks whose
    /// adapters apply editable fields (ids, task queues, queries, timer durations). Type
    /// and handler names are never editable.
    pub fn detail_editable(self) -> bool {
        matches!(
            self,
            Hook::StartWorkflow
                | Hook::SignalWithStartWorkflow
                | Hook::UpdateWithStartWorkflow
                | Hook::ListWorkflows
                | Hook::CountWorkflows
                | Hook::ListSchedules
                | Hook::ScheduleActivity
                | Hook::ScheduleLocalActivity
                | Hook::StartChildWorkflow
                | Hook::ContinueAsNew
                | Hook::StartTimer
        )
    }

    /// Whether the call's result is a list of payloads, so that a guest may answer it
    /// (`respond`) or replace it (`replace`).
    pub fn result_is_payloads(self) -> bool {
        matches!(
            self,
            Hook::QueryWorkflow
                | Hook::ExecuteWorkflow
                | Hook::HandleQuery
                | Hook::HandleUpdate
                | Hook::ExecuteActivity
                | Hook::ScheduleActivity
                | Hook::ScheduleLocalActivity
                | Hook::StartChildWorkflow
        )
    }

    /// Whether a guest may answer this call in `before` without running it. Workflow
    /// outbound calls produce commands and cannot be answered by a guest (that would change
    /// the command sequence between versions of a guest). A client query cannot be answered
    /// either: the Temporal client's query output can only be edited, not created.
    pub fn allows_respond(self) -> bool {
        self.result_is_payloads()
            && self.category() != Category::WorkflowOutbound
            && self != Hook::QueryWorkflow
    }

    /// The detail case that belongs to this hook, with empty fields. Used as a placeholder
    /// and in tests.
    pub fn empty_detail(self) -> CallDetail {
        empty_detail(self)
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl CallDetail {
    /// The hook this detail belongs to.
    pub fn hook(&self) -> Hook {
        use CallDetail as D;
        match self {
            D::StartWorkflow(_) => Hook::StartWorkflow,
            D::SignalWithStartWorkflow(_) => Hook::SignalWithStartWorkflow,
            D::SignalWorkflow(_) => Hook::SignalWorkflow,
            D::QueryWorkflow(_) => Hook::QueryWorkflow,
            D::StartWorkflowUpdate(_) => Hook::StartWorkflowUpdate,
            D::UpdateWithStartWorkflow(_) => Hook::UpdateWithStartWorkflow,
            D::PollWorkflowUpdate(_) => Hook::PollWorkflowUpdate,
            D::CancelWorkflow(_) => Hook::CancelWorkflow,
            D::TerminateWorkflow(_) => Hook::TerminateWorkflow,
            D::DescribeWorkflow(_) => Hook::DescribeWorkflow,
            D::ListWorkflows(_) => Hook::ListWorkflows,
            D::CountWorkflows(_) => Hook::CountWorkflows,
            D::FetchWorkflowHistory(_) => Hook::FetchWorkflowHistory,
            D::CreateSchedule(_) => Hook::CreateSchedule,
            D::ListSchedules(_) => Hook::ListSchedules,
            D::DescribeSchedule(_) => Hook::DescribeSchedule,
            D::UpdateSchedule(_) => Hook::UpdateSchedule,
            D::SendScheduleUpdate(_) => Hook::SendScheduleUpdate,
            D::DeleteSchedule(_) => Hook::DeleteSchedule,
            D::PauseSchedule(_) => Hook::PauseSchedule,
            D::UnpauseSchedule(_) => Hook::UnpauseSchedule,
            D::TriggerSchedule(_) => Hook::TriggerSchedule,
            D::BackfillSchedule(_) => Hook::BackfillSchedule,
            D::CompleteAsyncActivity(_) => Hook::CompleteAsyncActivity,
            D::FailAsyncActivity(_) => Hook::FailAsyncActivity,
            D::ReportAsyncActivityCancellation(_) => Hook::ReportAsyncActivityCancellation,
            D::HeartbeatAsyncActivity(_) => Hook::HeartbeatAsyncActivity,
            D::InitializeWorkflow => Hook::InitializeWorkflow,
            D::ExecuteWorkflow => Hook::ExecuteWorkflow,
            D::HandleSignal(_) => Hook::HandleSignal,
            D::HandleQuery(_) => Hook::HandleQuery,
            D::ValidateUpdate(_) => Hook::ValidateUpdate,
            D::HandleUpdate(_) => Hook::HandleUpdate,
            D::ScheduleActivity(_) => Hook::ScheduleActivity,
            D::ScheduleLocalActivity(_) => Hook::ScheduleLocalActivity,
            D::StartChildWorkflow(_) => Hook::StartChildWorkflow,
            D::SignalExternalWorkflow(_) => Hook::SignalExternalWorkflow,
            D::CancelExternalWorkflow(_) => Hook::CancelExternalWorkflow,
            D::ContinueAsNew(_) => Hook::ContinueAsNew,
            D::StartTimer(_) => Hook::StartTimer,
            D::ExecuteActivity => Hook::ExecuteActivity,
        }
    }
}

fn empty_detail(hook: Hook) -> CallDetail {
    use CallDetail as D;
    let start = || WorkflowStart {
        workflow_id: String::new(),
        workflow_type: String::new(),
        task_queue: String::new(),
    };
    let target = || WorkflowTarget {
        workflow_id: String::new(),
        run_id: String::new(),
    };
    let message = || WorkflowMessage {
        target: target(),
        name: String::new(),
    };
    let with_message = || WorkflowStartWithMessage {
        start: start(),
        name: String::new(),
    };
    let query = || VisibilityQuery {
        query: String::new(),
    };
    let schedule = || ScheduleTarget {
        schedule_id: String::new(),
    };
    let activity = || AsyncActivity::TaskToken(Vec::new());
    let handler = || Handler {
        name: String::new(),
        update_id: String::new(),
    };
    let sched = || ActivitySchedule {
        activity_type: String::new(),
        activity_id: String::new(),
        task_queue: String::new(),
    };
    match hook {
        Hook::StartWorkflow => D::StartWorkflow(start()),
        Hook::SignalWithStartWorkflow => D::SignalWithStartWorkflow(with_message()),
        Hook::SignalWorkflow => D::SignalWorkflow(message()),
        Hook::QueryWorkflow => D::QueryWorkflow(message()),
        Hook::StartWorkflowUpdate => D::StartWorkflowUpdate(message()),
        Hook::UpdateWithStartWorkflow => D::UpdateWithStartWorkflow(with_message()),
        Hook::PollWorkflowUpdate => D::PollWorkflowUpdate(UpdateTarget {
            target: target(),
            update_id: String::new(),
        }),
        Hook::CancelWorkflow => D::CancelWorkflow(target()),
        Hook::TerminateWorkflow => D::TerminateWorkflow(target()),
        Hook::DescribeWorkflow => D::DescribeWorkflow(target()),
        Hook::ListWorkflows => D::ListWorkflows(query()),
        Hook::CountWorkflows => D::CountWorkflows(query()),
        Hook::FetchWorkflowHistory => D::FetchWorkflowHistory(target()),
        Hook::CreateSchedule => D::CreateSchedule(schedule()),
        Hook::ListSchedules => D::ListSchedules(query()),
        Hook::DescribeSchedule => D::DescribeSchedule(schedule()),
        Hook::UpdateSchedule => D::UpdateSchedule(schedule()),
        Hook::SendScheduleUpdate => D::SendScheduleUpdate(schedule()),
        Hook::DeleteSchedule => D::DeleteSchedule(schedule()),
        Hook::PauseSchedule => D::PauseSchedule(schedule()),
        Hook::UnpauseSchedule => D::UnpauseSchedule(schedule()),
        Hook::TriggerSchedule => D::TriggerSchedule(schedule()),
        Hook::BackfillSchedule => D::BackfillSchedule(schedule()),
        Hook::CompleteAsyncActivity => D::CompleteAsyncActivity(activity()),
        Hook::FailAsyncActivity => D::FailAsyncActivity(activity()),
        Hook::ReportAsyncActivityCancellation => D::ReportAsyncActivityCancellation(activity()),
        Hook::HeartbeatAsyncActivity => D::HeartbeatAsyncActivity(activity()),
        Hook::InitializeWorkflow => D::InitializeWorkflow,
        Hook::ExecuteWorkflow => D::ExecuteWorkflow,
        Hook::HandleSignal => D::HandleSignal(handler()),
        Hook::HandleQuery => D::HandleQuery(handler()),
        Hook::ValidateUpdate => D::ValidateUpdate(handler()),
        Hook::HandleUpdate => D::HandleUpdate(handler()),
        Hook::ScheduleActivity => D::ScheduleActivity(sched()),
        Hook::ScheduleLocalActivity => D::ScheduleLocalActivity(sched()),
        Hook::StartChildWorkflow => D::StartChildWorkflow(ChildStart {
            workflow_type: String::new(),
            workflow_id: String::new(),
            task_queue: String::new(),
        }),
        Hook::SignalExternalWorkflow => D::SignalExternalWorkflow(OutboundSignal {
            name: String::new(),
            target: target(),
            child: false,
        }),
        Hook::CancelExternalWorkflow => D::CancelExternalWorkflow(OutboundCancel {
            target: target(),
            reason: String::new(),
        }),
        Hook::ContinueAsNew => D::ContinueAsNew(ContinueAsNewOptions {
            workflow_type: String::new(),
            task_queue: String::new(),
        }),
        Hook::StartTimer => D::StartTimer(0),
        Hook::ExecuteActivity => D::ExecuteActivity,
    }
}
