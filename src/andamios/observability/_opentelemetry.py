"""OpenTelemetry traces of units of work: a span per block, per operation, per SQL statement.

The only module of Andamios that imports ``opentelemetry`` (the ``opentelemetry`` extra,
``pip install 'andamios[opentelemetry]'``), and only when :class:`OpenTelemetryHooks` is
instantiated: ``andamios.observability`` imports without it.
"""

from __future__ import annotations

import re
import weakref
from importlib.metadata import version
from typing import TYPE_CHECKING

from andamios.ports import (
    Began,
    Committed,
    Ended,
    Hooks,
    Operation,
    RollbackReason,
    RolledBack,
    Statement,
)

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, SpanKind, Status, Tracer, TracerProvider
    from opentelemetry.util.types import AttributeValue

__all__ = ["OpenTelemetryHooks"]

# OpenTelemetry's semantic conventions for database client spans (and for errors).
_SYSTEM = "db.system.name"
_OPERATION = "db.operation.name"
_COLLECTION = "db.collection.name"
_QUERY_TEXT = "db.query.text"
_RETURNED_ROWS = "db.response.returned_rows"
_ERROR_TYPE = "error.type"
# Andamios' own.
_SHAPE = "andamios.unit_of_work.shape"
_READ_ONLY = "andamios.unit_of_work.read_only"
_REASON = "andamios.rollback.reason"
_KIND = "andamios.operation"

#: The first keyword of a statement, past blanks and comments (possessive: no backtracking).
_KEYWORD = re.compile(r"(?:\s++|--[^\n]*+|/\*.*?\*/)*+([A-Za-z]+)", re.DOTALL)


def _error_type(error: BaseException) -> str:
    """The exception's fully qualified class name (a builtin's bare name), as ``error.type``."""
    cls = type(error)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


class _Unit:
    """One open unit of work: its span, the context that parents its children, and the
    statements told but not yet placed (they arrive before the operation they ran in)."""

    __slots__ = ("context", "span", "statements")

    def __init__(self, span: Span, context: Context) -> None:
        self.span = span
        self.context = context
        self.statements: list[Statement] = []


