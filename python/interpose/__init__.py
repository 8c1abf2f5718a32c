"""Interpose for the Temporal Python SDK: WebAssembly interceptors, sandboxed, from one config.

    import interpose
    from temporalio.client import Client
    from temporalio.worker import Worker

    chain = interpose.load("interpose.toml")   # every guest compiled and checked, or an error
    client = await Client.connect("localhost:7233", plugins=[chain.plugin()])
    worker = Worker(client, task_queue="orders", workflows=[...], activities=[...])

``load`` reads the same ``interpose.toml`` as the Rust host and runs the same guest
components (Rust, Python, JavaScript, C) through the same runtime: fuel, memory, deadline and
output limits, failure policies. The object it returns is a ``temporalio.client.Interceptor``
and a ``temporalio.worker.Interceptor``: register it once, as a plugin (``chain.plugin()``),
on ``Client.connect(interceptors=...)`` (workers built from that client use it too) or on
``Worker(interceptors=...)``. The default workflow sandbox needs no configuring.

What it adapts (``NOT_ADAPTED`` lists the contract's five other hooks and why Python has no
place for them; a guest that declares one loads with a warning):

- **client**: every method of ``temporalio.client.OutboundInterceptor`` the contract has a
  hook for — starts (``start-workflow``, ``signal-with-start-workflow``,
  ``update-with-start-workflow``; the editable ids and task queue are written back),
  signals, queries, updates, cancel, terminate, describe, count, list, history, schedules,
  async activity completion, standalone activities (``start-activity`` with headers and
  the editable id and task queue; cancel, terminate, pause, unpause, update options,
  describe, list, count), standalone Nexus operations (``start-standalone-nexus-operation``
  with Nexus string headers and the editable operation id; describe, result, cancel,
  terminate, list, count) and the worker build-id calls. Guests see no payloads here (the SDK hands client
  interceptors decoded values); a list's or history's hooks run once, when its iterator is
  made. A rejection raises ``temporalio.exceptions.ApplicationError``; a guest failure
  raises ``interpose.GuestError`` naming the guest, the hook, the phase and the cause. A
  call cancelled in flight (the caller's timeout) runs ``after`` with a failure of type
  ``Cancelled`` that guests can neither change nor replace by failing: the cancellation
  goes on (so too for a cancelled activity).
- **activities** (``execute-activity``): headers, arguments and result as payloads through
  the activity's payload converter (guests may replace them), the attempt's info,
  heartbeats guests record sent with ``activity.heartbeat``; and the activity's outbound
  calls (``activity-heartbeat``, which Rust workers cannot run): a heartbeat's details as
  payloads, replaceable, a rejection raised from ``activity.heartbeat`` in async and
  thread-pool activities (a process-pool activity's heartbeats cross the SDK's shared-state
  queue, which hands no error back).
- **workflows**: ``execute-workflow`` (arguments and result as payloads), signals, queries,
  update validators and handlers (results as payloads); commands: activities, local
  activities, child workflows, signals to children and external workflows, Nexus operations
  (string headers, the input as a payload, ``after`` sees the operation token), and
  continue-as-new. One guest instance set per workflow instance the SDK caches; workflow
  time from ``workflow.time_ns()``; the replay flag from ``workflow.unsafe.is_replaying()``
  (queries and validators never replay); logs and metrics from replay are dropped. A
  command's ``after`` runs in the activation that resolves it and can only observe.
  A guest failure, a refused command or a rejected signal fails the workflow task, even if
  workflow code catches the exception (the adapter sets the SDK's activation error,
  SDK-private: temporalio 1.35); a rejected run fails the workflow, a rejected query or
  update fails that query or update; continue-as-new and cancellation are seen as failures
  of type ``ContinueAsNew`` / ``Cancelled`` and cannot be changed; an eviction runs no
  ``after`` and releases the run's guests.

Guest log lines go to Python ``logging`` (logger ``interpose``); metrics to the runtime's
metric meter, spans to an OpenTelemetry tracer provider (see ``load``).
"""

from __future__ import annotations

import asyncio
import math

from datetime import datetime, timezone
from typing import Any, Mapping, Optional

import logging

import temporalio.activity
import temporalio.api.common.v1
import temporalio.client
import temporalio.common
import temporalio.converter
import temporalio.exceptions
import temporalio.plugin
import temporalio.runtime
import temporalio.worker
import temporalio.workflow

from . import _native
from ._native import GuestError, InterposeError  # noqa: F401  (re-exported)
from ._native import load as _load
from ._native import header_value as _header_value
from ._native import string_header as _string_header
from ._spans import _Spans

try:
    from importlib.metadata import version as _version

    _VERSION = _version("interpose")
except ImportError:  # PackageNotFoundError: run from a source tree, not installed
    _VERSION = ""

