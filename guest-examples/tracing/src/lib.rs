//! The seed's `TracingInterceptor` as a guest: OpenTelemetry spans around every Temporal call
//! it sees, with the span names the Temporal SDKs use, continued across processes and SDKs
//! in the `_tracer-data` header (a JSON W3C trace-context carrier, what the Python, Go,
//! TypeScript, .NET and Rust SDKs' tracing interceptors read and write).
//!
//! - client: `StartWorkflow:<type>`, `SignalWithStartWorkflow:<type>`,
//!   `SignalWorkflow:<signal>`, `QueryWorkflow:<query>`, `StartWorkflowUpdate:<update>`,
//!   `UpdateWithStartWorkflow:<type>` (kind client), each injected into the call's headers;
//! - workflow inbound: `RunWorkflow:<type>` (server; a child of the header's span, open from
//!   `before` to `after` of `execute-workflow`, in workflow time), `HandleSignal:`,
//!   `HandleQuery:`, `ValidateUpdate:`, `HandleUpdate:` (server, children of the message's
//!   header when it has one, else of the run's span);
//! - workflow outbound: `StartActivity:<type>` (also local activities),
//!   `StartChildWorkflow:<type>`, `SignalChildWorkflow:<signal>` /
//!   `SignalExternalWorkflow:<signal>` (client, children of the run's span), injected into
//!   the command's headers; `StartNexusOperation:<service>/<operation>` (client), its
//!   context in the operation's `traceparent` Nexus header; continue-as-new carries the run's span to the next run (whose
//!   `RunWorkflow` is its child), and the run's span ends well when the run continues as new;
//! - activity inbound: `RunActivity:<type>` (server, a child of the header's span, from
//!   `before` to `after`).
//!
//! Failed calls set the span's status to error with the failure's message. Attributes:
//! `temporalWorkflowID`, `temporalRunID`, `temporalActivityID` where they apply.

use interpose_guest::tracing::{Span, SpanKind, Status, TRACEPARENT};
use interpose_guest::{
    After, Before, Call, CallDetail, Interceptor, Outcome, Payload, interceptor,
};

use interpose_guest::tracing::HEADER;

#[derive(Default)]
struct Tracing {
    /// The run's `RunWorkflow` span (workflow instances live for a run), or the activity
    /// attempt's `RunActivity` span (between `before` and `after`).
    run: Option<Span>,
    /// The span of the call in progress, ended in `after`.
    call: Option<Span>,
}

fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn workflow_attrs() -> Vec<(String, String)> {
    let info = interpose_guest::workflow::info();
    attrs(&[
        ("temporalWorkflowID", &info.workflow_id),
        ("temporalRunID", &info.run_id),
    ])
}

/// End `span` with the call's outcome as its status.
fn finish(span: Span, outcome: &Outcome) {
    match outcome.failure() {
        Some(f) => span.set_status(Status::Error, &f.message),
        None => span.set_status(Status::Ok, ""),
    }
    span.end();
}

impl Tracing {
    /// A client-kind span for an outbound call, injected into its headers and ended in
    /// `after`. `parent` is the header's context, if any, else the run's span.
    fn outbound(&mut self, call: &Call, name: String, attributes: Vec<(String, String)>) -> Before {
        let span = Span::new(
            &name,
            SpanKind::Client,
            &attributes,
            call.header(HEADER).as_ref(),
        );
        let _ = call.set_header(HEADER, span.inject());
        self.call = Some(span);
        Before::Proceed
    }

    /// A server-kind span for an inbound call, a child of the caller's header, ended in
    /// `after`.
    fn inbound(&mut self, call: &Call, name: String, attributes: Vec<(String, String)>) -> Before {
        let span = Span::new(
            &name,
            SpanKind::Server,
            &attributes,
            call.header(HEADER).as_ref(),
        );
        self.call = Some(span);
        Before::Proceed
    }

    fn done(&mut self, outcome: &Outcome) -> After {
        if let Some(span) = self.call.take() {
            finish(span, outcome);
        }
        After::Keep
    }

    fn client(&mut self, call: &Call) -> Before {
        let (name, id) = match call.detail() {
            CallDetail::StartWorkflow(s) => {
                (format!("StartWorkflow:{}", s.workflow_type), s.workflow_id)
            }
            CallDetail::SignalWithStartWorkflow(s) => (
                format!("SignalWithStartWorkflow:{}", s.start.workflow_type),
                s.start.workflow_id,
            ),
            CallDetail::UpdateWithStartWorkflow(s) => (
                format!("UpdateWithStartWorkflow:{}", s.start.workflow_type),
                s.start.workflow_id,
            ),
            CallDetail::SignalWorkflow(m) => {
                (format!("SignalWorkflow:{}", m.name), m.target.workflow_id)
            }
            CallDetail::QueryWorkflow(m) => {
                (format!("QueryWorkflow:{}", m.name), m.target.workflow_id)
            }
            CallDetail::StartWorkflowUpdate(m) => (
                format!("StartWorkflowUpdate:{}", m.name),
                m.target.workflow_id,
            ),
            _ => return Before::Proceed,
        };
        self.outbound(call, name, attrs(&[("temporalWorkflowID", &id)]))
    }

