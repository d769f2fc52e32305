"""The unit-of-work contract: transactions, isolation, versions, concurrency and events."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from andamios.domain import F, uuid7
from andamios.ports import UnitOfWorkState
from andamios.ports.errors import ConcurrencyError, DuplicateError, UnitOfWorkError
from andamios.testing._support import Factory, seed
from andamios.testing.models import ContractUnitOfWork, Counter, Gadget, GadgetRenamed

__all__ = ["UnitOfWorkContract"]


class UnitOfWorkContract:
    """What every unit of work must do, whatever stores its aggregates."""

    pytestmark = pytest.mark.asyncio

    @pytest.fixture
    def new_uow(self) -> Factory:
        """Override: a factory of fresh units of work over one empty store."""
        raise NotImplementedError

    async def _count(self, new_uow: Factory) -> int:
        async with new_uow() as uow:
            return await uow.gadgets.count()

    async def test_factory_makes_fresh_units_of_work_of_the_users_shape(
        self, new_uow: Factory
    ) -> None:
        first, second = new_uow(), new_uow()
        assert first is not second
        assert isinstance(first, ContractUnitOfWork)
        assert first.state is UnitOfWorkState.NEW
        assert first.repository(Gadget) is first.gadgets

    async def test_leaving_without_commit_rolls_back(self, new_uow: Factory) -> None:
        async with new_uow() as uow:
            await uow.gadgets.add(Gadget(sku="L-1", name="lost", price=Decimal(1)))
        assert uow.state is UnitOfWorkState.ENDED
        assert await self._count(new_uow) == 0

    async def test_an_exception_rolls_back_and_propagates(self, new_uow: Factory) -> None:
        gadgets = await seed(new_uow)
        with pytest.raises(ZeroDivisionError):  # noqa: PT012 - the whole block is under test
            async with new_uow() as uow:
                anvil = await uow.gadgets.get(gadgets[0].id)
                anvil.rename("Broken")
                await uow.gadgets.add(Gadget(sku="L-2", name="lost", price=Decimal(1)))
                _ = 1 / 0
        async with new_uow() as uow:
            assert (await uow.gadgets.get(gadgets[0].id)).name == "Anvil"
            assert await uow.gadgets.count() == 6
        assert list(uow.collect_events()) == []

    async def test_explicit_rollback_discards_changes_and_keeps_the_unit_usable(
        self, new_uow: Factory
    ) -> None:
        gadgets = await seed(new_uow)
        async with new_uow() as uow:
            anvil = await uow.gadgets.get(gadgets[0].id)
            anvil.rename("Rolled back")
            await uow.rollback()
            again = await uow.gadgets.get(gadgets[0].id)
            assert again.name == "Anvil"
            again.price = Decimal("11.00")
            await uow.commit()
        assert list(uow.collect_events()) == []
        async with new_uow() as uow:
            stored = await uow.gadgets.get(gadgets[0].id)
            assert (stored.name, stored.price, stored.version) == ("Anvil", Decimal("11.00"), 2)

    async def test_no_aliasing_between_objects_and_the_store(self, new_uow: Factory) -> None:
        gadgets = await seed(new_uow)
        async with new_uow() as uow:
            kept = await uow.gadgets.get(gadgets[0].id)
            kept.name = "changed, then rolled back"
        kept.name = "changed after the unit of work ended"
        gadgets[1].name = "changed on the object that was added"
        async with new_uow() as first, new_uow() as second:
            mine = await first.gadgets.get(gadgets[0].id)
            theirs = await second.gadgets.get(gadgets[0].id)
            assert mine is not theirs
            mine.name = "only in the first"
            assert theirs.name == "Anvil"
        async with new_uow() as uow:
            assert (await uow.gadgets.get(gadgets[0].id)).name == "Anvil"
            assert (await uow.gadgets.get(gadgets[1].id)).name == "bolt"

    async def test_versions_grow_by_one_per_committed_change(self, new_uow: Factory) -> None:
        gadget = Gadget(sku="V-1", name="v", price=Decimal(1))
        async with new_uow() as uow:
            await uow.gadgets.add(gadget)
            await uow.commit()
            assert gadget.version == 1
            gadget.quantity = 1
            await uow.gadgets.find(F("quantity") > 0)  # may flush; still one change
            gadget.quantity = 2
            await uow.commit()
            assert gadget.version == 2
            await uow.commit()  # nothing changed
            assert gadget.version == 2
        async with new_uow() as uow:
            loaded = await uow.gadgets.get(gadget.id)
            assert (loaded.version, loaded.quantity) == (2, 2)
            await uow.gadgets.find()
            await uow.commit()
            assert loaded.version == 2

    # -- the flush before a query ---------------------------------------------------------------
    # A SQL unit of work writes what changed before each query it sends (autoflush); every adapter
    # does what that flush does, there: versions, errors, and what a rollback puts back.

    async def test_a_query_writes_the_changes_first_and_versions_them_once(
        self, new_uow: Factory
    ) -> None:
        gadgets = await seed(new_uow)
        fresh = Gadget(sku="Q-1", name="fresh", price=Decimal(1))
        async with new_uow() as uow:
            anvil = await uow.gadgets.get(gadgets[0].id)
            anvil.quantity = 50
            await uow.gadgets.add(fresh)
            assert (anvil.version, fresh.version) == (1, 0)  # nothing written yet
            await uow.gadgets.get(gadgets[1].id)  # a read by id does not flush (ADR 0021)
            assert (anvil.version, fresh.version) == (1, 0)
            assert await uow.gadgets.count(F("quantity") == 50) == 1
            assert (anvil.version, fresh.version) == (2, 1)
            anvil.quantity = 3  # changed back after a write: still a change, still one version
            await uow.gadgets.find()
            assert anvil.version == 2
            await uow.commit()
            assert (anvil.version, fresh.version) == (2, 1)
        async with new_uow() as uow:
            stored = await uow.gadgets.get(gadgets[0].id)
            assert (stored.quantity, stored.version) == (3, 2)

    async def test_a_rollback_puts_back_the_versions_a_query_gave(self, new_uow: Factory) -> None:
        gadgets = await seed(new_uow)
        fresh = Gadget(sku="Q-2", name="fresh", price=Decimal(1))
        async with new_uow() as uow:
            anvil = await uow.gadgets.get(gadgets[0].id)
            anvil.rename("Written")
            await uow.gadgets.add(fresh)
            await uow.gadgets.count()
            assert (anvil.version, fresh.version) == (2, 1)
            await uow.rollback()
            assert (anvil.version, fresh.version) == (1, 0)
            assert await uow.gadgets.get_or_none(fresh.id) is None
            assert (await uow.gadgets.get(gadgets[0].id)).name == "Anvil"

    async def test_a_stale_change_is_reported_by_the_next_query(self, new_uow: Factory) -> None:
        gadgets = await seed(new_uow)
        async with new_uow() as first:
            mine = await first.gadgets.get(gadgets[0].id)
            async with new_uow() as second:
                (await second.gadgets.get(gadgets[0].id)).quantity = 42
                await second.commit()
            mine.quantity = 7
            with pytest.raises(ConcurrencyError, match="by another unit of work"):
                await first.gadgets.count()
            assert mine.version == 1  # the failed flush versioned nothing
            with pytest.raises(UnitOfWorkError, match="earlier statement"):
                await first.commit()
        async with new_uow() as uow:
            assert (await uow.gadgets.get(gadgets[0].id)).quantity == 42

    async def test_a_stale_removal_is_reported_by_the_next_query(self, new_uow: Factory) -> None:
        gadgets = await seed(new_uow)
        async with new_uow() as first:
            doomed = await first.gadgets.get(gadgets[0].id)
            async with new_uow() as second:
                (await second.gadgets.get(gadgets[0].id)).quantity = 42
                await second.commit()
            await first.gadgets.remove(doomed)
            with pytest.raises(ConcurrencyError):
                await first.gadgets.find()
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 6

    async def test_a_removal_a_query_wrote_and_a_rollback_undid_leaves_it_readable(
        self, new_uow: Factory
    ) -> None:
        gadgets = await seed(new_uow)
        async with new_uow() as uow:
            doomed = await uow.gadgets.get(gadgets[0].id)
            await uow.gadgets.remove(doomed)
            assert await uow.gadgets.count() == 5  # the removal is written
            await uow.rollback()
            assert (doomed.sku, doomed.version) == ("A-1", 1)  # forgotten, still readable
            again = await uow.gadgets.get(gadgets[0].id)
            assert again is not doomed
            assert again.sku == "A-1"

    async def test_a_failed_flush_versions_none_of_what_it_held(self, new_uow: Factory) -> None:
        gadgets = await seed(new_uow)
        async with new_uow() as uow:
            anvil = await uow.gadgets.get(gadgets[0].id)
            anvil.quantity = 9
            clash = Gadget(id=gadgets[1].id, sku="X", name="clash", price=Decimal(1))
            await uow.gadgets.add(clash)
            with pytest.raises(DuplicateError):
                await uow.gadgets.count()
            assert (anvil.version, clash.version) == (1, 0)
            await uow.rollback()
            assert anvil.version == 1

    async def test_a_stale_version_raises_concurrency_error(self, new_uow: Factory) -> None:
        gadgets = await seed(new_uow)
        async with new_uow() as first:
            mine = await first.gadgets.get(gadgets[0].id)
            async with new_uow() as second:
                theirs = await second.gadgets.get(gadgets[0].id)
                theirs.price = Decimal("20.00")
                await second.commit()
            mine.price = Decimal("30.00")
            with pytest.raises(ConcurrencyError):
                await first.commit()
        async with new_uow() as uow:
            stored = await uow.gadgets.get(gadgets[0].id)
            assert (stored.price, stored.version) == (Decimal("20.00"), 2)

    async def test_removing_what_another_changed_raises_concurrency_error(
        self, new_uow: Factory
    ) -> None:
        gadgets = await seed(new_uow)
        async with new_uow() as first:
            doomed = await first.gadgets.get(gadgets[0].id)
            async with new_uow() as second:
                (await second.gadgets.get(gadgets[0].id)).quantity = 42
                await second.commit()
            await first.gadgets.remove(doomed)
            with pytest.raises(ConcurrencyError):
                await first.commit()
        async with new_uow() as uow:
            assert (await uow.gadgets.get(gadgets[0].id)).quantity == 42

    async def test_changing_what_another_removed_raises_concurrency_error(
        self, new_uow: Factory
    ) -> None:
        gadgets = await seed(new_uow)
        async with new_uow() as first:
            survivor = await first.gadgets.get(gadgets[0].id)
            async with new_uow() as second:
                await second.gadgets.remove(await second.gadgets.get(gadgets[0].id))
                await second.commit()
            survivor.quantity = 42
            with pytest.raises(ConcurrencyError):
                await first.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.get_or_none(gadgets[0].id) is None

    async def test_the_same_id_added_by_two_units_of_work_fails_the_second(
        self, new_uow: Factory
    ) -> None:
        same = uuid7()
        async with new_uow() as first, new_uow() as second:
            await first.gadgets.add(Gadget(id=same, sku="1ST", name="first", price=Decimal(1)))
            await second.gadgets.add(Gadget(id=same, sku="2ND", name="second", price=Decimal(2)))
            await first.commit()
            with pytest.raises(DuplicateError):
                await second.commit()
        async with new_uow() as uow:
            assert (await uow.gadgets.get(same)).sku == "1ST"

    async def test_a_failed_statement_makes_commit_raise_and_saves_nothing(
        self, new_uow: Factory
    ) -> None:
        gadgets = await seed(new_uow)
        async with new_uow() as uow:
            await uow.gadgets.add(Gadget(sku="N-1", name="innocent", price=Decimal(1)))
            with pytest.raises(DuplicateError):  # noqa: PT012 - by add() or by the flush
                await uow.gadgets.add(
                    Gadget(id=gadgets[0].id, sku="N-2", name="clash", price=Decimal(1))
                )
                await uow.gadgets.count()  # SQL adapters report it at the flush
            with pytest.raises(UnitOfWorkError, match="roll back first"):
                await uow.gadgets.count()  # an aborted transaction answers nothing
            with pytest.raises(UnitOfWorkError, match="earlier statement"):
                await uow.commit()
            # The refused commit rolled back: the next transaction starts clean, without them.
            assert await uow.gadgets.count() == 6
            await uow.commit()
        assert await self._count(new_uow) == 6

    async def test_a_unit_of_work_cannot_be_entered_twice_or_nested(self, new_uow: Factory) -> None:
        uow = new_uow()
        async with uow:
            with pytest.raises(UnitOfWorkError, match="already entered"):
                async with uow:
                    pass  # pragma: no cover - never entered
            assert uow.state is UnitOfWorkState.ACTIVE
        with pytest.raises(UnitOfWorkError, match="already entered"):
            async with uow:
                pass  # pragma: no cover - never entered

    async def test_using_a_unit_of_work_outside_its_block_is_refused(
        self, new_uow: Factory
    ) -> None:
        uow = new_uow()
        with pytest.raises(UnitOfWorkError, match="not open"):
            await uow.gadgets.count()
        with pytest.raises(UnitOfWorkError, match="not open"):
            await uow.commit()
        async with uow:
            pass
        with pytest.raises(UnitOfWorkError, match="has ended"):
            await uow.gadgets.get(uuid7())
        with pytest.raises(UnitOfWorkError, match="has ended"):
            await uow.gadgets.add(Gadget(sku="Q", name="late", price=Decimal(1)))
        with pytest.raises(UnitOfWorkError, match="has ended"):
            await uow.commit()
        with pytest.raises(UnitOfWorkError, match="has ended"):
            await uow.rollback()
        assert await self._count(new_uow) == 0

    async def test_events_are_collected_after_commit_from_every_aggregate_seen(
        self, new_uow: Factory
    ) -> None:
        gadgets = await seed(new_uow)
        async with new_uow() as uow:
            anvil = await uow.gadgets.get(gadgets[0].id)
            anvil.rename("Anvil II")
            for gadget in await uow.gadgets.find(F("price") < 1, order_by="sku"):
                gadget.rename(gadget.name.upper())
            fresh = Gadget(sku="N-9", name="new", price=Decimal(1))
            fresh.rename("newer")
            await uow.gadgets.add(fresh)
            await uow.commit()
        events = list(uow.collect_events())
        assert [(type(e), e.name) for e in events] == [  # type: ignore[attr-defined]
            (GadgetRenamed, "Anvil II"), (GadgetRenamed, "BOLT"), (GadgetRenamed, "ERASER"),
            (GadgetRenamed, "newer"),
        ]  # fmt: skip
        assert list(uow.collect_events()) == []
        assert anvil.pending_events == ()

    async def test_events_of_a_rolled_back_or_failed_commit_are_dropped(
        self, new_uow: Factory
    ) -> None:
        gadgets = await seed(new_uow)
        async with new_uow() as uow:
            (await uow.gadgets.get(gadgets[0].id)).rename("never")
        assert list(uow.collect_events()) == []
        async with new_uow() as first:
            mine = await first.gadgets.get(gadgets[0].id)
            async with new_uow() as second:
                (await second.gadgets.get(gadgets[0].id)).quantity = 9
                await second.commit()
            mine.rename("stale")
            with pytest.raises(ConcurrencyError):
                await first.commit()
        assert list(first.collect_events()) == []

    async def test_several_commits_in_one_block(self, new_uow: Factory) -> None:
        gadget = Gadget(sku="M-1", name="multi", price=Decimal(1))
        async with new_uow() as uow:
            await uow.gadgets.add(gadget)
            await uow.commit()
            gadget.rename("twice")
            await uow.commit()
            gadget.rename("rolled back")
        assert [e.name for e in uow.collect_events()] == ["twice"]  # type: ignore[attr-defined]
        async with new_uow() as uow:
            stored = await uow.gadgets.get(gadget.id)
            assert (stored.name, stored.version) == ("twice", 2)

    async def test_concurrent_read_modify_write_loses_no_update(self, new_uow: Factory) -> None:
        # Enough to race on every adapter (each conflict retried at once), few enough to be quick.
        tasks, increments = 6, 20
        async with new_uow() as uow:
            await uow.counters.add(Counter(id="shared"))
            await uow.commit()
        retries = 0

        async def increment() -> None:
            nonlocal retries
            for _ in range(increments):
                while True:
                    try:
                        async with new_uow() as uow:
                            counter = await uow.counters.get("shared")
                            counter.value += 1
                            await uow.commit()
                        break
                    except ConcurrencyError:
                        retries += 1

        await asyncio.gather(*(increment() for _ in range(tasks)))
        async with new_uow() as uow:
            counter = await uow.counters.get("shared")
        assert counter.value == tasks * increments
        assert counter.version == tasks * increments + 1
        assert retries > 0  # the tasks really raced
