// The seed's context propagation in C: the same behaviour as the Rust guest in
// guest-examples/context-propagation, on the bindings `wit-bindgen c` generates for the
// `interceptor` world (interceptor.h).
//
// - client: calls that start or message a workflow get `user-id` unless they carry one, from
//   this guest's config value `user-id`;
// - workflow inbound: the header of execute-workflow (and of signals and updates, which may
//   carry a newer one) is remembered for the run;
// - workflow outbound: the remembered id is copied onto every command that carries headers;
// - activity inbound: the id is logged with the activity.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interceptor.h"

typedef interpose_interceptor_types_payload_t payload_t;
typedef interpose_interceptor_types_borrow_call_t call_t;
typedef interpose_interceptor_types_before_decision_t before_t;
typedef interpose_interceptor_types_after_decision_t after_t;
typedef interpose_interceptor_types_edit_error_t edit_error_t;

#define HOOK(name) INTERPOSE_INTERCEPTOR_TYPES_HOOK_##name
#define BEFORE INTERPOSE_INTERCEPTOR_TYPES_PHASES_BEFORE

static const char HEADER[] = "user-id";

// The user id of the current workflow run (workflow instances live for a run).
static payload_t user;
static bool has_user = false;

static interceptor_string_t str(const char *s) {
  interceptor_string_t out;
  interceptor_string_set(&out, s);
  return out;
}

static bool header(call_t call, const char *key, payload_t *out) {
  interceptor_string_t k = str(key);
  return interpose_interceptor_types_method_call_header(call, &k, out);
}

static void set_header(call_t call, const char *key, payload_t *value) {
  interceptor_string_t k = str(key);
  edit_error_t err;
  if (!interpose_interceptor_types_method_call_set_header(call, &k, value, &err)) {
    interpose_interceptor_types_edit_error_free(&err);  // read-only hook: nothing to do
  }
}

// The canonical ABI requires an export to drop every borrowed handle it was given before
// it returns (the Rust bindings do this for you; in C it is explicit).
static void done(call_t call) { interpose_interceptor_types_call_drop_borrow(call); }
static void done_after(call_t call, interpose_interceptor_types_borrow_outcome_t outcome) {
  interpose_interceptor_types_outcome_drop_borrow(outcome);
  interpose_interceptor_types_call_drop_borrow(call);
}

// Interests: every listed hook, before only. The returned list is freed by the bindings.
#define INTERESTS(prefix, ret, ...)                                              \
  do {                                                                           \
    static const uint8_t hooks[] = {__VA_ARGS__};                                \
    (ret)->len = sizeof hooks;                                                   \
    (ret)->ptr = malloc(sizeof *(ret)->ptr * sizeof hooks);                      \
    for (size_t i = 0; i < sizeof hooks; i++) {                                  \
      (ret)->ptr[i].hook = hooks[i];                                             \
      (ret)->ptr[i].phases = BEFORE;                                             \
    }                                                                            \
  } while (0)

// ---- client: stamp the configured user unless the application set one ----

void exports_interpose_interceptor_client_interests(
    exports_interpose_interceptor_client_list_interest_t *ret) {
  INTERESTS(client, ret, HOOK(START_WORKFLOW), HOOK(SIGNAL_WITH_START_WORKFLOW),
            HOOK(UPDATE_WITH_START_WORKFLOW), HOOK(SIGNAL_WORKFLOW), HOOK(QUERY_WORKFLOW),
            HOOK(START_WORKFLOW_UPDATE));
}

static void stamp(call_t call) {
  payload_t existing;
  if (header(call, HEADER, &existing)) {
    interpose_interceptor_types_payload_free(&existing);
    return;
  }
  interceptor_string_t key = str(HEADER), value;
  if (!interpose_interceptor_config_get(&key, &value)) return;
  // json/plain, as Temporal's default converter encodes a string (config values are plain
  // identifiers; quotes and backslashes are escaped).
  size_t n = 2;
  for (size_t i = 0; i < value.len; i++) n += (value.ptr[i] == '"' || value.ptr[i] == '\\') ? 2 : 1;
  uint8_t *json = malloc(n), *p = json;
  *p++ = '"';
  for (size_t i = 0; i < value.len; i++) {
    if (value.ptr[i] == '"' || value.ptr[i] == '\\') *p++ = '\\';
    *p++ = value.ptr[i];
  }
  *p++ = '"';
  interceptor_string_free(&value);

  interceptor_tuple2_string_list_u8_t encoding;
  interceptor_string_dup(&encoding.f0, "encoding");
  encoding.f1.len = strlen("json/plain");
  encoding.f1.ptr = malloc(encoding.f1.len);
  memcpy(encoding.f1.ptr, "json/plain", encoding.f1.len);
  payload_t payload = {
      .metadata = {.ptr = &encoding, .len = 1},
      .data = {.ptr = json, .len = n},
  };
  set_header(call, HEADER, &payload);
  interceptor_string_free(&encoding.f0);
  interceptor_list_u8_free(&encoding.f1);
  interceptor_list_u8_free(&payload.data);
}

