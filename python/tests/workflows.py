"""Workflows, activities and a Nexus service the suite runs on Python workers with Interpose.

They mirror the Rust integration tests' (`tests/tests/temporal_hooks.rs`): one run of
``Traced`` touches every workflow and activity hook the Python SDK's interceptors have.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import nexusrpc
import nexusrpc.handler
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

# Workflow code may import the package (to catch `interpose.GuestError`, say): the sandbox
# must then pass it through, since its native module loads once per process.
import interpose  # noqa: F401

TEN_SECONDS = timedelta(seconds=10)


@activity.defn
async def work(n: int) -> int:
    return n * 2


@activity.defn
async def pulse(n: int) -> int:
    """Heartbeats twice (the activity outbound hook), then works."""
    activity.heartbeat("half", n)
    activity.heartbeat("done", n)
    return n * 2


@nexusrpc.service
class Echo:
    echo: nexusrpc.Operation[str, str]


@nexusrpc.handler.service_handler(service=Echo)
class EchoHandler:
    @nexusrpc.handler.sync_operation
    async def echo(self, ctx: nexusrpc.handler.StartOperationContext, text: str) -> str:
        return f"echo {text}"


@workflow.defn
class Poked:
    def __init__(self) -> None:
        self.poked = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.poked)

    @workflow.signal
    def poke(self) -> None:
        self.poked = True


@workflow.defn
class Traced:
    """Round 0 runs an activity, a local activity, a timer, a child (signalled), a signal
    to an external workflow and a Nexus operation, waits for ``approve`` and continues as
    new; round 1 returns the value an update set."""

    def __init__(self) -> None:
        self.approved = False
        self.value = 0

    @workflow.run
    async def run(self, target: str, endpoint: str, round: int) -> int:
        if round == 1:
            return self.value
        await workflow.execute_activity(pulse, 1, start_to_close_timeout=TEN_SECONDS)
        await workflow.execute_local_activity(work, 2, start_to_close_timeout=TEN_SECONDS)
        await workflow.sleep(0.01)
        child = await workflow.start_child_workflow(
            Poked.run, id=f"{workflow.info().workflow_id}-child"
        )
        await child.signal(Poked.poke)
        await workflow.get_external_workflow_handle(target).signal(Poked.poke)
        await child
        nexus = workflow.create_nexus_client(service=Echo, endpoint=endpoint)
        echoed = await nexus.execute_operation(Echo.echo, "hi")
        assert echoed == "echo hi", echoed
        await workflow.wait_condition(lambda: self.approved)
        workflow.continue_as_new(args=[target, endpoint, 1])

    @workflow.signal
    def approve(self, by: str) -> None:
        self.approved = True

    @workflow.query
    def current(self) -> int:
        return self.value

    @workflow.update
    def set_value(self, v: int) -> int:
        old, self.value = self.value, v
        return old

    @set_value.validator
    def validate_value(self, v: int) -> None:
        if v > 10:
            raise ValueError("value must be at most 10")


@workflow.defn
class Ordered:
    """Three activities in order: the history the replay tests record."""

    @workflow.run
    async def run(self, name: str) -> int:
        total = 0
        for n in range(3):
            total += await workflow.execute_activity(
                work, n, start_to_close_timeout=TEN_SECONDS
            )
        return total


@workflow.defn
class OneAttempt:
    """One activity with one attempt: returns its result, or how it failed."""

    @workflow.run
    async def run(self, n: int) -> str:
        try:
            done = await workflow.execute_activity(
                work,
                n,
                start_to_close_timeout=TEN_SECONDS,
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
            return f"ok {done}"
        except ActivityError as e:
            return f"failed: {e.cause}"


@workflow.defn
class Sleepy:
    """Three timers: with no workflow cache, evicted after every activation."""

    @workflow.run
    async def run(self) -> str:
        for _ in range(3):
            await workflow.sleep(0.05)
        return "rested"


@workflow.defn
class OnePulse:
    """``pulse`` with one attempt: returns its result, or how it failed."""

    @workflow.run
    async def run(self, n: int) -> str:
        try:
            done = await workflow.execute_activity(
                pulse,
                n,
                start_to_close_timeout=TEN_SECONDS,
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
            return f"ok {done}"
        except ActivityError as e:
            return f"failed: {e.cause}"


@workflow.defn
class Rounds:
    """Round 0 continues as new; round 1 waits until it is cancelled."""

    @workflow.run
    async def run(self, round: int) -> str:
        if round == 0:
            workflow.continue_as_new(1)
        await workflow.wait_condition(lambda: False)
        return "never"


@activity.defn
async def second_attempt_reads_heartbeats() -> list:
    """Fails its first attempt; the second returns the details the first heartbeated."""
    if activity.info().attempt == 1:
        raise RuntimeError("first attempt fails on purpose")
    return list(activity.info().heartbeat_details)


@workflow.defn
class TwoAttempts:
    """``second_attempt_reads_heartbeats``, retried once."""

    @workflow.run
    async def run(self) -> list:
        return await workflow.execute_activity(
            second_attempt_reads_heartbeats,
            start_to_close_timeout=TEN_SECONDS,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100), maximum_attempts=2
            ),
        )


@workflow.defn
class Holder:
    """Holds a value until terminated: a query reads it, an update (validated) sets it."""

    def __init__(self) -> None:
        self.value = 0

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.query
    def current(self) -> int:
        return self.value

    @workflow.update
    def set_value(self, v: int) -> int:
        old, self.value = self.value, v
        return old

    @set_value.validator
    def validate_value(self, v: int) -> None:
        if v > 10:
            raise ValueError("value must be at most 10")


#: Task tokens of ``completed_elsewhere`` attempts, by workflow id: the test completes them.
ELSEWHERE: dict = {}


@activity.defn
async def completed_elsewhere() -> str:
    """Completes asynchronously: hands its task token to the test (in this process)."""
    info = activity.info()
    ELSEWHERE.setdefault(info.workflow_id, []).append(info.task_token)
    activity.raise_complete_async()


@workflow.defn
class Elsewhere:
    """Two ``completed_elsewhere`` activities at once, one attempt each: how each ended."""

    @workflow.run
    async def run(self) -> list:
        calls = [
            workflow.execute_activity(
                completed_elsewhere,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
            for _ in range(2)
        ]
        return [repr(r) for r in await asyncio.gather(*calls, return_exceptions=True)]

