// Interpose guest helpers for C, on top of the bindings `wit-bindgen c` generates for the
// `interceptor` world (include this after nothing: it includes "interceptor.h"). Contract
// interpose:interceptor@0.5.0: one crossing per hop.
//
// - IP_BEFORE_FN(category) / IP_AFTER_FN(category): the signatures of the `before` and
//   `after` exports (parameters `hook`, `call`, `headers`, `access` / `failure`, `outcome`,
//   `ret`);
// - IP_INTERESTS(ret, phases, hooks...) and IP_INTERESTS_READING(ret, phases, keys, nkeys,
//   hooks...): fill an `interests` result; the second declares the header keys the hooks
//   read, which the host then hands to them in `headers`;
// - ip_header / ip_header_string: a header of `headers` (declared keys only; no crossing);
//   ip_call_header: any header, one crossing into the host;
// - ip_proceed(ret) and ip_edit_set / ip_edit_set_string / ip_edit_remove: the `proceed`
//   decision and the header edits it carries (applied by the host once the hook returned;
//   refused where `access` is not IP_EDITABLE, with `false`);
// - ip_done / ip_done_after: free what an export received and drop the handles it borrowed;
//   every `before` must call ip_done(call, headers) and every `after`
//   ip_done_after(call, headers, failure, outcome) before returning (a borrow left over makes
//   the canonical ABI trap; memory left over leaks for the life of the instance);
// - ip_payload_copy: a deep copy of a payload (to keep one past ip_done);
// - ip_log: one log line at a level;
// - IP_KEEP_AFTER(category), IP_NO_HOOKS(category): the exports a guest does not use.
//
// Ownership, as in the bindings: what an import returns to you is yours to free (the
// `*_free` functions); what you pass to an import stays yours; what an export receives is
// yours (ip_done frees it); what you return from an export must be malloc'd and is freed by
// the bindings after the call (the ip_edit_* functions copy for you).

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
typedef interpose_interceptor_types_hook_t ip_hook_t;
typedef interpose_interceptor_types_header_values_t ip_headers_t;
typedef interpose_interceptor_types_header_access_t ip_access_t;
typedef interpose_interceptor_types_failure_t ip_failure_t;

#define IP_HOOK(name) INTERPOSE_INTERCEPTOR_TYPES_HOOK_##name
#define IP_BEFORE INTERPOSE_INTERCEPTOR_TYPES_PHASES_BEFORE
#define IP_AFTER INTERPOSE_INTERCEPTOR_TYPES_PHASES_AFTER
#define IP_PROCEED INTERPOSE_INTERCEPTOR_TYPES_BEFORE_DECISION_PROCEED
#define IP_KEEP INTERPOSE_INTERCEPTOR_TYPES_AFTER_DECISION_KEEP
#define IP_EDITABLE INTERPOSE_INTERCEPTOR_TYPES_HEADER_ACCESS_EDITABLE

#define IP_BEFORE_FN(category)                                                              \
  void exports_interpose_interceptor_##category##_before(ip_hook_t hook, ip_call_t call,    \
                                                         ip_headers_t *headers,             \
                                                         ip_access_t access, ip_before_t *ret)
#define IP_AFTER_FN(category)                                                               \
  void exports_interpose_interceptor_##category##_after(ip_hook_t hook, ip_call_t call,     \
                                                        ip_headers_t *headers,              \
                                                        ip_failure_t *failure,              \
                                                        ip_outcome_t outcome, ip_after_t *ret)

static inline interceptor_string_t ip_str(const char *s) {
  interceptor_string_t out = {.ptr = (uint8_t *)s, .len = strlen(s)};
  return out;
}

static inline void ip_done(ip_call_t call, ip_headers_t *headers) {
  interpose_interceptor_types_header_values_free(headers);
  interpose_interceptor_types_call_drop_borrow(call);
}

static inline void ip_done_after(ip_call_t call, ip_headers_t *headers, ip_failure_t *failure,
                                 ip_outcome_t outcome) {
  interpose_interceptor_types_header_values_free(headers);
  if (failure) interpose_interceptor_types_failure_free(failure);
  interpose_interceptor_types_outcome_drop_borrow(outcome);
  interpose_interceptor_types_call_drop_borrow(call);
}

