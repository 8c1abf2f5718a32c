"""Exercises every part of the Python helper (tests/tests/polyglot.rs, `helpers`): category
methods, a specific method winning over its category, reject with type and non-retryable,
respond, replace in `after`, an exception becoming a guest failure, and contract 0.2's
headers: a declared header read from the hook's parameters, an undeclared one from the host,
edits returned with the decision, and an edit refused in a read-only hook."""

import interpose_guest as ig


class HelperProbe(ig.Interceptor):
    reads = ("in",)

    # every client hook gets the category header...
    def before_client(self, call):
        ig.set_header(call, "category", ig.json_string("client"))
        for source, target in (("in", "copied"), ("undeclared", "copied-slow")):
            value = call.header(source)
            if value is not None:
                call.set_header(target, value)
        if call.remove_header("drop-me"):
            call.set_header("dropped", ig.json_string("yes"))

    # ...except start-workflow, whose own method wins
    def before_start_workflow(self, call):
        if call.detail().value.workflow_type == "Forbidden":
            return ig.reject("forbidden by the helper probe", error_type="Denied", non_retryable=True)

    def before_handle_query(self, call):
        if ig.set_header(call, "late", ig.json_string("x")):
            return ig.reject("a header edit was accepted in a read-only hook")
        return ig.respond([ig.json_string("answered")])

    def before_signal_workflow(self, call):
        raise RuntimeError("kaboom from python")

    # after only: the host never calls `before` for it
    def after_execute_activity(self, call, outcome):
        if outcome.is_ok() and [ig.as_json_string(p) for p in outcome.payloads()] == ["swap me"]:
            return ig.replace([ig.json_string("replaced")])
        if not outcome.is_ok():
            return ig.fail("failed: " + outcome.failure().message, error_type="Wrapped")


Client, WorkflowInbound, WorkflowOutbound, ActivityInbound, ActivityOutbound = ig.export(HelperProbe)
