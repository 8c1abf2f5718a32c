"""Every hook of the Python SDK's interceptor classes, seen once per call by a guest.

The ``probe`` test guest (the Rust integration tests' fixture, unchanged binary) logs
``probe before <hook>`` and ``probe after <hook>`` for every hook of every category. One
Python client and one Python worker share one ``interpose.load``; the counts below are what
the calls made here must produce, hook by hook (a hook missing, called twice or called
where it should not be fails), and every ``before`` has its ``after``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import temporalio.api.nexus.v1 as nexus_api
import temporalio.api.operatorservice.v1 as operator_api
import temporalio.client
import temporalio.worker
from temporalio.client import (
    BuildIdOpAddNewDefault,
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleBackfill,
    ScheduleOverlapPolicy,
    ScheduleSpec,
    ScheduleState,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

import interpose
from workflows import (
    ELSEWHERE,
    EchoHandler,
    Elsewhere,
    Holder,
    Poked,
    Traced,
    TwoAttempts,
    completed_elsewhere,
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


async def paused_schedule(client: Client, unique: str, queue: str):
    """A paused schedule with no times, whose action starts ``Poked`` on ``queue``."""
    return await client.create_schedule(
        f"schedule-{unique}",
        Schedule(
            action=ScheduleActionStartWorkflow(
                Poked.run, id=f"scheduled-{unique}", task_queue=queue
            ),
            spec=ScheduleSpec(intervals=[]),
            state=ScheduleState(paused=True),
        ),
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
            schedule = await paused_schedule(client, unique, queue)
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


#: The methods of the SDK's interceptor classes with no hook, and why. Any other method an
#: SDK release adds fails the test below until it is adapted or listed here.
NO_HOOK = {
    (temporalio.worker.WorkflowInboundInterceptor, "init"): "carries no headers (the "
    "contract's `initialize-workflow` is the Rust SDK's; see NOT_ADAPTED)",
    (temporalio.worker.WorkflowOutboundInterceptor, "info"): "a read of the run's info",
    (temporalio.worker.WorkflowOutboundInterceptor, "start_signal_with_start_workflow"): "a "
    "system Nexus operation (typed view): no hook in the contract (README, 'Not in Python')",
    (temporalio.worker.WorkflowOutboundInterceptor, "start_system_nexus_operation"): "a "
    "system Nexus operation: Temporal refuses Nexus headers on its system endpoint, so it "
    "is not `start-nexus-operation` (README, 'Not in Python')",
    (temporalio.worker.ActivityInboundInterceptor, "init"): "hands over the outbound "
    "interceptor, no call",
    (temporalio.worker.ActivityOutboundInterceptor, "info"): "a read of the attempt's info",
}


def test_every_method_of_the_sdks_interceptor_classes_is_adapted():
    """Each public method of the five interceptor classes of the installed Temporal Python
    SDK is overridden by the package's adapter, or listed in ``NO_HOOK`` with why."""
    pairs = [
        (temporalio.client.OutboundInterceptor, interpose._ClientOutbound),
        (temporalio.worker.WorkflowInboundInterceptor, interpose._WorkflowInbound),
        (temporalio.worker.WorkflowOutboundInterceptor, interpose._WorkflowOutbound),
        (temporalio.worker.ActivityInboundInterceptor, interpose._ActivityInbound),
        (temporalio.worker.ActivityOutboundInterceptor, interpose._ActivityOutbound),
    ]
    missing = []
    for sdk, ours in pairs:
        for name, _ in inspect.getmembers(sdk, inspect.isfunction):
            if name.startswith("_") or (sdk, name) in NO_HOOK:
                continue
            if getattr(ours, name) is getattr(sdk, name):
                missing.append(f"{sdk.__name__}.{name}")
    assert not missing, f"not adapted: {missing}"


async def attempt(call):
    """A client call the dev server may refuse (an experimental or deprecated API, a state
    the call does not apply to): its hooks run either way, ``after`` seeing the failure. An
    error of the adapter itself is not swallowed."""
    try:
        return await asyncio.wait_for(call, 10)
    except (interpose.GuestError, interpose.InterposeError, TypeError, AttributeError, KeyError):
        raise
    except Exception:
        return None