static inline bool ip_key_is(const interceptor_string_t *k, const char *key) {
  size_t n = strlen(key);
  return k->len == n && memcmp(k->ptr, key, n) == 0;
}

// The header `key` among the declared `headers` the hook received (NULL when absent). Only
// declared keys are there: for any other key, ip_call_header. The hook's own edits are not
// reflected. Valid until ip_done.
static inline const ip_payload_t *ip_header(const ip_headers_t *headers, const char *key) {
  for (size_t i = 0; i < headers->len; i++) {
    if (ip_key_is(&headers->ptr[i].f0, key)) return &headers->ptr[i].f1;
  }
  return NULL;
}

// Any header, asked of the host (one crossing): into `out`, yours to free with
// interpose_interceptor_types_payload_free.
static inline bool ip_call_header(ip_call_t call, const char *key, ip_payload_t *out) {
  interceptor_string_t k = ip_str(key);
  return interpose_interceptor_types_method_call_header(call, &k, out);
}

static inline uint8_t *ip_dup_bytes(const uint8_t *p, size_t n) {
  uint8_t *out = malloc(n ? n : 1);
  if (n) memcpy(out, p, n);
  return out;
}

// A deep copy of `p` (free it with interpose_interceptor_types_payload_free).
static inline ip_payload_t ip_payload_copy(const ip_payload_t *p) {
  ip_payload_t out;
  out.metadata.len = p->metadata.len;
  out.metadata.ptr = malloc(sizeof *out.metadata.ptr * (p->metadata.len ? p->metadata.len : 1));
  for (size_t i = 0; i < p->metadata.len; i++) {
    out.metadata.ptr[i].f0.len = p->metadata.ptr[i].f0.len;
    out.metadata.ptr[i].f0.ptr = ip_dup_bytes(p->metadata.ptr[i].f0.ptr, p->metadata.ptr[i].f0.len);
    out.metadata.ptr[i].f1.len = p->metadata.ptr[i].f1.len;
    out.metadata.ptr[i].f1.ptr = ip_dup_bytes(p->metadata.ptr[i].f1.ptr, p->metadata.ptr[i].f1.len);
  }
  out.data.len = p->data.len;
  out.data.ptr = ip_dup_bytes(p->data.ptr, p->data.len);
  return out;
}

// The JSON string a declared header holds, without its quotes (escapes are not decoded),
// copied into `buf` (NUL-terminated, truncated to `size`). False when absent or not a JSON
// string.
static inline bool ip_header_string(const ip_headers_t *headers, const char *key, char *buf,
                                    size_t size) {
  const ip_payload_t *found = ip_header(headers, key);
  if (!found) return false;
  const uint8_t *d = found->data.ptr;
  size_t len = found->data.len;
  bool ok = len >= 2 && d[0] == '"' && d[len - 1] == '"' && size > 0;
  if (ok) {
    len -= 2;
    if (len >= size) len = size - 1;
    memcpy(buf, d + 1, len);
    buf[len] = 0;
  }
  return ok;
}

// The `proceed` decision, with no header edit yet.
static inline void ip_proceed(ip_before_t *ret) {
  ret->tag = IP_PROCEED;
  ret->val.proceed.ptr = NULL;
  ret->val.proceed.len = 0;
}

static inline interpose_interceptor_types_header_edit_t *ip_edit_push(ip_before_t *ret) {
  interpose_interceptor_types_list_header_edit_t *l = &ret->val.proceed;
  l->ptr = realloc(l->ptr, sizeof *l->ptr * (l->len + 1));
  return &l->ptr[l->len++];
}

// Add an edit that sets `key` to a copy of `value` to the `proceed` decision in `ret`, which
// ip_proceed must have set first (an uninitialized `ret` is undefined behaviour).
// False (and nothing added) where the hook may not edit headers or `ret` is not `proceed`.
static inline bool ip_edit_set(ip_before_t *ret, ip_access_t access, const char *key,
                               const ip_payload_t *value) {
  if (access != IP_EDITABLE || ret->tag != IP_PROCEED) return false;
  interpose_interceptor_types_header_edit_t *e = ip_edit_push(ret);
  e->tag = INTERPOSE_INTERCEPTOR_TYPES_HEADER_EDIT_SET;
  interceptor_string_dup(&e->val.set.f0, key);
  e->val.set.f1 = ip_payload_copy(value);
  return true;
}

