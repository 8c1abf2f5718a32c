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
from temporalio.client import Client
from temporalio.worker import Replayer, Worker

import interpose
from workflows import Ordered, work


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
