"""Values stored by ``JsonValue`` and changed in place are saved, on roots and on child entities.

``depot.lines.add(line)`` changes a set the aggregate already holds: SQLAlchemy sees no
assignment. The in-memory adapter compares whole aggregates at commit; the SQL adapter compares
the JSON form of every such value with a snapshot before each flush. Every test runs on memory, on
an in-memory DuckDB and on a DuckDB file, through the public API.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from tests.integration.duckdb._contract_mapping import open_database

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import (
    BULK_THRESHOLD,
    Child,
    JsonValue,
    Mapping,
    SqlAlchemyUnitOfWork,
)
from andamios.domain import AggregateRoot, Entity, F, ValueObject
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, DataError

# -- domain ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line(ValueObject):
    orderid: str
    sku: str
    qty: int


@dataclass(frozen=True)
class Money(ValueObject):
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Tier(ValueObject):
    """A value object nesting another, kept in a list."""

    upto: int
    price: Money


A, B, C = Line("o1", "LAMP", 1), Line("o2", "SOFA", 2), Line("o3", "RUG", 3)


@dataclass(eq=False, kw_only=True)
class Crate(Entity[UUID]):
    position: int
    lines: set[Line] = field(default_factory=set)
    tags: list[str] = field(default_factory=list)
    limits: dict[str, int] = field(default_factory=dict)
    tiers: list[Tier] = field(default_factory=list)
    slots: set[int] = field(default_factory=set)
    best: Tier | None = None


@dataclass(eq=False, kw_only=True)
class Depot(AggregateRoot[UUID]):
    name: str
    lines: set[Line] = field(default_factory=set)
    tags: list[str] = field(default_factory=list)
    limits: dict[str, int] = field(default_factory=dict)
    tiers: list[Tier] = field(default_factory=list)
    slots: set[int] = field(default_factory=set)
    best: Tier | None = None
    crates: list[Crate] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class Bin(AggregateRoot[UUID]):
    """No children: many of them changed in one flush take the bulk path."""

    name: str
    lines: set[Line] = field(default_factory=set)
    tags: list[str] = field(default_factory=list)


class Depots(UnitOfWork):
    depots: Repository[Depot, UUID]
    bins: Repository[Bin, UUID]


type Factory = UnitOfWorkFactory[Depots]
type Holder = Depot | Crate

# -- mapping ---------------------------------------------------------------------------------------


def _contents_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("lines", JsonValue(set[Line]), nullable=False),
        sa.Column("tags", JsonValue(list[str]), nullable=False),
        sa.Column("limits", JsonValue(dict[str, int]), nullable=False),
        sa.Column("tiers", JsonValue(list[Tier]), nullable=False),
        sa.Column("slots", JsonValue(set[int]), nullable=False),
        sa.Column("best", JsonValue(Tier)),
    ]


def _map(mapping: Mapping) -> None:
    depots = sa.Table(
        "depots",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        *_contents_columns(),
        sa.Column("version", sa.Integer, nullable=False),
    )
    crates = sa.Table(
        "crates",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("depot_id", sa.Uuid, sa.ForeignKey("depots.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        *_contents_columns(),
    )
    bins = sa.Table(
        "bins",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("lines", JsonValue(set[Line]), nullable=False),
        sa.Column("tags", JsonValue(list[str]), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Depot, depots, children={"crates": Child(Crate, crates, order_by="position")})
    mapping.map(Bin, bins)


# -- adapters ----------------------------------------------------------------------------------


@dataclass
class Stack:
    """A factory of units of work, and the database behind it (None: the memory adapter)."""

    new_uow: Factory
    database: Database | None = None
    writes: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[str]]:
        """The INSERT, UPDATE and DELETE statements SQLAlchemy sends meanwhile (DuckDB only)."""
        self.writes.clear()
        if self.database is None:
            yield self.writes
            return
        engine = self.database.engine.sync_engine

        def record(*args: Any) -> None:
            statement: str = args[2]
            if statement.lstrip().split()[0] in {"INSERT", "UPDATE", "DELETE"}:
                self.writes.append(statement)

        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            yield self.writes
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)


ADAPTERS = ["memory", "duckdb-memory", "duckdb-file"]


@pytest.fixture(params=ADAPTERS)
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    if request.param == "memory":
        yield Stack(InMemoryUnitOfWork.factory(Depots))
        return
    mapping = Mapping()
    _map(mapping)
    try:
        kind = request.param.removeprefix("duckdb-")
        async with open_database(kind, tmp_path, mapping) as database:
            new_uow = SqlAlchemyUnitOfWork.factory(Depots, database=database, mapping=mapping)
            yield Stack(new_uow, database)
    finally:
        mapping.clear()


@pytest.fixture(params=["duckdb-memory", "duckdb-file"])
async def sql_stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    mapping = Mapping()
    _map(mapping)
    try:
        kind = request.param.removeprefix("duckdb-")
        async with open_database(kind, tmp_path, mapping) as database:
            new_uow = SqlAlchemyUnitOfWork.factory(Depots, database=database, mapping=mapping)
            yield Stack(new_uow, database)
    finally:
        mapping.clear()


# -- helpers ---------------------------------------------------------------------------------------


def _depot() -> Depot:
    def contents() -> dict[str, Any]:
        return {
            "lines": {A, B},
            "tags": ["new", "fragile"],
            "limits": {"a": 1},
            "tiers": [Tier(10, Money(Decimal("1.5"), "EUR")), Tier(99, Money(Decimal("1"), "EUR"))],
            "slots": {1, 9},
        }

    return Depot(
        name="north",
        **contents(),
        crates=[Crate(position=1, **contents()), Crate(position=2, **contents())],
    )


WHERE = ["root", "child"]


def _holder(depot: Depot, where: str) -> Holder:
    return depot if where == "root" else depot.crates[0]


def _contents(holder: Holder) -> tuple[object, ...]:
    return (holder.lines, holder.tags, holder.limits, holder.tiers, holder.slots, holder.best)


#: Changes made inside the values a depot or crate holds (never an assignment of a field).
CHANGES: list[tuple[str, Callable[[Holder], object]]] = [
    ("set of value objects: add", lambda h: h.lines.add(C)),
    ("set of value objects: discard", lambda h: h.lines.discard(A)),
    ("list: append", lambda h: h.tags.append("heavy")),
    ("list: item replaced", lambda h: h.tags.__setitem__(0, "used")),
    ("dict: key set", lambda h: h.limits.__setitem__("b", 2)),
    ("dict: key changed", lambda h: h.limits.__setitem__("a", 5)),
    (
        "nested value object in a list replaced",
        lambda h: h.tiers.__setitem__(1, Tier(50, Money(Decimal("0.75"), "USD"))),
    ),
    ("set of ints: add", lambda h: h.slots.add(4)),
]


async def _stored(stack: Stack, depot: Depot) -> Depot:
    async with stack.new_uow() as uow:
        await uow.depots.add(depot)
        await uow.commit()
    return depot


def _session(uow: Depots) -> AsyncSession:
    """The SQL unit of work's own session (what adapter code and tests may reach)."""
    assert isinstance(uow, SqlAlchemyUnitOfWork)
    return uow.session


