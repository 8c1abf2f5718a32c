"""Hostile guests in a Python client and worker: contained, named, and the worker lives on.

The ``hostile`` test guest (the Rust hostile suite's, unchanged binary) misbehaves in one
hook, for workflows whose id starts with its name. Each case's error must name the guest,
the hook, the phase and the cause; a deliberate rejection reaches the caller as an
``ApplicationError``; after all of them the same worker still runs a clean workflow.
"""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

import interpose
from workflows import Holder, OneAttempt, OnePulse, Poked, pulse, work

# (guest name, behaviour, limits, what the error says of the cause)
CASES = [
    ("fuel", "loop", "fuel = 5_000_000", "out of fuel (budget 5000000 units per call)"),
    ("spin", "loop", 'fuel = 10_000_000_000_000\ndeadline = "300ms"', "deadline exceeded (300ms per call)"),
    ("grow", "grow", 'memory = "16MiB"', "memory limit"),
    ("panic", "panic", "", "hostile guest panics on purpose"),
    ("oversize", "oversize", "", "exceeds the limit of"),
]
REJECT = "hostile guest rejects everything"
# Read-only hooks refuse every edit, so the oversized output there is a rejection's type.
READ_ONLY_CASES = CASES[:-1] + [
    ("oversize", "reject-huge-type", "", "exceeds the limit of"),
]


def hostile_config(config, hook: str, cases=CASES) -> str:
    entries = [
        (
            name,
            "hostile",
            f"{limits}\n[guest.config]\nbehavior = '{behavior}'\nonly = '{hook}'\n"
            f"only-workflow = '{name}-'",
        )
        for name, behavior, limits, _ in cases + [("reject", "reject", "", REJECT)]
    ]
    return config(*entries, ("context", "context-propagation", ""))


def names(text: str, name: str, hook: str, cause: str) -> None:
    assert f"interceptor `{name}` failed in hook `{hook}` (before)" in text, text
    assert cause in text, text


async def task_failure(client: Client, workflow_id: str) -> str:
    """The first workflow task failure's message in the workflow's history."""
    for _ in range(100):
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        for e in history.events:
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                return e.workflow_task_failed_event_attributes.failure.message
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id}: no workflow task failed within 10 s")


def run_worker(address: str, chain, queue: str, body, workflows=()):
    async def run():
        client = await Client.connect(address)
        async with Worker(
            client,
            task_queue=queue,
            workflows=[OneAttempt, OnePulse, *workflows],
            activities=[work, pulse],
            interceptors=[chain],
        ):
            await body(client)
            clean = await client.start_workflow(
                OneAttempt.run, 4, id=f"clean-{queue}", task_queue=queue
            )
            assert await asyncio.wait_for(clean.result(), 30) == "ok 8", "the worker lives on"

    asyncio.run(run())


@pytest.mark.parametrize("hook", ["execute-workflow", "schedule-activity"])
def test_hostile_guests_in_workflow_hooks_fail_the_task_and_name_the_guest(
    temporal_address, config, unique, hook
):
    """The run's hook and a command's: each failure fails the workflow task. A rejected
    run fails the workflow; a refused command fails the task (a guest cannot make workflow
    code see an error the history would not replay)."""
    chain = interpose.load(hostile_config(config, hook))
    queue = f"hostile-wf-{unique}"

    async def body(client: Client) -> None:
        for name, _, _, cause in CASES:
            handle = await client.start_workflow(
                OneAttempt.run, 1, id=f"{name}-{unique}", task_queue=queue
            )
            names(await task_failure(client, handle.id), name, hook, cause)
            await handle.terminate()
        rejected = await client.start_workflow(
            OneAttempt.run, 1, id=f"reject-{unique}", task_queue=queue
        )
        if hook == "execute-workflow":
            with pytest.raises(WorkflowFailureError) as failed:
                await asyncio.wait_for(rejected.result(), 30)
            assert REJECT in str(failed.value.cause), failed.value.cause
        else:
            failure = await task_failure(client, rejected.id)
            assert f"interceptor `reject` refused `{hook}`" in failure, failure
            assert REJECT in failure, failure
            assert (await rejected.describe()).status == WorkflowExecutionStatus.RUNNING
            await rejected.terminate()

    run_worker(temporal_address, chain, queue, body)


@pytest.mark.parametrize("hook", ["handle-query", "validate-update"])
def test_hostile_guests_in_queries_and_validators_fail_that_call_and_the_run_goes_on(
    temporal_address, config, unique, hook
):
    """Read-only hooks: a guest's failure or rejection fails the query or the update (the
    caller sees it, naming the guest), never the workflow task; the run still answers
    after."""
    chain = interpose.load(hostile_config(config, hook, READ_ONLY_CASES))
    queue = f"hostile-ro-{unique}"

    async def call(handle):
        if hook == "handle-query":
            return await handle.query(Holder.current)
        return await handle.execute_update(Holder.set_value, 1)

    async def body(client: Client) -> None:
        for name, _, _, cause in READ_ONLY_CASES + [("reject", "reject", "", REJECT)]:
            handle = await client.start_workflow(
                Holder.run, id=f"{name}-{unique}", task_queue=queue
            )
            with pytest.raises((WorkflowQueryFailedError, WorkflowUpdateFailedError)) as failed:
                await asyncio.wait_for(call(handle), 30)
            text = str(failed.value) + str(getattr(failed.value, "cause", ""))
            if name != "reject":
                names(text, name, hook, cause)
            else:
                assert REJECT in text, text
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            history = await handle.fetch_history()
            assert not [
                e for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ], f"{name}: no workflow task failed"
            await handle.terminate()

    run_worker(temporal_address, chain, queue, body, workflows=[Holder])


