// The seed's context propagation in C: the same behaviour as the Rust guest in
// guest-examples/context-propagation, on the bindings `wit-bindgen c` generates for the
// `interceptor` world and the helpers of guest-sdk/c/interpose.h.
//
// - client: calls that start or message a workflow get `user-id` unless they carry one, from
//   this guest's config value `user-id`;
// - workflow inbound: the header of execute-workflow (and of signals and updates, which may
//   carry a newer one) is remembered for the run;
// - workflow outbound: the remembered id is copied onto every command that carries headers;
// - activity inbound: the id is logged with the activity.

#include <stdio.h>

#include "interpose.h"

static const char HEADER[] = "user-id";
// Every hook reads the user id: the host hands it to the hook (no crossing to read it).
static const char *const READS[] = {HEADER};

// The user id of the current workflow run (workflow instances live for a run).
static ip_payload_t user;
static bool has_user = false;
// Whether it is a JSON string: only a string can be a Nexus header.
static bool user_is_string = false;

// ---- client: stamp the configured user unless the application set one ----

void exports_interpose_interceptor_client_interests(
    exports_interpose_interceptor_client_list_interest_t *ret) {
  IP_INTERESTS_READING(ret, IP_BEFORE, READS, 1, IP_HOOK(START_WORKFLOW),
                       IP_HOOK(SIGNAL_WITH_START_WORKFLOW), IP_HOOK(UPDATE_WITH_START_WORKFLOW),
                       IP_HOOK(SIGNAL_WORKFLOW), IP_HOOK(QUERY_WORKFLOW),
                       IP_HOOK(START_WORKFLOW_UPDATE));
}

IP_BEFORE_FN(client) {
  (void)hook;
  ip_proceed(ret);
  if (!ip_header(headers, HEADER)) {
    interceptor_string_t key = ip_str(HEADER), value;
    if (interpose_interceptor_config_get(&key, &value)) {
      ip_edit_set_string(ret, access, HEADER, (const char *)value.ptr, value.len);
      interceptor_string_free(&value);
    }
  }
  ip_done(call, headers);
}

IP_KEEP_AFTER(client)

// ---- workflow inbound: remember the run's user ----

void exports_interpose_interceptor_workflow_inbound_interests(
    exports_interpose_interceptor_workflow_inbound_list_interest_t *ret) {
  IP_INTERESTS_READING(ret, IP_BEFORE, READS, 1, IP_HOOK(INITIALIZE_WORKFLOW),
                       IP_HOOK(EXECUTE_WORKFLOW), IP_HOOK(HANDLE_SIGNAL), IP_HOOK(HANDLE_QUERY),
                       IP_HOOK(VALIDATE_UPDATE), IP_HOOK(HANDLE_UPDATE));
}

IP_BEFORE_FN(workflow_inbound) {
  (void)hook;
  (void)access;
  ip_proceed(ret);
  const ip_payload_t *found = ip_header(headers, HEADER);
  if (found) {
    if (has_user) interpose_interceptor_types_payload_free(&user);
    user = ip_payload_copy(found);
    has_user = true;
    char probe[2];
    user_is_string = ip_header_string(headers, HEADER, probe, sizeof probe);
  }
  ip_done(call, headers);
}

IP_KEEP_AFTER(workflow_inbound)

// ---- workflow outbound: forward it on every command ----

void exports_interpose_interceptor_workflow_outbound_interests(
    exports_interpose_interceptor_workflow_outbound_list_interest_t *ret) {
  IP_INTERESTS_READING(ret, IP_BEFORE, READS, 1, IP_HOOK(SCHEDULE_ACTIVITY),
                       IP_HOOK(SCHEDULE_LOCAL_ACTIVITY), IP_HOOK(START_CHILD_WORKFLOW),
                       IP_HOOK(SIGNAL_EXTERNAL_WORKFLOW), IP_HOOK(CONTINUE_AS_NEW),
                       IP_HOOK(START_NEXUS_OPERATION));
}

IP_BEFORE_FN(workflow_outbound) {
  ip_proceed(ret);
  // Nexus headers are strings: a user id that is not one stays off Nexus operations.
  if (has_user && (hook != IP_HOOK(START_NEXUS_OPERATION) || user_is_string))
    ip_edit_set(ret, access, HEADER, &user);
  ip_done(call, headers);
}

IP_KEEP_AFTER(workflow_outbound)

// ---- activity inbound: use it ----

void exports_interpose_interceptor_activity_inbound_interests(
    exports_interpose_interceptor_activity_inbound_list_interest_t *ret) {
  IP_INTERESTS_READING(ret, IP_BEFORE, READS, 1, IP_HOOK(EXECUTE_ACTIVITY));
}

IP_BEFORE_FN(activity_inbound) {
  (void)hook;
  (void)access;
  ip_proceed(ret);
  char id[256];
  if (ip_header_string(headers, HEADER, id, sizeof id)) {
    interpose_interceptor_activity_context_activity_info_t info;
    interpose_interceptor_activity_context_info(&info);
    char line[512];
    snprintf(line, sizeof line, "activity %.*s runs for user %s", (int)info.activity_type.len,
             (const char *)info.activity_type.ptr, id);
    ip_log(INTERPOSE_INTERCEPTOR_LOG_LEVEL_INFO, line);
    interpose_interceptor_activity_context_activity_info_free(&info);
  }
  ip_done(call, headers);
}

IP_KEEP_AFTER(activity_inbound)

// Heartbeats: not intercepted.
IP_NO_HOOKS(activity_outbound)