async def _reloaded(stack: Stack, depot_id: UUID) -> Depot:
    async with stack.new_uow() as uow:
        return await uow.depots.get(depot_id)


# -- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", WHERE)
async def test_each_change_in_place_is_saved_by_its_commit(stack: Stack, where: str) -> None:
    depot, expected = await _stored(stack, _depot()), _depot()
    for version, (name, change) in enumerate(CHANGES, start=2):
        async with stack.new_uow() as uow:
            loaded = await uow.depots.get(depot.id)
            change(_holder(loaded, where))
            change(_holder(expected, where))
            await uow.commit()
        assert loaded.version == version, name
        again = await _reloaded(stack, depot.id)
        assert _contents(_holder(again, where)) == _contents(_holder(expected, where)), name
        assert again.version == version, name
    other = "child" if where == "root" else "root"
    assert _contents(_holder(again, other)) == _contents(_holder(_depot(), other))


@pytest.mark.parametrize("where", WHERE)
async def test_changes_in_place_after_add_and_after_each_commit_of_one_unit_of_work(
    stack: Stack, where: str
) -> None:
    depot, expected = _depot(), _depot()
    async with stack.new_uow() as uow:
        await uow.depots.add(depot)
        await uow.commit()
        for _, change in CHANGES:
            change(_holder(depot, where))
            change(_holder(expected, where))
            await uow.commit()
        # A child added to the aggregate, then changed in place once stored.
        depot.crates.append(Crate(position=3, lines={A}))
        await uow.commit()
        depot.crates[-1].lines.add(B)
        await uow.commit()
    assert depot.version == len(CHANGES) + 3
    again = await _reloaded(stack, depot.id)
    assert _contents(_holder(again, where)) == _contents(_holder(expected, where))
    assert again.crates[-1].lines == {A, B}
    assert again.version == len(CHANGES) + 3


