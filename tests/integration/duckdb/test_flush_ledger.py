"""The flush ledger: what a flush writes is found once, and the bulk writer keeps no books."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state
from tests.integration.duckdb._contract_mapping import contract_mapping, open_database

import andamios.adapters.sqlalchemy as package
from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import Child, Mapping, SqlAlchemyUnitOfWork
from andamios.adapters.sqlalchemy import _flush as flush_module
from andamios.adapters.sqlalchemy._session import AggregateSession
from andamios.domain import AggregateRoot, Entity
from andamios.ports import Repository, Timestamped, UnitOfWork
from andamios.testing import FakeClock
from andamios.testing.models import (
    Basket,
    BasketNote,
    ContractUnitOfWork,
    Dimensions,
    Gadget,
    Shipment,
)

type Stored = tuple[Database, Mapping]


@pytest.fixture
async def stored(tmp_path: Path) -> AsyncIterator[Stored]:
    with contract_mapping() as mapping:
        async with open_database("file", tmp_path, mapping) as database:
            yield database, mapping


def _factory(stored: Stored) -> Any:
    return SqlAlchemyUnitOfWork.factory(ContractUnitOfWork, database=stored[0], mapping=stored[1])


def _session(uow: object) -> AggregateSession:
    session: AggregateSession = uow.session.sync_session  # type: ignore[attr-defined]
    return session


def _gadgets(count: int) -> list[Gadget]:
    return [Gadget(sku=f"S{n}", name=f"gadget {n}", price=Decimal(1)) for n in range(count)]


def _basket(owner: str) -> Basket:
    basket = Basket(owner=owner, note=BasketNote(text="a note"))
    basket.add_item("a")
    basket.add_item("b")
    return basket


# -- is_modified ---------------------------------------------------------------------------------


def _rename_to_itself(gadget: Gadget, basket: Basket, shipment: Shipment) -> None:
    gadget.name = str(gadget.name)


def _rename_and_back(gadget: Gadget, basket: Basket, shipment: Shipment) -> None:
    name = gadget.name
    gadget.name = "another"
    gadget.name = name


def _rename(gadget: Gadget, basket: Basket, shipment: Shipment) -> None:
    gadget.name = "renamed"
    gadget.price = Decimal(2)


def _add_line(gadget: Gadget, basket: Basket, shipment: Shipment) -> None:
    basket.add_item("c")


def _drop_line(gadget: Gadget, basket: Basket, shipment: Shipment) -> None:
    basket.lines.pop()


def _change_a_line(gadget: Gadget, basket: Basket, shipment: Shipment) -> None:
    basket.lines[0].quantity += 1


def _replace_the_note(gadget: Gadget, basket: Basket, shipment: Shipment) -> None:
    basket.note = BasketNote(text="another note")


def _drop_the_note(gadget: Gadget, basket: Basket, shipment: Shipment) -> None:
    basket.note = None


def _same_lines_again(gadget: Gadget, basket: Basket, shipment: Shipment) -> None:
    basket.lines = list(basket.lines)


def _resize(gadget: Gadget, basket: Basket, shipment: Shipment) -> None:
    shipment.size = Dimensions(width_cm=3, height_cm=4)


def _same_size_again(gadget: Gadget, basket: Basket, shipment: Shipment) -> None:
    shipment.size = Dimensions(width_cm=1, height_cm=2)


def _flag_the_size(gadget: Gadget, basket: Basket, shipment: Shipment) -> None:
    sa.orm.attributes.flag_modified(shipment, "size")


CHANGES: list[Callable[[Gadget, Basket, Shipment], None]] = [
    _rename_to_itself,
    _rename_and_back,
    _rename,
    _add_line,
    _drop_line,
    _change_a_line,
    _replace_the_note,
    _drop_the_note,
    _same_lines_again,
    _resize,
    _same_size_again,
    _flag_the_size,
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.__name__.strip("_"))
async def test_is_modified_answers_as_sqlalchemy_does(
    stored: Stored, change: Callable[[Gadget, Basket, Shipment], None]
) -> None:
    new_uow = _factory(stored)
    shipment = Shipment(code="C1", amount=Decimal(3), size=Dimensions(width_cm=1, height_cm=2))
    async with new_uow() as uow:
        await uow.gadgets.add(_gadgets(1)[0])
        await uow.repository(Basket).add(_basket("owner"))
        await uow.repository(Shipment).add(shipment)
        await uow.commit()
    async with new_uow() as uow:
        [gadget] = await uow.gadgets.find()
        [basket] = await uow.repository(Basket).find()
        [loaded] = await uow.repository(Shipment).find()
        change(gadget, basket, loaded)
        session = _session(uow)
        objects = [*session.identity_map.values(), *session.new]
        assert objects
        for each in objects:
            state = instance_state(each)
            assert flush_module.is_modified(state) is session.is_modified(each), each


async def test_a_flush_asks_each_dirty_object_once_and_never_sqlalchemy(
    stored: Stored, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_uow = _factory(stored)
    async with new_uow() as uow:
        await uow.gadgets.add_many(_gadgets(20))  # the bulk path
        await uow.repository(Basket).add_many([_basket(f"owner {n}") for n in range(3)])
        await uow.commit()
    asked: list[object] = []
    ask = flush_module.is_modified

    def counted(state: Any) -> bool:
        asked.append(state.obj())
        return ask(state)

    def refused(self: Session, instance: object, include_collections: bool = True) -> bool:
        raise AssertionError("Session.is_modified asked during a flush")

    monkeypatch.setattr(flush_module, "is_modified", counted)
    monkeypatch.setattr(AggregateSession, "is_modified", refused)
    async with new_uow() as uow:
        gadgets = await uow.gadgets.find()
        baskets = await uow.repository(Basket).find()
        for gadget in gadgets[1:]:
            gadget.rename(f"{gadget.name}!")
        gadgets[0].name = str(gadgets[0].name)  # dirty, yet unchanged: asked, not written
        baskets[0].lines[0].quantity = 5  # a child only
        baskets[1].owner = "renamed"
        await uow.commit()
    assert len(asked) == 22
    assert {id(each) for each in asked} == {
        *(id(g) for g in gadgets),
        id(baskets[0].lines[0]),
        id(baskets[1]),
    }
    assert [g.version for g in gadgets[:2]] == [1, 2]
    assert {g.version for g in gadgets[1:]} == {2}
    assert [b.version for b in baskets] == [2, 2, 1]


# -- the bulk writer keeps no books --------------------------------------------------------------


async def test_the_bulk_writer_returns_what_it_wrote_and_keeps_no_books(stored: Stored) -> None:
    new_uow = _factory(stored)
    gadgets = _gadgets(6)
    async with new_uow() as uow:
        writer = uow._context.writer
        session = _session(uow)
        before = await uow.session.run_sync(lambda s: writer.insert_rows(s, gadgets))
        assert before == [0] * 6
        assert [g.version for g in gadgets] == [1] * 6
        for gadget in gadgets:
            gadget.name = "changed"
        loaded = await uow.session.run_sync(lambda s: writer.update(s, gadgets))
        assert loaded == [1] * 6
        assert [g.version for g in gadgets] == [2] * 6
        assert session.inserted == []
        assert session.versions_before == {}
        assert session.pending == {}
        assert not session.dirty
        await uow.commit()
    async with new_uow() as uow:
        stored_rows = await uow.gadgets.find()
        assert {(g.name, g.version) for g in stored_rows} == {("changed", 2)}


async def test_what_add_many_inserts_in_bulk_is_recorded_and_restored_on_rollback(
    stored: Stored,
) -> None:
    new_uow = _factory(stored)
    gadgets = _gadgets(6)
    async with new_uow() as uow:
        await uow.gadgets.add_many(gadgets)
        session = _session(uow)
        assert [list(batch) for batch, _ in session.inserted] == [gadgets]
        assert [g.version for g in gadgets] == [1] * 6
        gadgets[0].name = "changed in the same transaction"
        gadgets[1].name = "and another"  # the ledger asks for each: the second from its cache
        await uow.gadgets.count()  # a flush: the rows are updated, their versions stay 1
        assert [g.version for g in gadgets[:2]] == [1, 1]
        await uow.rollback()
    assert [g.version for g in gadgets] == [0] * 6


# -- a root changed only through a child --------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class Twig(Entity[UUID]):
    name: str = ""


@dataclass(eq=False, kw_only=True)
class Bush(AggregateRoot[UUID], Timestamped):
    twigs: list[Twig] = field(default_factory=list)


class Garden(UnitOfWork):
    bushes: Repository[Bush, UUID]


@pytest.fixture
def bushes() -> Iterator[Mapping]:
    mapping = Mapping()
    bushes = sa.Table(
        "bushes",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    )
    twigs = sa.Table(
        "twigs",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("bush_id", sa.Uuid, sa.ForeignKey("bushes.id"), nullable=False),
        sa.Column("name", sa.String, nullable=False),
    )
    mapping.map(Bush, bushes, children={"twigs": Child(Twig, twigs)})
    yield mapping
    mapping.clear()


async def test_a_root_changed_only_through_a_child_is_stamped_versioned_and_written(
    tmp_path: Path, bushes: Mapping
) -> None:
    first, later = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    async with open_database("file", tmp_path, bushes) as database:

        def factory(moment: datetime) -> Any:
            return SqlAlchemyUnitOfWork.factory(
                Garden, database=database, mapping=bushes, clock=FakeClock(moment)
            )

        planted = [Bush(twigs=[Twig(name=f"twig {n}")]) for n in range(6)]
        async with factory(first)() as uow:
            await uow.bushes.add_many(planted)
            await uow.commit()
        async with factory(later)() as uow:
            loaded = await uow.bushes.find()
            for bush in loaded:
                bush.twigs[0].name = "pruned"
            await uow.commit()
        assert {(b.version, b.created_at, b.updated_at) for b in loaded} == {(2, first, later)}
        async with factory(later)() as uow:
            again = await uow.bushes.find()
        assert {(b.version, b.updated_at, b.twigs[0].name) for b in again} == {(2, later, "pruned")}


# -- no import cycle ------------------------------------------------------------------------------


def _imports(module: str) -> set[str]:
    tree = ast.parse((Path(package.__file__).parent / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.rsplit(".", 1)[-1])
        elif isinstance(node, ast.Import):
            found.update(alias.name.rsplit(".", 1)[-1] for alias in node.names)
    return found


def test_the_writer_the_session_and_the_ledger_import_one_way() -> None:
    assert not {"_session", "_flush"} & _imports("_bulk")
    assert "_flush" not in _imports("_session")
    assert {"_bulk", "_session"} <= _imports("_flush")


async def test_a_session_without_a_writer_versions_what_the_orm_writes(stored: Stored) -> None:
    session = AsyncSession(
        stored[0].engine, sync_session_class=AggregateSession, expire_on_commit=False
    )
    gadgets = _gadgets(6)
    async with session.begin():
        session.add_all(gadgets)
    assert {g.version for g in gadgets} == {1}
    async with session.begin():
        for gadget in gadgets:
            gadget.name = "changed"
    assert {g.version for g in gadgets} == {2}
    await session.close()
    async with _factory(stored)() as uow:
        assert {(g.name, g.version) for g in await uow.gadgets.find()} == {("changed", 2)}
