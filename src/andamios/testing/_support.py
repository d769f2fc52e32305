"""What every contract suite shares: the factory type it is given and a seeded store."""

from __future__ import annotations

from andamios.ports import UnitOfWorkFactory
from andamios.testing.models import ContractUnitOfWork, Gadget, make_gadgets

__all__ = ["Factory", "seed"]

type Factory = UnitOfWorkFactory[ContractUnitOfWork]
"""What a suite's ``new_uow`` fixture returns: fresh units of work over one shared store."""


async def seed(new_uow: Factory) -> list[Gadget]:
    """Store :func:`make_gadgets` in one committed unit of work; return them."""
    gadgets = make_gadgets()
    async with new_uow() as uow:
        await uow.gadgets.add_many(gadgets)
        await uow.commit()
    return gadgets
