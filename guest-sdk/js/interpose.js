// Interpose guest helpers for JavaScript (componentize-js).
//
// Extend `Interceptor`, write only the hooks you want, and export the five categories:
//
//     import { Interceptor, exportInterceptor, config, jsonString } from './interpose.js';
//
//     class StampUser extends Interceptor {
//       static reads = ['user-id'];
//       beforeStartWorkflow(call) {
//         if (call.header('user-id') === undefined) {
//           call.setHeader('user-id', jsonString(config.get('user-id') ?? 'anonymous'));
//         }
//       }
//     }
//
//     const exported = exportInterceptor(StampUser);
//     export const client = exported.client;
//     export const workflowInbound = exported.workflowInbound;
//     export const workflowOutbound = exported.workflowOutbound;
//     export const activityInbound = exported.activityInbound;
//     export const activityOutbound = exported.activityOutbound;
//
// Hook methods are `before<Hook>` / `after<Hook>` (`beforeStartWorkflow`,
// `afterExecuteActivity`, ...) or `before<Category>` / `after<Category>` for every hook of a
// category (`Client`, `WorkflowInbound`, `WorkflowOutbound`, `ActivityInbound`). A
// hook-specific method wins over its category's. The guest's interests are derived from the
// methods the class defines, so the host never calls it for anything else.
//
// Contract 0.2 makes the common hop one crossing into the guest: the headers a guest reads are
// declared (`static reads = ['user-id']` on the class for every hook, a `reads` property on a
// method for its hooks — `StampUser.prototype.beforeStartWorkflow.reads = [...]` — or `ALL`)
// and arrive with the hook; `call.header` of an undeclared key still works, one crossing into
// the host per read. Header edits (`call.setHeader`, `call.removeHeader`) are kept in the
// guest and returned with the decision; the host applies them only if the hook returns
// normally.
//
// `before*` returns nothing (proceed), `reject(...)` or `respond(...)`; `after*` returns
// nothing (keep), `replace(...)` or `fail(...)`. An exception that escapes a hook is a guest
// failure: the host applies the guest's `on-failure` policy and the call is left unedited.
//
// One instance of the class lives as long as the guest instance: for workflow hooks that is
// one workflow run, so fields are per-run state.

import * as config from 'interpose:interceptor/config@0.5.0';
import * as log from 'interpose:interceptor/log@0.5.0';
import * as metrics from 'interpose:interceptor/metrics@0.5.0';
import * as workflowContext from 'interpose:interceptor/workflow-context@0.5.0';
import * as activityContext from 'interpose:interceptor/activity-context@0.5.0';

export { config, log, metrics, workflowContext, activityContext };

// BEGIN hook catalogue, generated from wit/types.wit by `cargo xtask catalogue`: do not edit
/** Hooks per category, as the WIT names them. */
export const CATEGORIES = {
  client: [
    'start-workflow',
    'signal-with-start-workflow',
    'signal-workflow',
    'query-workflow',
    'start-workflow-update',
    'update-with-start-workflow',
    'poll-workflow-update',
    'cancel-workflow',
    'terminate-workflow',
    'describe-workflow',
    'list-workflows',
    'count-workflows',
    'fetch-workflow-history',
    'create-schedule',
    'list-schedules',
    'describe-schedule',
    'update-schedule',
    'send-schedule-update',
    'delete-schedule',
    'pause-schedule',
    'unpause-schedule',
    'trigger-schedule',
    'backfill-schedule',
    'complete-async-activity',
    'fail-async-activity',
    'report-async-activity-cancellation',
    'heartbeat-async-activity',
    'start-activity',
    'cancel-activity',
    'terminate-activity',
    'pause-activity',
    'unpause-activity',
    'update-activity-options',
    'describe-activity',
    'list-activities',
    'count-activities',
    'start-standalone-nexus-operation',
    'describe-nexus-operation',
    'get-nexus-operation-result',
    'cancel-nexus-operation',
    'terminate-nexus-operation',
    'list-nexus-operations',
    'count-nexus-operations',
    'update-worker-build-id-compatibility',
    'get-worker-build-id-compatibility',
    'get-worker-task-reachability',
  ],
  workflowInbound: [
    'initialize-workflow',
    'execute-workflow',
    'handle-signal',
    'handle-query',
    'validate-update',
    'handle-update',
  ],
  workflowOutbound: [
    'schedule-activity',
    'schedule-local-activity',
    'start-child-workflow',
    'signal-external-workflow',
    'cancel-external-workflow',
    'continue-as-new',
    'start-timer',
    'start-nexus-operation',
  ],
  activityInbound: [
    'execute-activity',
  ],
  activityOutbound: [
    'activity-heartbeat',
  ],
};
// END hook catalogue

