"""A Temporal Python SDK client with the SDK's own OpenTelemetry TracingInterceptor, for the
cross-SDK tracing test (tests/tests/temporal_tracing.rs).

Starts `OrderWorkflow("bob")` on the given task queue, signals `approve`, waits for the
result, and prints one JSON object: the result and every span the client's tracer finished
(name, trace id, span id, parent span id).

    traced_client.py <address> <task-queue> <workflow-id>
"""

import asyncio
import json
import os
import sys

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor


async def main(address: str, queue: str, workflow_id: str) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("interpose-test")
    client = await Client.connect(address, interceptors=[TracingInterceptor(tracer)])
    handle = await client.start_workflow(
        "OrderWorkflow", "bob", id=workflow_id, task_queue=queue
    )
    await handle.signal("approve", "carol")
    result = await asyncio.wait_for(handle.result(), timeout=60)
    spans = [
        {
            "name": s.name,
            "trace_id": format(s.context.trace_id, "032x"),
            "span_id": format(s.context.span_id, "016x"),
            "parent": format(s.parent.span_id, "016x") if s.parent else None,
        }
        for s in exporter.get_finished_spans()
    ]
    print(json.dumps({"result": result, "spans": spans}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
    # Leave without interpreter finalization: the SDK's Rust bridge threads can still hold
    # the GIL state then, and finalizing sometimes aborts the process (SIGABRT,
    # "PyGILState_Release: thread state ... must be current") after the output is written.
    sys.stdout.flush()
    os._exit(0)
