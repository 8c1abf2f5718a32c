"""The seed's context propagation on a Python client and worker, with the same guest
binaries Rust workers run: the Rust-built guest and the Python-built one.

The propagation guest stamps ``user-id: alice`` on the client's start, carries it into the
run (workflow inbound) and onto every activity it schedules (workflow outbound); the
``witness`` guest after it logs the user each workflow and activity hook carried.
"""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

import interpose
from workflows import Ordered, work


@pytest.mark.parametrize("guest", ["context-propagation", "context-propagation-py"])
def test_the_user_travels_from_a_python_client_through_a_python_worker(
    temporal_address, config, guest_logs, unique, guest
):
    chain = interpose.load(
        config(
            ("propagation", guest, "[guest.config]\nuser-id = 'alice'"),
            ("witness", "witness", ""),
        )
    )
    queue = f"propagation-{unique}"

    async def run():
        client = await Client.connect(temporal_address, interceptors=[chain])
        async with Worker(
            client, task_queue=queue, workflows=[Ordered], activities=[work]
        ):
            result = await client.execute_workflow(
                Ordered.run, "p", id=f"propagation-{unique}", task_queue=queue
            )
            assert result == 6

    asyncio.run(run())
    seen = guest_logs.of("witness")
    assert seen.count("Ordered execute-workflow user=alice") == 1, seen
    assert seen.count("Ordered schedule-activity user=alice") == 3, seen
    assert seen.count("Ordered execute-activity user=alice") == 3, seen
    assert not [l for l in seen if "user=none" in l], f"every hop carried the user: {seen}"


def test_the_plugin_registers_the_chain_once_on_the_client_and_its_workers(
    temporal_address, config, guest_logs, unique
):
    """``Interpose.plugin()`` on ``Client.connect(plugins=...)``: the worker built from that
    client runs the guests too, once, in the default sandbox (no runner configured)."""
    chain = interpose.load(
        config(
            ("propagation", "context-propagation", "[guest.config]\nuser-id = 'alice'"),
            ("witness", "witness", ""),
        )
    )
    queue = f"plugin-{unique}"

    async def run():
        client = await Client.connect(temporal_address, plugins=[chain.plugin()])
        async with Worker(client, task_queue=queue, workflows=[Ordered], activities=[work]):
            result = await client.execute_workflow(
                Ordered.run, "p", id=f"plugin-{unique}", task_queue=queue
            )
            assert result == 6

    asyncio.run(run())
    seen = guest_logs.of("witness")
    assert seen.count("Ordered execute-workflow user=alice") == 1, seen
    assert seen.count("Ordered execute-activity user=alice") == 3, seen
    assert len(seen) == 7, f"each hook once: {seen}"