// Add an edit that removes `key`, as ip_edit_set.
static inline bool ip_edit_remove(ip_before_t *ret, ip_access_t access, const char *key) {
  if (access != IP_EDITABLE || ret->tag != IP_PROCEED) return false;
  interpose_interceptor_types_header_edit_t *e = ip_edit_push(ret);
  e->tag = INTERPOSE_INTERCEPTOR_TYPES_HEADER_EDIT_REMOVE;
  interceptor_string_dup(&e->val.remove, key);
  return true;
}

// Set a header holding a JSON string, as Temporal's default converter encodes a string:
// `value` is written between quotes, with `"` and `\` escaped.
static inline bool ip_edit_set_string(ip_before_t *ret, ip_access_t access, const char *key,
                                      const char *value, size_t len) {
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
  bool ok = ip_edit_set(ret, access, key, &payload);
  free(json);
  return ok;
}

static inline void ip_log(interpose_interceptor_log_level_t level, const char *message) {
  interceptor_string_t m = ip_str(message);
  interpose_interceptor_log_log(level, &m);
}

// The header reads of one interest: `keys` (copied), none when `n` is 0.
static inline interpose_interceptor_types_header_reads_t ip_reads(const char *const *keys,
                                                                  size_t n) {
  interpose_interceptor_types_header_reads_t r;
  if (n == 0) {
    r.tag = INTERPOSE_INTERCEPTOR_TYPES_HEADER_READS_NONE;
    return r;
  }
  r.tag = INTERPOSE_INTERCEPTOR_TYPES_HEADER_READS_KEYS;
  r.val.keys.len = n;
  r.val.keys.ptr = malloc(sizeof *r.val.keys.ptr * n);
  for (size_t i = 0; i < n; i++) interceptor_string_dup(&r.val.keys.ptr[i], keys[i]);
  return r;
}

// Fill an interests result with `hooks`, each with `phases` and the `nkeys` header keys of
// `keys` (a `const char *const[]`, or NULL with 0).
#define IP_INTERESTS_READING(ret, phases_, keys_, nkeys_, ...)           \
  do {                                                                   \
    static const uint8_t ip_hooks_[] = {__VA_ARGS__};                    \
    (ret)->len = sizeof ip_hooks_;                                       \
    (ret)->ptr = malloc(sizeof *(ret)->ptr * sizeof ip_hooks_);          \
    for (size_t ip_i_ = 0; ip_i_ < sizeof ip_hooks_; ip_i_++) {          \
      (ret)->ptr[ip_i_].hook = ip_hooks_[ip_i_];                         \
      (ret)->ptr[ip_i_].phases = (phases_);                              \
      (ret)->ptr[ip_i_].reads = ip_reads((keys_), (nkeys_));             \
    }                                                                    \
  } while (0)

// Fill an interests result with `hooks`, each with `phases`, reading no header.
#define IP_INTERESTS(ret, phases_, ...) IP_INTERESTS_READING(ret, phases_, NULL, 0, __VA_ARGS__)

// Define the `after` export of `category` (client, workflow_inbound, workflow_outbound,
// activity_inbound, activity_outbound) as one that keeps every outcome, for guests that declare no `after`.
#define IP_KEEP_AFTER(category)                                                             \
  IP_AFTER_FN(category) {                                                                   \
    (void)hook;                                                                             \
    ret->tag = IP_KEEP;                                                                     \
    ip_done_after(call, headers, failure, outcome);                                         \
  }

// Define all three exports of a category the guest does not intercept (no interests: the
// host never calls its before or after).
#define IP_NO_HOOKS(category)                                                               \
  void exports_interpose_interceptor_##category##_interests(                                \
      exports_interpose_interceptor_##category##_list_interest_t *ret) {                     \
    ret->ptr = NULL;                                                                        \
    ret->len = 0;                                                                           \
  }                                                                                         \
  IP_BEFORE_FN(category) {                                                                  \
    (void)hook;                                                                             \
    (void)access;                                                                           \
    ip_proceed(ret);                                                                        \
    ip_done(call, headers);                                                                 \
  }                                                                                         \
  IP_KEEP_AFTER(category)

#endif
