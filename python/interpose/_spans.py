"""Guest spans into OpenTelemetry (the ``opentelemetry-sdk`` package, optional).

The native module queues the spans guests end and hands them over, a batch at a time, when
the call that ran the guests returns (no Python code runs inside a guest call); a thread of
the package exports them from there (no exporter runs in workflow code). Each span is
started and ended again through a tracer of the chosen provider, so it goes through the
provider's sampler, processors and exporters like the application's own spans, with:

- the ids the guest propagated (in headers, to the next hop): the tracer's id generator is
  wrapped so that the span being replayed gets the host's ids, every other span the
  provider's own (the Rust host's ``interpose::otel::IdGenerator`` does the same, but there
  the application installs it; here the package installs it on its own tracer only);
- the parent from the guest's context (a remote parent when it came from a header), and its
  W3C ``sampled`` flag, for the provider's sampler to decide (the default, parent-based,
  drops an unsampled span);
- the guest's times (workflow time in workflow hooks), kind, attributes, events and status,
  and an ``interpose.guest`` attribute naming the guest.

Spans that guests end while a workflow replays never get here.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from typing import Any, Optional

# Imported here, at `interpose` import, not in the functions: `enqueue` runs in workflow
# activations, where the SDK's sandbox intercepts every import statement.
try:
    from opentelemetry import context, trace
except ImportError:  # the optional dependency is not installed: spans are dropped
    context = trace = None  # type: ignore[assignment]

_log = logging.getLogger("interpose")


class _HostIds:
    """An OpenTelemetry ``IdGenerator`` that returns the ids set for the span being
    exported on this thread, and the wrapped generator's otherwise."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._next = threading.local()

    def set(self, ids: Optional[tuple]) -> None:
        self._next.ids = ids

    def _ids(self) -> Optional[tuple]:
        return getattr(self._next, "ids", None)

    def generate_span_id(self) -> int:
        ids = self._ids()
        return ids[1] if ids is not None else self._inner.generate_span_id()

    def generate_trace_id(self) -> int:
        ids = self._ids()
        return ids[0] if ids is not None else self._inner.generate_trace_id()

    def is_trace_id_random(self) -> bool:
        # The host's trace ids come from a per-run stream (workflow hooks) or the host's
        # generator: random to an observer, but not promised to be (W3C's random flag).
        if self._ids() is not None:
            return False
        return bool(getattr(self._inner, "is_trace_id_random", lambda: False)())


