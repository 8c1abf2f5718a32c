"""Interpose guest helpers for Python (componentize-py).

Subclass :class:`Interceptor`, write only the hooks you want, and export it::

    import interpose_guest as ig

    class StampUser(ig.Interceptor):
        reads = ("user-id",)

        def before_start_workflow(self, call):
            if call.header("user-id") is None:
                call.set_header("user-id", ig.json_string(ig.config.get("user-id") or "anonymous"))

    Client, WorkflowInbound, WorkflowOutbound, ActivityInbound, ActivityOutbound = ig.export(StampUser)

Hook methods are ``before_<hook>`` / ``after_<hook>`` (``before_start_workflow``,
``after_execute_activity``, ...) or ``before_<category>`` / ``after_<category>`` for every hook
of a category (``client``, ``workflow_inbound``, ``workflow_outbound``, ``activity_inbound``,
``activity_outbound``).
A hook-specific method wins over its category's. The guest's interests are derived from the
methods the subclass defines, so the host never calls it for anything else.

Contract 0.2 makes the common hop one crossing into the guest: the headers a guest reads are
declared — ``reads = ("user-id", ...)`` on the class for every hook, ``@ig.reads("key")`` on a
method for its hooks, ``ig.ALL`` for every header — and arrive with the hook; ``call.header``
of an undeclared key still works, one crossing into the host per read. Header edits
(``call.set_header``, ``call.remove_header``) are kept in the guest and returned with the
decision; the host applies them only if the hook returns normally.

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
    tracing,
    types,
    workflow_context,
)
from wit_world.imports.types import Failure, HeaderAccess, Hook, Payload  # noqa: F401

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
        "start_activity",
        "cancel_activity",
        "terminate_activity",
        "pause_activity",
        "unpause_activity",
        "update_activity_options",
        "describe_activity",
        "list_activities",
        "count_activities",
        "start_standalone_nexus_operation",
        "describe_nexus_operation",
        "get_nexus_operation_result",
        "cancel_nexus_operation",
        "terminate_nexus_operation",
        "list_nexus_operations",
        "count_nexus_operations",
        "update_worker_build_id_compatibility",
        "get_worker_build_id_compatibility",
        "get_worker_task_reachability",
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
        "start_nexus_operation",
    ),
    "activity_inbound": (
        "execute_activity",
    ),
    "activity_outbound": (
        "activity_heartbeat",
    ),
}
# END hook catalogue

KEEP = types.AfterDecision_Keep()

#: Declares every header: ``reads = ig.ALL`` or ``@ig.reads(ig.ALL)``.
ALL = "*all*"


class Interceptor:
    """Base class: every hook passes through. Override the ones you need.

    ``reads``: the header keys every hook of the subclass reads (or :data:`ALL`); handed to
    the hooks with the call, so that reading them costs no crossing into the host."""

    reads: Tuple[str, ...] = ()


class EditRefused(Exception):
    """A header edit the hook does not allow (read-only hooks, operations without headers,
    ``after``)."""


def reads(*keys: str) -> Callable:
    """Decorator: the header keys a hook method reads (``ig.ALL`` for every header)."""

    def mark(method: Callable) -> Callable:
        method.__interpose_reads__ = tuple(keys)
        return method

    return mark


class Call:
    """The call being intercepted. Declared headers are read here; header edits are kept
    here and returned with the decision. ``detail``, the arguments and undeclared headers are
    fetched from the host (one crossing each)."""

    __slots__ = ("_raw", "_hook", "_headers", "_all", "_keys", "_access", "_edits")

    def __init__(self, raw, hook, headers, declared, access):
        self._raw = raw
        self._hook = hook
        self._headers = dict(headers)
        self._all = declared is None
        self._keys = declared or ()
        self._access = access
        self._edits = []

    def hook(self) -> Hook:
        """Which hook this is."""
        return self._hook

    def detail(self):
        """The typed detail of the call (a ``CallDetail`` variant)."""
        return self._raw.detail()

    def set_detail(self, detail) -> None:
        """Replace the editable fields of the detail (raises ``Err`` when refused)."""
        self._raw.set_detail(detail)

    def header(self, key: str) -> Optional[Payload]:
        """One header as this hook sees it (its own edits applied)."""
        for edit in reversed(self._edits):
            if isinstance(edit, types.HeaderEdit_Set) and edit.value[0] == key:
                return edit.value[1]
            if isinstance(edit, types.HeaderEdit_Remove) and edit.value == key:
                return None
        if self._all or key in self._keys:
            return self._headers.get(key)
        return self._raw.header(key)

    def header_keys(self) -> List[str]:
        """Names of all headers, with this hook's edits applied (one crossing)."""
        keys = list(self._raw.header_keys())
        for edit in self._edits:
            if isinstance(edit, types.HeaderEdit_Set):
                if edit.value[0] not in keys:
                    keys.append(edit.value[0])
            else:
                keys = [k for k in keys if k != edit.value]
        return sorted(keys)

    def _editable(self) -> None:
        if self._access is None:
            raise EditRefused("headers can only be edited in `before`")
        if self._access == HeaderAccess.READ_ONLY:
            raise EditRefused("the hook is read-only")
        if self._access == HeaderAccess.ABSENT:
            raise EditRefused(f"hook `{hook_name(self._hook)}` carries no Temporal headers")

    def set_header(self, key: str, value: Payload) -> None:
        """Add or replace a header (applied when the hook proceeds; raises
        :class:`EditRefused` where headers cannot be edited)."""
        self._editable()
        self._edits.append(types.HeaderEdit_Set((key, value)))

    def remove_header(self, key: str) -> bool:
        """Remove a header; returns whether it was present."""
        self._editable()
        present = self.header(key) is not None
        self._edits.append(types.HeaderEdit_Remove(key))
        return present

    def arg_count(self) -> int:
        """Number of arguments."""
        return self._raw.arg_count()

    def arg(self, index: int) -> Optional[Payload]:
        """One argument."""
        return self._raw.arg(index)

    def args(self) -> List[Payload]:
        """All arguments."""
        return self._raw.args()

    def set_args(self, args: List[Payload]) -> None:
        """Replace all arguments (raises ``Err`` when refused)."""
        self._raw.set_args(list(args))