@pytest.mark.parametrize("where", WHERE)
async def test_the_version_grows_by_one_per_commit_with_autoflushes_in_between(
    stack: Stack, where: str
) -> None:
    depot = await _stored(stack, _depot())
    async with stack.new_uow() as uow:
        loaded = await uow.depots.get(depot.id)
        holder = _holder(loaded, where)
        holder.lines.add(C)
        with stack.recording() as writes:
            # A query flushes first: the change in place is written before it runs...
            assert await uow.depots.count(F("name") == "north") == 1
        if stack.database is not None:
            assert any(w.lstrip().startswith("UPDATE") for w in writes)
        holder.tags.append("late")  # ... and a change after that flush is written at commit
        assert [d.id for d in await uow.depots.find(F("name") == "north")] == [depot.id]
        holder.limits["z"] = 26
        await uow.commit()
    assert loaded.version == 2
    again = _holder(await _reloaded(stack, depot.id), where)
    assert (again.lines, again.tags, again.limits) == (
        {A, B, C},
        ["new", "fragile", "late"],
        {"a": 1, "z": 26},
    )
    assert (await _reloaded(stack, depot.id)).version == 2


@pytest.mark.parametrize("where", WHERE)
async def test_a_concurrent_change_in_place_of_the_same_aggregate_is_a_conflict(
    stack: Stack, where: str
) -> None:
    depot = await _stored(stack, _depot())
    async with stack.new_uow() as first, stack.new_uow() as second:
        mine = await first.depots.get(depot.id)
        theirs = await second.depots.get(depot.id)
        _holder(mine, where).lines.add(C)
        _holder(theirs, where).tags.append("theirs")
        await first.commit()
        with pytest.raises(ConcurrencyError):
            await second.commit()
        # Nothing of the failed commit lingers: loaded again, a new change in place is saved.
        await second.rollback()
        fresh = await second.depots.get(depot.id)
        assert _holder(fresh, where).tags == ["new", "fragile"]
        _holder(fresh, where).slots.add(7)
        await second.commit()
    again = _holder(await _reloaded(stack, depot.id), where)
    assert (again.lines, again.tags, again.slots) == ({A, B, C}, ["new", "fragile"], {1, 7, 9})
    assert (await _reloaded(stack, depot.id)).version == 3


@pytest.mark.parametrize("where", WHERE)
async def test_an_assigned_value_then_changed_in_place_is_written(stack: Stack, where: str) -> None:
    depot = await _stored(stack, _depot())
    async with stack.new_uow() as uow:
        loaded = await uow.depots.get(depot.id)
        holder = _holder(loaded, where)
        holder.tags = ["assigned"]
        holder.best = Tier(1, Money(Decimal("2"), "EUR"))
        assert await uow.depots.count() == 1  # flushed
        holder.tags.append("then changed in place")
        await uow.commit()
        assert loaded.version == 2
        again = _holder(await _reloaded(stack, depot.id), where)
        assert (again.tags, again.best) == (
            ["assigned", "then changed in place"],
            Tier(1, Money(Decimal("2"), "EUR")),
        )
        holder.best = None
        holder.tags = ["assigned"]
        holder.tags.append("twice")
        await uow.commit()
    again = _holder(await _reloaded(stack, depot.id), where)
    assert (again.tags, again.best) == (["assigned", "twice"], None)
    assert (await _reloaded(stack, depot.id)).version == 3


