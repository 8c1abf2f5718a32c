"""Guest metrics through the Python SDK's metric meter, beside the worker's own.

The ``probe`` guest counts ``probe_hooks{hook}`` on every ``before``; a ``hostile`` guest
under ``on-failure = "skip"`` runs out of fuel in every activity. With a ``MetricBuffer``
runtime, the buffer holds the worker's own ``temporal_*`` metrics, the probe's counts with
the ``interpose_guest`` attribute, and the host's ``interpose_guest_failures`` by cause;
replaying the same history adds no guest sample.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from temporalio.client import Client
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig
from temporalio.worker import Replayer, Worker

import interpose
from workflows import Ordered, work


def sums(updates, name: str, *keys: str) -> Counter:
    found: Counter = Counter()
    for u in updates:
        if u.metric.name == name:
            found[tuple(u.attributes.get(k) for k in keys)] += u.value
    return found


def test_guest_metrics_reach_the_sdk_meter_and_none_in_replay(temporal_address, config, unique):
    buffer = MetricBuffer(100_000)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    chain = interpose.load(
        config(
            ("probe", "probe", ""),
            (
                "fuel",
                "hostile",
                "fuel = 5_000_000\non-failure = 'skip'\n[guest.config]\n"
                "behavior = 'loop'\nonly = 'execute-activity'",
            ),
        ),
        runtime=runtime,
    )
    queue = f"metrics-{unique}"

    async def run():
        client = await Client.connect(temporal_address, runtime=runtime)
        async with Worker(
            client,
            task_queue=queue,
            workflows=[Ordered],
            activities=[work],
            interceptors=[chain],
        ):
            handle = await client.start_workflow(
                Ordered.run, "m", id=f"metrics-{unique}", task_queue=queue
            )
            assert await asyncio.wait_for(handle.result(), 60) == 6
            return await handle.fetch_history()

    history = asyncio.run(run())
    updates = buffer.retrieve_updates()
    names = {u.metric.name for u in updates}
    assert any(n.startswith("temporal_") for n in names), f"the worker's own metrics: {names}"
    probe = sums(updates, "probe_hooks", "hook", "interpose_guest")
    assert probe == Counter(
        {
            ("execute-workflow", "probe"): 1,
            ("schedule-activity", "probe"): 3,
            ("execute-activity", "probe"): 3,
        }
    ), probe
    failures = sums(
        updates, "interpose_guest_failures", "interpose_guest", "hook", "phase", "cause"
    )
    assert failures == Counter({("fuel", "execute-activity", "before", "fuel"): 3}), failures
    # The live-instance gauge, set per guest as instances come and go: two at most (the
    # run's, and an activity's while the run awaits it), each activity's released, so at
    # the end at most the run's (cached until the SDK evicts it) is left.
    for guest in ("probe", "fuel"):
        live = [
            u.value
            for u in updates
            if u.metric.name == "interpose_guest_instances"
            and u.attributes.get("interpose_guest") == guest
        ]
        assert live and max(live) == 2 and min(live) >= 0, (guest, live)
        assert live[-1] in (0, 1), (guest, live)

    async def replay():
        await Replayer(
            workflows=[Ordered], interceptors=[chain], runtime=runtime
        ).replay_workflow(history)

    asyncio.run(replay())
    again = sums(buffer.retrieve_updates(), "probe_hooks", "hook")
    assert again == Counter(), f"guest metrics recorded in replay are dropped: {again}"
