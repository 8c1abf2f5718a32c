// Exercises every part of the JavaScript helper (tests/tests/polyglot.rs, `helpers`): category
// methods, a specific method winning over its category, reject with type and non-retryable,
// respond, replace in `after`, an exception becoming a guest failure, and contract 0.2's
// headers: a declared header read from the hook's parameters, an undeclared one from the host,
// edits returned with the decision, and an edit refused in a read-only hook.

import {
  Interceptor, exportInterceptor, jsonString, asJsonString, setHeader, reject, respond,
  replace, fail,
} from './interpose.js';

class HelperProbe extends Interceptor {
  static reads = ['in'];

  // every client hook gets the category header...
  beforeClient(call) {
    setHeader(call, 'category', jsonString('client'));
    for (const [source, target] of [['in', 'copied'], ['undeclared', 'copied-slow']]) {
      const value = call.header(source);
      if (value !== undefined) call.setHeader(target, value);
    }
    if (call.removeHeader('drop-me')) call.setHeader('dropped', jsonString('yes'));
  }

  // ...except start-workflow, whose own method wins
  beforeStartWorkflow(call) {
    if (call.detail().val.workflowType === 'Forbidden') {
      return reject('forbidden by the helper probe', { errorType: 'Denied', nonRetryable: true });
    }
  }

  beforeHandleQuery(call) {
    if (setHeader(call, 'late', jsonString('x'))) {
      return reject('a header edit was accepted in a read-only hook');
    }
    return respond([jsonString('answered')]);
  }

  beforeSignalWorkflow(call) {
    throw new Error('kaboom from javascript');
  }

  // after only: the host never calls `before` for it
  afterExecuteActivity(call, outcome) {
    const values = outcome.isOk() ? outcome.payloads().map(asJsonString) : [];
    if (values.length === 1 && values[0] === 'swap me') return replace([jsonString('replaced')]);
    if (!outcome.isOk()) return fail(`failed: ${outcome.failure().message}`, { errorType: 'Wrapped' });
  }
}

const exported = exportInterceptor(HelperProbe);
export const client = exported.client;
export const workflowInbound = exported.workflowInbound;
export const workflowOutbound = exported.workflowOutbound;
export const activityInbound = exported.activityInbound;
export const activityOutbound = exported.activityOutbound;
