"""The seed's context propagation in Python: the same behaviour as the Rust guest in
``guest-examples/context-propagation``.

- client: calls that start or message a workflow get ``user-id`` unless they carry one,
  from this guest's config value ``user-id``;
- workflow inbound: the header of ``execute-workflow`` (and of signals and updates, which may
  carry a newer one) is remembered for the run;
- workflow outbound: the remembered id is copied onto every command that carries headers
  (Nexus operations included);
- activity inbound: the id is logged with the activity.
"""

import interpose_guest as ig

HEADER = "user-id"


class ContextPropagation(ig.Interceptor):
    # Every hook reads the user id: handed to the hook, no crossing to read it.
    reads = (HEADER,)

    def __init__(self):
        # The user id of the current workflow run (workflow instances live for a run).
        self.user = None

    # client: stamp the configured user unless the application set one
    def _stamp(self, call):
        if call.header(HEADER) is None:
            user = ig.config.get(HEADER)
            if user is not None:
                ig.set_header(call, HEADER, ig.json_string(user))

    before_start_workflow = _stamp
    before_signal_with_start_workflow = _stamp
    before_update_with_start_workflow = _stamp
    before_signal_workflow = _stamp
    before_query_workflow = _stamp
    before_start_workflow_update = _stamp

    # workflow inbound: remember the run's user
    def before_workflow_inbound(self, call):
        user = call.header(HEADER)
        if user is not None:
            self.user = user

    # workflow outbound: forward it on every command
    def _forward(self, call):
        if self.user is not None:
            ig.set_header(call, HEADER, self.user)

    before_schedule_activity = _forward
    before_schedule_local_activity = _forward
    before_start_child_workflow = _forward
    before_signal_external_workflow = _forward
    before_continue_as_new = _forward
    # Nexus headers are strings: the host turns the JSON string into the header's value; a
    # user id that is not a string stays off Nexus operations.
    def before_start_nexus_operation(self, call):
        if ig.as_json_string(self.user) is not None:
            ig.set_header(call, HEADER, self.user)

    # activity inbound: use it
    def before_execute_activity(self, call):
        user = ig.header_string(call, HEADER)
        if user is not None:
            info = ig.activity_context.info()
            ig.log.log(ig.log.Level.INFO, f"activity {info.activity_type} runs for user {user}")


Client, WorkflowInbound, WorkflowOutbound, ActivityInbound, ActivityOutbound = ig.export(ContextPropagation)
