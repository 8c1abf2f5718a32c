// {{name}}: an Interpose interceptor in C, on the bindings `wit-bindgen c` generated for the
// `interceptor` world (bindings/). Every export must drop the handles it borrows before it
// returns (the canonical ABI traps otherwise): see done() below.

#include <stdlib.h>
#include <string.h>

#include "interceptor.h"

typedef interpose_interceptor_types_borrow_call_t call_t;
typedef interpose_interceptor_types_borrow_outcome_t outcome_t;
typedef interpose_interceptor_types_before_decision_t before_t;
typedef interpose_interceptor_types_after_decision_t after_t;

static void done(call_t call) { interpose_interceptor_types_call_drop_borrow(call); }
static void done_after(call_t call, outcome_t outcome) {
  interpose_interceptor_types_outcome_drop_borrow(outcome);
  done(call);
}

// ---- client: start-workflow gets a header ----

void exports_interpose_interceptor_client_interests(
    exports_interpose_interceptor_client_list_interest_t *ret) {
  ret->len = 1;
  ret->ptr = malloc(sizeof *ret->ptr);  // freed by the bindings after the call
  ret->ptr[0].hook = INTERPOSE_INTERCEPTOR_TYPES_HOOK_START_WORKFLOW;
  ret->ptr[0].phases = INTERPOSE_INTERCEPTOR_TYPES_PHASES_BEFORE;
}

void exports_interpose_interceptor_client_before(call_t call, before_t *ret) {
  ret->tag = INTERPOSE_INTERCEPTOR_TYPES_BEFORE_DECISION_PROCEED;
  static uint8_t encoding[] = "json/plain", seen[] = "\"seen\"";
  interceptor_tuple2_string_list_u8_t meta = {
      .f0 = {.ptr = (uint8_t *)"encoding", .len = 8},
      .f1 = {.ptr = encoding, .len = sizeof encoding - 1},
  };
  interpose_interceptor_types_payload_t value = {
      .metadata = {.ptr = &meta, .len = 1},
      .data = {.ptr = seen, .len = sizeof seen - 1},
  };
  interceptor_string_t key = {.ptr = (uint8_t *)"{{name}}", .len = strlen("{{name}}")};
  interpose_interceptor_types_edit_error_t err;
  if (!interpose_interceptor_types_method_call_set_header(call, &key, &value, &err)) {
    interpose_interceptor_types_edit_error_free(&err);
  }
  done(call);
}

void exports_interpose_interceptor_client_after(call_t call, outcome_t outcome, after_t *ret) {
  ret->tag = INTERPOSE_INTERCEPTOR_TYPES_AFTER_DECISION_KEEP;
  done_after(call, outcome);
}

// ---- the other categories: no hooks (never called) ----

#define NO_HOOKS(category)                                                                  \
  void exports_interpose_interceptor_##category##_interests(                                \
      exports_interpose_interceptor_##category##_list_interest_t *ret) {                     \
    ret->ptr = NULL;                                                                        \
    ret->len = 0;                                                                           \
  }                                                                                         \
  void exports_interpose_interceptor_##category##_before(call_t call, before_t *ret) {      \
    ret->tag = INTERPOSE_INTERCEPTOR_TYPES_BEFORE_DECISION_PROCEED;                         \
    done(call);                                                                             \
  }                                                                                         \
  void exports_interpose_interceptor_##category##_after(call_t call, outcome_t outcome,     \
                                                        after_t *ret) {                     \
    ret->tag = INTERPOSE_INTERCEPTOR_TYPES_AFTER_DECISION_KEEP;                             \
    done_after(call, outcome);                                                              \
  }

NO_HOOKS(workflow_inbound)
NO_HOOKS(workflow_outbound)
NO_HOOKS(activity_inbound)
