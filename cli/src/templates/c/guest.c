// {{name}}: an Interpose interceptor in C, on the bindings `wit-bindgen c` generated for the
// `interceptor` world (bindings/) and the helpers of interpose.h. Every export must free what it
// received and drop the handles it borrows before it returns (ip_done / ip_done_after; the
// canonical ABI traps otherwise).

#include "interpose.h"

// ---- client: start-workflow gets a header ----

void exports_interpose_interceptor_client_interests(
    exports_interpose_interceptor_client_list_interest_t *ret) {
  IP_INTERESTS(ret, IP_BEFORE, IP_HOOK(START_WORKFLOW));
}

IP_BEFORE_FN(client) {
  (void)hook;
  ip_proceed(ret);
  // A header edit travels with the decision; the host applies it when the hook returns.
  ip_edit_set_string(ret, access, "{{name}}", "seen", 4);
  ip_done(call, headers);
}

IP_KEEP_AFTER(client)

// ---- the other categories: no hooks (never called) ----

IP_NO_HOOKS(workflow_inbound)
IP_NO_HOOKS(workflow_outbound)
IP_NO_HOOKS(activity_inbound)
IP_NO_HOOKS(activity_outbound)
