"""Every hook of the Python SDK's interceptor classes, seen once per call by a guest.

The ``probe`` test guest (the Rust integration tests' fixture, unchanged binary) logs
``probe before <hook>`` and ``probe after <hook>`` for every hook of every category. One
Python client and one Python worker share one ``interpose.load``; the counts below are what
the calls made here must produce, hook by hook (a hook missing, called twice or called
where it should not be fails), and every ``before`` has its ``after``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
import temporalio.api.nexus.v1 as nexus_api
import temporalio.api.operatorservice.v1 as operator_api
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleSpec,
    ScheduleState,
    WorkflowUpdateFailedError,
)
from temporalio.worker import Worker

import interpose
from workflows import (
    EchoHandler,
    Poked,
    Traced,
    TwoAttempts,
    pulse,
    second_attempt_reads_heartbeats,
    work,
)


async def create_endpoint(client: Client, name: str, queue: str) -> None:
    await client.operator_service.create_nexus_endpoint(
        operator_api.CreateNexusEndpointRequest(
            spec=nexus_api.EndpointSpec(
                name=name,
                target=nexus_api.EndpointTarget(
                    worker=nexus_api.EndpointTarget.Worker(
                        namespace=client.namespace, task_queue=queue
                    )
                ),
            )
        )
    )


def counts(lines: list[str], phase: str) -> Counter:
    prefix = f"probe {phase} "
    return Counter(l[len(prefix) :] for l in lines if l.startswith(prefix))


def test_a_guest_sees_every_hook_of_the_python_sdk_once_per_call(
    temporal_address, config, guest_logs, unique
):
    chain = interpose.load(config(("probe", "probe", "")))
    queue = f"hooks-{unique}"
    endpoint = f"hooks-{unique}"

    async def scenario() -> None:
        client = await Client.connect(temporal_address, interceptors=[chain])
        await create_endpoint(client, endpoint, queue)
        async with Worker(
            client,
            task_queue=queue,
            workflows=[Traced, Poked],
            activities=[work, pulse],
            nexus_service_handlers=[EchoHandler()],
        ):
            target = await client.start_workflow(Poked.run, id=f"target-{unique}", task_queue=queue)
            handle = await client.start_workflow(
                Traced.run,
                args=[target.id, endpoint, 0],
                id=f"traced-{unique}",
                task_queue=queue,
            )
            assert await handle.execute_update(Traced.set_value, 7) == 0
            with pytest.raises(WorkflowUpdateFailedError):
                await handle.execute_update(Traced.set_value, 99)
            assert await handle.query(Traced.current) == 7
            await handle.signal(Traced.approve, "carol")
            result = await asyncio.wait_for(handle.result(), 60)
            assert result == 0, "the run after continue-as-new starts with fresh state"
            await asyncio.wait_for(target.result(), 60)
            await handle.describe()
            await client.count_workflows(f"WorkflowId = '{handle.id}'")
            async for _ in client.list_workflows(f"WorkflowId = '{handle.id}'"):
                pass
            schedule = await client.create_schedule(
                f"schedule-{unique}",
                Schedule(
                    action=ScheduleActionStartWorkflow(
                        Poked.run, id=f"scheduled-{unique}", task_queue=queue
                    ),
                    spec=ScheduleSpec(intervals=[]),
                    state=ScheduleState(paused=True),
                ),
            )
            await schedule.describe()
            await schedule.pause()
            await schedule.unpause()
            await schedule.update(lambda u: None)
            async for _ in await client.list_schedules():
                pass
            await schedule.delete()

    asyncio.run(scenario())
    lines = guest_logs.of("probe")
    before = counts(lines, "before")
    expected = Counter(
        {
            # client
            "start-workflow": 2,  # the target, the traced run
            "start-workflow-update": 2,  # accepted, rejected by the validator
            "query-workflow": 1,
            "signal-workflow": 1,
            # `result()` reads history: once per run it follows (continue-as-new), and
            # once for the target.
            "fetch-workflow-history": 3,
            "describe-workflow": 1,
            "count-workflows": 1,
            "list-workflows": 1,
            "create-schedule": 1,
            "describe-schedule": 1,
            "pause-schedule": 1,
            "unpause-schedule": 1,
            "update-schedule": 1,
            "list-schedules": 1,
            "delete-schedule": 1,
            # workflow inbound
            "execute-workflow": 4,  # traced (twice: continue-as-new), child, target
            "handle-signal": 3,  # approve, the child's poke, the target's poke
            "handle-query": 1,
            "validate-update": 2,
            "handle-update": 1,  # only the accepted update runs its handler
            # workflow outbound
            "schedule-activity": 1,
            "schedule-local-activity": 1,
            "start-child-workflow": 1,
            "signal-external-workflow": 2,  # the child, the external target
            "start-nexus-operation": 1,
            "continue-as-new": 1,
            # activity inbound
            "execute-activity": 2,  # the activity and the local activity
            # activity outbound
            "activity-heartbeat": 2,  # the activity's two heartbeats
        }
    )
    assert dict(before) == dict(expected), f"hooks seen: {before}\nlines: {lines}"
    assert counts(lines, "after") == before, "every `before` has its `after`"


def test_heartbeats_a_guest_records_reach_the_activitys_next_attempt(
    temporal_address, config, unique
):
    """A guest's ``activity-context.heartbeat`` in ``execute-activity`` is sent with the
    SDK's ``activity.heartbeat``: the first attempt fails, and the second reads the details
    the guest recorded in the first from ``activity.info().heartbeat_details``."""
    chain = interpose.load(config(("probe", "probe", "[guest.config]\nbefore = 'heartbeat'")))
    queue = f"beats-{unique}"

    async def run():
        client = await Client.connect(temporal_address, interceptors=[chain])
        async with Worker(
            client,
            task_queue=queue,
            workflows=[TwoAttempts],
            activities=[second_attempt_reads_heartbeats],
        ):
            return await client.execute_workflow(
                TwoAttempts.run, id=f"beats-{unique}", task_queue=queue
            )

    assert asyncio.run(run()) == ["probe beat on attempt 1"]


def test_a_cancelled_client_call_runs_after_and_stays_cancelled(
    temporal_address, config, guest_logs, unique
):
    """The caller's timeout cancels a client call in flight (a query of a run no worker
    runs, which the server holds until a worker answers): guests see ``after``, as a failure, and one that turns every
    outcome into its own failure cannot change it: the caller gets its ``TimeoutError``."""
    chain = interpose.load(config(("probe", "probe", "[guest.config]\nafter = 'fail'")))

    async def run():
        plain = await Client.connect(temporal_address)
        handle = await plain.start_workflow(
            Poked.run, id=f"cancelled-{unique}", task_queue=f"nobody-{unique}"
        )
        client = await Client.connect(temporal_address, interceptors=[chain])
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.get_workflow_handle(handle.id).query("q"), 1.0)
        finally:
            await handle.terminate()

    asyncio.run(run())
    lines = guest_logs.of("probe")
    assert lines == [
        "probe before query-workflow",
        "probe after query-workflow",
    ], lines


def test_a_guest_that_fails_in_after_of_a_cancelled_call_cannot_replace_the_cancellation(
    temporal_address, config, unique
):
    """As above, with a guest that panics in ``after``: its failure is logged, and the
    caller still gets its ``TimeoutError``, not a ``GuestError``."""
    chain = interpose.load(config(("probe", "probe", "[guest.config]\nafter = 'panic'")))

    async def run():
        plain = await Client.connect(temporal_address)
        handle = await plain.start_workflow(
            Poked.run, id=f"cancelled-panic-{unique}", task_queue=f"nobody-{unique}"
        )
        client = await Client.connect(temporal_address, interceptors=[chain])
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.get_workflow_handle(handle.id).query("q"), 1.0)
        finally:
            await handle.terminate()

    asyncio.run(run())