void exports_interpose_interceptor_client_before(call_t call, before_t *ret) {
  ret->tag = INTERPOSE_INTERCEPTOR_TYPES_BEFORE_DECISION_PROCEED;
  stamp(call);
  done(call);
}

void exports_interpose_interceptor_client_after(
    call_t call, exports_interpose_interceptor_client_borrow_outcome_t outcome, after_t *ret) {
  ret->tag = INTERPOSE_INTERCEPTOR_TYPES_AFTER_DECISION_KEEP;
  done_after(call, outcome);
}

// ---- workflow inbound: remember the run's user ----

void exports_interpose_interceptor_workflow_inbound_interests(
    exports_interpose_interceptor_workflow_inbound_list_interest_t *ret) {
  INTERESTS(workflow_inbound, ret, HOOK(INITIALIZE_WORKFLOW), HOOK(EXECUTE_WORKFLOW),
            HOOK(HANDLE_SIGNAL), HOOK(HANDLE_QUERY), HOOK(VALIDATE_UPDATE), HOOK(HANDLE_UPDATE));
}

void exports_interpose_interceptor_workflow_inbound_before(call_t call, before_t *ret) {
  ret->tag = INTERPOSE_INTERCEPTOR_TYPES_BEFORE_DECISION_PROCEED;
  payload_t found;
  if (header(call, HEADER, &found)) {
    if (has_user) interpose_interceptor_types_payload_free(&user);
    user = found;
    has_user = true;
  }
  done(call);
}

void exports_interpose_interceptor_workflow_inbound_after(
    call_t call, exports_interpose_interceptor_workflow_inbound_borrow_outcome_t outcome,
    after_t *ret) {
  ret->tag = INTERPOSE_INTERCEPTOR_TYPES_AFTER_DECISION_KEEP;
  done_after(call, outcome);
}

// ---- workflow outbound: forward it on every command ----

void exports_interpose_interceptor_workflow_outbound_interests(
    exports_interpose_interceptor_workflow_outbound_list_interest_t *ret) {
  INTERESTS(workflow_outbound, ret, HOOK(SCHEDULE_ACTIVITY), HOOK(SCHEDULE_LOCAL_ACTIVITY),
            HOOK(START_CHILD_WORKFLOW), HOOK(SIGNAL_EXTERNAL_WORKFLOW), HOOK(CONTINUE_AS_NEW));
}

void exports_interpose_interceptor_workflow_outbound_before(call_t call, before_t *ret) {
  ret->tag = INTERPOSE_INTERCEPTOR_TYPES_BEFORE_DECISION_PROCEED;
  if (has_user) set_header(call, HEADER, &user);
  done(call);
}

void exports_interpose_interceptor_workflow_outbound_after(
    call_t call, exports_interpose_interceptor_workflow_outbound_borrow_outcome_t outcome,
    after_t *ret) {
  ret->tag = INTERPOSE_INTERCEPTOR_TYPES_AFTER_DECISION_KEEP;
  done_after(call, outcome);
}

// ---- activity inbound: use it ----

void exports_interpose_interceptor_activity_inbound_interests(
    exports_interpose_interceptor_activity_inbound_list_interest_t *ret) {
  INTERESTS(activity_inbound, ret, HOOK(EXECUTE_ACTIVITY));
}

static void log_user(call_t call) {
  payload_t found;
  if (!header(call, HEADER, &found)) return;
  // The header holds a JSON string: log it without its quotes.
  const uint8_t *data = found.data.ptr;
  size_t len = found.data.len;
  if (len >= 2 && data[0] == '"' && data[len - 1] == '"') {
    data++;
    len -= 2;
  }
  interpose_interceptor_activity_context_activity_info_t info;
  interpose_interceptor_activity_context_info(&info);
  char line[512];
  snprintf(line, sizeof line, "activity %.*s runs for user %.*s", (int)info.activity_type.len,
           (const char *)info.activity_type.ptr, (int)len, (const char *)data);
  interceptor_string_t message = str(line);
  interpose_interceptor_log_log(INTERPOSE_INTERCEPTOR_LOG_LEVEL_INFO, &message);
  interpose_interceptor_activity_context_activity_info_free(&info);
  interpose_interceptor_types_payload_free(&found);
}

void exports_interpose_interceptor_activity_inbound_before(call_t call, before_t *ret) {
  ret->tag = INTERPOSE_INTERCEPTOR_TYPES_BEFORE_DECISION_PROCEED;
  log_user(call);
  done(call);
}

void exports_interpose_interceptor_activity_inbound_after(
    call_t call, exports_interpose_interceptor_activity_inbound_borrow_outcome_t outcome,
    after_t *ret) {
  ret->tag = INTERPOSE_INTERCEPTOR_TYPES_AFTER_DECISION_KEEP;
  done_after(call, outcome);
}
