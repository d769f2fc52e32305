"""What hooks cost: get-by-id with hooks on beside the same without, interleaved.

One DuckDB file of ``sizes.large`` products (loaded with raw duckdb, outside any timing). Each
row runs two factories over the same database round by round
(:func:`~andamios._benchmarks._harness.measure_paired`): one with the hooks of the row, one
with none; the ratio is the median of the per-round ratios.

- no-op hooks: a :class:`~andamios.ports.Hooks` overriding every method with a ``pass`` (the
  cost of the events themselves: clocks, event objects, the statement listener);
- :class:`~andamios.observability.Metrics`;
- :class:`~andamios.observability.OpenTelemetryHooks` on the SDK's tracer provider with a
  synchronous in-memory exporter (a span per unit of work, operation and statement), emptied
  after each round. It needs ``opentelemetry-sdk``; without it the rows are left out, and the
  suite's line of skipped rows names them.

"own unit of work" opens one per round (began, the operation, its statement, the rollback and
ended are told); "open unit of work" gets in one already open (the operation and its statement).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from uuid import UUID

from andamios._benchmarks._harness import Result, Round, Sizes, measure_paired, timed
from andamios._benchmarks._model import Shop, build_mapping, load_rows
from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import SqlAlchemyFactory, SqlAlchemyUnitOfWork
from andamios.observability import Metrics, OpenTelemetryHooks
from andamios.ports import Hooks

__all__ = ["HOOKS", "NO_HOOKS", "bench_hooks", "tracing_labels", "tracing_missing"]

#: The section's name in the suite's progress lines.
HOOKS = "hooks on beside hooks off (interleaved)"

#: The peer of every row: the same operation on a factory without hooks.
NO_HOOKS = "no hooks"

NOOP_TARGET = 1.05
OTEL_TARGET = 1.10


def _ignore(self: Hooks, event: object) -> None:
    """Nothing: what being told costs."""


class NoOpHooks(Hooks):
    """Every method overridden, doing nothing: what being told costs."""

    began = operation = statement = before_commit = committed = rolled_back = ended = _ignore


TRACING = "OpenTelemetry hooks"


def tracing_labels() -> list[str]:
    """The rows that need the OpenTelemetry SDK."""
    return [f"get by id, {where} unit of work: {TRACING}" for where in ("own", "open")]


def tracing_missing() -> bool:
    """Whether the OpenTelemetry SDK (and so the tracing rows) is missing here."""
    try:
        return importlib.util.find_spec("opentelemetry.sdk") is None
    except ModuleNotFoundError:  # no opentelemetry at all: its parent package is missing
        return True


type _Contender = tuple[str, float, list[Hooks], Callable[[], None]]


def _traced() -> list[_Contender]:
    """The OpenTelemetry row's contender (hooks exporting to memory, and what empties the
    exporter after each round); none without the SDK (the suite lists the rows left out)."""
    if tracing_missing():
        return []
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415 - optional
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: PLC0415
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: PLC0415
        InMemorySpanExporter,
    )

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return [(TRACING, OTEL_TARGET, [OpenTelemetryHooks(tracer_provider=provider)], exporter.clear)]


def _then(operation: Callable[[int], Awaitable[object]], after: Callable[[], None]) -> Round:
    """A round timing ``operation(i)``, then ``after()`` (emptying an exporter) off the clock."""
    measured = timed(operation)

    async def round_(i: int) -> float:
        seconds = await measured(i)
        after()
        return seconds

    return round_


def _own_unit_of_work(
    new_uow: SqlAlchemyFactory[Shop], ids: list[UUID], after: Callable[[], None]
) -> Round:
    async def get(i: int) -> None:
        async with new_uow() as uow:
            await uow.products.get(ids[i % len(ids)])

    return _then(get, after)


def _open_unit_of_work(uow: Shop, ids: list[UUID], after: Callable[[], None]) -> Round:
    async def get(i: int) -> None:
        await uow.products.get(ids[i % len(ids)])

    return _then(get, after)


def _nothing() -> None:
    pass


def _row(label: str, target: float, ours: float, theirs: float, ratio: float) -> Result:
    return Result(
        label,
        ours,
        {NO_HOOKS: theirs},
        target=f"≤ {target:.2f}x",
        passed=ratio <= target,
        paired_ratios={NO_HOOKS: ratio},
    )


async def _rows(path: Path, ids: list[UUID], sizes: Sizes) -> list[Result]:
    mapping = build_mapping()
    rounds = sizes.iterations
    results: list[Result] = []
    try:
        async with Database(f"duckdb+async:///{path}") as db:

            def factory(hooks: Iterable[Hooks] = ()) -> SqlAlchemyFactory[Shop]:
                return SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping, hooks=hooks)

            plain = factory()
            # Different ids on each side of a round: neither finds its product held or cached.
            half = len(ids) // 2
            theirs_ids, ours_ids = ids[:half], ids[half:]
            contenders: list[_Contender] = [
                ("no-op hooks", NOOP_TARGET, [NoOpHooks()], _nothing),
                ("Metrics", NOOP_TARGET, [Metrics()], _nothing),
            ]
            contenders.extend(_traced())
            for name, target, hooks, after in contenders:
                hooked = factory(hooks)
                paired = await measure_paired(
                    _own_unit_of_work(hooked, ours_ids, after),
                    _own_unit_of_work(plain, theirs_ids, _nothing),
                    rounds,
                )
                label = f"get by id, own unit of work: {name}"
                results.append(_row(label, target, paired.ours_us, paired.peer_us, paired.ratio))
                async with hooked() as ours, plain() as theirs:
                    paired = await measure_paired(
                        _open_unit_of_work(ours, ours_ids, after),
                        _open_unit_of_work(theirs, theirs_ids, _nothing),
                        rounds,
                    )
                label = f"get by id, open unit of work: {name}"
                results.append(_row(label, target, paired.ours_us, paired.peer_us, paired.ratio))
    finally:
        mapping.clear()
    return results


def bench_hooks(directory: Path, sizes: Sizes) -> list[Result]:
    """The hooks rows (see the module), on a file of ``sizes.large`` products."""
    path = directory / "hooks.duckdb"
    ids = load_rows(path, sizes.large)
    return asyncio.run(_rows(path, ids, sizes))