def test_hostile_guests_in_activity_hooks_fail_the_attempt_and_name_the_guest(
    temporal_address, config, unique
):
    chain = interpose.load(hostile_config(config, "execute-activity"))
    queue = f"hostile-act-{unique}"

    async def body(client: Client) -> None:
        for name, _, _, cause in CASES:
            result = await client.execute_workflow(
                OneAttempt.run, 1, id=f"{name}-{unique}", task_queue=queue
            )
            assert result.startswith("failed: "), result
            names(result, name, "execute-activity", cause)
        result = await client.execute_workflow(
            OneAttempt.run, 1, id=f"reject-{unique}", task_queue=queue
        )
        assert result.startswith("failed: ") and REJECT in result, result

    run_worker(temporal_address, chain, queue, body)


def test_hostile_guests_in_a_python_client_raise_to_the_caller_and_start_nothing(
    temporal_address, config, unique
):
    chain = interpose.load(hostile_config(config, "start-workflow"))
    queue = f"hostile-client-{unique}"

    async def run():
        client = await Client.connect(temporal_address, interceptors=[chain])
        for name, _, _, cause in CASES:
            with pytest.raises(interpose.GuestError) as failed:
                await client.start_workflow(
                    OneAttempt.run, 1, id=f"{name}-{unique}", task_queue=queue
                )
            names(str(failed.value), name, "start-workflow", cause)
        from temporalio.exceptions import ApplicationError

        with pytest.raises(ApplicationError, match=REJECT):
            await client.start_workflow(
                OneAttempt.run, 1, id=f"reject-{unique}", task_queue=queue
            )
        plain = await Client.connect(temporal_address)
        for name, *_ in CASES + [("reject",)]:
            with pytest.raises(RPCError) as missing:
                await plain.get_workflow_handle(f"{name}-{unique}").describe()
            assert missing.value.status == RPCStatusCode.NOT_FOUND, f"{name}: nothing started"

    asyncio.run(run())


def test_a_bad_config_is_refused_at_load_with_one_exception_naming_the_guest(config, tmp_path):
    missing = tmp_path / "nope.wasm"
    path = tmp_path / "bad.toml"
    path.write_text(f'[[guest]]\nname = "ghost"\npath = "{missing}"\n')
    with pytest.raises(interpose.InterposeError) as failed:
        interpose.load(str(path))
    assert "ghost" in str(failed.value) and str(path) in str(failed.value), failed.value
    path.write_text('[[guest]]\nname = "x"\npath = 3\n')
    with pytest.raises(interpose.InterposeError) as failed:
        interpose.load(str(path))
    assert str(path) in str(failed.value), failed.value


def test_a_guest_that_rejects_a_heartbeat_fails_it_in_the_activity_and_edits_reach_the_sdk(
    temporal_address, config, unique
):
    """``activity-heartbeat`` (activity outbound): the rejection is raised by
    ``activity.heartbeat`` inside the activity, which fails the attempt with it."""
    chain = interpose.load(
        config(
            (
                "reject",
                "hostile",
                "[guest.config]\nbehavior = 'reject'\nonly = 'activity-heartbeat'\n"
                "only-workflow = 'reject-'",
            ),
        )
    )
    queue = f"heartbeat-{unique}"

    async def body(client: Client) -> None:
        result = await client.execute_workflow(
            OnePulse.run, 3, id=f"reject-{unique}", task_queue=queue
        )
        assert result.startswith("failed: ") and REJECT in result, result
        fine = await client.execute_workflow(OnePulse.run, 3, id=f"fine-{unique}", task_queue=queue)
        assert fine == "ok 6", fine

    run_worker(temporal_address, chain, queue, body)


def test_a_rejected_signal_fails_the_workflow_task_not_the_workflow(
    temporal_address, config, unique
):
    """A guest's rejection of ``handle-signal`` fails the workflow task (retried; the run
    stays open), as in Rust workers; it never fails the workflow."""
    chain = interpose.load(
        config(
            (
                "reject",
                "hostile",
                "[guest.config]\nbehavior = 'reject'\nonly = 'handle-signal'\n"
                "only-workflow = 'sig-'",
            ),
        )
    )
    queue = f"signal-{unique}"

    async def body(client: Client) -> None:
        handle = await client.start_workflow(Poked.run, id=f"sig-{unique}", task_queue=queue)
        await handle.signal(Poked.poke)
        failure = await task_failure(client, handle.id)
        assert "interceptor `reject` failed `handle-signal`" in failure, failure
        assert REJECT in failure, failure
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        await handle.terminate()

    run_worker(temporal_address, chain, queue, body, workflows=[Poked])
