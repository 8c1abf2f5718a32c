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

Guest log lines go to Python ``logging`` (logger ``interpose``). Workflow interceptors are not
adapted yet: a guest's workflow hooks are not called in Python workers.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import temporalio.activity
import temporalio.api.common.v1
import temporalio.client
import temporalio.converter
import temporalio.exceptions
import temporalio.worker

from ._native import GuestError, InterposeError  # noqa: F401  (re-exported)
from ._native import load as _load

__all__ = ["Interpose", "GuestError", "InterposeError", "load"]


def load(path: str) -> "Interpose":
    """Load ``path`` (an ``interpose.toml``) and every guest it names, in order.

    Raises ``InterposeError`` with one message naming the file, the guest and why when the
    config or a guest is invalid: nothing is half-loaded.
    """
    return Interpose(_load(str(path)))


class Interpose(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """One loaded chain: a client interceptor and a worker interceptor (activities)."""

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


def _headers_in(headers: Optional[Mapping[str, temporalio.api.common.v1.Payload]]):
    return [
        (k, (list(p.metadata.items()), bytes(p.data))) for k, p in (headers or {}).items()
    ]


def _headers_out(pairs) -> dict:
    return {
        k: temporalio.api.common.v1.Payload(metadata=dict(md), data=data)
        for k, (md, data) in pairs
    }


def _nanos(t) -> int:
    return int(t.timestamp() * 1_000_000_000) if t is not None else 0


def _to_payloads(values) -> list:
    converter = temporalio.converter.default().payload_converter
    return [(list(p.metadata.items()), bytes(p.data)) for p in converter.to_payloads(values)]


def _from_payloads(pairs) -> list:
    converter = temporalio.converter.default().payload_converter
    return converter.from_payloads(
        [temporalio.api.common.v1.Payload(metadata=dict(md), data=data) for md, data in pairs]
    )


def _raise_failure(failure) -> None:
    message, error_type, non_retryable = failure
    raise temporalio.exceptions.ApplicationError(
        message, type=error_type or None, non_retryable=non_retryable
    )


class _ClientOutbound(temporalio.client.OutboundInterceptor):
    def __init__(self, next: temporalio.client.OutboundInterceptor, native) -> None:
        super().__init__(next)
        self._native = native

    async def _run(self, hook: str, detail: dict, input: Any, call_next, headers: bool):
        """``before``, the real call (unless a guest decided), ``after``."""
        if not self._native.wants(hook):
            return await call_next(input)
        pending = self._native.client_before(
            hook, detail, _headers_in(input.headers) if headers else []
        )
        if pending.done is None:
            if headers:
                input.headers = _headers_out(pending.headers)
            edited = pending.detail
            if "workflow_id" in detail and hasattr(input, "id"):
                input.id = edited["workflow_id"]
            if "task_queue" in detail and hasattr(input, "task_queue"):
                input.task_queue = edited["task_queue"]
            try:
                result = await call_next(input)
            except Exception as e:
                kind, value = pending.after(error=str(e))
                if kind == "err" and value[0] == str(e):
                    raise
                if kind == "err":
                    _raise_failure(value)
                raise
            kind, value = pending.after(payloads=[])
            if kind == "err":
                _raise_failure(value)
            return result
        kind, value = pending.after()
        if kind == "err":
            _raise_failure(value)
        raise InterposeError(f"a guest answered `{hook}`, which cannot be answered")

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
        return await self._run(hook, detail, input, super().start_workflow, True)

    async def signal_workflow(self, input: temporalio.client.SignalWorkflowInput) -> None:
        detail = {"workflow_id": input.id, "run_id": input.run_id, "name": input.signal}
        return await self._run("signal-workflow", detail, input, super().signal_workflow, True)

    async def query_workflow(self, input: temporalio.client.QueryWorkflowInput) -> Any:
        detail = {"workflow_id": input.id, "run_id": input.run_id, "name": input.query}
        return await self._run("query-workflow", detail, input, super().query_workflow, True)

    async def start_workflow_update(self, input: temporalio.client.StartWorkflowUpdateInput):
        detail = {"workflow_id": input.id, "run_id": input.run_id, "name": input.update}
        return await self._run(
            "start-workflow-update", detail, input, super().start_workflow_update, True
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
        if not self._native.wants("update-with-start-workflow"):
            return await super().start_update_with_start_workflow(input)
        pending = self._native.client_before(
            "update-with-start-workflow", detail, _headers_in(start.headers)
        )
        if pending.done is not None:
            kind, value = pending.after()
            if kind == "err":
                _raise_failure(value)
            raise InterposeError("a guest answered `update-with-start-workflow`")
        start.headers = _headers_out(pending.headers)
        start.id = pending.detail["workflow_id"]
        start.task_queue = pending.detail["task_queue"]
        try:
            result = await super().start_update_with_start_workflow(input)
        except Exception as e:
            kind, value = pending.after(error=str(e))
            if kind == "err" and value[0] != str(e):
                _raise_failure(value)
            raise
        kind, value = pending.after(payloads=[])
        if kind == "err":
            _raise_failure(value)
        return result

    async def cancel_workflow(self, input: temporalio.client.CancelWorkflowInput) -> None:
        detail = {"workflow_id": input.id, "run_id": input.run_id}
        return await self._run("cancel-workflow", detail, input, super().cancel_workflow, False)

    async def terminate_workflow(self, input: temporalio.client.TerminateWorkflowInput) -> None:
        detail = {"workflow_id": input.id, "run_id": input.run_id}
        return await self._run(
            "terminate-workflow", detail, input, super().terminate_workflow, False
        )

    async def describe_workflow(self, input: temporalio.client.DescribeWorkflowInput):
        detail = {"workflow_id": input.id, "run_id": input.run_id}
        return await self._run(
            "describe-workflow", detail, input, super().describe_workflow, False
        )

    async def count_workflows(self, input: temporalio.client.CountWorkflowsInput):
        detail = {"query": input.query or ""}
        return await self._run("count-workflows", detail, input, super().count_workflows, False)


class _ActivityInbound(temporalio.worker.ActivityInboundInterceptor):
    """``execute-activity``: headers, the arguments and the result as payloads (through the
    default payload converter), heartbeats guests record sent with ``activity.heartbeat``."""

    def __init__(self, next: temporalio.worker.ActivityInboundInterceptor, native) -> None:
        super().__init__(next)
        self._native = native

    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        if not self._native.wants("execute-activity"):
            return await super().execute_activity(input)
        info = temporalio.activity.info()
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
            _to_payloads(list(input.args)),
        )
        for details in pending.heartbeats:
            temporalio.activity.heartbeat(*_from_payloads(details))
        if pending.done is not None:
            kind, value = pending.after()
            if kind == "err":
                _raise_failure(value)
            answered = _from_payloads(value)
            return answered[0] if answered else None
        args = pending.args
        input.args = _from_payloads(args) if args is not None else input.args
        input.headers = _headers_out(pending.headers)
        try:
            result = await super().execute_activity(input)
        except Exception as e:
            kind, value = pending.after(error=str(e))
            if kind == "err" and value[0] == str(e):
                raise
            if kind == "err":
                _raise_failure(value)
            replaced = _from_payloads(value)
            return replaced[0] if replaced else None
        seen = _to_payloads([result])
        kind, value = pending.after(payloads=seen)
        if kind == "err":
            _raise_failure(value)
        if value == seen:
            return result
        replaced = _from_payloads(value)
        return replaced[0] if replaced else None

