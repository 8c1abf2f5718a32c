"""Interpose for the Temporal Python SDK: WebAssembly interceptors, sandboxed, from one config.

    import interpose
    from temporalio.client import Client

    chain = interpose.load("interpose.toml")   # every guest compiled and checked, or an error
    client = await Client.connect("localhost:7233", interceptors=[chain])

``load`` reads the same ``interpose.toml`` as the Rust host and runs the same guest
components (Rust, Python, JavaScript, C) through the same runtime: fuel, memory, deadline and
output limits, failure policies. The object it returns is a ``temporalio.client.Interceptor``
and a ``temporalio.worker.Interceptor``: register it on ``Client.connect(interceptors=...)``
(workers built from that client use it too) or on ``Worker(interceptors=...)``.

What this release adapts (the rest of ``temporalio.client.OutboundInterceptor`` passes
through untouched, and a guest that declares those hooks is never called for them):

- ``start_workflow`` (``start-workflow``, or ``signal-with-start-workflow`` with a start
  signal), ``signal_workflow``, ``query_workflow``, ``start_workflow_update``,
  ``start_update_with_start_workflow`` (headers, detail; the editable ids and task queue are
  written back), ``cancel_workflow``, ``terminate_workflow``, ``describe_workflow``,
  ``count_workflows`` (detail only: no headers);
- guests see no arguments and no results as payloads here (the SDK hands interceptors
  decoded values); a guest that rejects raises ``temporalio.exceptions.ApplicationError``
  with its message and type; a guest that fails raises ``interpose.GuestError`` naming the
  guest, the hook, the phase and the cause.

- activities (``execute-activity``): headers, the arguments and the result as payloads through
  the default payload converter (guests may replace them), the attempt's info, heartbeats a
  guest records sent with ``activity.heartbeat``; a rejection or a guest's failure fails the
  attempt (``ApplicationError``, ``GuestError``).

- workflows (``execute-workflow``, ``handle-signal``; commands: ``schedule-activity``,
  ``schedule-local-activity``, ``start-child-workflow``, ``signal-external-workflow``,
  ``continue-as-new``): one guest instance set per workflow instance the SDK caches, workflow
  time from ``workflow.now()``, the replay flag from ``workflow.unsafe.is_replaying()``,
  headers and editable ids and task queues. A guest failure, a refused command or a rejected
  signal fails the workflow task, even if workflow code catches the exception (the adapter
  sets the SDK's activation error, SDK-private: temporalio 1.35); a rejected
  ``execute-workflow`` fails the workflow; continue-as-new and cancellation are seen as
  failures of type ``ContinueAsNew`` / ``Cancelled`` and cannot be changed; an eviction runs
  no ``after`` and releases the run's guests. A worker configured with
  ``workflow_failure_exception_types`` that covers ``interpose.GuestError`` turns guest
  failures into workflow failures. The
  worker's sandbox must pass the package through:
  ``SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("interpose"))``.
  Not yet: queries, updates, Nexus, workflow arguments and results as payloads, the
  commands' ``after`` in the activation that resolves them (it runs at once).

Guest log lines go to Python ``logging`` (logger ``interpose``).
"""

from __future__ import annotations

import asyncio

from datetime import datetime, timezone
from typing import Any, Mapping, Optional

import logging

import temporalio.activity
import temporalio.api.common.v1
import temporalio.client
import temporalio.common
import temporalio.converter
import temporalio.exceptions
import temporalio.worker
import temporalio.workflow

from ._native import GuestError, InterposeError  # noqa: F401  (re-exported)
from ._native import load as _load

