"""A Temporal Python SDK client with Interpose: the `interpose` package's client adapter.

Usage: interpose_client.py <address> <task queue> <workflow id> <config> <reject config>
       <bad config>

Starts `ShipWorkflow("parcel")` on the Rust worker through `interpose.load(<config>)` (its
context-propagation guest stamps `user-id`) and waits for the result; starts it again
through `<reject config>` (a guest that rejects the start); loads `<bad config>` (it must be
refused). Prints one JSON object: {"result", "rejected", "started_anyway", "bad"}, then
leaves with os._exit (the SDK's bridge can abort interpreter finalization).
"""

import asyncio
import json
import os
import sys

import interpose
import temporalio.exceptions
from temporalio.client import Client
from temporalio.service import RPCError


async def main(address, queue, workflow_id, config, reject_config, bad_config):
    out = {}
    chain = interpose.load(config)
    client = await Client.connect(address, interceptors=[chain])
    out["result"] = await client.execute_workflow(
        "ShipWorkflow", "parcel", id=workflow_id, task_queue=queue
    )

    rejecting = await Client.connect(address, interceptors=[interpose.load(reject_config)])
    try:
        await rejecting.start_workflow(
            "ShipWorkflow", "parcel", id=workflow_id + "-rejected", task_queue=queue
        )
        out["rejected"] = None
    except temporalio.exceptions.ApplicationError as e:
        out["rejected"] = e.message
    try:
        await client.get_workflow_handle(workflow_id + "-rejected").describe()
        out["started_anyway"] = True
    except RPCError:
        out["started_anyway"] = False

    try:
        interpose.load(bad_config)
        out["bad"] = None
    except interpose.InterposeError as e:
        out["bad"] = str(e)
    return out


if __name__ == "__main__":
    result = asyncio.run(main(*sys.argv[1:7]))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)