class Outcome:
    """How the call ended (seen by ``after_*``)."""

    __slots__ = ("_raw", "_failure")

    def __init__(self, raw, failure_):
        self._raw = raw
        self._failure = failure_

    def is_ok(self) -> bool:
        """True on success."""
        return self._failure is None

    def failure(self) -> Optional[Failure]:
        """The failure, if the call failed."""
        return self._failure

    def payloads(self) -> List[Payload]:
        """The result payloads (one crossing)."""
        return self._raw.payloads()


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


def traceparent(span) -> str:
    """A span's W3C trace parent (``00-<trace>-<span>-<flags>``): the value of the
    ``traceparent`` Nexus header, where Temporal's tracing interceptors carry the context
    (Nexus headers are strings)."""
    return json.loads(bytes(span.inject().data))["traceparent"]


def header_string(call: Call, key: str) -> Optional[str]:
    """The string a ``json/plain`` header holds, or ``None``."""
    return as_json_string(call.header(key))


def set_header(call: Call, key: str, value: Payload) -> bool:
    """Add or replace a header; ``False`` when the hook refuses edits (read-only hooks)."""
    try:
        call.set_header(key, value)
        return True
    except (EditRefused, Err):
        return False


def hook_name(hook: Hook) -> str:
    """The snake-case name of a hook (``start_workflow``)."""
    return hook.name.lower()


def _method(cls: type, phase: str, category: str, hook: str) -> Optional[Callable]:
    for name in (f"{phase}_{hook}", f"{phase}_{category}"):
        if getattr(cls, name, None) is not None:
            return getattr(cls, name)
    return None


def _declared(cls: type, methods) -> Optional[Tuple[str, ...]]:
    """The keys a hook reads: the class's ``reads`` and its methods' ``@reads``, united;
    ``None`` for every header."""
    keys = set()
    for declared in [getattr(cls, "reads", ())] + [
        getattr(m, "__interpose_reads__", ()) for m in methods if m is not None
    ]:
        if isinstance(declared, str):
            declared = (declared,)
        if ALL in declared:
            return None
        keys.update(declared)
    return tuple(sorted(keys))


def _wit_reads(declared: Optional[Tuple[str, ...]]):
    if declared is None:
        return types.HeaderReads_All()
    if not declared:
        return types.HeaderReads_None_()
    return types.HeaderReads_Keys(list(declared))


def export(cls: type) -> tuple:
    """The five export classes componentize-py looks for in the app module, dispatching to
    one instance of ``cls``: ``Client, WorkflowInbound, WorkflowOutbound, ActivityInbound,
    ActivityOutbound``."""
    state: List[Interceptor] = []

    def instance() -> Interceptor:
        if not state:
            state.append(cls())
        return state[0]

    def category_class(category: str) -> type:
        hooks = CATEGORIES[category]
        table = {}
        for h in hooks:
            before = _method(cls, "before", category, h)
            after = _method(cls, "after", category, h)
            table[getattr(Hook, h.upper())] = (before, after, _declared(cls, (before, after)))
        interests = []
        for hook, (before, after, declared) in table.items():
            phases = None
            if before is not None:
                phases = types.Phases.BEFORE
            if after is not None:
                phases = types.Phases.AFTER if phases is None else phases | types.Phases.AFTER
            if phases is not None:
                interests.append(types.Interest(hook, phases, _wit_reads(declared)))

        class Export:
            def interests(self) -> List[types.Interest]:
                return list(interests)

            def before(self, hook, raw, headers, access) -> types.BeforeDecision:
                method, _, declared = table[hook]
                call = Call(raw, hook, headers, declared, access)
                decision = method(instance(), call) if method else None
                if decision is None:
                    return types.BeforeDecision_Proceed(call._edits)
                return decision

            def after(self, hook, raw, headers, failure_, outcome) -> types.AfterDecision:
                _, method, declared = table[hook]
                call = Call(raw, hook, headers, declared, None)
                decision = method(instance(), call, Outcome(outcome, failure_)) if method else None
                return KEEP if decision is None else decision

        Export.__name__ = "".join(w.capitalize() for w in category.split("_"))
        return Export

    return tuple(category_class(c) for c in CATEGORIES)
