"""Interpose guest helpers for Python (componentize-py).

Subclass :class:`Interceptor`, write only the hooks you want, and export it::

    import interpose_guest as ig

    class StampUser(ig.Interceptor):
        def before_start_workflow(self, call):
            if call.header("user-id") is None:
                call.set_header("user-id", ig.json_string(ig.config.get("user-id") or "anonymous"))

    Client, WorkflowInbound, WorkflowOutbound, ActivityInbound = ig.export(StampUser)

Hook methods are ``before_<hook>`` / ``after_<hook>`` (``before_start_workflow``,
``after_execute_activity``, ...) or ``before_<category>`` / ``after_<category>`` for every hook
of a category (``client``, ``workflow_inbound``, ``workflow_outbound``, ``activity_inbound``).
A hook-specific method wins over its category's. The guest's interests are derived from the
methods the subclass defines, so the host never calls it for anything else.

``before_*`` returns ``None`` (proceed), :func:`reject` or :func:`respond`; ``after_*`` returns
``None`` (keep), :func:`replace` or :func:`fail`. An exception that escapes a hook is a guest
failure: the host applies the guest's ``on-failure`` policy and the call is left unedited.

One instance of the subclass lives as long as the guest instance: for workflow hooks that is
one workflow run, so attributes are per-run state (see the README's "Instances").
"""

# Everything is imported at module level: componentize-py snapshots the interpreter after
# the app module is imported, and a module first imported inside a hook is not in the
# component (`ModuleNotFoundError` at call time).
import json
from typing import Callable, Dict, List, Optional, Tuple

from componentize_py_types import Err
from wit_world.imports import (  # noqa: F401  (re-exported for guests)
    activity_context,
    config,
    log,
    metrics,
    types,
    workflow_context,
)
from wit_world.imports.types import Call, Failure, Hook, Outcome, Payload  # noqa: F401

# BEGIN hook catalogue, generated from wit/types.wit by `cargo xtask catalogue`: do not edit
#: Hooks per category, as the snake-case names used in method names.
CATEGORIES: Dict[str, Tuple[str, ...]] = {
    "client": (
        "start_workflow",
        "signal_with_start_workflow",
        "signal_workflow",
        "query_workflow",
        "start_workflow_update",
        "update_with_start_workflow",
        "poll_workflow_update",
        "cancel_workflow",
        "terminate_workflow",
        "describe_workflow",
        "list_workflows",
        "count_workflows",
        "fetch_workflow_history",
        "create_schedule",
        "list_schedules",
        "describe_schedule",
        "update_schedule",
        "send_schedule_update",
        "delete_schedule",
        "pause_schedule",
        "unpause_schedule",
        "trigger_schedule",
        "backfill_schedule",
        "complete_async_activity",
        "fail_async_activity",
        "report_async_activity_cancellation",
        "heartbeat_async_activity",
    ),
    "workflow_inbound": (
        "initialize_workflow",
        "execute_workflow",
        "handle_signal",
        "handle_query",
        "validate_update",
        "handle_update",
    ),
    "workflow_outbound": (
        "schedule_activity",
        "schedule_local_activity",
        "start_child_workflow",
        "signal_external_workflow",
        "cancel_external_workflow",
        "continue_as_new",
        "start_timer",
    ),
    "activity_inbound": (
        "execute_activity",
    ),
}
# END hook catalogue

PROCEED = types.BeforeDecision_Proceed()
KEEP = types.AfterDecision_Keep()


class Interceptor:
    """Base class: every hook passes through. Override the ones you need."""


def failure(message: str, error_type: str = "", non_retryable: bool = False,
            details: Optional[List[Payload]] = None) -> Failure:
    """A failure to reject a call with (``reject``) or to fail it with (``fail``)."""
    return Failure(message, error_type, non_retryable, details or [])


def reject(message: str, error_type: str = "", non_retryable: bool = False) -> types.BeforeDecision:
    """``before``: fail the call; the rest of the chain and the real call do not run."""
    return types.BeforeDecision_Reject(failure(message, error_type, non_retryable))


def respond(payloads: List[Payload]) -> types.BeforeDecision:
    """``before``: answer the call with ``payloads`` (hooks whose result is payloads only)."""
    return types.BeforeDecision_Respond(list(payloads))


def replace(payloads: List[Payload]) -> types.AfterDecision:
    """``after``: replace the outcome with a success carrying ``payloads``."""
    return types.AfterDecision_Replace(list(payloads))


def fail(message: str, error_type: str = "", non_retryable: bool = False) -> types.AfterDecision:
    """``after``: replace the outcome with a failure."""
    return types.AfterDecision_Fail(failure(message, error_type, non_retryable))


def json_string(value: str) -> Payload:
    """A payload as Temporal's default converter encodes a string (``json/plain``)."""
    return Payload([("encoding", b"json/plain")], json.dumps(value).encode())


def as_json_string(payload: Optional[Payload]) -> Optional[str]:
    """The string a ``json/plain`` payload holds, or ``None``."""
    if payload is None:
        return None
    try:
        value = json.loads(payload.data)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def header_string(call: Call, key: str) -> Optional[str]:
    """The string a ``json/plain`` header holds, or ``None``."""
    return as_json_string(call.header(key))


def set_header(call: Call, key: str, value: Payload) -> bool:
    """Add or replace a header; ``False`` when the hook refuses edits (read-only hooks)."""
    try:
        call.set_header(key, value)
        return True
    except Err:
        return False


def hook_name(hook: Hook) -> str:
    """The snake-case name of a hook (``start_workflow``)."""
    return hook.name.lower()


def _method(cls: type, phase: str, category: str, hook: str) -> Optional[Callable]:
    for name in (f"{phase}_{hook}", f"{phase}_{category}"):
        if getattr(cls, name, None) is not None:
            return getattr(cls, name)
    return None


def export(cls: type) -> tuple:
    """The four export classes componentize-py looks for in the app module, dispatching to
    one instance of ``cls``: ``Client, WorkflowInbound, WorkflowOutbound, ActivityInbound``."""
    state: List[Interceptor] = []

    def instance() -> Interceptor:
        if not state:
            state.append(cls())
        return state[0]

    def category_class(category: str) -> type:
        hooks = CATEGORIES[category]
        table = {
            getattr(Hook, h.upper()): (
                _method(cls, "before", category, h),
                _method(cls, "after", category, h),
            )
            for h in hooks
        }
        interests = []
        for hook, (before, after) in table.items():
            phases = None
            if before is not None:
                phases = types.Phases.BEFORE
            if after is not None:
                phases = types.Phases.AFTER if phases is None else phases | types.Phases.AFTER
            if phases is not None:
                interests.append(types.Interest(hook, phases))

        class Export:
            def interests(self) -> List[types.Interest]:
                return list(interests)

            def before(self, call: Call) -> types.BeforeDecision:
                method = table[call.hook()][0]
                decision = method(instance(), call) if method else None
                return PROCEED if decision is None else decision

            def after(self, call: Call, outcome: Outcome) -> types.AfterDecision:
                method = table[call.hook()][1]
                decision = method(instance(), call, outcome) if method else None
                return KEEP if decision is None else decision

        Export.__name__ = "".join(w.capitalize() for w in category.split("_"))
        return Export

    return tuple(category_class(c) for c in CATEGORIES)
