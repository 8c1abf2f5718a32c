"""{{name}}: an Interpose interceptor. Write only the hooks you need (``before_<hook>``,
``after_<hook>``, ``before_<category>``); the guest's interests are derived from them."""

import interpose_guest as ig


class Guest(ig.Interceptor):
    def before_start_workflow(self, call):
        ig.set_header(call, "{{name}}", ig.json_string("seen"))


Client, WorkflowInbound, WorkflowOutbound, ActivityInbound, ActivityOutbound = ig.export(Guest)