/** Declares every header: `static reads = ALL`. */
export const ALL = '*all*';

/** Base class: every hook passes through. Override the ones you need. */
export class Interceptor {
  /** The header keys every hook reads (or `ALL`). */
  static reads = [];
}

const KEEP = { tag: 'keep' };

/** A header edit the hook does not allow (read-only hooks, operations without headers, `after`). */
export class EditRefused extends Error {}

/**
 * The call being intercepted. Declared headers are read here; header edits are kept here and
 * returned with the decision. `detail`, the arguments and undeclared headers are fetched from
 * the host (one crossing each).
 */
export class Call {
  constructor(raw, hook, headers, declared, access) {
    this.raw = raw;
    this.hookName = hook;
    this.headers = new Map(headers);
    this.all = declared === undefined;
    this.keys = declared ?? [];
    this.access = access;
    this.edits = [];
  }
  /** Which hook this is (its WIT name). */
  hook() { return this.hookName; }
  /** The typed detail of the call. */
  detail() { return this.raw.detail(); }
  /** Replace the editable fields of the detail (throws when refused). */
  setDetail(detail) { this.raw.setDetail(detail); }
  /** One header as this hook sees it (its own edits applied). */
  header(key) {
    for (let i = this.edits.length - 1; i >= 0; i--) {
      const e = this.edits[i];
      if (e.tag === 'set' && e.val[0] === key) return e.val[1];
      if (e.tag === 'remove' && e.val === key) return undefined;
    }
    if (this.all || this.keys.includes(key)) return this.headers.get(key);
    return this.raw.header(key);
  }
  /** Names of all headers, with this hook's edits applied (one crossing). */
  headerKeys() {
    let keys = [...this.raw.headerKeys()];
    for (const e of this.edits) {
      if (e.tag === 'set') { if (!keys.includes(e.val[0])) keys.push(e.val[0]); }
      else keys = keys.filter((k) => k !== e.val);
    }
    return keys.sort();
  }
  editable() {
    if (this.access === undefined) throw new EditRefused('headers can only be edited in `before`');
    if (this.access === 'read-only') throw new EditRefused('the hook is read-only');
    if (this.access === 'absent') throw new EditRefused(`hook \`${this.hookName}\` carries no Temporal headers`);
  }
  /** Add or replace a header (applied when the hook proceeds; throws `EditRefused` where headers cannot be edited). */
  setHeader(key, value) {
    this.editable();
    this.edits.push({ tag: 'set', val: [key, value] });
  }
  /** Remove a header; returns whether it was present. */
  removeHeader(key) {
    this.editable();
    const present = this.header(key) !== undefined;
    this.edits.push({ tag: 'remove', val: key });
    return present;
  }
  /** Number of arguments. */
  argCount() { return this.raw.argCount(); }
  /** One argument. */
  arg(index) { return this.raw.arg(index); }
  /** All arguments. */
  args() { return this.raw.args(); }
  /** Replace all arguments (throws when refused). */
  setArgs(args) { this.raw.setArgs(args); }
}

/** How the call ended (seen by `after*`). */
export class Outcome {
  constructor(raw, failure) {
    this.raw = raw;
    this.failureValue = failure;
  }
  /** True on success. */
  isOk() { return this.failureValue === undefined; }
  /** The failure, if the call failed. */
  failure() { return this.failureValue; }
  /** The result payloads (one crossing). */
  payloads() { return this.raw.payloads(); }
}

/** A failure to reject a call with (`reject`) or to fail it with (`fail`). */
export function failure(message, { errorType = '', nonRetryable = false, details = [] } = {}) {
  return { message, errorType, nonRetryable, details };
}