def test_every_other_client_hook_once_per_call(temporal_address, config, guest_logs, unique):
    """The client hooks the first test's scenario does not reach: signal- and
    update-with-start, cancel, terminate, schedule trigger and backfill, the four async
    activity completions, and the hooks the Temporal Rust SDK's client lacks (contract
    0.5): standalone activities, standalone Nexus operations, the worker build-id calls.
    Each hook once per call, every ``before`` with its ``after``."""
    chain = interpose.load(config(("probe", "probe", "")))
    queue = f"others-{unique}"
    nobody = f"nobody-{unique}"
    worker_hooks = {
        "execute-workflow",
        "handle-signal",
        "validate-update",
        "handle-update",
        "schedule-activity",
        "execute-activity",
    }

    async def scenario() -> None:
        client = await Client.connect(temporal_address, interceptors=[chain])
        plain = await Client.connect(temporal_address)
        async with Worker(
            client,
            task_queue=queue,
            workflows=[Poked, Holder, Elsewhere],
            activities=[completed_elsewhere],
        ):
            poked = await client.start_workflow(
                Poked.run, id=f"poked-{unique}", task_queue=queue, start_signal="poke"
            )
            await asyncio.wait_for(poked.result(), 60)
            start = WithStartWorkflowOperation(
                Holder.run,
                id=f"holder-{unique}",
                task_queue=queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
            assert (
                await client.execute_update_with_start_workflow(
                    Holder.set_value, 3, start_workflow_operation=start
                )
                == 0
            )
            holder = await start.workflow_handle()
            await holder.cancel()
            await attempt(holder.terminate())  # refused if the cancellation ended it

            schedule = await paused_schedule(client, unique, nobody)
            await schedule.trigger()
            now = datetime.now(timezone.utc)
            await schedule.backfill(
                ScheduleBackfill(
                    start_at=now - timedelta(minutes=10),
                    end_at=now - timedelta(minutes=9),
                    overlap=ScheduleOverlapPolicy.ALLOW_ALL,
                )
            )
            await schedule.delete()

            elsewhere = await client.start_workflow(
                Elsewhere.run, id=f"elsewhere-{unique}", task_queue=queue
            )
            for _ in range(300):
                if len(ELSEWHERE.get(elsewhere.id, [])) == 2:
                    break
                await asyncio.sleep(0.1)
            assert len(ELSEWHERE.get(elsewhere.id, [])) == 2, "both activities started in 30 s"
            first, second = ELSEWHERE[elsewhere.id]
            done = client.get_async_activity_handle(task_token=first)
            await done.heartbeat("half")
            await done.complete("done")
            other = client.get_async_activity_handle(task_token=second)
            await attempt(other.report_cancellation())  # refused: no cancellation asked
            await attempt(other.fail(RuntimeError("failed elsewhere")))
            await plain.get_workflow_handle(elsewhere.id).terminate("test over")

        # Standalone activities: on a queue no worker polls.
        activity = await attempt(
            client.start_activity(
                "work",
                1,
                id=f"standalone-{unique}",
                task_queue=nobody,
                start_to_close_timeout=timedelta(seconds=10),
            )
        )
        handle = activity or client.get_activity_handle(f"standalone-{unique}")
        await attempt(handle.describe())
        await attempt(handle.pause())
        await attempt(handle.unpause())
        await attempt(handle.restore_original_options())
        await attempt(handle.cancel())
        await attempt(handle.terminate())
        await attempt(_drain(client.list_activities(f"ActivityId = 'standalone-{unique}'")))
        await attempt(client.count_activities(f"ActivityId = 'standalone-{unique}'"))

        # Standalone Nexus operations: an endpoint that does not exist.
        nexus = client.create_nexus_client("Echo", f"nowhere-{unique}")
        await attempt(nexus.start_operation("echo", "hi", id=f"op-{unique}"))
        operation = client.get_nexus_operation_handle(f"op-{unique}")
        await attempt(operation.describe())
        await attempt(operation.result())
        await attempt(operation.cancel())
        await attempt(operation.terminate())
        await attempt(_drain(client.list_nexus_operations(f"OperationId = 'op-{unique}'")))
        await attempt(client.count_nexus_operations(f"OperationId = 'op-{unique}'"))

        # Worker build ids (Temporal's first worker versioning, deprecated).
        await attempt(
            client.update_worker_build_id_compatibility(
                nobody, BuildIdOpAddNewDefault(f"build-{unique}")
            )
        )
        await attempt(client.get_worker_build_id_compatibility(nobody))
        await attempt(client.get_worker_task_reachability([f"build-{unique}"], [nobody]))

    asyncio.run(scenario())
    lines = guest_logs.of("probe")
    before = counts(lines, "before")
    client_hooks = Counter({h: n for h, n in before.items() if h not in worker_hooks})
    expected = Counter(
        {
            "signal-with-start-workflow": 1,
            "fetch-workflow-history": 1,  # the signalled run's result
            "update-with-start-workflow": 1,
            "cancel-workflow": 1,
            "terminate-workflow": 1,
            "create-schedule": 1,
            "trigger-schedule": 1,
            "backfill-schedule": 1,
            "delete-schedule": 1,
            "start-workflow": 1,  # the run whose activities complete elsewhere
            "heartbeat-async-activity": 1,
            "complete-async-activity": 1,
            "report-async-activity-cancellation": 1,
            "fail-async-activity": 1,
            "start-activity": 1,
            "describe-activity": 1,
            "pause-activity": 1,
            "unpause-activity": 1,
            "update-activity-options": 1,
            "cancel-activity": 1,
            "terminate-activity": 1,
            "list-activities": 1,
            "count-activities": 1,
            "start-standalone-nexus-operation": 1,
            "describe-nexus-operation": 1,
            "get-nexus-operation-result": 1,
            "cancel-nexus-operation": 1,
            "terminate-nexus-operation": 1,
            "list-nexus-operations": 1,
            "count-nexus-operations": 1,
            "update-worker-build-id-compatibility": 1,
            "get-worker-build-id-compatibility": 1,
            "get-worker-task-reachability": 1,
        }
    )
    assert dict(client_hooks) == dict(expected), f"hooks seen: {client_hooks}\nlines: {lines}"
    # Client hooks only: a run the test terminates sees no `after` (an eviction ends it).
    after = counts(lines, "after")
    assert {h: after[h] for h in expected} == dict(expected), "every `before` has its `after`"


async def _drain(iterator) -> None:
    async for _ in iterator:
        pass


def test_a_guest_edits_the_task_queue_of_a_start_and_not_its_type(
    temporal_address, config, unique
):
    """A client guest's edit of a start's task queue reaches the server (the probe's
    ``edit-detail``: the queue gets ``-probe`` appended, and its edit of the workflow type
    is refused, else it rejects the start)."""
    chain = interpose.load(config(("probe", "probe", "[guest.config]\nbefore = 'edit-detail'")))

    async def run():
        client = await Client.connect(temporal_address, interceptors=[chain])
        plain = await Client.connect(temporal_address)
        handle = await client.start_workflow(
            Poked.run, id=f"edited-{unique}", task_queue=f"asked-{unique}"
        )
        try:
            return (await plain.get_workflow_handle(handle.id).describe()).task_queue
        finally:
            await plain.get_workflow_handle(handle.id).terminate("test over")

    assert asyncio.run(run()) == f"asked-{unique}-probe"


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


def test_nexus_headers_differing_only_in_case_are_refused_not_merged():
    """Nexus headers match without case: two keys that differ only in case would lose a
    value once lowercased, so the adapter refuses them (helper-23's finding)."""
    incoming, pairs = interpose._nexus_headers_in({"X-User": "a", "Trace": "t"})
    assert incoming == {"x-user": "a", "trace": "t"}
    assert [k for k, _ in pairs] == ["x-user", "trace"]
    with pytest.raises(interpose.InterposeError, match="differing only in case"):
        interpose._nexus_headers_in({"X-User": "a", "x-user": "b"})


def test_guests_see_the_build_ids_a_compatibility_update_changes():
    from temporalio.client import BuildIdOpAddNewCompatible, BuildIdOpMergeSets

    assert interpose._build_ids(BuildIdOpAddNewDefault("b1")) == ["b1"]
    assert interpose._build_ids(BuildIdOpAddNewCompatible("b2", "b1")) == ["b2", "b1"]
    assert interpose._build_ids(BuildIdOpMergeSets("p", "s")) == ["p", "s"]
