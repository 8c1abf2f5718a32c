// Exercises every part of the JavaScript helper (tests/tests/polyglot.rs, `helpers`): category
// methods, a specific method winning over its category, reject with type and non-retryable,
// respond, replace in `after`, and an exception becoming a guest failure.

import {
  Interceptor, exportInterceptor, jsonString, asJsonString, setHeader, reject, respond,
  replace, fail,
} from './interpose.js';

class HelperProbe extends Interceptor {
  // every client hook gets the category header...
  beforeClient(call) {
    setHeader(call, 'category', jsonString('client'));
  }

  // ...except start-workflow, whose own method wins
  beforeStartWorkflow(call) {
    if (call.detail().val.workflowType === 'Forbidden') {
      return reject('forbidden by the helper probe', { errorType: 'Denied', nonRetryable: true });
    }
  }

  beforeHandleQuery(call) {
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