class OpenTelemetryHooks(Hooks):
    """Traces every unit of work with OpenTelemetry, following the database conventions.

    ::

        from opentelemetry.sdk.trace import TracerProvider
        provider = TracerProvider()   # with your exporter's span processor
        new_uow = SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=m,
                                               hooks=[OpenTelemetryHooks(provider)])

    Without ``tracer_provider``, the globally configured one is used
    (``opentelemetry.trace.set_tracer_provider``). Each unit of work makes:

    - **a span per block**, ``unit_of_work <Shape>`` (``unit_of_work Shop``), INTERNAL, from
      ``async with`` to the block's end, a child of whatever span is current when the block
      is entered (a request's, a handler's). Attributes ``db.system.name`` (``duckdb``,
      ``postgresql``, ``memory``), ``andamios.unit_of_work.shape``,
      ``andamios.unit_of_work.read_only``; status ERROR and ``error.type`` when an exception
      left the block; a ``rollback`` span event (``andamios.rollback.reason``: ``requested``,
      ``exited``, ``error``, ``commit_failed``) for each transaction discarded.
    - **a child span per operation**, ``<kind> <Aggregate>`` (``find Product``; the bare kind,
      ``sql.rows``, for raw SQL), INTERNAL, over the operation's own start and duration:
      ``db.system.name``, ``db.operation.name`` (the kind), ``db.collection.name`` (the
      aggregate class), ``db.response.returned_rows`` (when the operation counts rows), ERROR
      and ``error.type`` when it failed (``get`` of a missing id is not a failure). An operation
      that ran exactly one statement is one CLIENT span, the statement's and its own: the
      statement's ``db.query.text`` and ``db.operation.name`` (its keyword, ``SELECT``), and
      ``andamios.operation`` (the kind).
    - **a child span per commit**, ``commit`` (``db.operation.name`` ``commit``), over its own
      start and duration (a failed commit's has status ERROR), and a ``rollback`` span for a
      rollback that ran SQL of its own (any other is the unit of work span's event).
    - **a span per SQL statement** (SQL adapters), CLIENT, a child of the operation, commit or
      rollback it ran in, named after the statement's first keyword (``SELECT``, ``INSERT``):
      ``db.system.name``, ``db.operation.name`` (the keyword), ``db.query.text`` (the SQL with
      its string literals replaced by ``?``; parameters are never recorded), ERROR and
      ``error.type`` when it failed.

    Spans are parented explicitly: the hooks never change the current context, so spans of
    your own code started inside the block stay children of whatever they were children of.
    Exceptions are recorded by type only, never by message (a message may quote data).
    """

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        try:
            from opentelemetry import trace  # noqa: PLC0415 - the extra is optional
        except ModuleNotFoundError as missing:
            msg = (
                "OpenTelemetryHooks records spans with opentelemetry-api, and "
                f"{missing.name} is not installed: install andamios[opentelemetry] "
                "(pip install 'andamios[opentelemetry]')"
            )
            raise ModuleNotFoundError(msg, name=missing.name) from missing
        self._tracer: Tracer = trace.get_tracer(
            "andamios", version("andamios"), tracer_provider=tracer_provider
        )
        self._in = trace.set_span_in_context
        self._internal: SpanKind = trace.SpanKind.INTERNAL
        self._client: SpanKind = trace.SpanKind.CLIENT
        self._error: Status = trace.Status(trace.StatusCode.ERROR)
        self._units: weakref.WeakKeyDictionary[object, _Unit] = weakref.WeakKeyDictionary()

    # -- spans ------------------------------------------------------------------------------------

    def _fail(self, span: Span, error: BaseException) -> None:
        span.set_status(self._error)
        span.set_attribute(_ERROR_TYPE, _error_type(error))

    def _statement(self, event: Statement, parent: Context) -> None:
        keyword = _KEYWORD.match(event.statement)
        attributes: dict[str, AttributeValue] = {
            _SYSTEM: event.system,
            _QUERY_TEXT: event.statement,
        }
        if keyword is None:
            name = event.system  # the conventions' last resort for a span name
        else:
            name = keyword.group(1).upper()
            attributes[_OPERATION] = name
        span = self._tracer.start_span(
            name,
            context=parent,
            kind=self._client,
            attributes=attributes,
            start_time=event.started_at,
        )
        if event.error is not None:
            self._fail(span, event.error)
        span.end(end_time=event.started_at + _ns(event.duration))

    def _place(self, unit: _Unit, operation: str | None, parent: Context) -> None:
        """Emit the buffered statements: those of ``operation`` under ``parent``, any other
        (a statement outside an operation, a silent rollback's) under the unit of work."""
        if not unit.statements:
            return
        statements, unit.statements = unit.statements, []
        for statement in statements:
            self._statement(statement, parent if statement.operation == operation else unit.context)

    def _step(
        self,
        unit: _Unit,
        name: str,
        system: str,
        timed: Committed | RolledBack,
        error: BaseException | None = None,
    ) -> None:
        """A span for a commit or rollback that just ended, over its own start and duration."""
        start = timed.started_at
        end = start + _ns(timed.duration)
        span = self._tracer.start_span(
            name,
            context=unit.context,
            kind=self._internal,
            attributes={_SYSTEM: system, _OPERATION: name},
            start_time=start,
        )
        self._place(unit, name, self._in(span))
        if error is not None:
            self._fail(span, error)
        span.end(end_time=end)

    # -- hooks ------------------------------------------------------------------------------------

    def began(self, event: Began) -> None:
        """Start the unit of work's span."""
        span = self._tracer.start_span(
            f"unit_of_work {event.shape}",
            kind=self._internal,
            attributes={
                _SYSTEM: event.system,
                _SHAPE: event.shape,
                _READ_ONLY: event.read_only,
            },
        )
        self._units[event.unit_of_work] = _Unit(span, self._in(span))

    def statement(self, event: Statement) -> None:
        """Hold the statement until the operation it ran in is told."""
        unit = self._units.get(event.unit_of_work)
        if unit is not None:
            unit.statements.append(event)

    def operation(self, event: Operation) -> None:
        """Record the operation's span and its statements' spans (one CLIENT span for an
        operation that ran exactly one statement)."""
        unit = self._units.get(event.unit_of_work)
        if unit is None:
            return
        attributes: dict[str, AttributeValue] = {_SYSTEM: event.system, _OPERATION: event.kind}
        name = event.kind
        if event.aggregate_type is not None:
            attributes[_COLLECTION] = event.aggregate_type.__name__
            name = f"{event.kind} {event.aggregate_type.__name__}"
        if event.rows is not None:
            attributes[_RETURNED_ROWS] = event.rows
        mine = [each for each in unit.statements if each.operation == event.kind]
        only = mine[0] if len(mine) == 1 else None
        kind = self._internal
        if only is not None:
            # The operation is its one statement: a CLIENT span saying both, not two spans (a
            # span of the SDK costs about as much as the rest of the hooks together).
            unit.statements.remove(only)
            kind = self._client
            attributes[_KIND] = event.kind
            attributes[_QUERY_TEXT] = only.statement
            keyword = _KEYWORD.match(only.statement)
            if keyword is not None:
                attributes[_OPERATION] = keyword.group(1).upper()
        span = self._tracer.start_span(
            name,
            context=unit.context,
            kind=kind,
            attributes=attributes,
            start_time=event.started_at,
        )
        self._place(unit, event.kind, self._in(span))
        error = event.error if only is None or only.error is None else only.error
        if error is not None:
            self._fail(span, error)
        span.end(end_time=event.started_at + _ns(event.duration))

    def committed(self, event: Committed) -> None:
        """Record the commit's span and its statements' spans."""
        unit = self._units.get(event.unit_of_work)
        if unit is not None:
            self._step(unit, "commit", event.system, event)

    def rolled_back(self, event: RolledBack) -> None:
        """Mark the rollback on the unit of work's span; record a failed commit's span, or the
        rollback's."""
        unit = self._units.get(event.unit_of_work)
        if unit is None:
            return
        attributes: dict[str, AttributeValue] = {_REASON: event.reason.value}
        if event.error is not None:
            attributes[_ERROR_TYPE] = _error_type(event.error)
        unit.span.add_event("rollback", attributes)
        if event.reason is RollbackReason.COMMIT_FAILED:
            self._step(unit, "commit", event.system, event, event.error)
        elif any(statement.operation == "rollback" for statement in unit.statements):
            # A span only where the rollback ran SQL of its own: the event above says the rest
            # (a span per read-only block would cost a fifth of the tracing of a get).
            self._step(unit, "rollback", event.system, event)

    def ended(self, event: Ended) -> None:
        """End the unit of work's span (ERROR if an exception left the block)."""
        unit = self._units.pop(event.unit_of_work, None)
        if unit is None:
            return
        self._place(unit, None, unit.context)
        if event.error is not None:
            self._fail(unit.span, event.error)
        unit.span.end()
