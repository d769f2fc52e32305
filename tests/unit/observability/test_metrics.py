"""Metrics on the in-memory adapter: counts of a scripted workload, timings, the bus middleware."""

from __future__ import annotations

import math
from decimal import Decimal
from uuid import UUID

import pytest
from tests.unit.observability import _events as events

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.application import Command, MessageBus, Query, RetryPolicy
from andamios.observability import Metrics, MetricsSnapshot, Timing
from andamios.ports import UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, DuplicateError
from andamios.testing.models import ContractUnitOfWork, Gadget

type Factory = UnitOfWorkFactory[ContractUnitOfWork]

_MS = 0.001


def _gadget(sku: str = "M-1") -> Gadget:
    return Gadget(sku=sku, name="measured", price=Decimal("2.00"))


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def new_uow(metrics: Metrics) -> Factory:
    return InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[metrics])


# -- Timing: the computation ---------------------------------------------------------------------


def test_a_timing_of_nothing_is_all_zeros() -> None:
    never = Timing.of([])
    assert never == Timing(count=0, total=0.0, p50=0.0, p99=0.0, max=0.0)
    assert never.mean == 0.0


def test_a_timing_of_one_duration_is_that_duration() -> None:
    assert Timing.of([0.25]) == Timing(count=1, total=0.25, p50=0.25, p99=0.25, max=0.25)


def test_percentiles_are_nearest_rank_measured_durations() -> None:
    # 1..100 ms, shuffled: the p-th percentile is the p-th smallest.
    durations = [((i * 37) % 100 + 1) * _MS for i in range(100)]
    timing = Timing.of(durations)
    assert timing.count == 100
    assert timing.total == pytest.approx(5.050)
    assert timing.p50 == pytest.approx(50 * _MS)
    assert timing.p99 == pytest.approx(99 * _MS)
    assert timing.max == pytest.approx(100 * _MS)
    assert timing.mean == pytest.approx(50.5 * _MS)
    # Four durations: the median is the 2nd (rank ceil(2)), the p99 the 4th (rank ceil(3.96)).
    assert Timing.of([0.4, 0.1, 0.3, 0.2]) == Timing(count=4, total=1.0, p50=0.2, p99=0.4, max=0.4)
    # Three: rank ceil(1.5) = 2 and ceil(2.97) = 3, never an interpolation between them.
    three = Timing.of([1.0, 3.0, 2.0])
    assert (three.p50, three.p99) == (2.0, 3.0)


def test_the_window_bounds_the_percentiles_not_the_totals(new_uow: Factory) -> None:
    metrics = Metrics(window=10)
    uow = new_uow()
    for ms in range(1, 101):  # 1..100 ms; the window keeps 91..100
        metrics.operation(
            events.operation(
                uow, "find", aggregate_type=Gadget, rows=2, duration=ms * _MS, system="memory"
            )
        )
    find = metrics.snapshot().operations["find"]
    assert find.count == 100
    assert find.total == pytest.approx(5.050)
    assert find.max == pytest.approx(100 * _MS)
    assert find.p50 == pytest.approx(95 * _MS)
    assert find.p99 == pytest.approx(100 * _MS)
    assert metrics.snapshot().rows == 200
    assert metrics.window == 10


@pytest.mark.parametrize("window", [0, -1, True, 1.5, "10"])
def test_a_window_is_a_positive_whole_number(window: object) -> None:
    with pytest.raises(ValueError, match="window is how many recent durations"):
        Metrics(window=window)  # type: ignore[arg-type]


# -- counts of a workload --------------------------------------------------------------------------