@pytest.mark.parametrize("where", WHERE)
async def test_an_unchanged_value_writes_nothing(stack: Stack, where: str) -> None:
    depot = await _stored(stack, _depot())
    with stack.recording() as writes:
        async with stack.new_uow() as uow:
            loaded = await uow.depots.get(depot.id)
            await uow.commit()  # nothing touched
            holder = _holder(loaded, where)
            holder.lines.add(C)
            holder.lines.discard(C)  # changed, and changed back
            holder.tags.append("x")
            holder.tags.pop()
            # Equal values whose JSON differs: another Decimal exponent, another set order.
            holder.tiers[0] = Tier(10, Money(Decimal("1.50"), "EUR"))
            holder.slots.discard(1)
            holder.slots.add(17)
            holder.slots.add(1)
            holder.slots.discard(17)
            assert list(holder.slots) == [9, 1]  # stored as [1, 9]
            assert await uow.depots.count() == 1  # an autoflush
            await uow.commit()
    assert writes == []
    assert loaded.version == 1
    again = await _reloaded(stack, depot.id)
    assert again.version == 1
    assert _contents(_holder(again, where)) == _contents(_holder(_depot(), where))


@pytest.mark.parametrize("where", WHERE)
async def test_a_rollback_saves_nothing_of_a_change_in_place(stack: Stack, where: str) -> None:
    depot = await _stored(stack, _depot())
    async with stack.new_uow() as uow:
        loaded = await uow.depots.get(depot.id)
        _holder(loaded, where).lines.add(C)
        assert await uow.depots.count() == 1  # flushed inside the transaction
        # leaving without commit rolls back
    assert _holder(loaded, where).lines == {A, B, C}  # the object keeps what it was given
    async with stack.new_uow() as uow:
        loaded = await uow.depots.get(depot.id)
        _holder(loaded, where).tags.append("discarded")
        await uow.depots.exists()
        await uow.rollback()
        fresh = await uow.depots.get(depot.id)
        assert fresh is not loaded
        _holder(fresh, where).limits["kept"] = 1
        await uow.commit()
    again = _holder(await _reloaded(stack, depot.id), where)
    assert (again.lines, again.tags, again.limits) == (
        {A, B},
        ["new", "fragile"],
        {"a": 1, "kept": 1},
    )
    assert (await _reloaded(stack, depot.id)).version == 2


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda h: h.lines.add(Line("o9", "\ud800", 1)), id="no JSON text"),
        pytest.param(lambda h: h.slots.add("seven"), id="wrong type"),
    ],
)
async def test_a_change_in_place_the_column_cannot_hold_is_a_data_error(
    stack: Stack, where: str, change: Callable[[Holder], object]
) -> None:
    depot = await _stored(stack, _depot())
    async with stack.new_uow() as uow:
        loaded = await uow.depots.get(depot.id)
        change(_holder(loaded, where))
        with pytest.raises(DataError):
            await uow.commit()
    again = await _reloaded(stack, depot.id)
    assert again.version == 1
    assert _contents(_holder(again, where)) == _contents(_holder(_depot(), where))


async def test_removed_and_added_again_its_changes_in_place_are_still_saved(stack: Stack) -> None:
    stored = Bin(name="solo", lines={A})
    async with stack.new_uow() as uow:
        await uow.bins.add(stored)
        await uow.commit()
    async with stack.new_uow() as uow:
        loaded = await uow.bins.get(stored.id)
        await uow.bins.remove(loaded)
        await uow.bins.add(loaded)
        loaded.lines.add(C)
        await uow.commit()
        loaded.tags.append("again")
        await uow.commit()
    async with stack.new_uow() as uow:
        again = await uow.bins.get(stored.id)
    assert (again.lines, again.tags) == ({A, C}, ["again"])
    assert again.version == loaded.version


def _bins(count: int) -> list[Bin]:
    return [Bin(name=f"bin-{i}", lines={A}, tags=[f"t{i}"]) for i in range(count)]


async def test_many_aggregates_changed_in_place_are_saved_by_the_bulk_path(stack: Stack) -> None:
    count = BULK_THRESHOLD + 1
    bins = _bins(count)
    async with stack.new_uow() as uow:
        await uow.bins.add_many(bins)  # bulk insert
        await uow.commit()
        for each in bins:
            each.lines.add(B)
        with stack.recording() as writes:
            await uow.commit()  # bulk update
        assert writes == []  # not one UPDATE per aggregate: the Arrow path (on DuckDB)
    assert [each.version for each in bins] == [2] * count
    async with stack.new_uow() as uow:
        loaded = await uow.bins.find(order_by=F("name"))
        for each in loaded:
            each.lines.discard(A)
            each.tags.append("moved")
        with stack.recording() as writes:
            await uow.commit()
        assert writes == []
    async with stack.new_uow() as uow:
        again = await uow.bins.find(order_by=F("name"))
    assert [(b.lines, b.tags, b.version) for b in again] == [
        ({B}, [f"t{i}", "moved"], 3) for i in range(count)
    ]


