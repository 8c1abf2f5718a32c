"""Benchmark: one workflow-outbound hop in a Python worker's adapter, through the Rust hop
guest, against a native Python interceptor doing the same header work.

Usage: hop.py <hop guest component> [rounds] [iterations]

Both sides wrap the same trivial next interceptor and get a fresh copy of the same
``StartActivityInput`` (``in`` header set) per call: the Wasm side runs Interpose's
``_WorkflowOutbound.start_activity`` (``before`` of ``schedule-activity`` through the chain:
headers across, the guest reads ``in`` and adds ``out``, headers back; then ``after`` when
the handle resolves, which the hop guest does not declare); the native side is a
``WorkflowOutboundInterceptor`` that copies ``in`` to ``out``. Rounds alternate Wasm and
native. ``workflow.time_ns``, ``is_replaying`` and the eviction check need a running
workflow, so they are stubbed (attribute reads in a real worker; outside one the SDK's
lookup raises, which would be timed). Prints one JSON object: per-round mean
seconds per call of each side.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time

import temporalio.api.common.v1 as common
import temporalio.worker

import interpose


class _Handle:
    """An activity handle that has already completed."""

    def add_done_callback(self, callback) -> None:
        callback(self)

    def cancelled(self) -> bool:
        return False

    def exception(self):
        return None

    def result(self):
        return None


class _Next:
    def start_activity(self, input):
        return _Handle()


class NativeHop(temporalio.worker.WorkflowOutboundInterceptor):
    def start_activity(self, input):
        value = input.headers.get("in")
        if value is not None:
            input.headers = {**input.headers, "out": value}
        return super().start_activity(input)


def activity_input() -> temporalio.worker.StartActivityInput:
    required = {
        f.name: None
        for f in dataclasses.fields(temporalio.worker.StartActivityInput)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    required.update(
        activity="work",
        args=[1],
        activity_id="1",
        headers={"in": common.Payload(metadata={"encoding": b"json/plain"}, data=b'"alice"')},
        disable_eager_execution=False,
    )
    return temporalio.worker.StartActivityInput(**required)


def per_call(outbound, base, iterations: int) -> float:
    replace = dataclasses.replace
    start = time.perf_counter()
    for _ in range(iterations):
        outbound.start_activity(replace(base))
    return (time.perf_counter() - start) / iterations


def main(component: str, rounds: int = 11, iterations: int = 20_000) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(f'[[guest]]\nname = "hop"\npath = "{component}"\n')
    chain = interpose.load(f.name)
    interpose._workflow_now = lambda: 0
    interpose._replaying = lambda: False
    interpose._evicting = lambda e=None: False
    run = chain._native.workflow_run(
        {"namespace": "ns", "workflow_id": "wf", "run_id": "r", "workflow_type": "T", "task_queue": "q"}
    )
    wasm = interpose._WorkflowOutbound(_Next(), run, chain._native)
    native = NativeHop(_Next())
    base = activity_input()
    # Same work on both sides.
    for side in (wasm, native):
        probe = dataclasses.replace(base)
        side.start_activity(probe)
        assert probe.headers["out"] == base.headers["in"], side
    for side in (wasm, native):
        per_call(side, base, iterations // 10)  # warm up
    out = {"wasm": [], "native": []}
    for _ in range(rounds):
        out["wasm"].append(per_call(wasm, base, iterations))
        out["native"].append(per_call(native, base, iterations))
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:4]))