__all__ = ["ADAPTED", "Interpose", "GuestError", "InterposeError", "load"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


#: The hooks this package runs; a guest's other hooks are never called in Python (yet).
ADAPTED = frozenset(
    {
        "start-workflow",
        "signal-with-start-workflow",
        "signal-workflow",
        "query-workflow",
        "start-workflow-update",
        "update-with-start-workflow",
        "cancel-workflow",
        "terminate-workflow",
        "describe-workflow",
        "count-workflows",
        "execute-activity",
        "execute-workflow",
        "handle-signal",
        "schedule-activity",
        "schedule-local-activity",
        "start-child-workflow",
        "signal-external-workflow",
        "continue-as-new",
    }
)

_log = logging.getLogger("interpose")


def load(path: str) -> "Interpose":
    """Load ``path`` (an ``interpose.toml``) and every guest it names, in order.

    Raises ``InterposeError`` with one message naming the file, the guest and why when the
    config or a guest is invalid: nothing is half-loaded. Hooks a guest declares that this
    package does not run yet are logged (logger ``interpose``, warning).
    """
    native = _load(str(path))
    missing = sorted(set(native.declared()) - ADAPTED)
    if missing:
        _log.warning(
            "%s: hooks declared by its guests that Python workers and clients do not run "
            "yet: %s",
            path,
            ", ".join(missing),
        )
    return Interpose(native)


class Interpose(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """One loaded chain: a client interceptor and a worker interceptor (activities).

    Register it once: on ``Client.connect(interceptors=[...])`` (workers built from that
    client use it too) or on ``Worker(interceptors=[...])``, not both (its guests would run
    twice).
    """

    def __init__(self, native) -> None:
        self._native = native

    @property
    def fingerprint(self) -> str:
        """The chain's fingerprint: guests, hashes, limits and config."""
        return self._native.fingerprint

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


def _after_exception(pending, e: BaseException):
    """``after`` with the real call's exception: (kind, value, whether guests left it)."""
    seen = _failure_of(e)
    kind, value = pending.after(error=seen[0], error_type=seen[1], non_retryable=seen[2])
    return kind, value, (kind, value) == ("err", seen)


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
        pending = self._native.client_before(
            hook, detail, _headers_in(headers[0].headers) if headers else []
        )
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
                h.headers = _headers_out(pending.headers)
            edited = pending.detail
            for field, attr in (("workflow_id", "id"), ("task_queue", "task_queue"), ("query", "query")):
                if field in detail and hasattr(input, attr) and edited[field] != detail[field]:
                    setattr(input, attr, edited[field])
            result = await call_next(input)
        except BaseException as e:
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


class _ActivityInbound(temporalio.worker.ActivityInboundInterceptor):
    """``execute-activity``: headers, the arguments and the result as payloads (the
    activity's payload converter), heartbeats guests record sent with
    ``activity.heartbeat`` (dropped for local activities, which Temporal does not
    heartbeat). Guests' payloads reach the SDK as they are (``RawValue``)."""

    def __init__(self, next: temporalio.worker.ActivityInboundInterceptor, native) -> None:
        super().__init__(next)
        self._native = native

    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        if not self._native.wants("execute-activity"):
            return await super().execute_activity(input)
        info = temporalio.activity.info()
        converter = temporalio.activity.payload_converter()
        sent = [
            (list(p.metadata.items()), bytes(p.data))
            for p in converter.to_payloads(list(input.args))
        ]
        pending = self._native.activity_before(
            {
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
            },
            _headers_in(input.headers),
            sent,
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
            kind, value, unchanged = _after_exception(pending, e)
            if unchanged:
                raise
            if kind == "err":
                raise _guest_failure(value, pending) from e
            return self._one(value, pending, "replaced the failure with")
        try:
            seen = [
                (list(p.metadata.items()), bytes(p.data)) for p in converter.to_payloads([result])
            ]
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

    def _refuse(self, hook: str, value, call) -> BaseException:
        """A guest's rejection or failure: it fails the workflow for ``execute-workflow``
        (an ``ApplicationError``) and the workflow task elsewhere (a signal's rejection
        fails the task, as in Rust workers, never the workflow)."""
        if hook == "execute-workflow":
            return _guest_failure(value, call)
        return _fail_task(
            GuestError(f"interceptor `{call.decided_by}` failed `{hook}`: {value[0]}")
        )

    async def _inbound(self, hook: str, detail: dict, input: Any, call_next):
        if not self._chain.wants(hook):
            return await call_next(input)
        try:
            call = self._run.before(
                hook, detail, _headers_in(input.headers), _workflow_now(), _replaying()
            )
        except GuestError as e:
            raise _fail_task(e)
        if call.done is not None:
            kind, value = self._run.after(call, _workflow_now(), _replaying())
            if kind == "err":
                raise self._refuse(hook, value, call)
            raise _fail_task(GuestError(f"interceptor `{call.decided_by}` answered `{hook}`"))
        input.headers = _headers_out(call.headers)
        try:
            result = await call_next(input)
        except BaseException as e:
            if type(e).__name__ == "_WorkflowBeingEvictedError":
                # Not the run's end: no `after`; the run's guests go with the instance.
                self._run.close()
                raise
            control = _control_flow(e) if hook == "execute-workflow" else None
            seen = control or _failure_of(e)
            try:
                kind, value = self._run.after(
                    call,
                    _workflow_now(),
                    _replaying(),
                    error=seen[0],
                    error_type=seen[1],
                    non_retryable=seen[2],
                )
            except GuestError as failed:
                raise _fail_task(failed) from e
            changed = (kind, value) != ("err", seen)
            if changed and control is not None:
                # Continue-as-new and cancellation can only be observed.
                _log.warning(
                    "interceptor `%s` changed the end of a run that %s; ignored",
                    call.decided_by,
                    seen[0],
                )
            elif changed and kind == "err" and isinstance(e, temporalio.exceptions.FailureError):
                raise self._refuse(hook, value, call) from e
            elif changed:
                _log.warning(
                    "interceptor `%s` changed how `%s` failed; ignored: only a Temporal "
                    "failure can be replaced",
                    call.decided_by,
                    hook,
                )
            raise
        try:
            kind, value = self._run.after(call, _workflow_now(), _replaying(), payloads=[])
        except GuestError as e:
            raise _fail_task(e)
        if kind == "err":
            raise self._refuse(hook, value, call)
        if value:
            raise _fail_task(
                GuestError(
                    f"interceptor `{call.decided_by}` replaced the result of `{hook}`, which "
                    "Python workers do not support yet"
                )
            )
        return result

    async def execute_workflow(self, input: temporalio.worker.ExecuteWorkflowInput) -> Any:
        return await self._inbound("execute-workflow", {}, input, super().execute_workflow)

    async def handle_signal(self, input: temporalio.worker.HandleSignalInput) -> None:
        return await self._inbound(
            "handle-signal", {"name": input.signal}, input, super().handle_signal
        )


class _WorkflowOutbound(temporalio.worker.WorkflowOutboundInterceptor):
    """Commands: ``before`` in the activation that issues them (headers and the editable
    ids and task queues); a rejection or a guest failure fails the workflow task."""

    def __init__(self, next, run, chain) -> None:
        super().__init__(next)
        self._run = run
        self._chain = chain

    def _command(self, hook: str, detail: dict, input: Any) -> None:
        """``before`` (and, in this slice, ``after``) of a command. A refusal or a guest
        failure fails the workflow task even if workflow code catches the exception."""
        if not self._chain.wants(hook):
            return
        try:
            self._command_checked(hook, detail, input)
        except GuestError as e:
            raise _fail_task(e)

    def _command_checked(self, hook: str, detail: dict, input: Any) -> None:
        call = self._run.before(
            hook, detail, _headers_in(input.headers), _workflow_now(), _replaying()
        )
        if call.done is not None:
            kind, value = self._run.after(call, _workflow_now(), _replaying())
            raise GuestError(
                f"interceptor `{call.decided_by}` refused `{hook}`: "
                f"{value[0] if kind == 'err' else 'answered a command'}"
            )
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
        # `after` of a command observes how it resolved; this slice runs it at once, with
        # success. A guest that changes it fails the task, as in Rust workers.
        kind, value = self._run.after(call, _workflow_now(), _replaying(), payloads=[])
        if (kind, value) != ("ok", []):
            raise GuestError(
                f"interceptor `{call.decided_by}` changed the result of `{hook}`, which can "
                "only be observed"
            )

    def start_activity(self, input):
        self._command(
            "schedule-activity",
            {
                "activity_type": input.activity,
                "activity_id": input.activity_id or "",
                "task_queue": input.task_queue or "",
            },
            input,
        )
        return super().start_activity(input)

    def start_local_activity(self, input):
        self._command(
            "schedule-local-activity",
            {"activity_type": input.activity, "activity_id": input.activity_id or ""},
            input,
        )
        return super().start_local_activity(input)

    async def start_child_workflow(self, input):
        self._command(
            "start-child-workflow",
            {
                "workflow_type": input.workflow,
                "workflow_id": input.id,
                "task_queue": input.task_queue or "",
            },
            input,
        )
        return await super().start_child_workflow(input)

    async def signal_child_workflow(self, input):
        self._command(
            "signal-external-workflow",
            {"name": input.signal, "workflow_id": input.child_workflow_id, "child": True},
            input,
        )
        return await super().signal_child_workflow(input)

    async def signal_external_workflow(self, input):
        self._command(
            "signal-external-workflow",
            {"name": input.signal, "workflow_id": input.workflow_id, "run_id": input.workflow_run_id or ""},
            input,
        )
        return await super().signal_external_workflow(input)

    def continue_as_new(self, input):
        self._command(
            "continue-as-new",
            {"workflow_type": input.workflow or "", "task_queue": input.task_queue or ""},
            input,
        )
        return super().continue_as_new(input)

