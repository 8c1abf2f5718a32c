// Interpose guest helpers for C, on top of the bindings `wit-bindgen c` generates for the
// `interceptor` world (include this after nothing: it includes "interceptor.h").
//
// - ip_str: a WIT string borrowed from a C string (no copy);
// - ip_header / ip_header_string: read a header (the payload, or its json/plain string);
// - ip_set_header / ip_set_header_string: add or replace one (false on read-only hooks);
// - ip_done / ip_done_after: drop the handles an export borrowed; every `before` must call
//   ip_done(call) and every `after` ip_done_after(call, outcome) before returning, or the
//   canonical ABI traps ("borrow handles still remain at the end of the call");
// - IP_INTERESTS(ret, phases, hooks...): fill an `interests` result (freed by the bindings);
// - ip_log: one log line at a level;
// - IP_KEEP_AFTER(category), IP_NO_HOOKS(category): the exports a guest does not use.
//
// Ownership, as in the bindings: what an import returns to you is yours to free (the
// `*_free` functions); what you pass to an import stays yours; what you return from an export
// must be malloc'd and is freed by the bindings after the call.

#ifndef INTERPOSE_GUEST_H
#define INTERPOSE_GUEST_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "interceptor.h"

typedef interpose_interceptor_types_payload_t ip_payload_t;
typedef interpose_interceptor_types_borrow_call_t ip_call_t;
typedef interpose_interceptor_types_borrow_outcome_t ip_outcome_t;
typedef interpose_interceptor_types_before_decision_t ip_before_t;
typedef interpose_interceptor_types_after_decision_t ip_after_t;

#define IP_HOOK(name) INTERPOSE_INTERCEPTOR_TYPES_HOOK_##name
#define IP_BEFORE INTERPOSE_INTERCEPTOR_TYPES_PHASES_BEFORE
#define IP_AFTER INTERPOSE_INTERCEPTOR_TYPES_PHASES_AFTER
#define IP_PROCEED INTERPOSE_INTERCEPTOR_TYPES_BEFORE_DECISION_PROCEED
#define IP_KEEP INTERPOSE_INTERCEPTOR_TYPES_AFTER_DECISION_KEEP

static inline interceptor_string_t ip_str(const char *s) {
  interceptor_string_t out = {.ptr = (uint8_t *)s, .len = strlen(s)};
  return out;
}

static inline void ip_done(ip_call_t call) { interpose_interceptor_types_call_drop_borrow(call); }

static inline void ip_done_after(ip_call_t call, ip_outcome_t outcome) {
  interpose_interceptor_types_outcome_drop_borrow(outcome);
  interpose_interceptor_types_call_drop_borrow(call);
}

// The header `key` into `out` (yours to free with interpose_interceptor_types_payload_free).
static inline bool ip_header(ip_call_t call, const char *key, ip_payload_t *out) {
  interceptor_string_t k = ip_str(key);
  return interpose_interceptor_types_method_call_header(call, &k, out);
}

static inline bool ip_set_header(ip_call_t call, const char *key, ip_payload_t *value) {
  interceptor_string_t k = ip_str(key);
  interpose_interceptor_types_edit_error_t err;
  if (interpose_interceptor_types_method_call_set_header(call, &k, value, &err)) return true;
  interpose_interceptor_types_edit_error_free(&err);
  return false;
}

// A header holding a JSON string, as Temporal's default converter encodes a string:
// `value` is written between quotes, with `"` and `\` escaped.
static inline bool ip_set_header_string(ip_call_t call, const char *key, const char *value,
                                        size_t len) {
  size_t n = 2;
  for (size_t i = 0; i < len; i++) n += (value[i] == '"' || value[i] == '\\') ? 2 : 1;
  uint8_t *json = malloc(n), *p = json;
  *p++ = '"';
  for (size_t i = 0; i < len; i++) {
    if (value[i] == '"' || value[i] == '\\') *p++ = '\\';
    *p++ = (uint8_t)value[i];
  }
  *p = '"';
  static uint8_t encoding[] = "json/plain";
  interceptor_tuple2_string_list_u8_t meta = {
      .f0 = ip_str("encoding"),
      .f1 = {.ptr = encoding, .len = sizeof encoding - 1},
  };
  ip_payload_t payload = {
      .metadata = {.ptr = &meta, .len = 1},
      .data = {.ptr = json, .len = n},
  };
  bool ok = ip_set_header(call, key, &payload);
  free(json);
  return ok;
}

// The JSON string a header holds, without its quotes (escapes are not decoded), copied into
// `buf` (NUL-terminated, truncated to `size`). False when absent or not a JSON string.
static inline bool ip_header_string(ip_call_t call, const char *key, char *buf, size_t size) {
  ip_payload_t found;
  if (!ip_header(call, key, &found)) return false;
  const uint8_t *d = found.data.ptr;
  size_t len = found.data.len;
  bool ok = len >= 2 && d[0] == '"' && d[len - 1] == '"' && size > 0;
  if (ok) {
    len -= 2;
    if (len >= size) len = size - 1;
    memcpy(buf, d + 1, len);
    buf[len] = 0;
  }
  interpose_interceptor_types_payload_free(&found);
  return ok;
}

static inline void ip_log(interpose_interceptor_log_level_t level, const char *message) {
  interceptor_string_t m = ip_str(message);
  interpose_interceptor_log_log(level, &m);
}

// Fill an interests result with `hooks`, each with `phases`.
#define IP_INTERESTS(ret, phases_, ...)                                  \
  do {                                                                   \
    static const uint8_t ip_hooks_[] = {__VA_ARGS__};                    \
    (ret)->len = sizeof ip_hooks_;                                       \
    (ret)->ptr = malloc(sizeof *(ret)->ptr * sizeof ip_hooks_);          \
    for (size_t ip_i_ = 0; ip_i_ < sizeof ip_hooks_; ip_i_++) {          \
      (ret)->ptr[ip_i_].hook = ip_hooks_[ip_i_];                         \
      (ret)->ptr[ip_i_].phases = (phases_);                              \
    }                                                                    \
  } while (0)

// Define the `after` export of `category` (client, workflow_inbound, workflow_outbound,
// activity_inbound) as one that keeps every outcome, for guests that declare no `after`.
#define IP_KEEP_AFTER(category)                                                             \
  void exports_interpose_interceptor_##category##_after(ip_call_t call, ip_outcome_t outcome, \
                                                        ip_after_t *ret) {                  \
    ret->tag = IP_KEEP;                                                                     \
    ip_done_after(call, outcome);                                                           \
  }

// Define all three exports of a category the guest does not intercept (no interests: the
// host never calls its before or after).
#define IP_NO_HOOKS(category)                                                               \
  void exports_interpose_interceptor_##category##_interests(                                \
      exports_interpose_interceptor_##category##_list_interest_t *ret) {                     \
    ret->ptr = NULL;                                                                        \
    ret->len = 0;                                                                           \
  }                                                                                         \
  void exports_interpose_interceptor_##category##_before(ip_call_t call, ip_before_t *ret) { \
    ret->tag = IP_PROCEED;                                                                  \
    ip_done(call);                                                                          \
  }                                                                                         \
  IP_KEEP_AFTER(category)

#endif
