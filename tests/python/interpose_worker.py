"""A Temporal Python SDK worker with Interpose: the `interpose` package's activity adapter.

Usage: interpose_worker.py <address> <task queue> <config>

Runs activity `Greetings::greet` (the Rust test workflows' activity type) and workflow
`PyOrder` (runs that activity) on <task queue> with `interpose.load(<config>)` as its
interceptor. Prints `ready` once the worker polls,
then one JSON line per record of the `interpose` logger (guest log lines): {"level",
"message"}. Runs until its standard input closes, then leaves with os._exit (the SDK's
bridge can abort interpreter finalization).
"""

import asyncio
import json
import logging
import os
import sys
import threading

import interpose
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Lines(logging.Handler):
    def emit(self, record):
        emit(json.dumps({"level": record.levelname, "message": record.getMessage()}))


@activity.defn(name="Greetings::greet")
async def greet(name: str) -> str:
    return f"hello {name} from python"


@workflow.defn(name="PyOrder")
class PyOrder:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            "Greetings::greet", name, start_to_close_timeout=timedelta(seconds=20)
        )


@workflow.defn(name="PyCatching")
class PyCatching:
    """Swallows whatever scheduling its activity raises: a guest's refusal must still fail
    the workflow task."""

    @workflow.run
    async def run(self, name: str) -> str:
        try:
            return await workflow.execute_activity(
                "Greetings::greet", name, start_to_close_timeout=timedelta(seconds=20)
            )
        except Exception as e:
            return f"swallowed: {e}"


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


async def main(address, queue, config):
    logger = logging.getLogger("interpose")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Lines())
    chain = interpose.load(config)
    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=queue,
        activities=[greet],
        workflows=[PyOrder, PyCatching],
        interceptors=[chain],
    )
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    async with worker:
        emit("ready")
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
