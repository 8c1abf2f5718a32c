"""Exercises every part of the Python helper (tests/tests/polyglot.rs, `helpers`): category
methods, a specific method winning over its category, reject with type and non-retryable,
respond, replace in `after`, and an exception becoming a guest failure."""

import interpose_guest as ig


class HelperProbe(ig.Interceptor):
    # every client hook gets the category header...
    def before_client(self, call):
        ig.set_header(call, "category", ig.json_string("client"))

    # ...except start-workflow, whose own method wins
    def before_start_workflow(self, call):
        if call.detail().value.workflow_type == "Forbidden":
            return ig.reject("forbidden by the helper probe", error_type="Denied", non_retryable=True)

    def before_handle_query(self, call):
        return ig.respond([ig.json_string("answered")])

    def before_signal_workflow(self, call):
        raise RuntimeError("kaboom from python")

    # after only: the host never calls `before` for it
    def after_execute_activity(self, call, outcome):
        if outcome.is_ok() and [ig.as_json_string(p) for p in outcome.payloads()] == ["swap me"]:
            return ig.replace([ig.json_string("replaced")])
        if not outcome.is_ok():
            return ig.fail("failed: " + outcome.failure().message, error_type="Wrapped")


Client, WorkflowInbound, WorkflowOutbound, ActivityInbound = ig.export(HelperProbe)
