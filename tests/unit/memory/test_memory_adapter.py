"""What the in-memory adapter does beyond the shared contract."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

import pytest

from andamios.adapters.memory import InMemoryFactory, InMemoryStore, InMemoryUnitOfWork
from andamios.adapters.memory._evaluate import evaluate, like_regex, sort_rows
from andamios.adapters.memory._store import structural
from andamios.domain import AggregateRoot, Entity, F, InvalidSpecification, Order, ValueObject
from andamios.ports import Repository, UnitOfWork
from andamios.ports.errors import ConcurrencyError, DuplicateError, UnitOfWorkError
from andamios.testing.models import ContractUnitOfWork, Gadget


@dataclass(frozen=True)
class Money(ValueObject):
    amount: Decimal
    currency: str


@dataclass(eq=False, kw_only=True)
class Line(Entity[int]):
    sku: str
    quantity: int


@dataclass(eq=False, kw_only=True)
class Purchase(AggregateRoot[UUID]):
    customer: str
    total: Money | None = None
    lines: list[Line] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    extra: dict[str, object] = field(default_factory=dict)
    anything: object = None


class Sales(UnitOfWork):
    orders: Repository[Purchase, UUID]


def test_factory_shares_one_store_and_shows_it() -> None:
    new_uow = InMemoryUnitOfWork.factory(Sales)
    assert isinstance(new_uow, InMemoryFactory)
    first, second = new_uow(), new_uow()
    assert isinstance(first, InMemoryUnitOfWork)
    assert isinstance(second, InMemoryUnitOfWork)
    assert first.store is second.store is new_uow.store
    assert repr(new_uow) == "<InMemoryFactory of InMemoryUnitOfWork[Sales]>"
    store = InMemoryStore()
    assert InMemoryUnitOfWork.factory(Sales, store=store).store is store


async def test_changes_to_child_entities_and_containers_are_detected() -> None:
    new_uow = InMemoryUnitOfWork.factory(Sales)
    order = Purchase(customer="ada", lines=[Line(id=1, sku="a", quantity=1)])
    async with new_uow() as uow:
        await uow.orders.add(order)
        await uow.commit()
    for change in (
        lambda o: setattr(o.lines[0], "quantity", 5),  # same id: Entity.__eq__ would miss it
        lambda o: o.tags.add("vip"),
        lambda o: o.extra.update(note="hi"),
        lambda o: setattr(o, "total", Money(Decimal(3), "EUR")),
    ):
        async with new_uow() as uow:
            change(await uow.orders.get(order.id))
            await uow.commit()
    async with new_uow() as uow:
        stored = await uow.orders.get(order.id)
    assert stored.version == 5
    assert (stored.lines[0].quantity, stored.tags, stored.extra) == (5, {"vip"}, {"note": "hi"})
    assert stored.total == Money(Decimal(3), "EUR")


def test_structural_form_sees_through_custom_equality() -> None:
    assert Line(id=1, sku="a", quantity=1) == Line(id=1, sku="a", quantity=2)
    assert structural(Line(id=1, sku="a", quantity=1)) != structural(
        Line(id=1, sku="a", quantity=2)
    )
    assert structural((1, [2])) == (tuple, (1, (list, (2,))))
    assert structural(frozenset({1})) == (frozenset, frozenset({1}))
    assert structural(Money) is Money  # a class is not an instance


async def test_specs_reach_into_value_objects_with_dotted_paths() -> None:
    new_uow = InMemoryUnitOfWork.factory(Sales)
    async with new_uow() as uow:
        await uow.orders.add_many(
            [
                Purchase(customer="a", total=Money(Decimal(5), "EUR")),
                Purchase(customer="b", total=Money(Decimal(50), "USD")),
                Purchase(customer="c"),
            ]
        )
        await uow.commit()
    async with new_uow() as uow:
        found = await uow.orders.find(F("total.amount") > 10)
        assert [o.customer for o in found] == ["b"]
        by_amount = await uow.orders.find(order_by=F("total.amount").desc())
        assert [o.customer for o in by_amount] == ["b", "a", "c"]
        assert await uow.orders.count(F("total.currency").is_none()) == 1
    async with new_uow() as uow:
        assert await uow.orders.count(F("version") == 1) == 3  # rows not loaded yet


async def test_values_that_python_cannot_compare_raise_invalid_specification() -> None:
    new_uow = InMemoryUnitOfWork.factory(Sales)
    async with new_uow() as uow:
        await uow.orders.add_many(
            [Purchase(customer="a", anything=1), Purchase(customer="b", anything="x")]
        )
        with pytest.raises(InvalidSpecification, match="incompatible types"):
            await uow.orders.find(F("anything") > 0)
        with pytest.raises(InvalidSpecification, match="cannot order by"):
            await uow.orders.find(order_by="anything")
        with pytest.raises(InvalidSpecification, match="needs a text field"):
            await uow.orders.find(F("anything").contains("x"))


def test_like_patterns() -> None:
    assert like_regex("a%").fullmatch("ABC")
    assert like_regex("a_c").fullmatch("abc")
    assert not like_regex("a_c").fullmatch("abbc")
    assert like_regex("50%").fullmatch("50% off")
    assert like_regex("a.c").fullmatch("a.c")
    assert not like_regex("a.c").fullmatch("abc")
    assert like_regex("%").fullmatch("line\nbreak")


def test_evaluate_and_sort_follow_sql() -> None:
    row = {"a": None, "b": 2}
    assert evaluate((F("a") == 1) | (F("b") == 2), row.get) is True
    assert evaluate((F("a") == 1) & (F("b") == 2), row.get) is None
    assert evaluate((F("a") == 1) & (F("b") == 3), row.get) is False
    assert evaluate(~(F("a") == 1), row.get) is None
    assert evaluate(F("a").between(1, 2), row.get) is None
    assert evaluate(F("a").in_([1]), row.get) is None
    rows: list[dict[str, int | None]] = [{"k": 2}, {"k": None}, {"k": 1}]
    sort_rows(rows, [Order("k", descending=True)], lambda r, f: r[f])
    assert rows == [{"k": 2}, {"k": 1}, {"k": None}]


async def test_store_counts_and_clears() -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)
    async with new_uow() as uow:
        await uow.gadgets.add(Gadget(sku="a", name="a", price=Decimal(1)))
        await uow.commit()
    assert new_uow.store.count(Gadget) == 1
    new_uow.store.clear()
    assert new_uow.store.count(Gadget) == 0


async def test_commits_from_many_threads_lose_nothing() -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)

    def worker(n: int) -> None:
        async def add() -> None:
            async with new_uow() as uow:
                await uow.gadgets.add(Gadget(sku=f"T-{n}", name="t", price=Decimal(n)))
                await uow.commit()

        asyncio.run(add())

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert new_uow.store.count(Gadget) == 8


async def test_a_removed_and_re_added_id_is_replaced_on_commit() -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)
    old = Gadget(sku="OLD", name="old", price=Decimal(1))
    async with new_uow() as uow:
        await uow.gadgets.add(old)
        await uow.commit()
    async with new_uow() as uow:
        await uow.gadgets.remove(await uow.gadgets.get(old.id))
        assert await uow.gadgets.get_or_none(old.id) is None
        new = Gadget(id=old.id, sku="NEW", name="new", price=Decimal(2))
        with pytest.raises(DuplicateError, match="already exists in this unit of work"):
            await uow.gadgets.add(new)  # as in SQL: the removed one is held until flushed
        await uow.rollback()
        await uow.gadgets.remove(await uow.gadgets.get(old.id))
        assert await uow.gadgets.count() == 0  # the removal is written
        await uow.gadgets.add(new)
        assert await uow.gadgets.get(old.id) is new
        await uow.commit()
    async with new_uow() as uow:
        stored = await uow.gadgets.get(old.id)
        assert (stored.sku, stored.version) == ("NEW", 1)


async def test_removing_twice_is_refused_the_second_time() -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)
    gadget = Gadget(sku="R", name="r", price=Decimal(1))
    async with new_uow() as uow:
        await uow.gadgets.add(gadget)
        await uow.commit()
    async with new_uow() as uow:
        loaded = await uow.gadgets.get(gadget.id)
        await uow.gadgets.remove(loaded)
        with pytest.raises(Exception, match="get\\(\\) it first"):
            await uow.gadgets.remove(loaded)


async def test_only_the_first_failure_is_remembered() -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)
    gadget = Gadget(sku="D", name="d", price=Decimal(1))
    async with new_uow() as uow:
        await uow.gadgets.add(gadget)
        await uow.commit()
    async with new_uow() as uow:
        await uow.gadgets.add(Gadget(id=gadget.id, sku="first", name="x", price=Decimal(1)))
        with pytest.raises(DuplicateError):
            await uow.gadgets.count()  # the flush before the statement finds the stored id
        with pytest.raises(UnitOfWorkError, match="roll back first"):
            await uow.gadgets.add(Gadget(id=gadget.id, sku="second", name="x", price=Decimal(1)))
        with pytest.raises(UnitOfWorkError) as caught:
            await uow.commit()
    assert isinstance(caught.value.__cause__, DuplicateError)
    assert "already exists" in str(caught.value)


async def test_a_commit_finding_a_flushed_row_changed_since_puts_the_versions_back() -> None:
    # Memory takes no row locks (ADR 0021): a second unit of work may commit a row the first
    # wrote at a flush; the first then fails at commit, with what its flushes gave undone.
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)
    gadget = Gadget(sku="F", name="f", price=Decimal(1))
    async with new_uow() as uow:
        await uow.gadgets.add(gadget)
        await uow.commit()
    async with new_uow() as first:
        mine = await first.gadgets.get(gadget.id)
        mine.quantity = 1
        assert await first.gadgets.count() == 1  # written
        assert mine.version == 2
        async with new_uow() as second:
            (await second.gadgets.get(gadget.id)).quantity = 2
            await second.commit()
        with pytest.raises(ConcurrencyError, match="changed by another unit of work"):
            await first.commit()
        assert mine.version == 1
    async with new_uow() as uow:
        assert (await uow.gadgets.get(gadget.id)).quantity == 2
