"""``add_many`` checks its batch the same way for every kind of id."""

from __future__ import annotations

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.ports.errors import DuplicateError
from andamios.testing.models import ContractUnitOfWork, Counter


async def test_a_string_id_twice_in_one_batch_is_refused_before_anything_is_added() -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)
    async with new_uow() as uow:
        with pytest.raises(DuplicateError, match="'b' appears twice"):
            await uow.counters.add_many([Counter(id="a"), Counter(id="b"), Counter(id="b")])
        await uow.counters.add_many([Counter(id="a"), Counter(id="b")])
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.counters.count() == 2
