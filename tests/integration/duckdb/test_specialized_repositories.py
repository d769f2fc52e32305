"""A specialized repository, declared once in the ports layer, served by every adapter.

The same ``Baskets`` (domain queries over child specs) on the in-memory adapter, in-memory
DuckDB, a DuckDB file and PostgreSQL; and the SQL adapter refusing, when its factory is made,
what it cannot compose.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import pytest
from tests.integration.duckdb._contract_mapping import (
    DATABASE_KINDS,
    contract_mapping,
    open_database,
)

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.domain import F
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import MappingError
from andamios.testing.models import Basket, BasketNote


class Baskets(Repository[Basket, UUID]):
    """Domain queries, with no database import."""

    async def get_by_sku(self, sku: str) -> Basket | None:
        return await self.first(F("lines").any(F("sku") == sku), order_by="owner")

    async def gifts(self) -> list[Basket]:
        return await self.find(F("note.text") == "gift", order_by="owner")

    async def without_lines(self) -> int:
        return await self.count(~F("lines").any(F("quantity") > 0))


class Shop(UnitOfWork):
    baskets: Baskets


type Factory = UnitOfWorkFactory[Shop]


@pytest.fixture(params=("in-memory", *DATABASE_KINDS))
async def new_uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    if request.param == "in-memory":
        yield InMemoryUnitOfWork.factory(Shop)
        return
    with contract_mapping() as mapping:
        async with open_database(request.param, tmp_path, mapping) as database:
            yield SqlAlchemyUnitOfWork.factory(Shop, database=database, mapping=mapping)


async def test_the_domain_queries_run_on_every_adapter(new_uow: Factory) -> None:
    ana = Basket(owner="ana", note=BasketNote(text="gift"))
    ana.add_item("tea", 2)
    bo = Basket(owner="bo")
    bo.add_item("pot")
    async with new_uow() as uow:
        await uow.baskets.add_many([ana, bo, Basket(owner="cy")])
        await uow.commit()
    async with new_uow() as uow:
        assert uow.repository(Basket) is uow.baskets
        found = await uow.baskets.get_by_sku("tea")
        assert found is not None
        assert found.owner == "ana"
        assert found is await uow.baskets.get(ana.id)  # the identity map, as for any read
        assert await uow.baskets.get_by_sku("cup") is None
        assert [basket.owner for basket in await uow.baskets.gifts()] == ["ana"]
        assert await uow.baskets.without_lines() == 1
        found.add_item("cup")
        await uow.commit()  # changes to what a domain query returned are tracked
    async with new_uow() as uow:
        again = await uow.baskets.get_by_sku("cup")
        assert again is not None
        assert again.owner == "ana"
        assert again.version == 2


class Keyed(Repository[Basket, UUID]):
    def _key(self, id: object) -> object:  # the SQL repository's own
        return id


class Contextual(Repository[Basket, UUID]):
    def remember(self) -> None:
        self._context = None  # assigned by the SQL repository's __init__


class Abstract(Repository[Basket, UUID]):
    @abstractmethod
    async def special(self) -> None: ...


@pytest.mark.parametrize(
    ("repository_type", "message"),
    [
        (Keyed, r"Keyed defines _key, which SqlAlchemyRepository implements"),
        (Contextual, r"Contextual defines _context, which SqlAlchemyRepository implements"),
        (Abstract, r"Abstract declares abstract methods \(special\)"),
    ],
    ids=lambda each: getattr(each, "__name__", ""),
)
async def test_the_sql_factory_refuses_what_it_cannot_compose(
    tmp_path: Path, repository_type: type, message: str
) -> None:
    shape = type("Broken", (UnitOfWork,), {"__annotations__": {"baskets": repository_type}})
    with contract_mapping() as mapping:
        async with open_database("memory", tmp_path, mapping) as database:
            with pytest.raises(MappingError, match=message):
                SqlAlchemyUnitOfWork.factory(shape, database=database, mapping=mapping)