    fn handler(&mut self, call: &Call, prefix: &str) -> Before {
        let (CallDetail::HandleSignal(h)
        | CallDetail::HandleQuery(h)
        | CallDetail::ValidateUpdate(h)
        | CallDetail::HandleUpdate(h)) = call.detail()
        else {
            return Before::Proceed;
        };
        self.inbound(call, format!("{prefix}:{}", h.name), workflow_attrs())
    }
}

#[interceptor(reads(HEADER))]
impl Interceptor for Tracing {
    fn before_client(&mut self, call: &Call) -> Before {
        self.client(call)
    }
    fn after_client(&mut self, _: &Call, outcome: &Outcome) -> After {
        self.done(outcome)
    }

    fn before_execute_workflow(&mut self, call: &Call) -> Before {
        let info = interpose_guest::workflow::info();
        let span = Span::new(
            &format!("RunWorkflow:{}", info.workflow_type),
            SpanKind::Server,
            &workflow_attrs(),
            call.header(HEADER).as_ref(),
        );
        self.run = Some(span);
        Before::Proceed
    }
    fn after_execute_workflow(&mut self, _: &Call, outcome: &Outcome) -> After {
        match (self.run.take(), outcome.failure()) {
            // The host's way of saying the run continued as new: it ended well.
            (Some(span), Some(f)) if f.error_type == "ContinueAsNew" => {
                span.set_status(Status::Ok, "");
                span.end();
            }
            (Some(span), _) => finish(span, outcome),
            (None, _) => {}
        }
        After::Keep
    }
    fn before_handle_signal(&mut self, call: &Call) -> Before {
        self.handler(call, "HandleSignal")
    }
    fn before_handle_query(&mut self, call: &Call) -> Before {
        self.handler(call, "HandleQuery")
    }
    fn before_validate_update(&mut self, call: &Call) -> Before {
        self.handler(call, "ValidateUpdate")
    }
    fn before_handle_update(&mut self, call: &Call) -> Before {
        self.handler(call, "HandleUpdate")
    }
    fn after_handle_signal(&mut self, _: &Call, outcome: &Outcome) -> After {
        self.done(outcome)
    }
    fn after_handle_query(&mut self, _: &Call, outcome: &Outcome) -> After {
        self.done(outcome)
    }
    fn after_validate_update(&mut self, _: &Call, outcome: &Outcome) -> After {
        self.done(outcome)
    }
    fn after_handle_update(&mut self, _: &Call, outcome: &Outcome) -> After {
        self.done(outcome)
    }

    fn before_workflow_outbound(&mut self, call: &Call) -> Before {
        let (name, mut extra) = match call.detail() {
            CallDetail::ScheduleActivity(a) | CallDetail::ScheduleLocalActivity(a) => (
                format!("StartActivity:{}", a.activity_type),
                attrs(&[("temporalActivityID", &a.activity_id)]),
            ),
            CallDetail::StartChildWorkflow(c) => (
                format!("StartChildWorkflow:{}", c.workflow_type),
                Vec::new(),
            ),
            CallDetail::SignalExternalWorkflow(s) if s.child => {
                (format!("SignalChildWorkflow:{}", s.name), Vec::new())
            }
            CallDetail::SignalExternalWorkflow(s) => {
                (format!("SignalExternalWorkflow:{}", s.name), Vec::new())
            }
            CallDetail::StartNexusOperation(n) => {
                // Nexus headers are strings: the context goes in the W3C key, as Temporal's
                // tracing interceptors send it to Nexus handlers.
                let span = Span::new(
                    &format!("StartNexusOperation:{}/{}", n.service, n.operation),
                    SpanKind::Client,
                    &workflow_attrs(),
                    None,
                );
                let _ = call.set_header(
                    TRACEPARENT,
                    Payload::json_string(&interpose_guest::tracing::traceparent(&span)),
                );
                span.end();
                return Before::Proceed;
            }
            CallDetail::ContinueAsNew(_) => {
                // The next run continues the trace of this one (the run's span ends in
                // `after` of `execute-workflow`, which sees the run continue as new).
                if let Some(run) = &self.run {
                    let _ = call.set_header(HEADER, run.inject());
                }
                return Before::Proceed;
            }
            _ => return Before::Proceed,
        };
        let mut all = workflow_attrs();
        all.append(&mut extra);
        // Outbound headers start empty: the parent is the run's span (current).
        let span = Span::new(&name, SpanKind::Client, &all, None);
        let _ = call.set_header(HEADER, span.inject());
        // A command's span covers scheduling it: it ends now, in workflow time.
        span.end();
        Before::Proceed
    }

    fn before_execute_activity(&mut self, call: &Call) -> Before {
        let info = interpose_guest::activity::info();
        let span = Span::new(
            &format!("RunActivity:{}", info.activity_type),
            SpanKind::Server,
            &attrs(&[
                ("temporalActivityID", &info.activity_id),
                ("temporalWorkflowID", &info.workflow_id),
                ("temporalRunID", &info.workflow_run_id),
            ]),
            call.header(HEADER).as_ref(),
        );
        self.run = Some(span);
        Before::Proceed
    }
    fn after_execute_activity(&mut self, _: &Call, outcome: &Outcome) -> After {
        if let Some(span) = self.run.take() {
            finish(span, outcome);
        }
        After::Keep
    }
}

interpose_guest::export!(Tracing);