__all__ = ["ADAPTED", "Interpose", "GuestError", "InterposeError", "load"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


#: The contract's hooks this package does not run, and why: a guest that declares one loads
#: with a warning and is never called for it in Python workers and clients.
NOT_ADAPTED = {
    "poll-workflow-update": "the Python SDK polls an update's outcome without an interceptor",
    "send-schedule-update": "a step of the Rust SDK's schedule update; Python runs `update-schedule`",
    "initialize-workflow": "the Python SDK's `init` carries no headers (Rust SDK only)",
    "start-timer": "the Python SDK's workflow outbound interceptor has no timer method",
    "cancel-external-workflow": "the Python SDK's workflow outbound interceptor has no "
    "external cancellation method",
}

#: The hooks this package runs.
ADAPTED = frozenset(_native.hooks()) - NOT_ADAPTED.keys()

_log = logging.getLogger("interpose")
_U64_MAX = 2**64 - 1


def load(
    path: str,
    *,
    runtime: Optional[temporalio.runtime.Runtime] = None,
    tracer_provider: Any = None,
) -> "Interpose":
    """Load ``path`` (an ``interpose.toml``) and every guest it names, in order.

    Guest metrics, and the host's operator metrics (``interpose_guest_failures`` by guest,
    hook, phase and cause; ``interpose_guest_instances`` by guest), go to ``runtime``'s
    metric meter (default: ``Runtime.default()``), where the worker's own metrics are: pass
    the runtime your client and workers use. Every sample carries the ``interpose_guest``
    attribute; samples recorded in replay are dropped.

    Guest spans (the ``tracing`` import) go to ``tracer_provider``, an OpenTelemetry
    ``TracerProvider`` (default: the global one, ``opentelemetry.trace.set_tracer_provider``,
    where ``temporalio.contrib.opentelemetry.TracingInterceptor`` sends its spans), with the
    ids the guests propagated, their times (workflow time in workflow hooks) and an
    ``interpose.guest`` attribute; spans ended in replay are not exported. Without the
    ``opentelemetry-sdk`` package (``pip install interpose[opentelemetry]``) they are dropped.

    Raises ``InterposeError`` with one message naming the file, the guest and why when the
    config or a guest is invalid: nothing is half-loaded. Hooks a guest declares that this
    package does not run are logged (logger ``interpose``, warning).
    """
    meter = _Meter((runtime or temporalio.runtime.Runtime.default()).metric_meter)
    spans = None
    try:
        spans = _Spans(tracer_provider, _VERSION, on_dropped=meter.spans_dropped)
    except ImportError:
        if tracer_provider is not None:
            raise
    native = _load(str(path), metrics=meter, spans=spans)
    for hook in sorted(set(native.declared()) - ADAPTED):
        _log.warning(
            "%s: a guest declares `%s`, which Python workers and clients never call: %s",
            path,
            hook,
            NOT_ADAPTED[hook],
        )
    return Interpose(native, spans)


class _Meter:
    """Guest and operator metrics into an SDK ``MetricMeter`` (called by the native module).
    Instruments are made once per name; a name already used with another kind is dropped
    (and logged once), as in Rust workers."""

    _FAILURES = "interpose_guest_failures"
    _INSTANCES = "interpose_guest_instances"
    _SPANS_DROPPED = "interpose_guest_spans_dropped"

    def __init__(self, meter: temporalio.common.MetricMeter) -> None:
        self._meter = meter
        self._instruments: dict = {}
        self._failures = meter.create_counter(
            self._FAILURES, "failed calls into an Interpose guest"
        )
        self._live = meter.create_gauge(self._INSTANCES, "live instances of an Interpose guest")
        self._spans_dropped = meter.create_counter(
            self._SPANS_DROPPED, "spans of an Interpose guest dropped before export"
        )

    def _instrument(self, kind: str, name: str, unit: str):
        found = self._instruments.get(name)
        if found is None:
            description = "recorded by an Interpose guest"
            make = {
                "counter": self._meter.create_counter,
                "histogram": self._meter.create_histogram_float,
                "gauge": self._meter.create_gauge_float,
            }[kind]
            found = self._instruments[name] = (kind, make(name, description, unit or None), [False])
        if found[0] != kind:
            if not found[2][0]:
                found[2][0] = True
                _log.error(
                    "guest metric samples dropped: `%s` is already a %s, not a %s",
                    name,
                    found[0],
                    kind,
                )
            return None
        return found[1]

    def record(self, kind, name, value, unit, attributes, guest) -> None:
        instrument = self._instrument(kind, name, unit)
        if instrument is None or not math.isfinite(value):
            return
        attrs = dict(attributes)
        attrs["interpose_guest"] = guest
        if kind == "counter":
            instrument.add(min(max(int(value), 0), _U64_MAX), attrs)
        elif kind == "histogram":
            instrument.record(float(value), attrs)
        else:
            instrument.set(float(value), attrs)

    def failure(self, guest, hook, phase, cause) -> None:
        self._failures.add(
            1, {"interpose_guest": guest, "hook": hook, "phase": phase, "cause": cause}
        )

    def spans_dropped(self, guest, n) -> None:
        self._spans_dropped.add(min(max(int(n), 0), _U64_MAX), {"interpose_guest": guest})

    def instances(self, guest, live) -> None:
        # The native module keeps the count (see `PythonMetrics`): this only sets it.
        self._live.set(live, {"interpose_guest": guest})


class Interpose(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """One loaded chain: a client interceptor and a worker interceptor (workflows and
    activities).

    Register it once: as ``plugin()``, on ``Client.connect(interceptors=[...])`` (workers
    built from that client use it too) or on ``Worker(interceptors=[...])``, not on both a
    client and its workers' ``interceptors`` (its guests would run twice).
    """

    def __init__(self, native, spans=None) -> None:
        self._native = native
        self._spans = spans

    def flush_spans(self, timeout: Optional[float] = None) -> bool:
        """Wait until the spans guests ended so far are handed to the tracer provider (its
        processors then export them: ``provider.force_flush()`` for those). ``False`` if
        ``timeout`` seconds passed first; ``True`` at once when spans are dropped (no
        OpenTelemetry)."""
        return True if self._spans is None else self._spans.flush(timeout)

    @property
    def fingerprint(self) -> str:
        """The chain's fingerprint: guests, hashes, limits and config."""
        return self._native.fingerprint

    def plugin(self) -> temporalio.plugin.SimplePlugin:
        """This chain as a ``temporalio.plugin.SimplePlugin``: on
        ``Client.connect(plugins=[...])`` it intercepts the client and every worker built
        from it (once: the SDK does not register it twice); on ``Worker(plugins=...)`` or
        ``Replayer(plugins=...)``, that worker or replayer."""
        return temporalio.plugin.SimplePlugin("interpose", interceptors=[self])

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _ClientOutbound(next, self._native)

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        return _ActivityInbound(next, self._native)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type:
        native = self._native

        class _Bound(_WorkflowInbound):
            _chain = native

        return _Bound


def _headers_in(headers: Optional[Mapping[str, temporalio.api.common.v1.Payload]]):
    return [
        (k, (list(p.metadata.items()), bytes(p.data))) for k, p in (headers or {}).items()
    ]


def _headers_out(pairs) -> dict:
    return {k: _proto(p) for k, p in pairs}


def _proto(pair) -> temporalio.api.common.v1.Payload:
    md, data = pair
    return temporalio.api.common.v1.Payload(metadata=dict(md), data=data)


def _nanos(t) -> int:
    if t is None:
        return 0
    delta = t - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _guest_failure(failure, pending, cause: Optional[BaseException] = None):
    """The exception a guest's failure outcome raises: an ``ApplicationError`` with its
    message, type and retryability; the deciding guest is in ``details``."""
    message, error_type, non_retryable = failure
    who = pending.decided_by
    return temporalio.exceptions.ApplicationError(
        message,
        *([f"decided by interceptor `{who}`"] if who else []),
        type=error_type or None,
        non_retryable=non_retryable,
    )


def _failure_of(e: BaseException):
    """(message, type, non-retryable) of the real call's exception, as guests see it."""
    if isinstance(e, temporalio.exceptions.ApplicationError):
        return str(e), e.type or "", e.non_retryable
    return str(e), type(e).__name__, False


def _after_cancelled(pending, hook: str, e: BaseException) -> None:
    """``after`` of a call ended by a cancellation of the caller's task, or an interpreter
    exit (an exception that is not an ``Exception``): guests see it (a cancellation as a
    failure of type ``Cancelled``) and can neither change it nor, by failing, replace it.
    The caller re-raises ``e``."""
    seen = _control_flow(e) or _failure_of(e)
    try:
        kind, value = pending.after(error=seen[0], error_type=seen[1], non_retryable=seen[2])
    except Exception as failed:
        _log.warning("`after` of a %s `%s` failed; ignored: %s", seen[0], hook, failed)
        return
    if (kind, value) != ("err", seen):
        _log.warning(
            "interceptor `%s` changed the outcome of a %s `%s`; ignored",
            pending.decided_by,
            seen[0],
            hook,
        )


def _after_exception(pending, e: BaseException):
    """``after`` with the real call's exception: (kind, value, whether guests left it)."""
    seen = _failure_of(e)
    kind, value = pending.after(error=seen[0], error_type=seen[1], non_retryable=seen[2])
    return kind, value, (kind, value) == ("err", seen)


def _nexus_headers_in(headers: Optional[Mapping[str, str]]):
    """Nexus headers (strings) as guests see them: keys lowercased with ASCII rules (HTTP
    headers match without case; Temporal lowercases them), each value a ``json/plain``
    string payload. Returns ``(incoming, pairs)``; ``incoming`` is for
    ``_nexus_headers_out``."""
    incoming = {}
    for k, v in (headers or {}).items():
        key = k.translate(_ASCII_LOWER)
        if key in incoming:
            raise InterposeError(
                f"Nexus headers `{k}` and another differing only in case were given: Nexus "
                "headers match without case, so one value would be lost"
            )
        incoming[key] = v
    return incoming, [(k, _string_header(v)) for k, v in incoming.items()]


def _nexus_headers_out(incoming: dict, pairs, hook: str) -> dict:
    """The guests' headers as Nexus headers: a header nobody changed goes out as it came in
    (even one a guest could not set); guests' own edits were checked when the host applied
    them (so the error below is the host's, should that check ever miss one)."""
    out = {}
    for k, p in pairs:
        if k in incoming and p == _string_header(incoming[k]):
            out[k] = incoming[k]
            continue
        value = _header_value(p)
        if value is None:
            raise InterposeError(f"`{hook}`: Nexus header `{k}` is not a string")
        out[k] = value
    return out


def _build_ids(op: Any) -> list:
    """The build ids a ``BuildIdOp`` names (one or two, by kind)."""
    fields = ("build_id", "existing_compatible_build_id", "primary_build_id", "secondary_build_id")
    return [getattr(op, f) for f in fields if isinstance(getattr(op, f, None), str)]


#: The hooks whose headers are Nexus headers (strings), for ``_nexus_headers_in/_out``.
_STRING_HEADER_HOOKS = frozenset({"start-nexus-operation", "start-standalone-nexus-operation"})


#: The editable detail fields of client hooks, and the input attribute each is written to.
_CLIENT_EDITS = (
    ("workflow_id", "id"),
    ("activity_id", "id"),
    ("operation_id", "id"),
    ("task_queue", "task_queue"),
    ("query", "query"),
)


class _ClientOutbound(temporalio.client.OutboundInterceptor):
    def __init__(self, next: temporalio.client.OutboundInterceptor, native) -> None:
        super().__init__(next)
        self._native = native

    async def _run(self, hook: str, detail: dict, input: Any, call_next, headers):
        """``before``, the real call (unless a guest decided), ``after`` exactly once.

        ``headers`` lists the input objects whose ``headers`` carry the call's headers (the
        first is read; all are written), or is empty for calls without headers.
        """
        if not self._native.wants(hook):
            return await call_next(input)
        nexus = hook in _STRING_HEADER_HOOKS
        incoming: dict = {}
        if not headers:
            seen = []
        elif nexus:
            incoming, seen = _nexus_headers_in(headers[0].headers)
        else:
            seen = _headers_in(headers[0].headers)
        pending = self._native.client_before(hook, detail, seen)
        if pending.done is not None:
            kind, value = pending.after()
            if kind == "err":
                raise _guest_failure(value, pending)
            raise GuestError(
                f"interceptor `{pending.decided_by}` answered `{hook}`, which cannot be "
                "answered"
            )
        try:
            for h in headers:
                h.headers = (
                    _nexus_headers_out(incoming, pending.headers, hook)
                    if nexus
                    else _headers_out(pending.headers)
                )
            edited = pending.detail
            for field, attr in _CLIENT_EDITS:
                if field in detail and hasattr(input, attr):
                    value = edited.get(field, detail[field])
                    if value != detail[field]:
                        setattr(input, attr, value)
            result = await call_next(input)
        except BaseException as e:
            if not isinstance(e, Exception):
                # The caller's task was cancelled (a timeout, a shutdown): a guest could
                # otherwise take from `asyncio.timeout` and task groups their cancellation.
                _after_cancelled(pending, hook, e)
                raise
            kind, value, unchanged = _after_exception(pending, e)
            if unchanged:
                raise
            if kind == "err":
                raise _guest_failure(value, pending) from e
            raise GuestError(
                f"interceptor `{pending.decided_by}` turned a failed `{hook}` into a result, "
                "which a Python client call cannot return"
            ) from e
        kind, value = pending.after(payloads=[])
        if kind == "err":
            raise _guest_failure(value, pending)
        if value:
            raise GuestError(
                f"interceptor `{pending.decided_by}` replaced the result of `{hook}`; the "
                "Python client hands interceptors decoded results, so it cannot be replaced"
            )
        return result

    async def start_workflow(self, input: temporalio.client.StartWorkflowInput):
        detail = {
            "workflow_id": input.id,
            "workflow_type": input.workflow,
            "task_queue": input.task_queue,
        }
        hook = "start-workflow"
        if input.start_signal:
            hook = "signal-with-start-workflow"
            detail["name"] = input.start_signal
        return await self._run(hook, detail, input, super().start_workflow, [input])

    async def signal_workflow(self, input: temporalio.client.SignalWorkflowInput) -> None:
        detail = {"workflow_id": input.id, "run_id": input.run_id, "name": input.signal}
        return await self._run(
            "signal-workflow", detail, input, super().signal_workflow, [input]
        )

    async def query_workflow(self, input: temporalio.client.QueryWorkflowInput) -> Any:
        detail = {"workflow_id": input.id, "run_id": input.run_id, "name": input.query}
        return await self._run("query-workflow", detail, input, super().query_workflow, [input])

    async def start_workflow_update(self, input: temporalio.client.StartWorkflowUpdateInput):
        detail = {"workflow_id": input.id, "run_id": input.run_id, "name": input.update}
        return await self._run(
            "start-workflow-update", detail, input, super().start_workflow_update, [input]
        )

    async def start_update_with_start_workflow(
        self, input: temporalio.client.StartWorkflowUpdateWithStartInput
    ):
        start = input.start_workflow_input
        detail = {
            "workflow_id": start.id,
            "workflow_type": start.workflow,
            "task_queue": start.task_queue,
            "name": input.update_workflow_input.update,
        }

        async def call_next(_):
            return await super(_ClientOutbound, self).start_update_with_start_workflow(input)

        # The start's headers are read; both the start and the update get the guests' (as
        # the Rust adapter does).
        return await self._run(
            "update-with-start-workflow",
            detail,
            start,
            call_next,
            [start, input.update_workflow_input],
        )

    async def cancel_workflow(self, input: temporalio.client.CancelWorkflowInput) -> None:
        detail = {"workflow_id": input.id, "run_id": input.run_id}
        return await self._run("cancel-workflow", detail, input, super().cancel_workflow, [])

    async def terminate_workflow(self, input: temporalio.client.TerminateWorkflowInput) -> None:
        detail = {"workflow_id": input.id, "run_id": input.run_id}
        return await self._run(
            "terminate-workflow", detail, input, super().terminate_workflow, []
        )

    async def describe_workflow(self, input: temporalio.client.DescribeWorkflowInput):
        detail = {"workflow_id": input.id, "run_id": input.run_id}
        return await self._run("describe-workflow", detail, input, super().describe_workflow, [])

    async def count_workflows(self, input: temporalio.client.CountWorkflowsInput):
        detail = {"query": input.query or ""}
        return await self._run("count-workflows", detail, input, super().count_workflows, [])


    def _run_listing(self, hook: str, detail: dict, input: Any, call_next):
        """A call that returns an iterator of pages (lists, history): ``before`` and
        ``after`` run once, when the iterator is made; the pages it fetches later are not
        seen by guests. A rejection raises here; an edited ``query`` is applied."""
        if not self._native.wants(hook):
            return call_next(input)
        pending = self._native.client_before(hook, detail, [])
        if pending.done is not None:
            kind, value = pending.after()
            if kind == "err":
                raise _guest_failure(value, pending)
            raise GuestError(
                f"interceptor `{pending.decided_by}` answered `{hook}`, which cannot be "
                "answered"
            )
        try:
            if "query" in detail and pending.detail["query"] != detail["query"]:
                input.query = pending.detail["query"]
            result = call_next(input)
        except BaseException as e:
            kind, value, unchanged = _after_exception(pending, e)
            if unchanged:
                raise
            raise _guest_failure(value, pending) from e
        kind, value = pending.after(payloads=[])
        if kind == "err":
            raise _guest_failure(value, pending)
        return result

    def list_workflows(self, input: temporalio.client.ListWorkflowsInput):
        return self._run_listing(
            "list-workflows", {"query": input.query or ""}, input, super().list_workflows
        )

    def fetch_workflow_history_events(
        self, input: temporalio.client.FetchWorkflowHistoryEventsInput
    ):
        return self._run_listing(
            "fetch-workflow-history",
            {"workflow_id": input.id, "run_id": input.run_id},
            input,
            super().fetch_workflow_history_events,
        )

    def list_schedules(self, input: temporalio.client.ListSchedulesInput):
        return self._run_listing(
            "list-schedules", {"query": input.query or ""}, input, super().list_schedules
        )

    async def _schedule(self, hook: str, input: Any, call_next):
        return await self._run(hook, {"schedule_id": input.id}, input, call_next, [])

    async def create_schedule(self, input: temporalio.client.CreateScheduleInput):
        return await self._schedule("create-schedule", input, super().create_schedule)

    async def describe_schedule(self, input: temporalio.client.DescribeScheduleInput):
        return await self._schedule("describe-schedule", input, super().describe_schedule)

    async def update_schedule(self, input: temporalio.client.UpdateScheduleInput) -> None:
        return await self._schedule("update-schedule", input, super().update_schedule)

    async def delete_schedule(self, input: temporalio.client.DeleteScheduleInput) -> None:
        return await self._schedule("delete-schedule", input, super().delete_schedule)

    async def pause_schedule(self, input: temporalio.client.PauseScheduleInput) -> None:
        return await self._schedule("pause-schedule", input, super().pause_schedule)

    async def unpause_schedule(self, input: temporalio.client.UnpauseScheduleInput) -> None:
        return await self._schedule("unpause-schedule", input, super().unpause_schedule)

    async def trigger_schedule(self, input: temporalio.client.TriggerScheduleInput) -> None:
        return await self._schedule("trigger-schedule", input, super().trigger_schedule)

    async def backfill_schedule(self, input: temporalio.client.BackfillScheduleInput) -> None:
        return await self._schedule("backfill-schedule", input, super().backfill_schedule)

    async def _async_activity(self, hook: str, input: Any, call_next):
        ref = input.id_or_token
        if isinstance(ref, (bytes, bytearray)):
            detail = {"task_token": bytes(ref)}
        else:
            detail = {
                "workflow_id": ref.workflow_id or "",
                "run_id": ref.run_id or "",
                "activity_id": ref.activity_id,
            }
        return await self._run(hook, detail, input, call_next, [])

    async def heartbeat_async_activity(
        self, input: temporalio.client.HeartbeatAsyncActivityInput
    ) -> None:
        return await self._async_activity(
            "heartbeat-async-activity", input, super().heartbeat_async_activity
        )

    async def complete_async_activity(
        self, input: temporalio.client.CompleteAsyncActivityInput
    ) -> None:
        return await self._async_activity(
            "complete-async-activity", input, super().complete_async_activity
        )

    async def fail_async_activity(self, input: temporalio.client.FailAsyncActivityInput) -> None:
        return await self._async_activity(
            "fail-async-activity", input, super().fail_async_activity
        )

    async def report_cancellation_async_activity(
        self, input: temporalio.client.ReportCancellationAsyncActivityInput
    ) -> None:
        return await self._async_activity(
            "report-async-activity-cancellation",
            input,
            super().report_cancellation_async_activity,
        )

    # Standalone activities (started by a client, not a workflow).

    async def start_activity(self, input: temporalio.client.StartActivityInput):
        detail = {
            "activity_id": input.id,
            "activity_type": input.activity_type,
            "task_queue": input.task_queue,
        }
        return await self._run("start-activity", detail, input, super().start_activity, [input])

    async def _activity(self, hook: str, input: Any, call_next):
        detail = {"activity_id": input.activity_id, "run_id": input.activity_run_id or ""}
        return await self._run(hook, detail, input, call_next, [])

    async def cancel_activity(self, input: temporalio.client.CancelActivityInput) -> None:
        return await self._activity("cancel-activity", input, super().cancel_activity)

    async def terminate_activity(self, input: temporalio.client.TerminateActivityInput) -> None:
        return await self._activity("terminate-activity", input, super().terminate_activity)

    async def pause_activity(self, input: temporalio.client.PauseActivityInput) -> None:
        return await self._activity("pause-activity", input, super().pause_activity)

    async def unpause_activity(self, input: temporalio.client.UnpauseActivityInput) -> None:
        return await self._activity("unpause-activity", input, super().unpause_activity)

    async def update_activity_options(
        self, input: temporalio.client.UpdateActivityOptionsInput
    ):
        return await self._activity(
            "update-activity-options", input, super().update_activity_options
        )

    async def describe_activity(self, input: temporalio.client.DescribeActivityInput):
        return await self._activity("describe-activity", input, super().describe_activity)

    def list_activities(self, input: temporalio.client.ListActivitiesInput):
        return self._run_listing(
            "list-activities", {"query": input.query or ""}, input, super().list_activities
        )

    async def count_activities(self, input: temporalio.client.CountActivitiesInput):
        detail = {"query": input.query or ""}
        return await self._run("count-activities", detail, input, super().count_activities, [])

    # Standalone Nexus operations (started by a client, not a workflow).

    async def start_nexus_operation(self, input: temporalio.client.StartNexusOperationInput):
        detail = {
            "operation_id": input.id,
            "endpoint": input.endpoint,
            "service": input.service,
            "operation": input.operation,
        }
        return await self._run(
            "start-standalone-nexus-operation",
            detail,
            input,
            super().start_nexus_operation,
            [input],
        )

    async def _operation(self, hook: str, input: Any, call_next):
        detail = {"operation_id": input.operation_id, "run_id": input.run_id or ""}
        return await self._run(hook, detail, input, call_next, [])

    async def describe_nexus_operation(
        self, input: temporalio.client.DescribeNexusOperationInput
    ):
        return await self._operation(
            "describe-nexus-operation", input, super().describe_nexus_operation
        )

    async def get_nexus_operation_result(
        self, input: temporalio.client.GetNexusOperationResultInput
    ):
        return await self._operation(
            "get-nexus-operation-result", input, super().get_nexus_operation_result
        )

    async def cancel_nexus_operation(
        self, input: temporalio.client.CancelNexusOperationInput
    ) -> None:
        return await self._operation(
            "cancel-nexus-operation", input, super().cancel_nexus_operation
        )

    async def terminate_nexus_operation(
        self, input: temporalio.client.TerminateNexusOperationInput
    ) -> None:
        return await self._operation(
            "terminate-nexus-operation", input, super().terminate_nexus_operation
        )

    def list_nexus_operations(self, input: temporalio.client.ListNexusOperationsInput):
        return self._run_listing(
            "list-nexus-operations",
            {"query": input.query or ""},
            input,
            super().list_nexus_operations,
        )

    async def count_nexus_operations(
        self, input: temporalio.client.CountNexusOperationsInput
    ):
        detail = {"query": input.query or ""}
        return await self._run(
            "count-nexus-operations", detail, input, super().count_nexus_operations, []
        )

    # Worker build ids (Temporal's first worker versioning, deprecated by Temporal).

    async def update_worker_build_id_compatibility(
        self, input: temporalio.client.UpdateWorkerBuildIdCompatibilityInput
    ) -> None:
        return await self._run(
            "update-worker-build-id-compatibility",
            {"task_queues": [input.task_queue], "build_ids": _build_ids(input.operation)},
            input,
            super().update_worker_build_id_compatibility,
            [],
        )

    async def get_worker_build_id_compatibility(
        self, input: temporalio.client.GetWorkerBuildIdCompatibilityInput
    ):
        return await self._run(
            "get-worker-build-id-compatibility",
            {"task_queues": [input.task_queue], "build_ids": []},
            input,
            super().get_worker_build_id_compatibility,
            [],
        )

    async def get_worker_task_reachability(
        self, input: temporalio.client.GetWorkerTaskReachabilityInput
    ):
        # Read once, here (the caller may have passed iterators), and handed on as read.
        input.task_queues = list(input.task_queues)
        input.build_ids = list(input.build_ids)
        return await self._run(
            "get-worker-task-reachability",
            {"task_queues": input.task_queues, "build_ids": input.build_ids},
            input,
            super().get_worker_task_reachability,
            [],
        )


def _activity_info(info: temporalio.activity.Info) -> dict:
    return {
        "activity_id": info.activity_id,
        "activity_type": info.activity_type,
        "namespace": info.namespace,
        "task_queue": info.task_queue,
        "workflow_id": info.workflow_id or "",
        "workflow_run_id": info.workflow_run_id or "",
        "workflow_type": info.workflow_type or "",
        "attempt": info.attempt,
        "is_local": info.is_local,
        "scheduled_time": _nanos(info.scheduled_time),
        "current_attempt_scheduled_time": _nanos(info.current_attempt_scheduled_time),
        "started_time": _nanos(info.started_time),
    }


class _ActivityOutbound(temporalio.worker.ActivityOutboundInterceptor):
    """``activity-heartbeat`` (the seed's activity outbound category): a heartbeat's details
    are the call's arguments, as payloads through the activity's payload converter; guests
    may replace them (they reach the SDK as they are, ``RawValue``; at most 256 KiB). A
    rejection raises ``ApplicationError`` from ``activity.heartbeat``, a guest failure
    ``GuestError``: in an async activity (tested) the activity decides what to do with it;
    in a thread-pool activity the SDK runs the heartbeat on the event loop and re-raises
    it in the activity's thread (``worker/_activity.py``, ``run_coroutine_threadsafe(...)
    .result(10)``); a process-pool activity's heartbeats cross the SDK's shared-state queue
    (``register_heartbeater``), which hands no error back. ``info`` passes through."""

    def __init__(self, next: temporalio.worker.ActivityOutboundInterceptor, native) -> None:
        super().__init__(next)
        self._native = native

    def heartbeat(self, *details: Any) -> None:
        hook = "activity-heartbeat"
        if not self._native.wants(hook):
            return super().heartbeat(*details)
        converter = temporalio.activity.payload_converter()
        sent = _payloads(converter.to_payloads(list(details)))
        pending = self._native.activity_before(_activity_info(self.info()), [], sent, hook=hook)
        if pending.heartbeats:
            _log.warning(
                "a heartbeat a guest recorded inside `activity-heartbeat` is dropped: edit the "
                "details with `set-args` instead"
            )
        if pending.done is not None:
            kind, value = pending.after()
            if kind == "err":
                raise _guest_failure(value, pending)
            raise GuestError(f"interceptor `{pending.decided_by}` answered `{hook}`")
        args = pending.args
        if args != sent:
            details = tuple(temporalio.common.RawValue(_proto(p)) for p in args)
        try:
            super().heartbeat(*details)
        except BaseException as e:
            kind, value, unchanged = _after_exception(pending, e)
            if unchanged:
                raise
            if kind == "err":
                raise _guest_failure(value, pending) from e
            return None
        kind, value = pending.after(payloads=[])
        if kind == "err":
            raise _guest_failure(value, pending)


class _ActivityInbound(temporalio.worker.ActivityInboundInterceptor):
    """``execute-activity``: headers, the arguments and the result as payloads (the
    activity's payload converter), heartbeats guests record sent with
    ``activity.heartbeat`` (dropped for local activities, which Temporal does not
    heartbeat). Guests' payloads reach the SDK as they are (``RawValue``)."""

    def __init__(self, next: temporalio.worker.ActivityInboundInterceptor, native) -> None:
        super().__init__(next)
        self._native = native

    def init(self, outbound: temporalio.worker.ActivityOutboundInterceptor) -> None:
        super().init(_ActivityOutbound(outbound, self._native))

    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        if not self._native.wants("execute-activity"):
            return await super().execute_activity(input)
        info = temporalio.activity.info()
        converter = temporalio.activity.payload_converter()
        sent = _payloads(converter.to_payloads(list(input.args)))
        pending = self._native.activity_before(
            _activity_info(info), _headers_in(input.headers), sent
        )
        try:
            heartbeats = pending.heartbeats
            if heartbeats and info.is_local:
                _log.warning(
                    "a guest heartbeat in local activity %s is dropped: Temporal does not "
                    "heartbeat local activities",
                    info.activity_type,
                )
            elif heartbeats:
                temporalio.activity.heartbeat(
                    *[temporalio.common.RawValue(_proto(p)) for p in heartbeats[-1]]
                )
            if pending.done is None:
                args = pending.args
                if args is not None and args != sent:
                    # Decoded as the SDK decodes arguments: the activity's converter and
                    # its parameters' types.
                    defn = temporalio.activity._Definition.from_callable(input.fn)
                    types = defn.arg_types if defn is not None else None
                    input.args = converter.from_payloads(
                        [_proto(p) for p in args],
                        types if types and len(types) == len(args) else None,
                    )
                input.headers = _headers_out(pending.headers)
        except BaseException as e:
            pending.after(error=f"the adapter failed before the activity ran: {e}")
            raise
        if pending.done is not None:
            kind, value = pending.after()
            if kind == "err":
                raise _guest_failure(value, pending)
            return self._one(value, pending, "answered")
        try:
            result = await super().execute_activity(input)
        except BaseException as e:
            if not isinstance(e, Exception):
                # The activity was cancelled (by Temporal, by the worker's shutdown): the
                # SDK reports the cancellation; guests see it and cannot change it.
                _after_cancelled(pending, "execute-activity", e)
                raise
            kind, value, unchanged = _after_exception(pending, e)
            if unchanged:
                raise
            if kind == "err":
                raise _guest_failure(value, pending) from e
            return self._one(value, pending, "replaced the failure with")
        try:
            seen = _payloads(converter.to_payloads([result]))
        except BaseException as e:
            pending.after(error=f"the adapter could not encode the result: {e}")
            raise
        kind, value = pending.after(payloads=seen)
        if kind == "err":
            raise _guest_failure(value, pending)
        if value == seen:
            return result
        return self._one(value, pending, "replaced the result with")

    @staticmethod
    def _one(payloads, pending, what: str):
        """A guest's payloads as the activity's one result, passed through untouched."""
        if len(payloads) > 1:
            raise GuestError(
                f"interceptor `{pending.decided_by}` {what} {len(payloads)} payloads; an "
                "activity returns one"
            )
        return temporalio.common.RawValue(_proto(payloads[0])) if payloads else None


def _workflow_now() -> int:
    return temporalio.workflow.time_ns()


def _replaying() -> bool:
    return temporalio.workflow.unsafe.is_replaying()


def _evicting(e: Optional[BaseException] = None) -> bool:
    """Whether the SDK is evicting the current workflow instance: it cancels the run's
    tasks, which then end with ``CancelledError`` (a run waiting on a timer or a condition)
    or ``_WorkflowBeingEvictedError`` — not the run's end, nor a command's
    (``_WorkflowInstanceImpl._deleting``, temporalio 1.35; SDK-private, looked up with
    care)."""
    if e is not None and type(e).__name__ == "_WorkflowBeingEvictedError":
        return True
    try:
        return bool(getattr(temporalio.workflow._Runtime.current(), "_deleting", False))
    except Exception:
        return False


def _fail_task(err: BaseException) -> BaseException:
    """Make ``err`` fail the workflow task even if workflow code catches it: the SDK checks
    its instance's activation error after every step (``_WorkflowInstanceImpl``,
    ``_current_activation_error``, temporalio 1.35; SDK-private, so looked up with care)."""
    try:
        runtime = temporalio.workflow._Runtime.current()
        if hasattr(runtime, "_current_activation_error") and isinstance(err, Exception):
            runtime._current_activation_error = err
    except Exception:
        pass
    return err


def _control_flow(e: BaseException):
    """How guests see a run that ends by control flow, or ``None``."""
    if isinstance(e, temporalio.workflow.ContinueAsNewError):
        return ("continued as new", "ContinueAsNew", False)
    if isinstance(e, (asyncio.CancelledError, temporalio.exceptions.CancelledError)):
        return ("cancelled", "Cancelled", False)
    return None


class _WorkflowInbound(temporalio.worker.WorkflowInboundInterceptor):
    """One per workflow instance: the run's guest instances live as long as the SDK caches
    it, and replay rebuilds them. A guest failure raises ``GuestError``, which is not a
    Temporal failure, so it fails the workflow task (retried), as in Rust workers; a
    rejection of ``execute-workflow`` fails the workflow (``ApplicationError``), of a
    command fails the task."""

    _chain = None

    def init(self, outbound: temporalio.worker.WorkflowOutboundInterceptor) -> None:
        # `workflow.info()` needs the instance's outbound, which this call sets up.
        info = outbound.info()
        self._run = self._chain.workflow_run(
            {
                "namespace": info.namespace,
                "workflow_id": info.workflow_id,
                "run_id": info.run_id,
                "workflow_type": info.workflow_type,
                "task_queue": info.task_queue,
            }
        )
        super().init(_WorkflowOutbound(outbound, self._run, self._chain))

    def _begin(
        self, hook: str, detail: dict, input: Any, *, args: bool, replaying: bool, write=True
    ):
        """``before`` of an inbound hook: the call, and the arguments guests saw (payloads,
        or ``None``). Headers (and arguments guests replaced) are written into ``input``
        unless ``write`` is false (read-only hooks: an update's validator gets the same
        input object as its handler, and must not leak edits into it)."""
        converter = temporalio.workflow.payload_converter()
        sent = _payloads(converter.to_payloads(list(input.args))) if args else None
        call = self._run.before(
            hook, detail, _headers_in(input.headers), _workflow_now(), replaying, args=sent
        )
        if call.done is None and write:
            input.headers = _headers_out(call.headers)
            if args and call.args != sent:
                input.args = converter.from_payloads(
                    [_proto(p) for p in call.args], _arg_types(input.run_fn, len(call.args))
                )
        return call

    def _end(self, hook: str, call, replaying: bool, *, result, payloads: bool):
        """``after`` of an inbound hook that returned ``result`` (or was decided by a
        guest): the value to return. A guest's payloads are returned as they are
        (``RawValue``); a rejection or a guest failure raises what ``_refuse`` says."""
        seen = None
        if call.done is None and payloads:
            seen = _payloads(temporalio.workflow.payload_converter().to_payloads([result]))
        kind, value = self._run.after(
            call, _workflow_now(), replaying, payloads=seen if seen is not None else []
        )
        if kind == "err":
            raise self._refuse(hook, value, call)
        if not payloads:
            # No result to replace (a signal, a validator): handled, as in Rust workers.
            return result if call.done is None else None
        if call.done is None and value == seen:
            return result
        return self._one(hook, call, value)

    @staticmethod
    def _one(hook: str, call, value):
        """A guest's payloads as the hook's one result, passed through as they are."""
        if len(value) > 1:
            raise GuestError(
                f"interceptor `{call.decided_by}` gave `{hook}` {len(value)} results; it has one"
            )
        return temporalio.common.RawValue(_proto(value[0])) if value else None

    def _failed(self, hook: str, call, replaying: bool, e: BaseException, payloads: bool):
        """``after`` of an inbound hook whose handler raised ``e``: ``(False, None)`` when
        ``e`` stands (the caller re-raises it), ``(True, value)`` when a guest turned it into
        a result; raises when a guest replaced it with another failure (as in Rust workers,
        for any exception). Continue-as-new and cancellation can only be observed."""
        control = _control_flow(e) if hook == "execute-workflow" else None
        seen = control or _failure_of(e)
        kind, value = self._run.after(
            call,
            _workflow_now(),
            replaying,
            error=seen[0],
            error_type=seen[1],
            non_retryable=seen[2],
        )
        if (kind, value) == ("err", seen):
            return False, None
        if control is not None:
            _log.warning(
                "interceptor `%s` changed the end of a run that %s; ignored",
                call.decided_by,
                seen[0],
            )
            return False, None
        if kind == "err":
            raise self._refuse(hook, value, call) from e
        return True, (self._one(hook, call, value) if payloads else None)

    async def _inbound(
        self, hook: str, detail: dict, input: Any, call_next, *, args=False, payloads=False
    ):
        """An inbound hook whose handler is a coroutine (run, signals, updates). A guest
        failure fails the workflow task even if workflow code catches it."""
        if not self._chain.wants(hook):
            return await call_next(input)
        try:
            call = self._begin(hook, detail, input, args=args, replaying=_replaying())
            if call.done is not None:
                return self._end(hook, call, _replaying(), result=None, payloads=payloads)
        except GuestError as e:
            raise _fail_task(e)
        try:
            result = await call_next(input)
        except BaseException as e:
            if _evicting(e):
                # Not the run's end: no `after`; the run's guests go with the instance.
                self._run.close()
                raise
            try:
                replaced, value = self._failed(hook, call, _replaying(), e, payloads)
            except GuestError as failed:
                raise _fail_task(failed) from e
            if replaced:
                return value
            raise
        if _evicting():
            self._run.close()
            return result  # workflow code swallowed the eviction's cancellation: no end
        try:
            return self._end(hook, call, _replaying(), result=result, payloads=payloads)
        except GuestError as e:
            raise _fail_task(e)

    def _read_only(self, hook: str, detail: dict, input: Any, call_next, *, payloads: bool):
        """A read-only inbound hook (an update's validator, synchronous; queries use
        ``handle_query``'s copy of these steps): never replayed (queries are not in history,
        and the SDK skips validators in replay), and a guest's rejection or failure fails
        only this query or update."""
        if not self._chain.wants(hook):
            return call_next(input)
        try:
            call = self._begin(hook, detail, input, args=False, replaying=False, write=False)
            if call.done is not None:
                return self._end(hook, call, False, result=None, payloads=payloads)
            try:
                result = call_next(input)
            except BaseException as e:
                replaced, value = self._failed(hook, call, False, e, payloads)
                if replaced:
                    return value
                raise
            return self._end(hook, call, False, result=result, payloads=payloads)
        except _Refused as e:
            raise e.error from None

    async def handle_query(self, input: temporalio.worker.HandleQueryInput) -> Any:
        hook = "handle-query"
        if not self._chain.wants(hook):
            return await super().handle_query(input)
        try:
            call = self._begin(
                hook, {"name": input.query}, input, args=False, replaying=False, write=False
            )
            if call.done is not None:
                return self._end(hook, call, False, result=None, payloads=True)
            try:
                result = await super().handle_query(input)
            except BaseException as e:
                replaced, value = self._failed(hook, call, False, e, True)
                if replaced:
                    return value
                raise
            return self._end(hook, call, False, result=result, payloads=True)
        except _Refused as e:
            raise e.error from None

    def _refuse(self, hook: str, value, call) -> BaseException:
        """A guest's rejection or failure: it fails the workflow for ``execute-workflow``,
        the query for ``handle-query``, the update for ``validate-update`` and
        ``handle-update`` (an ``ApplicationError``), and the workflow task for a signal,
        as in Rust workers, never the workflow."""
        if hook in ("execute-workflow", "handle-update"):
            return _guest_failure(value, call)
        if hook in ("handle-query", "validate-update"):
            return _Refused(_guest_failure(value, call))
        return _fail_task(
            GuestError(f"interceptor `{call.decided_by}` failed `{hook}`: {value[0]}")
        )

    async def execute_workflow(self, input: temporalio.worker.ExecuteWorkflowInput) -> Any:
        return await self._inbound(
            "execute-workflow", {}, input, super().execute_workflow, args=True, payloads=True
        )

    async def handle_signal(self, input: temporalio.worker.HandleSignalInput) -> None:
        return await self._inbound(
            "handle-signal", {"name": input.signal}, input, super().handle_signal
        )

    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        return self._read_only(
            "validate-update",
            {"name": input.update, "update_id": input.id},
            input,
            super().handle_update_validator,
            payloads=False,
        )

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        return await self._inbound(
            "handle-update",
            {"name": input.update, "update_id": input.id},
            input,
            super().handle_update_handler,
            payloads=True,
        )


class _Refused(Exception):
    """Carries a read-only hook's refusal out of the adapter (internal)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _payloads(protos) -> list:
    return [(list(p.metadata.items()), bytes(p.data)) for p in protos]


def _arg_types(fn, count: int):
    """The parameter types the SDK decodes ``fn``'s arguments with, when they fit."""
    try:
        types, _ = temporalio.common._type_hints_from_func(fn)
    except Exception:
        return None
    return types if types and len(types) == count else None


class _WorkflowOutbound(temporalio.worker.WorkflowOutboundInterceptor):
    """Commands: ``before`` in the activation that issues them (headers and the editable
    ids and task queues); a rejection or a guest failure fails the workflow task."""

    def __init__(self, next, run, chain) -> None:
        super().__init__(next)
        self._run = run
        self._chain = chain

    def _command(self, hook: str, detail: dict, input: Any, *, args=None):
        """``before`` of a command: headers, editable ids and task queues, and ``args``
        (payloads, or ``None`` where guests see none) as guests left them are returned in
        the call. A refusal or a guest failure fails the workflow task even if workflow
        code catches the exception. ``None`` when no guest wants the hook."""
        if not self._chain.wants(hook) or _evicting():
            # An instance being evicted (cleanup code that catches the cancellation and
            # issues a command) is not running: its guests are not asked.
            return None
        try:
            return self._command_checked(hook, detail, input, args)
        except GuestError as e:
            raise _fail_task(e)

    def _command_checked(self, hook: str, detail: dict, input: Any, args):
        nexus = hook in _STRING_HEADER_HOOKS
        if nexus:
            incoming, headers = _nexus_headers_in(input.headers)
        else:
            headers = _headers_in(input.headers)
        call = self._run.before(
            hook, detail, headers, _workflow_now(), _replaying(), args=args
        )
        if call.done is not None:
            kind, value = self._run.after(call, _workflow_now(), _replaying())
            raise GuestError(
                f"interceptor `{call.decided_by}` refused `{hook}`: "
                f"{value[0] if kind == 'err' else 'answered a command'}"
            )
        if nexus:
            input.headers = _nexus_headers_out(incoming, call.headers, hook)
        else:
            input.headers = _headers_out(call.headers)
        edited = call.detail
        for field, attr in (("activity_id", "activity_id"), ("workflow_id", "id"), ("task_queue", "task_queue")):
            if (
                field in edited
                and edited[field]
                and hasattr(input, attr)
                and edited[field] != (getattr(input, attr) or "")
            ):
                setattr(input, attr, edited[field])
        return call

    def _resolved(self, hook: str, call, *, payloads=(), error: Optional[BaseException] = None):
        """``after`` of a command, in the activation that resolved it, with how it
        resolved. Guests can only observe it: a change (or a guest failure) fails the
        workflow task, as in Rust workers."""
        if call is None:
            return
        try:
            if error is not None:
                seen = _control_flow(error) or _failure_of(error)
                kind, value = self._run.after(
                    call,
                    _workflow_now(),
                    _replaying(),
                    error=seen[0],
                    error_type=seen[1],
                    non_retryable=seen[2],
                )
                unchanged = (kind, value) == ("err", seen)
            else:
                kind, value = self._run.after(
                    call, _workflow_now(), _replaying(), payloads=list(payloads)
                )
                unchanged = (kind, value) == ("ok", list(payloads))
            if not unchanged:
                raise GuestError(
                    f"interceptor `{call.decided_by}` changed the outcome of `{hook}`, which "
                    "can only be observed"
                )
        except GuestError as e:
            raise _fail_task(e)

    def _on_done(self, hook: str, call, handle) -> None:
        """Run ``after`` of a command whose handle (an ``asyncio`` task the workflow awaits)
        resolves later: when it does, in the activation that resolves it."""
        if call is None:
            return

        def done(task) -> None:
            if _evicting():
                return  # not how the command resolved: the instance is going away
            try:
                if task.cancelled():
                    self._resolved(hook, call, error=asyncio.CancelledError())
                elif task.exception() is not None:
                    self._resolved(hook, call, error=task.exception())
                else:
                    # As in Rust workers: guests see that it completed, not its result.
                    self._resolved(hook, call)
            except GuestError:
                pass  # `_resolved` set the activation error: the workflow task fails.
            except BaseException as e:
                _fail_task(GuestError(f"`after` of `{hook}` failed in the adapter: {e}"))

        handle.add_done_callback(done)

    @staticmethod
    def _encoded(value) -> list:
        return _payloads(temporalio.workflow.payload_converter().to_payloads([value]))

    def start_activity(self, input):
        call = self._command(
            "schedule-activity",
            {
                "activity_type": input.activity,
                "activity_id": input.activity_id or "",
                "task_queue": input.task_queue or "",
            },
            input,
        )
        handle = super().start_activity(input)
        self._on_done("schedule-activity", call, handle)
        return handle

    def start_local_activity(self, input):
        call = self._command(
            "schedule-local-activity",
            {"activity_type": input.activity, "activity_id": input.activity_id or ""},
            input,
        )
        handle = super().start_local_activity(input)
        self._on_done("schedule-local-activity", call, handle)
        return handle

    async def _awaited(self, hook: str, call, started):
        """Await a command the SDK resolves before returning (a child's start, a signal, a
        Nexus operation's start), then its ``after``."""
        try:
            result = await started
        except BaseException as e:
            if not _evicting(e):
                self._resolved(hook, call, error=e)
            raise
        return result

    async def start_child_workflow(self, input):
        hook = "start-child-workflow"
        call = self._command(
            hook,
            {
                "workflow_type": input.workflow,
                "workflow_id": input.id,
                "task_queue": input.task_queue or "",
            },
            input,
        )
        # `after` sees whether the child started (as in Rust workers), not its result.
        handle = await self._awaited(hook, call, super().start_child_workflow(input))
        self._resolved(hook, call)
        return handle

    async def signal_child_workflow(self, input):
        hook = "signal-external-workflow"
        call = self._command(
            hook,
            {"name": input.signal, "workflow_id": input.child_workflow_id, "child": True},
            input,
        )
        await self._awaited(hook, call, super().signal_child_workflow(input))
        self._resolved(hook, call)

    async def signal_external_workflow(self, input):
        hook = "signal-external-workflow"
        call = self._command(
            hook,
            {"name": input.signal, "workflow_id": input.workflow_id, "run_id": input.workflow_run_id or ""},
            input,
        )
        await self._awaited(hook, call, super().signal_external_workflow(input))
        self._resolved(hook, call)

    async def start_nexus_operation(self, input):
        """Nexus headers are strings: guests see them lowercased, each as a ``json/plain``
        string payload; the input is the call's one argument; ``after`` sees the operation
        token (one string payload) when it started asynchronously, nothing when it
        completed synchronously, or the start's failure.

        Temporal's system Nexus operations (``workflow.signal_with_start_workflow``, on the
        ``__temporal_system`` endpoint) reach no guest: the SDK sends them through
        ``start_signal_with_start_workflow`` and ``start_system_nexus_operation``, which this
        adapter leaves as they are, and Temporal refuses Nexus headers on that endpoint."""
        hook = "start-nexus-operation"
        sent = (
            self._encoded(input.input) if self._chain.wants(hook) else None
        )
        timeout = input.schedule_to_close_timeout
        call = self._command(
            hook,
            {
                "endpoint": input.endpoint,
                "service": input.service,
                "operation": input.operation_name,
                "schedule_to_close_timeout": 0
                if timeout is None
                else int(timeout.total_seconds() * 1_000_000_000),
            },
            input,
            args=sent,
        )
        if call is not None and call.args != sent:
            args = call.args
            if len(args) > 1:
                raise _fail_task(
                    GuestError(
                        f"interceptor `{call.decided_by}` gave a Nexus operation {len(args)} "
                        "inputs; it takes one"
                    )
                )
            input.input = temporalio.common.RawValue(_proto(args[0])) if args else None
        handle = await self._awaited(hook, call, super().start_nexus_operation(input))
        token = handle.operation_token
        self._resolved(hook, call, payloads=[_string_header(token)] if token else [])
        return handle

    def continue_as_new(self, input):
        call = self._command(
            "continue-as-new",
            {"workflow_type": input.workflow or "", "task_queue": input.task_queue or ""},
            input,
        )
        # The run ends here: `after` sees the continuation started (the Rust adapter's
        # command resolves the same way).
        self._resolved("continue-as-new", call)
        return super().continue_as_new(input)
