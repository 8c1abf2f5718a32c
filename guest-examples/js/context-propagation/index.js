// The seed's context propagation in JavaScript: the same behaviour as the Rust guest in
// guest-examples/context-propagation.
//
// - client: calls that start or message a workflow get `user-id` unless they carry one, from
//   this guest's config value `user-id`;
// - workflow inbound: the header of execute-workflow (and of signals and updates, which may
//   carry a newer one) is remembered for the run;
// - workflow outbound: the remembered id is copied onto every command that carries headers
//   (Nexus operations included);
// - activity inbound: the id is logged with the activity.

import {
  Interceptor, exportInterceptor, config, log, activityContext, jsonString, asJsonString,
  headerString, setHeader,
} from './interpose.js';

const HEADER = 'user-id';

class ContextPropagation extends Interceptor {
  // Every hook reads the user id: handed to the hook, no crossing to read it.
  static reads = [HEADER];

  // The user id of the current workflow run (workflow instances live for a run).
  user = undefined;

  // client: stamp the configured user unless the application set one
  stamp(call) {
    if (call.header(HEADER) === undefined) {
      const user = config.get(HEADER);
      if (user !== undefined) setHeader(call, HEADER, jsonString(user));
    }
  }
  beforeStartWorkflow(call) { this.stamp(call); }
  beforeSignalWithStartWorkflow(call) { this.stamp(call); }
  beforeUpdateWithStartWorkflow(call) { this.stamp(call); }
  beforeSignalWorkflow(call) { this.stamp(call); }
  beforeQueryWorkflow(call) { this.stamp(call); }
  beforeStartWorkflowUpdate(call) { this.stamp(call); }

  // workflow inbound: remember the run's user
  beforeWorkflowInbound(call) {
    const user = call.header(HEADER);
    if (user !== undefined) this.user = user;
  }

  // workflow outbound: forward it on every command
  forward(call) {
    if (this.user !== undefined) setHeader(call, HEADER, this.user);
  }
  beforeScheduleActivity(call) { this.forward(call); }
  beforeScheduleLocalActivity(call) { this.forward(call); }
  beforeStartChildWorkflow(call) { this.forward(call); }
  beforeSignalExternalWorkflow(call) { this.forward(call); }
  beforeContinueAsNew(call) { this.forward(call); }
  // Nexus headers are strings: the host turns the JSON string into the header's value; a
  // user id that is not a string stays off Nexus operations.
  beforeStartNexusOperation(call) {
    if (this.user !== undefined && asJsonString(this.user) !== undefined) {
      setHeader(call, HEADER, this.user);
    }
  }

  // activity inbound: use it
  beforeExecuteActivity(call) {
    const user = headerString(call, HEADER);
    if (user !== undefined) {
      log.log('info', `activity ${activityContext.info().activityType} runs for user ${user}`);
    }
  }
}

const exported = exportInterceptor(ContextPropagation);
export const client = exported.client;
export const workflowInbound = exported.workflowInbound;
export const workflowOutbound = exported.workflowOutbound;
export const activityInbound = exported.activityInbound;
export const activityOutbound = exported.activityOutbound;
