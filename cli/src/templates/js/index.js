// {{name}}: an Interpose interceptor. Write only the hooks you need (`before<Hook>`,
// `after<Hook>`, `before<Category>`); the guest's interests are derived from them.

import { Interceptor, exportInterceptor, jsonString, setHeader } from './interpose.js';

class Guest extends Interceptor {
  beforeStartWorkflow(call) {
    setHeader(call, '{{name}}', jsonString('seen'));
  }
}

const exported = exportInterceptor(Guest);
export const client = exported.client;
export const workflowInbound = exported.workflowInbound;
export const workflowOutbound = exported.workflowOutbound;
export const activityInbound = exported.activityInbound;
export const activityOutbound = exported.activityOutbound;
