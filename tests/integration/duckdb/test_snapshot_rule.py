"""The snapshot rule, the same in every adapter: when a unit of work's transaction sees commits.

A transaction begins with ``async with``, after ``commit()`` and after ``rollback()``, but its
snapshot is taken by its first read (``get`` of an id it does not hold, ``find``, ``count``,
``exists``, ...): it sees every commit made before that read and none made after it, until it
ends. On DuckDB the BEGIN travels with the transaction's first statement; the in-memory adapter
takes its snapshot at the same moment. Every test runs on memory, an in-memory DuckDB database
and a DuckDB file, with two units of work interleaved by asyncio.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.integration.duckdb._contract_mapping import open_database

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import F
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import DuplicateError, UnitOfWorkError
from andamios.testing.models import Counter


class Tally(UnitOfWork):
    counters: Repository[Counter, str]


type Factory = UnitOfWorkFactory[Tally]

ADAPTERS = ("memory", "duckdb-memory", "duckdb-file")


@pytest.fixture(params=ADAPTERS)
async def new_uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    if request.param == "memory":
        yield InMemoryUnitOfWork.factory(Tally)
        return
    mapping = Mapping()
    table = sa.Table(
        "counters",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Counter, table)
    try:
        kind = request.param.removeprefix("duckdb-")
        async with open_database(kind, tmp_path, mapping) as database:
            yield SqlAlchemyUnitOfWork.factory(Tally, database=database, mapping=mapping)
    finally:
        mapping.clear()


async def _store(new_uow: Factory, id: str, value: int = 0) -> None:
    """Another unit of work stores (or changes) counter ``id`` and commits."""
    async with new_uow() as uow:
        counter = await uow.counters.get_or_none(id)
        if counter is None:
            await uow.counters.add(Counter(id=id, value=value))
        else:
            counter.value = value
        await uow.commit()


async def _seen(uow: Tally) -> set[str]:
    return {c.id for c in await uow.counters.find()}


async def _interleaved(
    new_uow: Factory, before: Callable[[Tally], Awaitable[None]], after: Callable[[Tally], object]
) -> object:
    """Task one enters a unit of work and runs ``before``; task two commits counter "late";
    then task one runs ``after`` and returns what it gives."""
    entered, committed = asyncio.Event(), asyncio.Event()

    async def first() -> object:
        async with new_uow() as uow:
            await before(uow)
            entered.set()
            await committed.wait()
            return await after(uow)  # type: ignore[misc]

    async def second() -> None:
        await entered.wait()
        await _store(new_uow, "late")
        committed.set()

    result, _ = await asyncio.gather(first(), second())
    return result


async def _nothing(uow: Tally) -> None:
    del uow


# -- (a) after commit() ---------------------------------------------------------------------------


async def test_after_commit_the_next_read_sees_what_another_committed_meanwhile(
    new_uow: Factory,
) -> None:
    await _store(new_uow, "early")
    async with new_uow() as uow:
        assert await _seen(uow) == {"early"}
        await uow.commit()
        await _store(new_uow, "late")
        assert await _seen(uow) == {"early", "late"}


async def test_after_commit_of_changes_the_next_read_sees_both_commits(new_uow: Factory) -> None:
    await _store(new_uow, "mine")
    async with new_uow() as uow:
        (await uow.counters.get("mine")).value = 1
        await uow.commit()
        await _store(new_uow, "theirs", 2)
        assert await uow.counters.count(F("value") > 0) == 2


# -- (b) entering is not reading -------------------------------------------------------------------


async def test_a_commit_between_entering_and_the_first_read_is_seen(new_uow: Factory) -> None:
    async with new_uow() as uow:
        await _store(new_uow, "late")
        assert await uow.counters.exists(F("id") == "late")


async def test_a_commit_by_a_concurrent_task_before_the_first_read_is_seen(
    new_uow: Factory,
) -> None:
    found = await _interleaved(new_uow, _nothing, lambda uow: uow.counters.get_or_none("late"))
    assert isinstance(found, Counter)


async def _add(uow: Tally) -> None:
    await uow.counters.add(Counter(id="mine"))


async def _remove_held(uow: Tally) -> None:
    await uow.counters.remove(await uow.counters.get("held"))
    await uow.commit()
    await uow.counters.add(Counter(id="again"))
    await uow.counters.remove(await uow.counters.get("again"))  # held: no read


async def _change_held(uow: Tally) -> None:
    held = await uow.counters.get("held")
    await uow.commit()
    held.value = 5
    assert await uow.counters.get("held") is held  # held: no read


@pytest.mark.parametrize(
    "before",
    [_add, _remove_held, _change_held],
    ids=["add", "get-and-remove-held", "change-held"],
)
async def test_operations_that_read_nothing_do_not_take_the_snapshot(
    new_uow: Factory, before: Callable[[Tally], Awaitable[None]]
) -> None:
    await _store(new_uow, "held")
    seen = await _interleaved(new_uow, before, lambda uow: uow.counters.count(F("id") == "late"))
    assert seen == 1


# -- (c) after the first read ----------------------------------------------------------------------


async def _find(uow: Tally) -> None:
    await uow.counters.find()


async def _get_missing(uow: Tally) -> None:
    assert await uow.counters.get_or_none("missing") is None


async def _count(uow: Tally) -> None:
    await uow.counters.count()


@pytest.mark.parametrize("first_read", [_find, _get_missing, _count], ids=["find", "get", "count"])
@pytest.mark.parametrize("end", ["commit", "rollback"])
async def test_after_the_first_read_other_commits_are_not_seen_until_the_transaction_ends(
    new_uow: Factory, first_read: Callable[[Tally], Awaitable[None]], end: str
) -> None:
    async with new_uow() as uow:
        await first_read(uow)
        await _store(new_uow, "late")
        assert await uow.counters.get_or_none("late") is None
        assert await uow.counters.count() == 0
        await (uow.commit() if end == "commit" else uow.rollback())
        assert await uow.counters.count() == 1
        assert (await uow.counters.get("late")).id == "late"


async def test_a_concurrent_commit_after_the_first_read_is_not_seen(new_uow: Factory) -> None:
    assert await _interleaved(new_uow, _find, _seen) == set()


# -- (d) after rollback() --------------------------------------------------------------------------


async def test_after_rollback_the_next_read_sees_the_latest_commits(new_uow: Factory) -> None:
    await _store(new_uow, "a", 1)
    async with new_uow() as uow:
        assert await uow.counters.count(F("value") == 2) == 0
        await _store(new_uow, "a", 2)
        await uow.rollback()
        await _store(new_uow, "b", 2)  # after the rollback, before the next read: seen too
        assert await uow.counters.count(F("value") == 2) == 2


# -- what a later transaction sees of aggregates an earlier one loaded -----------------------------


async def test_a_held_aggregate_another_changed_since_is_matched_by_its_stored_row(
    new_uow: Factory,
) -> None:
    await _store(new_uow, "a", 1)
    async with new_uow() as uow:
        held = await uow.counters.get("a")
        await uow.commit()
        await _store(new_uow, "a", 2)
        # The query matches and orders the stored row; the identity map hands out the object
        # this unit of work holds, unchanged (as SQLAlchemy's identity map does).
        assert await uow.counters.find(F("value") == 1) == []
        assert await uow.counters.find(F("value") == 2, order_by="value") == [held]
        assert await uow.counters.count(F("value") == 2) == 1
        assert await uow.counters.get("a") is held
        assert (held.value, held.version) == (1, 1)


async def test_a_held_aggregate_another_removed_since_is_not_found_but_still_held(
    new_uow: Factory,
) -> None:
    await _store(new_uow, "a")
    async with new_uow() as uow:
        held = await uow.counters.get("a")
        await uow.commit()
        async with new_uow() as other:
            await other.counters.remove(await other.counters.get("a"))
            await other.commit()
        assert await uow.counters.find() == []
        assert await uow.counters.get("a") is held


async def test_an_id_another_committed_after_it_was_added_fails_at_the_next_read(
    new_uow: Factory,
) -> None:
    async with new_uow() as uow:
        await uow.counters.add(Counter(id="x", value=1))
        await _store(new_uow, "x", 2)
        with pytest.raises(DuplicateError, match="x"):
            await uow.counters.count()
        with pytest.raises(UnitOfWorkError, match="earlier statement"):
            await uow.commit()
        assert await uow.counters.count(F("value") == 2) == 1  # the rollback cleared it
    async with new_uow() as uow:
        assert [(c.id, c.value) for c in await uow.counters.find()] == [("x", 2)]


async def test_an_id_removed_and_added_again_is_no_duplicate_for_the_next_snapshot(
    new_uow: Factory,
) -> None:
    await _store(new_uow, "a", 1)
    async with new_uow() as uow:
        held = await uow.counters.get("a")
        await uow.commit()
        await uow.counters.remove(held)
        held.value = 7
        await uow.counters.add(held)
        assert [c.value for c in await uow.counters.find()] == [7]
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.counters.get("a")).value == 7


async def test_commit_without_a_read_stores_what_was_added(new_uow: Factory) -> None:
    async with new_uow() as uow:
        await uow.counters.add(Counter(id="n"))
        await uow.commit()
    async with new_uow() as uow:
        assert await _seen(uow) == {"n"}
