"""Replay with the Python SDK's ``Replayer`` on histories recorded with guests.

A guest that edits the commands a workflow produces (the ``probe`` test guest renames every
scheduled activity) replays its own history cleanly, and nothing it logs during replay
reaches ``logging``; the same history replayed with a guest that edits differently fails
with the SDK's nondeterminism error.
"""

from __future__ import annotations

import asyncio

import pytest
import temporalio.workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Replayer, Worker

import interpose
from workflows import Ordered, Sleepy, work


def probe(activity_id: str):
    return ("probe", "probe", f"[guest.config]\nactivity-id = '{activity_id}'")


def record(address: str, chain, queue: str, workflow_id: str):
    async def run():
        client = await Client.connect(address)
        async with Worker(
            client,
            task_queue=queue,
            workflows=[Ordered],
            activities=[work],
            interceptors=[chain],
        ):
            handle = await client.start_workflow(
                Ordered.run, "replay", id=workflow_id, task_queue=queue
            )
            assert await asyncio.wait_for(handle.result(), 60) == 6
            return await handle.fetch_history()

    return asyncio.run(run())


def replay(chain, history):
    async def run():
        return await Replayer(
            workflows=[Ordered], interceptors=[chain]
        ).replay_workflow(history)

    return asyncio.run(run())


def test_a_guest_that_edits_commands_replays_its_history_and_logs_nothing_in_replay(
    temporal_address, config, guest_logs, unique
):
    chain = interpose.load(config(probe("renamed")))
    history = record(temporal_address, chain, f"replay-{unique}", f"replay-{unique}")
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_id
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    # `<activity-id>-<calls this run's guest instance has seen>`.
    assert scheduled == ["renamed-2", "renamed-3", "renamed-4"], scheduled
    live = [l for l in guest_logs.of("probe") if "before schedule-activity" in l]
    assert len(live) == 3, guest_logs.lines

    guest_logs.lines.clear()
    replay(interpose.load(config(probe("renamed"))), history)
    assert guest_logs.of("probe") == [], "nothing a guest logs in replay is emitted"


def test_the_same_history_with_a_guest_that_edits_differently_fails_replay(
    temporal_address, config, unique
):
    history = record(
        temporal_address,
        interpose.load(config(probe("renamed"))),
        f"replay-neg-{unique}",
        f"replay-neg-{unique}",
    )
    with pytest.raises(temporalio.workflow.NondeterminismError) as failed:
        replay(interpose.load(config(probe("other"))), history)
    assert "renamed-2" in str(failed.value) or "other-2" in str(failed.value), failed.value


def test_an_evicted_run_is_not_ended_for_guests_and_replays_silently(
    temporal_address, config, guest_logs, unique
):
    """With no workflow cache the SDK evicts the run after every activation, cancelling its
    task while it waits on a timer: guests must not see that as the run's end. The probe
    fails every run's end (``after = 'fail-run'``): at the real end the workflow fails with
    its failure; an eviction taken for an end would show as a cancelled run whose end the
    guest tried to change (logged) before that."""
    chain = interpose.load(config(("probe", "probe", "[guest.config]\nafter = 'fail-run'")))
    queue = f"evict-{unique}"

    async def run():
        client = await Client.connect(temporal_address)
        async with Worker(
            client,
            task_queue=queue,
            workflows=[Sleepy],
            interceptors=[chain],
            max_cached_workflows=0,
        ):
            with pytest.raises(WorkflowFailureError):
                await client.execute_workflow(Sleepy.run, id=f"evict-{unique}", task_queue=queue)

    asyncio.run(run())
    assert not [l for l in guest_logs.lines if "cancelled" in l], guest_logs.lines
    lines = guest_logs.of("probe")
    assert lines.count("probe before execute-workflow") == 1, lines
    assert lines.count("probe after execute-workflow") == 1, lines