class _Spans:
    """The native module's span sink (``enqueue(spans, dropped)``): see the module
    docstring. ``provider`` is an OpenTelemetry ``TracerProvider``, or ``None`` for the
    global one (``opentelemetry.trace.get_tracer_provider()``), looked up at each batch
    until one is set, so that it may be set after ``interpose.load``.

    The native module calls ``enqueue`` when a call that ran guests returns, often in a
    workflow activation: it only queues the batch. A thread of this object's own exports
    it, so the provider's processors and exporters never run in workflow code (the SDK's
    sandbox and deadlock detector), nor on the event loop. ``flush`` waits for what is
    queued; at interpreter exit, what is queued is exported first (for 5 s at most), before
    the provider shuts down: the exit hook is registered again once the provider is found,
    after the provider's own (exit hooks run last registered first), so that a provider
    created after ``load`` still gets them."""

    #: Spans queued for the export thread at most; more are dropped (and counted).
    PENDING = 65_536

    def __init__(self, provider: Any, version: str, on_dropped=None) -> None:
        if trace is None:
            raise ImportError("opentelemetry is not installed")
        self._provider = provider
        self._version = version
        self._on_dropped = on_dropped
        self._tracer: Any = None
        self._ids: Optional[_HostIds] = None
        self._warned: set = set()
        self._queue: "queue.SimpleQueue" = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._pending = 0  # spans enqueued and not yet exported
        thread = threading.Thread(target=self._run, name="interpose-spans", daemon=True)
        thread.start()
        atexit.register(self.flush, 5.0)

    # Called by the native module, on any thread (a workflow activation, the event loop).
    def enqueue(self, spans: list, dropped: dict) -> None:
        dropped = dict(dropped)
        with self._idle:
            room = self.PENDING - self._pending
            if len(spans) > room:
                for row in spans[max(room, 0) :]:
                    dropped[row[0]] = dropped.get(row[0], 0) + 1
                spans = spans[: max(room, 0)]
            self._pending += len(spans)
        if spans:
            self._queue.put(spans)
        for guest, n in dropped.items():
            self._dropped(guest, n)

    def _dropped(self, guest: str, n: int) -> None:
        if self._on_dropped is not None:
            try:
                self._on_dropped(guest, n)
            except Exception:  # metrics never fail a call
                pass
        if ("dropped", guest) not in self._warned:
            self._warned.add(("dropped", guest))
            _log.warning(
                "guest `%s`: %d spans dropped: it ended more than the export queue takes "
                "(1024 per guest per call, %d waiting for export); further drops are counted "
                "in interpose_guest_spans_dropped, not logged",
                guest,
                n,
                self.PENDING,
            )

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Wait until every span enqueued so far is exported (handed to the provider):
        ``False`` if ``timeout`` seconds passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        while True:
            spans = self._queue.get()
            try:
                self._export(spans)
            except Exception:
                if "export" not in self._warned:
                    self._warned.add("export")
                    _log.exception("exporting guest spans failed (logged once)")
            finally:
                with self._idle:
                    self._pending -= len(spans)
                    self._idle.notify_all()

    def _tracer_now(self):
        if self._tracer is not None:
            return self._tracer
        provider = self._provider or trace.get_tracer_provider()
        tracer = provider.get_tracer("interpose", self._version)
        inner = getattr(tracer, "id_generator", None)
        if isinstance(inner, _HostIds):
            # The SDK caches tracers by scope: another `load` on this provider already
            # installed it.
            self._ids = inner
        elif inner is not None:
            self._ids = _HostIds(inner)
            # The SDK's `Tracer` reads `id_generator` at every span: this tracer (the
            # package's own scope) hands out the host's ids; the application's keep theirs.
            tracer.id_generator = self._ids
        if isinstance(provider, trace.ProxyTracerProvider):
            # No global provider yet: spans are dropped (as OpenTelemetry drops any span
            # started before one is set), and the next batch looks again.
            return tracer
        self._tracer = tracer
        # OpenTelemetry's SDK provider shuts down at exit from a hook it registered when it
        # was made; this one, registered later, runs before it.
        atexit.register(self.flush, 5.0)
        return tracer

    def _export(self, spans: list) -> None:
        tracer = self._tracer_now()
        kinds = {
            "internal": trace.SpanKind.INTERNAL,
            "server": trace.SpanKind.SERVER,
            "client": trace.SpanKind.CLIENT,
            "producer": trace.SpanKind.PRODUCER,
            "consumer": trace.SpanKind.CONSUMER,
        }
        failed: Optional[BaseException] = None
        for row in spans:
            (guest, _hook, name, kind, trace_id, span_id, parent, remote, sampled) = row[:9]
            (start, end, attributes, events, status, description) = row[9:]
            trace_id = int.from_bytes(trace_id, "big")
            span_id = int.from_bytes(span_id, "big")
            if parent is None:
                # An empty context, not the current one: a guest's root span has no parent
                # in this process.
                cx = context.Context()
            else:
                flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if sampled else 0)
                cx = trace.set_span_in_context(
                    trace.NonRecordingSpan(
                        trace.SpanContext(
                            trace_id, int.from_bytes(parent, "big"), remote, flags
                        )
                    ),
                    context.Context(),
                )
            # The host's attribution last: Python's SDK drops the oldest attributes beyond
            # the span's limit (128 by default, which is also the guests' limit), so a guest
            # cannot push it out. Guests cannot use the `interpose.` prefix.
            attrs = dict(attributes)
            attrs["interpose.guest"] = guest
            try:
                if self._ids is not None:
                    self._ids.set((trace_id, span_id))
                try:
                    span = tracer.start_span(
                        name, context=cx, kind=kinds[kind], attributes=attrs, start_time=start
                    )
                finally:
                    if self._ids is not None:
                        self._ids.set(None)
                got = span.get_span_context()
                if (
                    span.is_recording()
                    and (got.span_id != span_id or got.trace_id != trace_id)
                    and "ids" not in self._warned
                ):
                    self._warned.add("ids")
                    _log.error(
                        "guest spans are exported with ids other than the ones their guests "
                        "propagated (the tracer provider is not OpenTelemetry's SDK one): "
                        "traces break at every hop"
                    )
                for event_name, at, event_attrs in events:
                    span.add_event(event_name, dict(event_attrs), timestamp=at)
                if status == "ok":
                    span.set_status(trace.Status(trace.StatusCode.OK))
                elif status == "error":
                    span.set_status(trace.Status(trace.StatusCode.ERROR, description))
                span.end(end_time=end)
            except Exception as e:  # one span's failure does not drop the others
                failed = failed or e
        if failed is not None:
            raise failed
