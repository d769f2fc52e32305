"""Tracing into memory for the tests: an SDK tracer provider and what it exported."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from andamios.observability import OpenTelemetryHooks


class Traced:
    """``OpenTelemetryHooks`` on a provider of their own, exporting into memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.hooks = OpenTelemetryHooks(self.provider)

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        """Every span ended so far, in the order they ended."""
        return self.exporter.get_finished_spans()

    def names(self) -> list[str]:
        """The ended spans' names, in the order they ended."""
        return [span.name for span in self.spans]

    def named(self, name: str) -> list[ReadableSpan]:
        """The ended spans called ``name``."""
        return [span for span in self.spans if span.name == name]

    def one(self, name: str) -> ReadableSpan:
        """The one ended span called ``name``."""
        [span] = self.named(name)
        return span

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        """The ended spans whose parent is ``parent``, in the order they ended."""
        assert parent.context is not None
        return [
            span
            for span in self.spans
            if span.parent is not None and span.parent.span_id == parent.context.span_id
        ]

    def clear(self) -> None:
        """Forget the spans ended so far."""
        self.exporter.clear()


def assert_nested(spans: Sequence[ReadableSpan]) -> None:
    """Every span with a parent among ``spans`` lies within it, in one trace; each has ended."""
    by_id = {span.context.span_id: span for span in spans if span.context is not None}
    for span in spans:
        assert span.start_time is not None
        assert span.end_time is not None
        assert span.start_time <= span.end_time, span.name
        if span.parent is None or span.parent.span_id not in by_id:
            continue
        parent = by_id[span.parent.span_id]
        assert span.context is not None
        assert parent.context is not None
        assert span.context.trace_id == parent.context.trace_id
        assert parent.start_time is not None
        assert parent.end_time is not None
        assert parent.start_time <= span.start_time, (span.name, parent.name)
        assert span.end_time <= parent.end_time, (span.name, parent.name)
