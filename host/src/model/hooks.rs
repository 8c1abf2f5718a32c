//! The hook catalogue and every per-hook property: category, read-only, editable detail,
//! payload result, whether a guest may answer the call, and the detail case of each hook.

use std::fmt;

use super::{
    ActivitySchedule, ActivityStart, ActivityTarget, AsyncActivity, BuildIdQuery, CallDetail,
    ChildStart, ContinueAsNewOptions, Handler, Hook, NexusOperationStart, NexusOperationTarget,
    NexusStart, OutboundCancel, OutboundSignal, ScheduleTarget, UpdateTarget, VisibilityQuery,
    WorkflowMessage, WorkflowStart, WorkflowStartWithMessage, WorkflowTarget,
};

/// The five categories a guest can export, one WIT interface each: the seed's client,
/// workflow inbound and outbound, activity inbound and outbound. Activity outbound
/// (heartbeats) has no interceptor in the Temporal Rust SDK (`temporalio-sdk` 1.1.1,
/// `src/interceptors.rs`, defines `ActivityInboundInterceptor` and no outbound one): Rust
/// workers never call it; the `interpose` Python package does.
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
    /// Outbound activity calls (`interpose:interceptor/activity-outbound`).
    ActivityOutbound,
}

impl Category {
    /// All categories, in the order the host asks guests about them.
    pub const ALL: [Category; 5] = [
        Category::Client,
        Category::WorkflowInbound,
        Category::WorkflowOutbound,
        Category::ActivityInbound,
        Category::ActivityOutbound,
    ];

