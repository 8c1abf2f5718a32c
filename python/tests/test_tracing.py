"""Guest spans in a Python process: the tracing guest (the seed's ``TracingInterceptor`` as a
Rust component) on a Python worker, its spans exported through an OpenTelemetry tracer
provider, continuing the trace a Temporal Python SDK client with the SDK's own
``TracingInterceptor`` started.

What would break each assertion: spans not handed from the native queue to Python (none
exported); the package's tracer not keeping the host's ids (a child's parent, which the
guest propagated in a header, is then not the id its parent was exported with); the
replay flag not reaching the host (replayed spans exported again).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections import Counter

from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.exceptions import CancelledError
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig
from temporalio.worker import Replayer, Worker

import interpose
from workflows import Ordered, Rounds, work


class _Threads(SpanProcessor):
    """Records the thread each guest span is ended on (handed to the provider)."""

    def __init__(self) -> None:
        self.names: set = set()

    def on_end(self, span) -> None:
        if "interpose.guest" in span.attributes:
            self.names.add(threading.current_thread().name)


def _provider(threads: "_Threads | None" = None):
    """A provider as production has one: a batching processor (its worker thread exports;
    a span's end only queues it), read after a flush."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    if threads is not None:
        provider.add_span_processor(threads)
    return provider, exporter


def _finished(chain, provider, exporter) -> tuple:
    """What the exporter got: the package's export thread first, then the provider's."""
    assert chain.flush_spans(10)
    assert provider.force_flush(10_000)
    return exporter.get_finished_spans()


def _guest_spans(chain, provider, exporter) -> list:
    return [
        s for s in _finished(chain, provider, exporter) if "interpose.guest" in s.attributes
    ]


def test_guest_spans_continue_the_clients_trace_with_the_ids_guests_propagated(
    temporal_address, config, unique
):
    threads = _Threads()
    provider, exporter = _provider(threads)
    chain = interpose.load(config(("tracing", "tracing", "")), tracer_provider=provider)
    queue = f"tracing-{unique}"
    workflow_id = f"tracing-{unique}"

    async def run():
        # The client is the SDK's own tracing, the worker Interpose's guest: one trace.
        starter = await Client.connect(
            temporal_address,
            interceptors=[TracingInterceptor(provider.get_tracer("client"))],
        )
        worker_client = await Client.connect(temporal_address, interceptors=[chain])
        async with Worker(
            worker_client, task_queue=queue, workflows=[Ordered], activities=[work]
        ):
            assert await starter.execute_workflow(
                Ordered.run, "t", id=workflow_id, task_queue=queue
            ) == 6
        return await starter.get_workflow_handle(workflow_id).fetch_history()

    history = asyncio.run(run())

    spans = _finished(chain, provider, exporter)
    (start,) = [s for s in spans if s.name == "StartWorkflow:Ordered"]
    guest = _guest_spans(chain, provider, exporter)
    names = sorted(s.name for s in guest)
    assert names == ["RunActivity:work"] * 3 + ["RunWorkflow:Ordered"] + [
        "StartActivity:work"
    ] * 3, names
    assert {s.attributes["interpose.guest"] for s in guest} == {"tracing"}
    # The provider's processors ran on the package's export thread: never in a workflow
    # activation (the SDK's sandbox, its deadlock detector) nor on the event loop.
    assert threads.names == {"interpose-spans"}, threads.names
    assert len({s.context.span_id for s in guest}) == len(guest), "each span exported once"
    assert {s.context.trace_id for s in guest} == {start.context.trace_id}, "one trace"

    (run_span,) = [s for s in guest if s.name == "RunWorkflow:Ordered"]
    assert run_span.parent.span_id == start.context.span_id
    assert run_span.parent.is_remote
    assert run_span.kind == trace.SpanKind.SERVER
    schedules = [s for s in guest if s.name == "StartActivity:work"]
    assert {s.parent.span_id for s in schedules} == {run_span.context.span_id}
    # The guest put each schedule's span id in the activity's header; the activity's span
    # names it as its parent: so the ids exported are the ids propagated.
    runs = [s for s in guest if s.name == "RunActivity:work"]
    assert sorted(s.parent.span_id for s in runs) == sorted(
        s.context.span_id for s in schedules
    )
    assert run_span.start_time <= min(s.start_time for s in schedules)
    assert run_span.end_time >= max(s.end_time for s in schedules)
    # The guest's status: ok for the run and the activities (an outbound command's span
    # ends when it is sent, unset).
    assert {s.status.status_code for s in guest if s.name.startswith("Run")} == {
        trace.StatusCode.OK
    }
    assert {s.status.status_code for s in schedules} == {trace.StatusCode.UNSET}

    # Replay: the guest ends the same spans again, and none is exported.
    before = len(_finished(chain, provider, exporter))

    async def replay():
        await Replayer(workflows=[Ordered], interceptors=[chain]).replay_workflow(history)

    asyncio.run(replay())
    after = _finished(chain, provider, exporter)
    assert len(after) == before, [s.name for s in after[before:]]


def test_without_a_provider_spans_go_to_the_global_one_even_when_set_after_load(
    temporal_address, config, unique
):
    """The default: the global provider, as the SDK's ``TracingInterceptor`` uses, looked up
    when spans come, so that an application may set it after ``interpose.load``. (The only
    test that sets the process's global provider, which OpenTelemetry sets once.)"""
    chain = interpose.load(config(("tracing", "tracing", "")))
    provider, exporter = _provider()
    trace.set_tracer_provider(provider)
    assert trace.get_tracer_provider() is provider, "the global provider is set once"

    async def run():
        client = await Client.connect(temporal_address, interceptors=[chain])
        handle = await client.start_workflow(
            "Nothing", id=f"global-{unique}", task_queue=f"nobody-{unique}"
        )
        await handle.terminate("test")
        return await handle.fetch_history()

    history = asyncio.run(run())
    (span,) = [s for s in _guest_spans(chain, provider, exporter) if s.name == "StartWorkflow:Nothing"]
    started = history.events[0].workflow_execution_started_event_attributes
    carrier = json.loads(started.header.fields["_tracer-data"].data)
    _, trace_id, span_id, _ = carrier["traceparent"].split("-")
    assert (int(trace_id, 16), int(span_id, 16)) == (span.context.trace_id, span.context.span_id)


def test_a_run_that_continues_as_new_ends_ok_and_its_successor_continues_the_trace(
    temporal_address, config, unique
):
    """``after(execute-workflow)`` sees continue-as-new as a failure of type
    ``ContinueAsNew`` (the tracing guest ends the run's span as ok) and the guest's header
    reaches the next run through the continue-as-new command; a cancelled run is seen failed
    (the guest ends its span as an error)."""
    provider, exporter = _provider()
    chain = interpose.load(config(("tracing", "tracing", "")), tracer_provider=provider)
    queue = f"rounds-{unique}"

    def runs() -> list:
        return [s for s in _guest_spans(chain, provider, exporter) if s.name == "RunWorkflow:Rounds"]

    async def run():
        client = await Client.connect(temporal_address, interceptors=[chain])
        async with Worker(client, task_queue=queue, workflows=[Rounds]):
            handle = await client.start_workflow(
                Rounds.run, 0, id=f"rounds-{unique}", task_queue=queue
            )
            for _ in range(100):  # the first run's span is exported when it continues
                if runs():
                    break
                await asyncio.sleep(0.1)
            assert runs(), "the first run continued as new within 10 s"
            await handle.cancel()  # the latest run: the second
            with pytest.raises(WorkflowFailureError) as failed:
                await asyncio.wait_for(handle.result(), 30)
            assert isinstance(failed.value.cause, CancelledError), failed.value.cause

    asyncio.run(run())
    first, second = sorted(runs(), key=lambda s: s.start_time)
    assert first.status.status_code == trace.StatusCode.OK, first.status
    assert first.attributes["temporalRunID"] != second.attributes["temporalRunID"]
    assert second.parent.span_id == first.context.span_id, "the next run continues the trace"
    assert second.context.trace_id == first.context.trace_id
    assert second.status.status_code == trace.StatusCode.ERROR, second.status
    assert "cancel" in second.status.description.lower(), second.status.description


def test_a_guest_that_floods_spans_loses_its_own_and_cannot_strip_its_name(
    temporal_address, config, unique
):
    """One guest ends 2000 spans in one call: 1024 are exported, the rest dropped and
    counted for it (``interpose_guest_spans_dropped``), and the other guests' spans of the
    same call are all exported. A span with the 128 attributes a guest may set keeps
    ``interpose.guest`` (Python's SDK drops the oldest attribute beyond its limit)."""
    buffer = MetricBuffer(10_000)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    provider, exporter = _provider()
    chain = interpose.load(
        config(
            ("storm", "probe", "[guest.config]\ntag = 'storm'\nbefore = 'span-storm'"),
            ("full", "probe", "[guest.config]\ntag = 'full'\nbefore = 'span-full'"),
            ("tracing", "tracing", ""),
        ),
        runtime=runtime,
        tracer_provider=provider,
    )

    async def run():
        client = await Client.connect(temporal_address, interceptors=[chain])
        handle = await client.start_workflow(
            "Nothing", id=f"storm-{unique}", task_queue=f"nobody-{unique}"
        )
        plain = await Client.connect(temporal_address)
        await plain.get_workflow_handle(handle.id).terminate("test")

    asyncio.run(run())
    guest = _guest_spans(chain, provider, exporter)
    by_guest = Counter(s.attributes["interpose.guest"] for s in guest)
    assert by_guest == Counter({"storm": 1024, "full": 1, "tracing": 1}), by_guest
    (full,) = [s for s in guest if s.name == "full"]
    assert full.attributes["interpose.guest"] == "full", dict(full.attributes)
    dropped = Counter()
    for u in buffer.retrieve_updates():
        if u.metric.name == "interpose_guest_spans_dropped":
            dropped[u.attributes.get("interpose_guest")] += u.value
    assert dropped == Counter({"storm": 2000 - 1024}), dropped


_AT_EXIT = r"""
import asyncio, sys, time
import interpose
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from temporalio.client import Client

config, address, workflow_id = sys.argv[1:4]
chain = interpose.load(config)  # no provider given: the global one, set below


class Slow(SpanProcessor):
    # The export of the first guest span takes a second: the interpreter exits meanwhile.
    def on_end(self, span):
        time.sleep(1.0)


class Seen(SpanProcessor):
    shut = False

    def on_end(self, span):
        print(f"span {span.name} {'after' if Seen.shut else 'before'} shutdown", flush=True)

    def shutdown(self):
        Seen.shut = True


provider = TracerProvider()  # made after `load`: its exit hook is registered after the package's
provider.add_span_processor(Slow())
provider.add_span_processor(Seen())
trace.set_tracer_provider(provider)


async def main():
    client = await Client.connect(address, interceptors=[chain])
    handle = await client.start_workflow("Nothing", id=workflow_id, task_queue=workflow_id)
    await handle.terminate("test over")


asyncio.run(main())
time.sleep(0.2)  # the export thread has the batch (and the provider) by now
"""


def test_at_exit_spans_handed_over_are_exported_before_the_provider_shuts_down(
    temporal_address, config, tmp_path, unique
):
    """A process that exits while guest spans are being exported: they reach the provider's
    processors before it shuts down, even when the provider was made after ``load`` (seen
    failing with the package's exit hook registered only at ``load``: the span came after
    the provider's shutdown)."""
    script = tmp_path / "at_exit.py"
    script.write_text(_AT_EXIT)
    done = subprocess.run(
        [sys.executable, str(script), config(("tracing", "tracing", "")), temporal_address,
         f"exit-{unique}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "span StartWorkflow:Nothing before shutdown" in done.stdout, (done.stdout, done.stderr)
