"""A Nexus service on a worker of the Temporal Python SDK: the handler the Nexus tests call.

Usage: nexus_handler.py <address> <task queue>

Service `Greeting`, operation `greet` (synchronous): returns `hello <name> for <user-id>`,
the `user-id` Nexus header it received (or `nobody`). For every call it prints one JSON
line, `{"operation": ..., "input": ..., "headers": {...}}`, after a first line `ready` once
the worker polls. It runs until its standard input closes (the test ends), then leaves
with os._exit: the SDK's bridge can abort interpreter finalization.
"""

import asyncio
import json
import os
import sys
import threading

import nexusrpc
import nexusrpc.handler
from temporalio.client import Client
from temporalio.worker import Worker


@nexusrpc.service
class Greeting:
    greet: nexusrpc.Operation[str, str]


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@nexusrpc.handler.service_handler(service=Greeting)
class GreetingHandler:
    @nexusrpc.handler.sync_operation
    async def greet(self, ctx: nexusrpc.handler.StartOperationContext, name: str) -> str:
        headers = {k.lower(): v for k, v in ctx.headers.items()}
        emit(json.dumps({"operation": ctx.operation, "input": name, "headers": headers}))
        return f"hello {name} for {headers.get('user-id', 'nobody')}"


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


async def main(address, queue):
    client = await Client.connect(address)
    worker = Worker(client, task_queue=queue, nexus_service_handlers=[GreetingHandler()])
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    async with worker:
        emit("ready")
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