async def test_a_scripted_workload_is_counted(new_uow: Factory, metrics: Metrics) -> None:
    # 1. a commit
    stored = _gadget()
    async with new_uow() as uow:
        await uow.gadgets.add(stored)
        await uow.commit()
    # 2. a conflict: two units of work rename the same gadget; the second commit fails
    with pytest.raises(ConcurrencyError):  # noqa: PT012 - the block is under test
        async with new_uow() as first, new_uow() as second:
            mine = await first.gadgets.get(stored.id)
            theirs = await second.gadgets.get(stored.id)
            mine.rename("mine")
            theirs.rename("theirs")
            await first.commit()
            await second.commit()
    # 3. a requested rollback
    async with new_uow() as uow:
        await uow.gadgets.add(_gadget("M-2"))
        await uow.rollback()
    # 4. a block left by an error
    with pytest.raises(ZeroDivisionError):  # noqa: PT012 - the block is under test
        async with new_uow() as uow:
            await uow.gadgets.count()
            _ = 1 / 0
    # 5. a block left by a ConcurrencyError the code raised itself: a conflict too
    with pytest.raises(ConcurrencyError):  # noqa: PT012 - the block is under test
        async with new_uow() as uow:
            await uow.gadgets.exists()
            raise ConcurrencyError("stale")
    # 6. a failed operation (the block then exits without committing): a bulk add of a
    # stored id fails at once (a plain add fails at the next flush)
    async with new_uow() as uow:
        with pytest.raises(DuplicateError):
            await uow.gadgets.add_many([stored])
    # 7. a block that did nothing
    async with new_uow():
        pass

    snapshot = metrics.snapshot()
    assert isinstance(snapshot, MetricsSnapshot)
    assert snapshot.units_of_work == 8
    assert snapshot.committed == 2
    # The conflict, the requested, the error, the raised conflict, the failed add's exit.
    assert snapshot.rolled_back == 5
    assert snapshot.conflicted == 2
    assert snapshot.failed_operations == 1
    assert snapshot.rows == 4  # add, get, get, add (count and exists count none)
    assert snapshot.statements == snapshot.failed_statements == 0  # memory runs no SQL
    assert snapshot.handled == snapshot.retries == 0
    assert snapshot.handlers == {}
    counts = {key: timing.count for key, timing in snapshot.operations.items()}
    assert counts == {
        "add": 2,
        "add_many": 1,
        "commit": 2,
        "count": 1,
        "exists": 1,
        "get": 2,
        "unit_of_work": 8,
    }
    assert list(snapshot.operations) == sorted(snapshot.operations)
    block = snapshot.operation("unit_of_work")
    assert 0 <= block.p50 <= block.p99 <= block.max <= block.total
    assert snapshot.operation("stream") == Timing.of([])


async def test_a_snapshot_is_frozen_and_reset_forgets(new_uow: Factory, metrics: Metrics) -> None:
    async with new_uow() as uow:
        await uow.gadgets.add(_gadget())
        await uow.commit()
    before = metrics.snapshot()
    async with new_uow() as uow:
        await uow.gadgets.count()
    assert before.units_of_work == 1
    assert "count" not in before.operations
    assert metrics.snapshot().units_of_work == 2
    with pytest.raises(TypeError):
        before.operations["x"] = Timing.of([])  # type: ignore[index]
    with pytest.raises(AttributeError):
        before.committed = 3  # type: ignore[misc]
    metrics.reset()
    assert metrics.snapshot() == MetricsSnapshot()


# -- the bus middleware ----------------------------------------------------------------------------


class RenameGadget(Command):
    gadget_id: UUID
    name: str


class NameOf(Query[str]):
    gadget_id: UUID


async def _no_sleep(seconds: float) -> None:
    del seconds


async def test_the_middleware_counts_runs_retries_and_times_handlers(
    new_uow: Factory, metrics: Metrics
) -> None:
    stored = _gadget()
    async with new_uow() as uow:
        await uow.gadgets.add(stored)
        await uow.commit()
    interfered: list[bool] = []

    async def rename(command: RenameGadget, uow: ContractUnitOfWork) -> None:
        async with uow:
            gadget = await uow.gadgets.get(command.gadget_id)
            if not interfered:  # the first attempt: another unit of work commits first
                interfered.append(True)
                async with new_uow() as other:
                    (await other.gadgets.get(command.gadget_id)).rename("theirs")
                    await other.commit()
            gadget.rename(command.name)
            await uow.commit()

    async def name_of(query: NameOf, uow: ContractUnitOfWork) -> str:
        async with uow:
            return (await uow.gadgets.get(query.gadget_id)).name

    async def refuse(query: NameOf, uow: ContractUnitOfWork) -> str:
        raise LookupError(query.gadget_id)

    bus = MessageBus(
        new_uow,
        retry=RetryPolicy(attempts=3, backoff=0, jitter=0),
        sleep=_no_sleep,
        middleware=[metrics.middleware],
    )
    bus.register(RenameGadget, rename)
    bus.register(NameOf, name_of)
    metrics.reset()

    await bus.handle(RenameGadget(gadget_id=stored.id, name="mine"))
    assert await bus.ask(NameOf(gadget_id=stored.id)) == "mine"
    snapshot = metrics.snapshot()
    assert snapshot.handled == 3  # two attempts of the command, one query
    assert snapshot.retries == 1
    assert snapshot.conflicted == 1
    assert snapshot.committed == 2  # theirs, then mine on the retry
    assert {key: timing.count for key, timing in snapshot.handlers.items()} == {
        "NameOf": 1,
        "RenameGadget": 2,
    }
    renames = snapshot.handlers["RenameGadget"]
    assert 0 < renames.max <= renames.total
    assert not math.isnan(renames.p99)

    # A run that raises is counted and timed too.
    failing = MessageBus(new_uow, middleware=[metrics.middleware])
    failing.register(NameOf, refuse)
    with pytest.raises(LookupError):
        await failing.ask(NameOf(gadget_id=stored.id))
    assert metrics.snapshot().handled == 4
    assert metrics.snapshot().handlers["NameOf"].count == 2
