"""mypy sees the user's types through a unit-of-work shape (checked by the mypy gate)."""

from __future__ import annotations

from decimal import Decimal
from typing import assert_type
from uuid import UUID

from andamios.adapters.memory import InMemoryFactory, InMemoryUnitOfWork
from andamios.domain import F
from andamios.ports import Page, Repository, UnitOfWork
from andamios.testing.models import Basket, ContractUnitOfWork, Counter, Gadget


async def test_repository_types_flow_to_the_call_sites() -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)
    assert_type(new_uow, InMemoryFactory[ContractUnitOfWork])
    async with new_uow() as uow:
        assert_type(uow, ContractUnitOfWork)
        assert_type(uow.gadgets, Repository[Gadget, UUID])
        gadget = Gadget(sku="T", name="typed", price=Decimal(1))
        await uow.gadgets.add(gadget)
        assert_type(await uow.gadgets.get(gadget.id), Gadget)
        assert_type(await uow.gadgets.get_or_none(gadget.id), Gadget | None)
        assert_type(await uow.gadgets.find(), list[Gadget])
        assert_type(await uow.gadgets.first(), Gadget | None)
        assert_type(await uow.gadgets.page(), Page[Gadget])
        assert_type(await uow.counters.get_or_none("c"), Counter | None)
        assert (await uow.gadgets.get(gadget.id)).name == "typed"


class Baskets(Repository[Basket, UUID]):
    """A specialized repository: its domain query is typed at the call site."""

    async def by_sku(self, sku: str) -> Basket | None:
        return await self.first(F("lines").any(F("sku") == sku))


class Shop(UnitOfWork):
    baskets: Baskets


async def test_a_specialized_repository_is_typed_at_the_call_site() -> None:
    async with InMemoryUnitOfWork.factory(Shop)() as uow:
        assert_type(uow.baskets, Baskets)
        assert_type(await uow.baskets.by_sku("tea"), Basket | None)
        assert_type(await uow.baskets.find(), list[Basket])
        assert await uow.baskets.by_sku("tea") is None
