"""Commit compares each loaded aggregate with its stored state as it is, and copies the changed."""

from __future__ import annotations

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.testing.models import Basket, ContractUnitOfWork

pytestmark = pytest.mark.asyncio


class _Instrumented(list[object]):
    """A list of another kind, as another adapter's instrumented collections are."""


async def test_a_list_of_another_kind_with_the_same_items_is_no_change() -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)
    basket = Basket(owner="ann")
    basket.add_item("TEA", 2)
    async with new_uow() as uow:
        await uow.repository(Basket).add(basket)
        await uow.commit()
    async with new_uow() as uow:
        loaded = await uow.repository(Basket).get(basket.id)
        loaded.lines = _Instrumented(loaded.lines)  # type: ignore[assignment]
        await uow.commit()
        assert loaded.version == 1  # nothing changed: no new version
        loaded.add_item("COFFEE")
        await uow.commit()
        assert loaded.version == 2
    async with new_uow() as uow:
        stored = await uow.repository(Basket).get(basket.id)
        assert [(line.sku, line.quantity) for line in stored.lines] == [("TEA", 2), ("COFFEE", 1)]
        assert type(stored.lines) is list  # what was stored is a copy, a plain list


async def test_a_change_after_a_commit_is_compared_with_what_that_commit_stored() -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)
    basket = Basket(owner="ann")
    async with new_uow() as uow:
        await uow.repository(Basket).add(basket)
        await uow.commit()
        basket.owner = "bob"
        await uow.commit()
        assert basket.version == 2
        await uow.commit()  # nothing more changed
        assert basket.version == 2
        basket.owner = "ann"
        await uow.commit()
        assert basket.version == 3