async def test_a_bulk_change_in_place_conflicting_with_another_unit_of_work_saves_nothing(
    stack: Stack,
) -> None:
    count = BULK_THRESHOLD + 1
    async with stack.new_uow() as uow:
        await uow.bins.add_many(_bins(count))
        await uow.commit()
    async with stack.new_uow() as first, stack.new_uow() as second:
        mine = await first.bins.find()
        theirs = await second.bins.first(F("name") == "bin-0")
        assert theirs is not None
        theirs.tags.append("theirs")
        await second.commit()
        for each in mine:
            each.lines.add(C)
        with pytest.raises(ConcurrencyError):
            await first.commit()
    async with stack.new_uow() as uow:
        again = await uow.bins.find(order_by=F("name"))
    assert [b.lines for b in again] == [{A}] * count
    assert [b.version for b in again] == [2] + [1] * (count - 1)
    assert again[0].tags == ["t0", "theirs"]


async def test_many_removed_at_once_then_others_changed_in_place(stack: Stack) -> None:
    count = BULK_THRESHOLD + 1
    async with stack.new_uow() as uow:
        await uow.bins.add_many(_bins(count * 2))
        await uow.commit()
        gone = await uow.bins.find(F("name").in_([f"bin-{i}" for i in range(count)]))
        for each in gone:
            each.lines.add(C)  # removed with a change in place: nothing to write but the delete
            await uow.bins.remove(each)
        await uow.commit()  # a bulk delete
        kept = await uow.bins.first(F("name") == f"bin-{count}")
        assert kept is not None
        kept.lines.add(B)
        await uow.commit()
    async with stack.new_uow() as uow:
        assert await uow.bins.count() == count
        again = await uow.bins.get(kept.id)
    assert (again.lines, again.version) == ({A, B}, 2)


# -- the SQL adapter's own session -------------------------------------------------------------


@pytest.mark.parametrize("where", WHERE)
async def test_a_refresh_through_the_session_takes_the_stored_value_as_unchanged(
    sql_stack: Stack, where: str
) -> None:
    depot = await _stored(sql_stack, _depot())
    async with sql_stack.new_uow() as uow:
        loaded = await uow.depots.get(depot.id)
        holder = _holder(loaded, where)
        holder.lines.add(C)
        await _session(uow).refresh(holder)  # read again: the change in place is gone
        assert holder.lines == {A, B}
        holder.tags.append("kept")
        await _session(uow).refresh(holder, ["lines"])  # only lines read again
        assert holder.tags == ["new", "fragile", "kept"]
        await uow.commit()
    assert loaded.version == 2
    again = _holder(await _reloaded(sql_stack, depot.id), where)
    assert (again.lines, again.tags) == ({A, B}, ["new", "fragile", "kept"])


async def test_an_expired_json_attribute_is_left_to_the_session(sql_stack: Stack) -> None:
    depot = await _stored(sql_stack, _depot())
    async with sql_stack.new_uow() as uow:
        loaded = await uow.depots.get(depot.id)
        _session(uow).expire(loaded, ["tags"])
        loaded.lines.add(C)
        await uow.commit()
        await _session(uow).refresh(loaded, ["tags"])
        loaded.tags.append("after")
        await uow.commit()
    again = await _reloaded(sql_stack, depot.id)
    assert (again.lines, again.tags, again.version) == (
        {A, B, C},
        ["new", "fragile", "after"],
        3,
    )


async def test_a_plain_sqlalchemy_session_reads_and_writes_the_mapping_untracked(
    sql_stack: Stack,
) -> None:
    depot = await _stored(sql_stack, _depot())
    assert sql_stack.database is not None
    async with AsyncSession(sql_stack.database.engine) as plain:
        loaded = await plain.get(Depot, depot.id)
        assert loaded is not None
        assert loaded.lines == {A, B}
        await plain.refresh(loaded)
        assert loaded.crates[0].lines == {A, B}
        plain.add(Bin(name="plain", lines={C}, version=1))
        await plain.commit()
    async with sql_stack.new_uow() as uow:
        stored = await uow.bins.first(F("name") == "plain")
    assert stored is not None
    assert stored.lines == {C}
