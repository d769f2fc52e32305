"""``add_many`` reads ids from the aggregates' ``__dict__``, and where they are not there."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.domain import AggregateRoot
from andamios.ports import Repository, UnitOfWork
from andamios.ports.errors import DuplicateError


@dataclass(eq=False, kw_only=True, slots=True)
class Slotted(AggregateRoot[UUID]):
    """Its fields, ``id`` among them, live in slots: its ``__dict__`` holds none of them."""

    name: str


class Slots(UnitOfWork):
    slotted: Repository[Slotted, UUID]


async def test_ids_held_in_slots_are_read_and_checked() -> None:
    new_uow = InMemoryUnitOfWork.factory(Slots)
    items = [Slotted(name=f"s{n}") for n in range(3)]
    assert "id" not in vars(items[0])
    async with new_uow() as uow:
        await uow.slotted.add_many(items)
        await uow.commit()
    async with new_uow() as uow:
        assert [a.id for a in await uow.slotted.find()] == sorted(a.id for a in items)
        twice = Slotted(name="twice")
        with pytest.raises(DuplicateError, match="appears twice"):
            await uow.slotted.add_many([twice, twice])