/** `before`: fail the call; the rest of the chain and the real call do not run. */
export function reject(message, options) {
  return { tag: 'reject', val: failure(message, options) };
}

/** `before`: answer the call with these payloads (hooks whose result is payloads only). */
export function respond(payloads) {
  return { tag: 'respond', val: payloads };
}

/** `after`: replace the outcome with a success carrying these payloads. */
export function replace(payloads) {
  return { tag: 'replace', val: payloads };
}

/** `after`: replace the outcome with a failure. */
export function fail(message, options) {
  return { tag: 'fail', val: failure(message, options) };
}

// UTF-8 without TextEncoder/TextDecoder, which the QuickJS backend does not have.
function encodeUtf8(text) {
  const out = [];
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

function decodeUtf8(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return decodeURIComponent(escape(binary)); // throws on invalid UTF-8
}

/** A payload as Temporal's default converter encodes a string (`json/plain`). */
export function jsonString(value) {
  return {
    metadata: [['encoding', encodeUtf8('json/plain')]],
    data: encodeUtf8(JSON.stringify(value)),
  };
}

export { encodeUtf8, decodeUtf8 };

/** The string a `json/plain` payload holds, or `undefined`. */
export function asJsonString(payload) {
  if (payload === undefined) return undefined;
  try {
    const value = JSON.parse(decodeUtf8(payload.data));
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The string a `json/plain` header holds, or `undefined`. */
export function headerString(call, key) {
  return asJsonString(call.header(key));
}

/** Add or replace a header; `false` when the hook refuses edits (read-only hooks). */
export function setHeader(call, key, value) {
  try {
    call.setHeader(key, value);
    return true;
  } catch {
    return false;
  }
}

const camel = (name) => name.replace(/(^|-)([a-z])/g, (_, __, c) => c.toUpperCase());

function method(proto, phase, category, hook) {
  for (const name of [phase + camel(hook), phase + camel(category).replace(/^./, (c) => c.toUpperCase())]) {
    if (typeof proto[name] === 'function') return proto[name];
  }
  return undefined;
}

/** The keys a hook reads: the class's `reads` and its methods' `reads`, united; `undefined` for every header. */
function declaredReads(Class, methods) {
  const keys = new Set();
  for (const declared of [Class.reads ?? [], ...methods.map((m) => m?.reads ?? [])]) {
    const list = typeof declared === 'string' ? [declared] : declared;
    if (list.includes(ALL)) return undefined;
    for (const k of list) keys.add(k);
  }
  return [...keys].sort();
}

/**
 * The five export objects componentize-js looks for (`client`, `workflowInbound`,
 * `workflowOutbound`, `activityInbound`, `activityOutbound`), dispatching to one instance of
 * `Class`.
 */
export function exportInterceptor(Class) {
  let instance;
  const self = () => (instance ??= new Class());
  const out = {};
  for (const [category, hooks] of Object.entries(CATEGORIES)) {
    const table = new Map();
    const interests = [];
    for (const hook of hooks) {
      const before = method(Class.prototype, 'before', category, hook);
      const after = method(Class.prototype, 'after', category, hook);
      const declared = declaredReads(Class, [before, after]);
      table.set(hook, [before, after, declared]);
      if (before || after) {
        const reads = declared === undefined ? { tag: 'all' }
          : declared.length === 0 ? { tag: 'none' } : { tag: 'keys', val: declared };
        interests.push({ hook, phases: { before: !!before, after: !!after }, reads });
      }
    }
    out[category] = {
      interests: () => interests,
      before(hook, raw, headers, access) {
        const [m, , declared] = table.get(hook);
        const call = new Call(raw, hook, headers, declared, access);
        return (m && m.call(self(), call)) ?? { tag: 'proceed', val: call.edits };
      },
      after(hook, raw, headers, failure, outcome) {
        const [, m, declared] = table.get(hook);
        const call = new Call(raw, hook, headers, declared, undefined);
        return (m && m.call(self(), call, new Outcome(outcome, failure))) ?? KEEP;
      },
    };
  }
  return out;
}
