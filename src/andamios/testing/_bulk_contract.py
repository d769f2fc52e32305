"""The bulk contract: many aggregates of one type in one unit of work, one outcome on every path."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from andamios.domain import F
from andamios.ports.errors import ConcurrencyError, DataError, DuplicateError
from andamios.testing._support import Factory, seed
from andamios.testing.models import Carrier, ContractUnitOfWork, Dimensions, Gadget, Shipment

__all__ = ["BulkContract"]


def _bulk(count: int, name: str = "bulk") -> list[Gadget]:
    return [Gadget(sku=f"K-{n:04}", name=name, price=Decimal(n)) for n in range(count)]


def _shipments(count: int) -> list[Shipment]:
    return [
        Shipment(code=f"SH-{n:05}", amount=Decimal("12.50"), carrier=Carrier.COURIER,
                 due=date(2024, 2, 29), fragile=n % 2 == 0, size=Dimensions(30, 20 + n % 3))
        for n in range(count)
    ]  # fmt: skip


class BulkContract:
    """Many aggregates of one type in one unit of work: the same outcome on every path.

    ``bulk_size`` is at least every adapter's bulk threshold, so SQL adapters take their bulk
    path; the in-memory adapter must give the same results and errors.
    """

    pytestmark = pytest.mark.asyncio

    bulk_size = 120

    @pytest.fixture
    def new_uow(self) -> Factory:
        """Override: a factory of fresh units of work over one empty store."""
        raise NotImplementedError

    async def _stored(self, new_uow: Factory, count: int) -> list[Gadget]:
        gadgets = _bulk(count)
        async with new_uow() as uow:
            await uow.gadgets.add_many(gadgets)
            await uow.commit()
        return gadgets

    async def test_add_many_is_read_your_writes_tracked_and_versioned(
        self, new_uow: Factory
    ) -> None:
        gadgets = _bulk(self.bulk_size)
        gadgets[0].rename("first")
        async with new_uow() as uow:
            await uow.gadgets.add_many(gadgets)
            assert await uow.gadgets.count(F("name") == "bulk") == self.bulk_size - 1
            assert await uow.gadgets.get(gadgets[5].id) is gadgets[5]
            assert (await uow.gadgets.find(F("sku") == "K-0007"))[0] is gadgets[7]
            gadgets[9].quantity = 99  # changed after add_many, before commit: still tracked
            await uow.commit()
            assert {g.version for g in gadgets} == {1}
            gadgets[10].quantity = 10
            await uow.commit()
        assert [e.name for e in uow.collect_events()] == ["first"]  # type: ignore[attr-defined]
        assert (gadgets[9].version, gadgets[10].version) == (1, 2)
        async with new_uow() as uow:
            assert await uow.gadgets.count() == self.bulk_size
            nine, ten = await uow.gadgets.get(gadgets[9].id), await uow.gadgets.get(gadgets[10].id)
            assert (nine.quantity, nine.version, ten.quantity, ten.version) == (99, 1, 10, 2)

    async def test_many_adds_in_one_commit_are_stored(self, new_uow: Factory) -> None:
        gadgets = _bulk(self.bulk_size)
        async with new_uow() as uow:
            for gadget in gadgets:
                await uow.gadgets.add(gadget)
            await uow.commit()
        assert {g.version for g in gadgets} == {1}
        async with new_uow() as uow:
            assert await uow.gadgets.count() == self.bulk_size

    async def test_a_bulk_add_that_is_rolled_back_leaves_nothing(self, new_uow: Factory) -> None:
        gadgets = _bulk(self.bulk_size)
        async with new_uow() as uow:
            await uow.gadgets.add_many(gadgets)
            assert await uow.gadgets.count() == self.bulk_size
        assert {g.version for g in gadgets} == {0}
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 0
            await uow.gadgets.add_many(gadgets)  # the same objects can be added again
            await uow.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.count() == self.bulk_size

    async def test_a_bulk_add_of_a_stored_id_raises_duplicate_error_and_stores_nothing(
        self, new_uow: Factory
    ) -> None:
        batch = _bulk(self.bulk_size)
        async with new_uow() as uow:
            # Stored by another unit of work once this one had begun, before its first
            # statement: its transaction sees it (the snapshot rule), so the insert fails.
            stored = await seed(new_uow)
            batch[self.bulk_size // 2] = Gadget(
                id=stored[2].id, sku="X", name="x", price=Decimal(1)
            )
            with pytest.raises(DuplicateError):
                await uow.gadgets.add_many(batch)
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 6

    async def test_a_bulk_update_saves_every_change_once(self, new_uow: Factory) -> None:
        await self._stored(new_uow, self.bulk_size)
        async with new_uow() as uow:
            loaded = await uow.gadgets.find(order_by="sku")
            for gadget in loaded:
                gadget.price += 1
                gadget.note = "changed"
            await uow.gadgets.count()  # may flush; still one change per aggregate
            loaded[0].rename("renamed")
            await uow.commit()
            assert {g.version for g in loaded} == {2}
        assert [e.name for e in uow.collect_events()] == ["renamed"]  # type: ignore[attr-defined]
        async with new_uow() as uow:
            again = await uow.gadgets.find(order_by="sku")
            assert [g.price for g in again] == [Decimal(n + 1) for n in range(self.bulk_size)]
            assert {(g.note, g.version) for g in again} == {("changed", 2)}

    async def _race(
        self, new_uow: Factory, first: ContractUnitOfWork, stored: list[Gadget], *, restart: bool
    ) -> None:
        """Load every gadget in ``first``; another unit of work then changes two of them.

        With ``restart`` the loading transaction ends first (the objects stay loaded), so the
        next one sees the newer versions; without, ``first`` still reads its old snapshot.
        """
        await first.gadgets.find()
        if restart:
            await first.commit()
        async with new_uow() as second:
            for gadget in stored[3:5]:
                (await second.gadgets.get(gadget.id)).quantity = 42
            await second.commit()

    @pytest.mark.parametrize("restart", [True, False], ids=["new-snapshot", "old-snapshot"])
    async def test_a_bulk_update_with_stale_versions_fails_whole(
        self, new_uow: Factory, restart: bool
    ) -> None:
        stored = await self._stored(new_uow, self.bulk_size)
        async with new_uow() as first:
            await self._race(new_uow, first, stored, restart=restart)
            mine = await first.gadgets.find()
            for gadget in mine:
                gadget.note = "mine"
            with pytest.raises(ConcurrencyError) as caught:
                await first.commit()
            if restart:  # the stale rows are visible: the error says how many
                assert f"2 of {self.bulk_size}" in str(caught.value)
            assert {g.version for g in mine} == {1}
        async with new_uow() as uow:
            assert await uow.gadgets.count(F("note") == "mine") == 0
            assert await uow.gadgets.count(F("quantity") == 42) == 2

    @pytest.mark.parametrize("restart", [True, False], ids=["new-snapshot", "old-snapshot"])
    async def test_a_bulk_removal_with_stale_versions_removes_nothing(
        self, new_uow: Factory, restart: bool
    ) -> None:
        stored = await self._stored(new_uow, self.bulk_size)
        async with new_uow() as first:
            await self._race(new_uow, first, stored, restart=restart)
            for gadget in await first.gadgets.find():
                await first.gadgets.remove(gadget)
            with pytest.raises(ConcurrencyError) as caught:
                await first.commit()
            if restart:
                assert f"2 of {self.bulk_size}" in str(caught.value)
        async with new_uow() as uow:
            assert await uow.gadgets.count() == self.bulk_size

    async def test_a_bulk_removal_deletes_every_aggregate(self, new_uow: Factory) -> None:
        await self._stored(new_uow, self.bulk_size)
        async with new_uow() as uow:
            for gadget in await uow.gadgets.find():
                await uow.gadgets.remove(gadget)
            assert await uow.gadgets.count() == 0
            await uow.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 0

    @pytest.mark.parametrize("many", [False, True], ids=["one", "many"])
    async def test_every_column_type_round_trips(self, new_uow: Factory, many: bool) -> None:
        shipments = _shipments(self.bulk_size if many else 1)
        shipments[0].due = None
        shipments[0].size = None
        async with new_uow() as uow:
            await uow.repository(Shipment).add_many(shipments)
            await uow.commit()
        async with new_uow() as uow:
            loaded = await uow.repository(Shipment).find(order_by="code")
        assert [(s.id, s.code, s.amount, s.carrier, s.due, s.fragile, s.size, s.version)
                for s in loaded] == [
            (s.id, s.code, s.amount, s.carrier, s.due, s.fragile, s.size, 1) for s in shipments
        ]  # fmt: skip

    @pytest.mark.parametrize("many", [False, True], ids=["one", "many"])
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("code", "X" * 13),
            ("amount", Decimal("1000000.00")),
            ("amount", Decimal("-1000000")),
            ("amount", Decimal("1.005")),
            ("amount", Decimal("NaN")),
            ("shipped_at", datetime(2024, 5, 1, 12, 0)),
        ],
        ids=repr,
    )
    async def test_a_value_that_does_not_fit_fails_naming_field_and_aggregate(
        self, new_uow: Factory, field: str, value: object, many: bool
    ) -> None:
        shipments = _shipments(self.bulk_size if many else 1)
        bad = shipments[len(shipments) // 2]
        setattr(bad, field, value)
        with pytest.raises(DataError) as caught:  # noqa: PT012 - by add_many() or commit()
            async with new_uow() as uow:
                await uow.repository(Shipment).add_many(shipments)
                await uow.commit()
        error = caught.value
        assert (error.aggregate_type, error.aggregate_id, error.field) == (Shipment, bad.id, field)
        assert field in str(error)
        assert str(bad.id) in str(error)
        async with new_uow() as uow:
            assert await uow.repository(Shipment).count() == 0

    async def test_a_value_that_does_not_fit_fails_the_next_query(self, new_uow: Factory) -> None:
        shipment = _shipments(1)[0]
        async with new_uow() as uow:
            await uow.repository(Shipment).add(shipment)
            await uow.commit()
        async with new_uow() as uow:
            loaded = await uow.repository(Shipment).get(shipment.id)
            loaded.code = "far too long for it"
            with pytest.raises(DataError, match="code"):
                await uow.repository(Shipment).count()  # written first, as a SQL flush does
            await uow.rollback()
            await uow.repository(Shipment).add(
                Shipment(code="also far too long", amount=Decimal(1))
            )
            with pytest.raises(DataError, match="code"):
                await uow.repository(Shipment).find()

    async def test_a_changed_value_that_does_not_fit_fails_the_commit(
        self, new_uow: Factory
    ) -> None:
        shipment = _shipments(1)[0]
        async with new_uow() as uow:
            await uow.repository(Shipment).add(shipment)
            await uow.commit()
        async with new_uow() as uow:
            loaded = await uow.repository(Shipment).get(shipment.id)
            loaded.code = "far too long for it"
            with pytest.raises(DataError, match="code"):
                await uow.commit()
        async with new_uow() as uow:
            assert (await uow.repository(Shipment).get(shipment.id)).code == shipment.code
