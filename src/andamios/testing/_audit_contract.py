"""The audit contract: ``CreatedAt``/``UpdatedAt`` stamps and soft delete (``DeletedAt``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from andamios.domain import F
from andamios.ports.errors import ConcurrencyError, NotFound, UnitOfWorkError
from andamios.testing._bulk_contract import BulkContract
from andamios.testing._clock import FakeClock
from andamios.testing._support import Factory
from andamios.testing.models import Gadget, Ticket

__all__ = ["AuditContract"]


class AuditContract:
    """Audit timestamps (``CreatedAt``/``UpdatedAt``) and soft delete (``DeletedAt``).

    Both adapters must give the same values at the same moments, and hide the same aggregates.

    Every stamp of a transaction is the clock's time when that transaction began (on entering
    the unit of work, and after each commit or rollback), as SQL's ``CURRENT_TIMESTAMP``.

    Override ``new_uow`` with a factory whose units of work read the time from the ``clock``
    fixture (``factory(..., clock=clock)``); :class:`Ticket` must be storable.
    """

    pytestmark = pytest.mark.asyncio

    @pytest.fixture
    def clock(self) -> FakeClock:
        """The clock the units of work must use."""
        return FakeClock(datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC))

    @pytest.fixture
    def new_uow(self, clock: FakeClock) -> Factory:
        """Override: a factory of fresh units of work over one empty store, using ``clock``."""
        raise NotImplementedError

    async def _stored(self, new_uow: Factory, *tickets: Ticket) -> None:
        async with new_uow() as uow:
            for ticket in tickets:
                await uow.repository(Ticket).add(ticket)
            await uow.commit()

    async def test_first_store_stamps_both_from_the_clock_overwriting_the_user(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        forged = datetime(1999, 1, 1, tzinfo=UTC)
        ticket = Ticket(title="one", created_at=forged, updated_at=forged)
        many = [Ticket(title=f"bulk {n}") for n in range(BulkContract.bulk_size)]
        async with new_uow() as uow:
            await uow.repository(Ticket).add(ticket)
            await uow.repository(Ticket).add_many(many)
            await uow.commit()
        start = clock.now()
        assert (ticket.created_at, ticket.updated_at, ticket.version) == (start, start, 1)
        assert {(t.created_at, t.updated_at) for t in many} == {(start, start)}
        clock.advance()
        async with new_uow() as uow:
            loaded = await uow.repository(Ticket).get(ticket.id)
            assert (loaded.created_at, loaded.updated_at) == (start, start)
            assert loaded.created_at is not None
            assert loaded.created_at.utcoffset() == timedelta(0)
            assert await uow.repository(Ticket).count(F("created_at") == start) == len(many) + 1
            assert await uow.repository(Ticket).count(F("updated_at") > start) == 0

    async def test_a_committed_change_stamps_updated_at_only(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        ticket, other = Ticket(title="one"), Ticket(title="two")
        await self._stored(new_uow, ticket, other)
        start = clock.now()
        later = clock.advance(timedelta(minutes=5))
        async with new_uow() as uow:
            loaded = await uow.repository(Ticket).get(ticket.id)
            await uow.repository(Ticket).get(other.id)  # read, not changed: not stamped
            loaded.done = True
            assert await uow.repository(Ticket).count(F("done").in_([True])) == 1  # flushed
            clock.advance()
            loaded.title = "one, done"
            await uow.commit()
            assert (loaded.created_at, loaded.updated_at, loaded.version) == (start, later, 2)
        async with new_uow() as uow:
            again = await uow.repository(Ticket).get(ticket.id)
            untouched = await uow.repository(Ticket).get(other.id)
        assert (again.created_at, again.updated_at, again.title) == (start, later, "one, done")
        assert (untouched.updated_at, untouched.version) == (start, 1)

    async def test_a_query_stamps_what_it_writes_and_a_rollback_puts_it_back(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        ticket = Ticket(title="one")
        await self._stored(new_uow, ticket)
        start = clock.now()
        later = clock.advance()
        async with new_uow() as uow:
            loaded = await uow.repository(Ticket).get(ticket.id)
            fresh = Ticket(title="new")
            loaded.done = True
            await uow.repository(Ticket).add(fresh)
            assert (loaded.updated_at, fresh.created_at) == (start, None)  # nothing written yet
            await uow.repository(Ticket).count()
            assert (loaded.created_at, loaded.updated_at) == (start, later)
            assert (fresh.created_at, fresh.updated_at) == (later, later)
            await uow.rollback()
            assert (loaded.updated_at, fresh.created_at, fresh.updated_at) == (start, None, None)

    async def test_a_change_that_is_not_committed_keeps_the_old_stamps(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        ticket = Ticket(title="one")
        await self._stored(new_uow, ticket)
        start = clock.now()
        clock.advance()
        async with new_uow() as uow:
            loaded = await uow.repository(Ticket).get(ticket.id)
            loaded.done = True
            await uow.repository(Ticket).count()  # written, then rolled back
        assert loaded.updated_at == start
        fresh = Ticket(title="new")
        async with new_uow() as first, new_uow() as second:
            mine = await first.repository(Ticket).get(ticket.id)
            theirs = await second.repository(Ticket).get(ticket.id)
            mine.done, theirs.title = True, "theirs"
            await second.repository(Ticket).add(fresh)
            await first.commit()
            with pytest.raises(ConcurrencyError):
                await second.commit()
        assert (mine.updated_at, theirs.updated_at) == (clock.now(), start)
        assert (fresh.created_at, fresh.updated_at, fresh.version) == (None, None, 0)

    # -- soft delete (Ticket is SoftDeletable) ----------------------------------------------------

    async def test_remove_of_a_soft_deletable_aggregate_stamps_and_hides_it(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        ticket, other = Ticket(title="gone"), Ticket(title="kept")
        await self._stored(new_uow, ticket, other)
        moment = clock.advance()
        async with new_uow() as uow:
            tickets = uow.repository(Ticket)
            loaded = await tickets.get(ticket.id)
            await tickets.remove(loaded)
            clock.advance()
            await tickets.remove(loaded)  # again: the first stamp stays
            assert loaded.deleted_at == moment
            assert await tickets.get_or_none(ticket.id) is None
            assert await tickets.count() == 1
            await uow.commit()
        assert (loaded.deleted_at, loaded.updated_at, loaded.version) == (moment, moment, 2)
        async with new_uow() as uow:
            tickets = uow.repository(Ticket)
            with pytest.raises(NotFound):
                await tickets.get(ticket.id)
            assert [t.title for t in await tickets.find()] == ["kept"]
            assert await tickets.count(F("title") == "gone") == 0
            assert not await tickets.exists(F("title") == "gone")
            assert await tickets.first(F("title") == "gone") is None
            assert [t.title async for t in tickets.stream(batch_size=1)] == ["kept"]
            assert await tickets.count(include_deleted=True) == 2
            assert await tickets.exists(F("title") == "gone", include_deleted=True)
            streamed = tickets.stream(F("title") == "gone", include_deleted=True)
            assert [t.title async for t in streamed] == ["gone"]
            found = await tickets.first(F("deleted_at").is_not_none(), include_deleted=True)
            assert found is await tickets.get(ticket.id, include_deleted=True)
            assert found is not None
            assert found.deleted_at == moment

    async def test_restore_brings_a_soft_deleted_aggregate_back(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        ticket = Ticket(title="back")
        await self._stored(new_uow, ticket)
        async with new_uow() as uow:
            await uow.repository(Ticket).remove(await uow.repository(Ticket).get(ticket.id))
            await uow.commit()
        restored_at = clock.advance()
        async with new_uow() as uow:
            tickets = uow.repository(Ticket)
            with pytest.raises(UnitOfWorkError, match="include_deleted=True"):
                await tickets.restore(Ticket(id=ticket.id, title="back"))
            [deleted] = await tickets.find(include_deleted=True)
            await tickets.restore(deleted)
            assert await tickets.get(ticket.id) is deleted
            await uow.commit()
        async with new_uow() as uow:
            back = await uow.repository(Ticket).get(ticket.id)
            assert (back.deleted_at, back.updated_at, back.version) == (None, restored_at, 3)
            with pytest.raises(TypeError, match="Gadget is not soft-deletable"):
                await uow.gadgets.restore(Gadget(sku="x", name="x", price=Decimal(1)))

    async def test_a_soft_deletable_aggregate_removed_where_it_was_added_is_stored_deleted(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        ticket = Ticket(title="born deleted")
        async with new_uow() as uow:
            await uow.repository(Ticket).add(ticket)
            await uow.repository(Ticket).remove(ticket)
            with pytest.raises(UnitOfWorkError, match="was not loaded"):
                await uow.repository(Ticket).remove(Ticket(title="stranger"))
            await uow.commit()
        assert (ticket.deleted_at, ticket.version) == (clock.now(), 1)
        async with new_uow() as uow:
            assert await uow.repository(Ticket).count() == 0
            stored = await uow.repository(Ticket).get(ticket.id, include_deleted=True)
            assert stored.deleted_at == clock.now()
