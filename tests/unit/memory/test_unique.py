"""Unique keys in the in-memory adapter: NULLs, soft-deleted rows, and keys a mapping adds later.

The same rules on DuckDB are in ``tests/integration/duckdb/test_fidelity.py`` (every adapter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.domain import AggregateRoot, SoftDeletable, Unique
from andamios.ports import Repository, UnitOfWork, register_storage, unregister_storage
from andamios.ports.errors import DuplicateError


@dataclass(eq=False, kw_only=True)
class Member(AggregateRoot[UUID], SoftDeletable):
    email: Annotated[str, Unique(live_only=True)]
    handle: Annotated[str | None, Unique()] = None
    nick: str = ""


class Club(UnitOfWork):
    members: Repository[Member, UUID]


async def test_nulls_and_soft_deleted_rows_never_clash() -> None:
    new_uow = InMemoryUnitOfWork.factory(Club)
    async with new_uow() as uow:
        ann = Member(email="ann@x", handle=None)
        await uow.members.add_many([ann, Member(email="bob@x", handle=None)])
        await uow.commit()
        await uow.members.remove(ann)  # soft delete: her email is free among live members
        await uow.commit()
        await uow.members.add(Member(email="ann@x", handle=None))
        await uow.commit()
        assert await uow.members.count(include_deleted=True) == 3
        await uow.members.add(Member(email="ann@x"))
        with pytest.raises(DuplicateError, match="Member with email 'ann@x' already exists"):
            await uow.commit()


async def test_a_key_a_mapping_adds_later_is_checked_against_the_stored_rows() -> None:
    new_uow = InMemoryUnitOfWork.factory(Club)
    async with new_uow() as uow:
        await uow.members.add_many(
            [Member(email="a@x", handle="h", nick="same"), Member(email="b@x", nick="same")]
        )
        await uow.commit()
    register_storage(Member, {}, unique=[("handle", "nick")])
    try:
        async with new_uow() as uow:
            await uow.members.add(Member(email="c@x", handle="h", nick="same"))
            with pytest.raises(DuplicateError, match="with handle 'h', nick 'same' already"):
                await uow.commit()
    finally:
        unregister_storage(Member)
