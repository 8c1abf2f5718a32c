"""The seed's ``TracingInterceptor`` in Python: the same spans as the Rust guest in
``guest-examples/tracing`` (Temporal's span names, the ``_tracer-data`` header in and out).

- client: ``StartWorkflow:<type>``, ``SignalWithStartWorkflow:<type>``,
  ``UpdateWithStartWorkflow:<type>``, ``SignalWorkflow:<signal>``, ``QueryWorkflow:<query>``,
  ``StartWorkflowUpdate:<update>`` (client kind), injected into the call's headers;
- workflow inbound: ``RunWorkflow:<type>`` (server, a child of the header's span, open from
  ``before`` to ``after`` of ``execute-workflow``), ``HandleSignal:``, ``HandleQuery:``,
  ``ValidateUpdate:``, ``HandleUpdate:``;
- workflow outbound: ``StartActivity:<type>``, ``StartChildWorkflow:<type>``,
  ``SignalChildWorkflow:`` / ``SignalExternalWorkflow:`` (children of the run's span, injected
  into the command), ``StartNexusOperation:<service>/<operation>`` (its context in the
  operation's ``traceparent`` Nexus header); continue-as-new carries the run's span to the next run, and the run's
  span ends well when the run continues as new;
- activity inbound: ``RunActivity:<type>`` (server, a child of the header's span).
"""

import interpose_guest as ig
from interpose_guest import tracing, types

HEADER = "_tracer-data"
Kind = tracing.SpanKind
Status = tracing.Status


def _workflow_attrs():
    info = ig.workflow_context.info()
    return [("temporalWorkflowID", info.workflow_id), ("temporalRunID", info.run_id)]


def _finish(span, outcome):
    failure = outcome.failure()
    if failure is not None:
        span.set_status(Status.ERROR, failure.message)
    else:
        span.set_status(Status.OK, "")
    span.end()


def _handler(prefix):
    """A `before` for a message handler: a server span, a child of the message's header."""

    def before(self, call):
        name = call.detail().value.name
        self.call = tracing.Span(
            f"{prefix}:{name}", Kind.SERVER, _workflow_attrs(), call.header(HEADER)
        )

    return before


class Tracing(ig.Interceptor):
    reads = (HEADER,)

    def __init__(self):
        # The run's RunWorkflow span (workflow instances live for a run), or the attempt's
        # RunActivity span; and the span of the call in progress.
        self.run = None
        self.call = None

    def _outbound(self, call, name, attrs):
        span = tracing.Span(name, Kind.CLIENT, attrs, call.header(HEADER))
        ig.set_header(call, HEADER, span.inject())
        self.call = span

    def _done(self, call, outcome):
        if self.call is not None:
            _finish(self.call, outcome)
            self.call = None

    # client
    def before_client(self, call):
        d = call.detail()
        if isinstance(d, types.CallDetail_StartWorkflow):
            name, wid = f"StartWorkflow:{d.value.workflow_type}", d.value.workflow_id
        elif isinstance(d, types.CallDetail_SignalWithStartWorkflow):
            name = f"SignalWithStartWorkflow:{d.value.start.workflow_type}"
            wid = d.value.start.workflow_id
        elif isinstance(d, types.CallDetail_UpdateWithStartWorkflow):
            name = f"UpdateWithStartWorkflow:{d.value.start.workflow_type}"
            wid = d.value.start.workflow_id
        elif isinstance(d, types.CallDetail_SignalWorkflow):
            name, wid = f"SignalWorkflow:{d.value.name}", d.value.target.workflow_id
        elif isinstance(d, types.CallDetail_QueryWorkflow):
            name, wid = f"QueryWorkflow:{d.value.name}", d.value.target.workflow_id
        elif isinstance(d, types.CallDetail_StartWorkflowUpdate):
            name, wid = f"StartWorkflowUpdate:{d.value.name}", d.value.target.workflow_id
        else:
            return None
        self._outbound(call, name, [("temporalWorkflowID", wid)])

    after_client = _done

    # workflow inbound
    def before_execute_workflow(self, call):
        info = ig.workflow_context.info()
        self.run = tracing.Span(
            f"RunWorkflow:{info.workflow_type}", Kind.SERVER, _workflow_attrs(), call.header(HEADER)
        )

    def after_execute_workflow(self, call, outcome):
        if self.run is not None:
            failure = outcome.failure()
            if failure is not None and failure.error_type == "ContinueAsNew":
                # The host's way of saying the run continued as new: it ended well.
                self.run.set_status(Status.OK, "")
                self.run.end()
            else:
                _finish(self.run, outcome)
            self.run = None

    before_handle_signal = _handler("HandleSignal")
    before_handle_query = _handler("HandleQuery")
    before_validate_update = _handler("ValidateUpdate")
    before_handle_update = _handler("HandleUpdate")
    after_handle_signal = _done
    after_handle_query = _done
    after_validate_update = _done
    after_handle_update = _done

    # workflow outbound
    def before_workflow_outbound(self, call):
        d = call.detail()
        extra = []
        if isinstance(d, (types.CallDetail_ScheduleActivity, types.CallDetail_ScheduleLocalActivity)):
            name = f"StartActivity:{d.value.activity_type}"
            extra = [("temporalActivityID", d.value.activity_id)]
        elif isinstance(d, types.CallDetail_StartChildWorkflow):
            name = f"StartChildWorkflow:{d.value.workflow_type}"
        elif isinstance(d, types.CallDetail_SignalExternalWorkflow):
            kind = "SignalChildWorkflow" if d.value.child else "SignalExternalWorkflow"
            name = f"{kind}:{d.value.name}"
        elif isinstance(d, types.CallDetail_StartNexusOperation):
            # Nexus headers are strings: the context goes in the W3C key, as Temporal's
            # tracing interceptors send it to Nexus handlers.
            span = tracing.Span(
                f"StartNexusOperation:{d.value.service}/{d.value.operation}",
                Kind.CLIENT,
                _workflow_attrs(),
                None,
            )
            ig.set_header(call, "traceparent", ig.json_string(ig.traceparent(span)))
            span.end()
            return None
        elif isinstance(d, types.CallDetail_ContinueAsNew):
            # The next run continues this run's trace (the run's span ends in
            # `after_execute_workflow`, which sees the run continue as new).
            if self.run is not None:
                ig.set_header(call, HEADER, self.run.inject())
            return None
        else:
            return None
        # Outbound headers start empty: the parent is the run's span (current).
        span = tracing.Span(name, Kind.CLIENT, _workflow_attrs() + extra, None)
        ig.set_header(call, HEADER, span.inject())
        span.end()

    # activity inbound
    def before_execute_activity(self, call):
        info = ig.activity_context.info()
        self.run = tracing.Span(
            f"RunActivity:{info.activity_type}",
            Kind.SERVER,
            [
                ("temporalActivityID", info.activity_id),
                ("temporalWorkflowID", info.workflow_id),
                ("temporalRunID", info.workflow_run_id),
            ],
            call.header(HEADER),
        )

    def after_execute_activity(self, call, outcome):
        if self.run is not None:
            _finish(self.run, outcome)
            self.run = None


Client, WorkflowInbound, WorkflowOutbound, ActivityInbound, ActivityOutbound = ig.export(Tracing)