    /// The WIT interface name (without package and version).
    pub fn interface(self) -> &'static str {
        match self {
            Category::Client => "client",
            Category::WorkflowInbound => "workflow-inbound",
            Category::WorkflowOutbound => "workflow-outbound",
            Category::ActivityInbound => "activity-inbound",
            Category::ActivityOutbound => "activity-outbound",
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Phase {
    /// Declaring interests when the guest is loaded.
    Load,
    /// Before the call.
    Before,
    /// After the call.
    After,
}

impl Phase {
    /// `load`, `before` or `after`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Load => "load",
            Phase::Before => "before",
            Phase::After => "after",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// `Hook::ALL`, `name`, `from_name`, `category`, `span` and `CallDetail::hook`, generated from
// `wit/types.wit` by `host/build.rs` (interpose-catalogue).
include!(concat!(env!("OUT_DIR"), "/hooks.rs"));

// Interest masks are `u64`, one bit per hook.
const _: () = assert!(
    Hook::ALL.len() <= 64,
    "more than 64 hooks: widen the interest masks"
);

impl Hook {
    /// Bit of this hook in an interest mask.
    pub(crate) fn bit(self) -> u64 {
        1u64 << (self as u8)
    }

    /// Every per-hook property, from the one table of them ([`Properties`]).
    pub const fn properties(self) -> Properties {
        properties(self)
    }

    /// Read-only hooks (queries, update validators) must not change anything.
    pub fn is_read_only(self) -> bool {
        self.properties().read_only
    }

    /// Whether guests may edit this hook's detail (`call.set-detail`): the hooks whose
    /// adapters apply editable fields (ids, task queues, queries, timer durations). Type
    /// and handler names are never editable.
    pub fn detail_editable(self) -> bool {
        self.properties().detail_editable
    }

    /// Whether the call's result is a list of payloads, so that a guest may answer it
    /// (`respond`) or replace it (`replace`).
    pub fn result_is_payloads(self) -> bool {
        self.properties().payload_result
    }

    /// Whether a guest may answer this call in `before` without running it. Workflow
    /// outbound calls produce commands and cannot be answered by a guest (that would change
    /// the command sequence between versions of a guest). A client query cannot be answered
    /// either: the Temporal client's query output can only be edited, not created.
    pub fn allows_respond(self) -> bool {
        self.properties().respond
    }

    /// Whether the Temporal operation carries headers a guest can read and set.
    pub fn carries_headers(self) -> bool {
        self.properties().headers
    }

    /// The cargo feature of Interpose this hook needs, when this build lacks it: such a
    /// hook is never called (the Temporal SDK API it wraps is not compiled in), and a guest
    /// that declares it loads with a warning naming the feature.
    pub fn missing_feature(self) -> Option<&'static str> {
        match self {
            Hook::StartNexusOperation if !cfg!(feature = "nexus") => Some("nexus"),
            _ => None,
        }
    }

    /// Whether the operation's headers are strings (Nexus): see [`Properties::string_headers`].
    pub fn has_string_headers(self) -> bool {
        self.properties().string_headers
    }

    /// The detail case that belongs to this hook, with empty fields. Used as a placeholder
    /// and in tests.
    pub fn empty_detail(self) -> CallDetail {
        empty_detail(self)
    }
}

/// What the host lets a guest do in a hook, and what the hook carries. One row per hook in
/// [`Hook::properties`]; the catalogue itself (names, order, categories) comes from the WIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Properties {
    /// Nothing may change: no edit, no reject that alters state (queries, validators).
    pub read_only: bool,
    /// `call.set-detail` is allowed (the adapter applies the editable fields).
    pub detail_editable: bool,
    /// The result is a list of payloads a guest may see and `replace`.
    pub payload_result: bool,
    /// A guest may `respond` in `before` instead of the call running.
    pub respond: bool,
    /// The operation carries Temporal headers.
    pub headers: bool,
    /// Most arguments the operation takes (`set-args` refuses more): one for a Nexus
    /// operation's input, unbounded elsewhere.
    pub max_args: usize,
    /// Most bytes the arguments may total, as [`encoded_bytes`] counts them (`set-args`
    /// refuses more): a heartbeat's details
    /// are capped as `activity-context.heartbeat`'s are (Temporal fails an activity whose
    /// heartbeat is too large); unbounded elsewhere (the output limit still counts them).
    pub max_arg_bytes: usize,
    /// The operation's headers are strings (Nexus), not payloads: a header a guest sets
    /// must be a payload [`Payload::header_string`] accepts.
    ///
    /// [`Payload::header_string`]: super::Payload::header_string
    pub string_headers: bool,
}

/// Most bytes of heartbeat details (Temporal fails an activity whose heartbeat is too large):
/// the cap of `activity-context.heartbeat` and of `activity-heartbeat`'s arguments.
pub const MAX_HEARTBEAT_BYTES: usize = 256 * 1024;

/// What payloads count against a byte cap ([`MAX_HEARTBEAT_BYTES`],
/// [`Properties::max_arg_bytes`]): their data and metadata bytes.
pub fn encoded_bytes(details: &[super::Payload]) -> usize {
    details
        .iter()
        .fold(0usize, |n, p| n.saturating_add(p.size()))
}

/// A hook that carries headers and allows nothing else: the base of every row.
const BASE: Properties = Properties {
    read_only: false,
    detail_editable: false,
    payload_result: false,
    respond: false,
    headers: true,
    max_args: usize::MAX,
    max_arg_bytes: usize::MAX,
    string_headers: false,
};

/// The one table of per-hook properties. A hook added to the WIT does not compile until
/// its row is here (and its case in [`empty_detail`]).
const fn properties(hook: Hook) -> Properties {
    const EDIT: Properties = Properties {
        detail_editable: true,
        ..BASE
    };
    const NO_HEADERS: Properties = Properties {
        headers: false,
        ..BASE
    };
    const ANSWERABLE: Properties = Properties {
        payload_result: true,
        respond: true,
        ..BASE
    };
    match hook {
        // client
        Hook::StartWorkflow | Hook::SignalWithStartWorkflow | Hook::UpdateWithStartWorkflow => EDIT,
        Hook::SignalWorkflow | Hook::StartWorkflowUpdate => BASE,
        Hook::QueryWorkflow => Properties {
            payload_result: true,
            ..BASE
        },
        Hook::ListWorkflows
        | Hook::CountWorkflows
        | Hook::ListSchedules
        | Hook::ListActivities
        | Hook::CountActivities
        | Hook::ListNexusOperations
        | Hook::CountNexusOperations => Properties {
            detail_editable: true,
            ..NO_HEADERS
        },
        // A standalone activity's start carries headers like a workflow's; its id and task
        // queue are editable, its type is not.
        Hook::StartActivity => EDIT,
        // A standalone Nexus operation's headers are strings, as a workflow's Nexus
        // operation's are; its id is editable. (Its input is not an argument guests see:
        // the client hands interceptors decoded values, so `set-args` is refused.)
        Hook::StartStandaloneNexusOperation => Properties {
            string_headers: true,
            detail_editable: true,
            ..BASE
        },
        Hook::PollWorkflowUpdate
        | Hook::CancelWorkflow
        | Hook::TerminateWorkflow
        | Hook::DescribeWorkflow
        | Hook::FetchWorkflowHistory
        | Hook::CreateSchedule
        | Hook::DescribeSchedule
        | Hook::UpdateSchedule
        | Hook::SendScheduleUpdate
        | Hook::DeleteSchedule
        | Hook::PauseSchedule
        | Hook::UnpauseSchedule
        | Hook::TriggerSchedule
        | Hook::BackfillSchedule
        | Hook::CompleteAsyncActivity
        | Hook::FailAsyncActivity
        | Hook::ReportAsyncActivityCancellation
        | Hook::HeartbeatAsyncActivity
        | Hook::CancelActivity
        | Hook::TerminateActivity
        | Hook::PauseActivity
        | Hook::UnpauseActivity
        | Hook::UpdateActivityOptions
        | Hook::DescribeActivity
        | Hook::DescribeNexusOperation
        | Hook::GetNexusOperationResult
        | Hook::CancelNexusOperation
        | Hook::TerminateNexusOperation
        | Hook::UpdateWorkerBuildIdCompatibility
        | Hook::GetWorkerBuildIdCompatibility
        | Hook::GetWorkerTaskReachability => NO_HEADERS,
        // workflow inbound
        Hook::InitializeWorkflow | Hook::HandleSignal => BASE,
        Hook::ExecuteWorkflow | Hook::HandleUpdate => ANSWERABLE,
        Hook::HandleQuery => Properties {
            read_only: true,
            ..ANSWERABLE
        },
        Hook::ValidateUpdate => Properties {
            read_only: true,
            ..BASE
        },
        // workflow outbound: commands, never answered by a guest
        Hook::ScheduleActivity | Hook::ScheduleLocalActivity | Hook::StartChildWorkflow => {
            Properties {
                payload_result: true,
                ..EDIT
            }
        }
        Hook::SignalExternalWorkflow => BASE,
        Hook::CancelExternalWorkflow => NO_HEADERS,
        // Continue-as-new carries headers into the next run's start (the SDK's
        // `ContinueAsNewInput::headers_mut`). They start empty — the SDK does not copy the
        // current run's headers — so the next run gets what guests set here (the
        // context-propagation example forwards the user it remembered). A timer has none.
        Hook::ContinueAsNew => EDIT,
        Hook::StartTimer => Properties {
            detail_editable: true,
            ..NO_HEADERS
        },
        // Nexus headers are strings (the adapter converts); endpoint, service and operation
        // decide which handler runs, the input is one payload, and the start's result is a
        // handle, not payloads.
        Hook::StartNexusOperation => Properties {
            string_headers: true,
            max_args: 1,
            ..BASE
        },
        // activity inbound
        Hook::ExecuteActivity => ANSWERABLE,
        // activity outbound: a heartbeat's details are its arguments; no headers
        Hook::ActivityHeartbeat => Properties {
            max_arg_bytes: MAX_HEARTBEAT_BYTES,
            ..NO_HEADERS
        },
    }
}

impl CallDetail {
    /// The fields that decide which code runs (type and handler names): never editable,
    /// whatever [`Properties::detail_editable`] says of the rest.
    pub(crate) fn fixed_fields(&self) -> Vec<&str> {
        use CallDetail as D;
        match self {
            D::StartWorkflow(s) => vec![&s.workflow_type],
            D::SignalWithStartWorkflow(s) | D::UpdateWithStartWorkflow(s) => {
                vec![&s.start.workflow_type, &s.name]
            }
            D::SignalWorkflow(m) | D::QueryWorkflow(m) | D::StartWorkflowUpdate(m) => {
                vec![&m.name]
            }
            D::HandleSignal(h) | D::HandleQuery(h) | D::ValidateUpdate(h) | D::HandleUpdate(h) => {
                vec![&h.name, &h.update_id]
            }
            D::ScheduleActivity(a) | D::ScheduleLocalActivity(a) => vec![&a.activity_type],
            D::StartChildWorkflow(c) => vec![&c.workflow_type],
            D::SignalExternalWorkflow(s) => vec![&s.name],
            D::StartNexusOperation(n) => vec![&n.endpoint, &n.service, &n.operation],
            D::StartActivity(a) => vec![&a.activity_type],
            D::StartStandaloneNexusOperation(n) => vec![&n.endpoint, &n.service, &n.operation],
            D::PollWorkflowUpdate(_)
            | D::CancelWorkflow(_)
            | D::TerminateWorkflow(_)
            | D::DescribeWorkflow(_)
            | D::ListWorkflows(_)
            | D::CountWorkflows(_)
            | D::FetchWorkflowHistory(_)
            | D::CreateSchedule(_)
            | D::ListSchedules(_)
            | D::DescribeSchedule(_)
            | D::UpdateSchedule(_)
            | D::SendScheduleUpdate(_)
            | D::DeleteSchedule(_)
            | D::PauseSchedule(_)
            | D::UnpauseSchedule(_)
            | D::TriggerSchedule(_)
            | D::BackfillSchedule(_)
            | D::CompleteAsyncActivity(_)
            | D::FailAsyncActivity(_)
            | D::ReportAsyncActivityCancellation(_)
            | D::HeartbeatAsyncActivity(_)
            | D::CancelActivity(_)
            | D::TerminateActivity(_)
            | D::PauseActivity(_)
            | D::UnpauseActivity(_)
            | D::UpdateActivityOptions(_)
            | D::DescribeActivity(_)
            | D::ListActivities(_)
            | D::CountActivities(_)
            | D::DescribeNexusOperation(_)
            | D::GetNexusOperationResult(_)
            | D::CancelNexusOperation(_)
            | D::TerminateNexusOperation(_)
            | D::ListNexusOperations(_)
            | D::CountNexusOperations(_)
            | D::UpdateWorkerBuildIdCompatibility(_)
            | D::GetWorkerBuildIdCompatibility(_)
            | D::GetWorkerTaskReachability(_)
            | D::InitializeWorkflow
            | D::ExecuteWorkflow
            | D::CancelExternalWorkflow(_)
            | D::ContinueAsNew(_)
            | D::StartTimer(_)
            | D::ExecuteActivity
            | D::ActivityHeartbeat => Vec::new(),
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
    let standalone = || ActivityTarget {
        activity_id: String::new(),
        run_id: String::new(),
    };
    let operation = || NexusOperationTarget {
        operation_id: String::new(),
        run_id: String::new(),
    };
    let build_ids = || BuildIdQuery {
        task_queues: Vec::new(),
        build_ids: Vec::new(),
    };
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
        Hook::StartActivity => D::StartActivity(ActivityStart {
            activity_id: String::new(),
            activity_type: String::new(),
            task_queue: String::new(),
        }),
        Hook::CancelActivity => D::CancelActivity(standalone()),
        Hook::TerminateActivity => D::TerminateActivity(standalone()),
        Hook::PauseActivity => D::PauseActivity(standalone()),
        Hook::UnpauseActivity => D::UnpauseActivity(standalone()),
        Hook::UpdateActivityOptions => D::UpdateActivityOptions(standalone()),
        Hook::DescribeActivity => D::DescribeActivity(standalone()),
        Hook::ListActivities => D::ListActivities(query()),
        Hook::CountActivities => D::CountActivities(query()),
        Hook::StartStandaloneNexusOperation => {
            D::StartStandaloneNexusOperation(NexusOperationStart {
                operation_id: String::new(),
                endpoint: String::new(),
                service: String::new(),
                operation: String::new(),
            })
        }
        Hook::DescribeNexusOperation => D::DescribeNexusOperation(operation()),
        Hook::GetNexusOperationResult => D::GetNexusOperationResult(operation()),
        Hook::CancelNexusOperation => D::CancelNexusOperation(operation()),
        Hook::TerminateNexusOperation => D::TerminateNexusOperation(operation()),
        Hook::ListNexusOperations => D::ListNexusOperations(query()),
        Hook::CountNexusOperations => D::CountNexusOperations(query()),
        Hook::UpdateWorkerBuildIdCompatibility => D::UpdateWorkerBuildIdCompatibility(build_ids()),
        Hook::GetWorkerBuildIdCompatibility => D::GetWorkerBuildIdCompatibility(build_ids()),
        Hook::GetWorkerTaskReachability => D::GetWorkerTaskReachability(build_ids()),
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
        Hook::StartNexusOperation => D::StartNexusOperation(NexusStart {
            endpoint: String::new(),
            service: String::new(),
            operation: String::new(),
            schedule_to_close_timeout: 0,
        }),
        Hook::ExecuteActivity => D::ExecuteActivity,
        Hook::ActivityHeartbeat => D::ActivityHeartbeat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules the table must keep, whatever rows are added: a guest answers only calls
    /// whose result is payloads and that produce no command; a read-only hook edits nothing.
    #[test]
    fn the_property_table_keeps_its_invariants() {
        for &hook in Hook::ALL {
            let p = hook.properties();
            if p.respond {
                assert!(p.payload_result, "{hook}: respond without a payload result");
                assert_ne!(
                    hook.category(),
                    Category::WorkflowOutbound,
                    "{hook}: answers a command"
                );
            }
            if p.read_only {
                assert!(!p.detail_editable, "{hook}: read-only but editable");
                assert!(
                    hook.category().is_replayed(),
                    "{hook}: read-only outside workflows"
                );
            }
            assert_eq!(empty_detail(hook).hook(), hook, "{hook}: detail case");
        }
    }

    /// Run alone (`cargo xtask test` tests the library without features too), this sees the
    /// build without `nexus`.
    #[test]
    fn only_the_nexus_hook_needs_a_feature_and_only_without_it() {
        let nexus = Hook::StartNexusOperation.missing_feature();
        assert_eq!(nexus, (!cfg!(feature = "nexus")).then_some("nexus"));
        for &hook in Hook::ALL {
            if hook != Hook::StartNexusOperation {
                assert_eq!(hook.missing_feature(), None, "{hook}");
            }
        }
    }
}
