"""Specialized repositories: a user's subclass of the Repository port, served by every adapter.

The ports read it from the shape and refuse what no adapter could serve (no types, a name the
port implements, an ``__init__`` that does not hand the adapter's arguments on); each adapter
builds a class that is both the user's and its own.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any
from uuid import UUID

import pytest

from andamios.adapters.memory import InMemoryRepository, InMemoryUnitOfWork
from andamios.domain import AggregateRoot, F, Spec
from andamios.ports import Repository, UnitOfWork, repository_slots
from andamios.ports.errors import MappingError
from andamios.ports.spi import compose_repository
from andamios.testing.models import Basket, Counter


class Baskets(Repository[Basket, UUID]):
    """Domain queries over baskets, written once for every adapter."""

    async def holding(self, sku: str) -> list[Basket]:
        return await self.find(F("lines").any(F("sku") == sku), order_by="owner")


class Shop(UnitOfWork):
    baskets: Baskets
    counters: Repository[Counter, str]


class CachedBaskets(Baskets):
    """Inherits its types from Baskets, and keeps state of its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked = 0

    async def holding(self, sku: str) -> list[Basket]:
        self.asked += 1
        return await super().holding(sku)


class CachedShop(UnitOfWork):
    baskets: CachedBaskets


def test_the_shape_names_the_specialized_repository_and_its_types() -> None:
    slots = repository_slots(Shop)
    assert [(s.name, s.aggregate_type, s.id_type, s.repository_type) for s in slots] == [
        ("baskets", Basket, UUID, Baskets),
        ("counters", Counter, str, Repository),
    ]


async def test_each_unit_of_work_holds_the_users_class_over_the_adapters() -> None:
    new_uow = InMemoryUnitOfWork.factory(Shop)
    async with new_uow() as uow:
        assert isinstance(uow.baskets, Baskets)
        assert isinstance(uow.baskets, InMemoryRepository)
        assert uow.repository(Basket) is uow.baskets
        assert type(uow.counters) is InMemoryRepository
        basket = Basket(owner="ana")
        basket.add_item("tea")
        await uow.baskets.add(basket)
        await uow.commit()
        assert await uow.baskets.holding("tea") == [basket]
        assert await uow.baskets.holding("pot") == []
    assert repr(uow.baskets) == "<InMemoryRepository[Baskets] of Basket>"
    async with new_uow() as again:
        assert type(again.baskets) is type(uow.baskets)  # composed once


async def test_an_init_that_hands_the_arguments_on_is_kept() -> None:
    async with InMemoryUnitOfWork.factory(CachedShop)() as uow:
        assert await uow.baskets.holding("tea") == []
        assert uow.baskets.asked == 1


def test_compose_repository_keeps_the_adapter_for_the_plain_port() -> None:
    assert compose_repository(InMemoryRepository, Repository) is InMemoryRepository
    assert compose_repository(InMemoryRepository, InMemoryRepository) is InMemoryRepository
    composed = compose_repository(InMemoryRepository, Baskets)
    assert composed is compose_repository(InMemoryRepository, Baskets)
    assert composed.__mro__[1:3] == (Baskets, InMemoryRepository)


# -- refused, for every adapter alike, when the shape is read --------------------------------


class Untyped[A: AggregateRoot[Any]](Repository[A, UUID]):
    pass


class Finder(Repository[Basket, UUID]):
    async def _find(self, *args: Any) -> list[Basket]:
        return []


class Checker(Repository[Basket, UUID]):
    def _check_spec(self, spec: object) -> Spec | None:
        return None


class Tracking(Repository[Basket, UUID]):
    def remember(self) -> None:
        self._tracker = None  # type: ignore[assignment]


class Configured(Repository[Basket, UUID]):
    def __init__(self, cache: dict[str, Basket], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache = cache


class Positional(Repository[Basket, UUID]):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)  # type: ignore[call-arg]  # never runs: the shape is refused


def _shape(hint: object) -> type[UnitOfWork]:
    return type("Broken", (UnitOfWork,), {"__annotations__": {"things": hint}})


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        (Untyped, r"Broken\.things is a Untyped, which names no aggregate and id types"),
        (Untyped, r"class Untyped\(Repository\[Aggregate, IdType\]\)"),
        (Untyped[Basket], r"declare a specialized repository by its class alone \(things: Unt"),
        (Finder, r"Finder defines _find, which the Repository port implements"),
        (Checker, r"Checker defines _check_spec, which the Repository port implements"),
        (Tracking, r"Tracking defines _tracker, which the Repository port implements"),
        (Configured, r"Configured\.__init__ must take what the adapter passes and hand it on"),
        (Positional, r"def __init__\(self, \*args: Any, \*\*kwargs: Any\)"),
        (Repository, r"Broken\.things must name its types: Repository\[Aggregate, IdType\]"),
    ],
    ids=repr,
)
def test_what_no_adapter_could_serve_is_a_mapping_error(hint: object, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        InMemoryUnitOfWork.factory(_shape(hint))


# -- refused by an adapter, when it composes the class ---------------------------------------


class Abstract(Repository[Basket, UUID]):
    @abstractmethod
    async def special(self) -> None: ...


class Intruding(Repository[Basket, UUID]):
    _workspace = None  # the in-memory repository's own


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        (Abstract, r"Abstract declares abstract methods \(special\) that no adapter implements"),
        (Intruding, r"Intruding defines _workspace, which InMemoryRepository implements"),
    ],
    ids=repr,
)
def test_what_the_adapter_cannot_compose_is_a_mapping_error(hint: object, message: str) -> None:
    new_uow = InMemoryUnitOfWork.factory(_shape(hint))
    with pytest.raises(MappingError, match=message):
        new_uow()


class Forgetful(InMemoryUnitOfWork):
    """An adapter written before specialized repositories: it builds its own class only."""

    def _create_repository(
        self,
        aggregate_type: type[AggregateRoot[Any]],
        id_type: object,
        repository_type: type[Repository[Any, Any]] = Repository,
    ) -> Repository[Any, Any]:
        return InMemoryRepository(
            aggregate_type, tracker=self._tracker, workspace=self._workspace, id_type=id_type
        )


def test_an_adapter_that_ignores_the_users_class_is_told_so() -> None:
    with pytest.raises(
        MappingError, match=r"built a InMemoryRepository for baskets, not a Baskets"
    ):
        Forgetful.factory(Shop)()
