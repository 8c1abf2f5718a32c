// {{name}}: an Interpose interceptor in C, on the bindings `wit-bindgen c` generated for the
// `interceptor` world (bindings/) and the helpers of interpose.h. Every export must drop the
// handles it borrows before it returns (ip_done / ip_done_after; the canonical ABI traps
// otherwise).

#include "interpose.h"

// ---- client: start-workflow gets a header ----

void exports_interpose_interceptor_client_interests(
    exports_interpose_interceptor_client_list_interest_t *ret) {
  IP_INTERESTS(ret, IP_BEFORE, IP_HOOK(START_WORKFLOW));
}

void exports_interpose_interceptor_client_before(ip_call_t call, ip_before_t *ret) {
  ret->tag = IP_PROCEED;
  ip_set_header_string(call, "{{name}}", "seen", 4);
  ip_done(call);
}

void exports_interpose_interceptor_client_after(ip_call_t call, ip_outcome_t outcome,
                                                ip_after_t *ret) {
  ret->tag = IP_KEEP;
  ip_done_after(call, outcome);
}

// ---- the other categories: no hooks (never called) ----

#define NO_HOOKS(category)                                                                   \
  void exports_interpose_interceptor_##category##_interests(                                 \
      exports_interpose_interceptor_##category##_list_interest_t *ret) {                      \
    ret->ptr = NULL;                                                                         \
    ret->len = 0;                                                                            \
  }                                                                                          \
  void exports_interpose_interceptor_##category##_before(ip_call_t call, ip_before_t *ret) { \
    ret->tag = IP_PROCEED;                                                                   \
    ip_done(call);                                                                           \
  }                                                                                          \
  void exports_interpose_interceptor_##category##_after(ip_call_t call, ip_outcome_t outcome, \
                                                        ip_after_t *ret) {                   \
    ret->tag = IP_KEEP;                                                                      \
    ip_done_after(call, outcome);                                                            \
  }

NO_HOOKS(workflow_inbound)
NO_HOOKS(workflow_outbound)
NO_HOOKS(activity_inbound)
