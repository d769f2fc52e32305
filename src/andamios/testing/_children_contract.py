"""The children contract: child entities stored, loaded, changed and removed with their root."""

from __future__ import annotations

import pytest

from andamios.domain import F, InvalidSpecification
from andamios.ports.errors import ConcurrencyError
from andamios.testing._support import Factory
from andamios.testing.models import Basket, BasketLine, BasketNote, ItemAdded

__all__ = ["ChildrenContract"]


def _lines(basket: Basket) -> list[tuple[int, str, int]]:
    return [(line.position, line.sku, line.quantity) for line in basket.lines]


class ChildrenContract:
    """Child entities inside an aggregate: stored, loaded, changed and removed with their root.

    :class:`Basket` must be storable, its ``lines`` kept in ``position`` order and its ``note``
    a one-to-one child. A change to a child is a change of the aggregate: one more version.
    """

    pytestmark = pytest.mark.asyncio

    @pytest.fixture
    def new_uow(self) -> Factory:
        """Override: a factory of fresh units of work over one shared, empty store."""
        raise NotImplementedError

    @staticmethod
    async def _stored(new_uow: Factory, basket: Basket) -> None:
        async with new_uow() as uow:
            await uow.repository(Basket).add(basket)
            await uow.commit()

    @staticmethod
    async def _load(new_uow: Factory, basket: Basket) -> Basket:
        async with new_uow() as uow:
            return await uow.repository(Basket).get(basket.id)

    async def test_an_aggregate_is_added_and_loaded_with_its_children(
        self, new_uow: Factory
    ) -> None:
        basket = Basket(owner="ana", note=BasketNote(text="gift"))
        basket.add_item("apple", 3)
        basket.add_item("pear")
        empty = Basket(owner="bo")
        async with new_uow() as uow:
            await uow.repository(Basket).add(basket)
            await uow.repository(Basket).add(empty)
            await uow.commit()
        assert basket.version == 1
        events = list(uow.collect_events())
        assert [(type(e), e.basket_id, e.sku) for e in events if isinstance(e, ItemAdded)] == [
            (ItemAdded, basket.id, "apple"),
            (ItemAdded, basket.id, "pear"),
        ]
        assert len(events) == 2
        loaded = await self._load(new_uow, basket)
        assert loaded is not basket
        assert (loaded.owner, loaded.version) == ("ana", 1)
        assert _lines(loaded) == [(1, "apple", 3), (2, "pear", 1)]
        assert [line.id for line in loaded.lines] == [line.id for line in basket.lines]
        assert loaded.note is not None
        assert (loaded.note.id, loaded.note.text) == (basket.note.id, "gift")  # type: ignore[union-attr]
        other = await self._load(new_uow, empty)
        assert (other.lines, other.note, other.version) == ([], None, 1)
        async with new_uow() as uow:
            found = await uow.repository(Basket).find(F("owner") == "ana")
            assert [_lines(b) for b in found] == [[(1, "apple", 3), (2, "pear", 1)]]

    async def test_changing_a_child_is_one_committed_change_of_the_root(
        self, new_uow: Factory
    ) -> None:
        basket = Basket(owner="ana")
        basket.add_item("apple")
        basket.add_item("pear")
        await self._stored(new_uow, basket)
        async with new_uow() as uow:
            loaded = await uow.repository(Basket).get(basket.id)
            loaded.lines[0].quantity = 5
            assert await uow.repository(Basket).count() == 1  # a flush in between
            loaded.lines[1].quantity = 7
            await uow.commit()
        assert loaded.version == 2
        again = await self._load(new_uow, basket)
        assert (_lines(again), again.version) == ([(1, "apple", 5), (2, "pear", 7)], 2)
        async with new_uow() as uow:  # nothing changed: no new version
            untouched = await uow.repository(Basket).get(basket.id)
            untouched.lines[0].quantity = 5
            await uow.commit()
        assert (await self._load(new_uow, basket)).version == 2

    async def test_appending_and_removing_children_keeps_their_order_and_drops_orphans(
        self, new_uow: Factory
    ) -> None:
        basket = Basket(owner="ana")
        for sku in ("a", "b", "c"):
            basket.add_item(sku)
        await self._stored(new_uow, basket)
        async with new_uow() as uow:
            loaded = await uow.repository(Basket).get(basket.id)
            removed = loaded.lines.pop(1)
            loaded.add_item("d")
            await uow.commit()
        assert loaded.version == 2
        again = await self._load(new_uow, basket)
        assert _lines(again) == [(1, "a", 1), (3, "c", 1), (4, "d", 1)]
        assert removed.id not in {line.id for line in again.lines}
        assert again.version == 2
        async with new_uow() as uow:
            loaded = await uow.repository(Basket).get(basket.id)
            loaded.lines.clear()
            await uow.commit()
        again = await self._load(new_uow, basket)
        assert (again.lines, again.version) == ([], 3)

    async def test_a_one_to_one_child_is_set_replaced_and_cleared(self, new_uow: Factory) -> None:
        basket = Basket(owner="ana")
        await self._stored(new_uow, basket)
        versions = []
        for note in (BasketNote(text="first"), BasketNote(text="second"), None):
            async with new_uow() as uow:
                loaded = await uow.repository(Basket).get(basket.id)
                loaded.note = note
                await uow.commit()
            again = await self._load(new_uow, basket)
            assert again.note == note
            assert (again.note.text if again.note else None) == (note.text if note else None)
            versions.append(again.version)
        async with new_uow() as uow:
            loaded = await uow.repository(Basket).get(basket.id)
            loaded.note = BasketNote(text="third")
            await uow.commit()
        async with new_uow() as uow:
            loaded = await uow.repository(Basket).get(basket.id)
            assert loaded.note is not None
            loaded.note.text = "edited"
            await uow.commit()
        again = await self._load(new_uow, basket)
        assert (again.note.text if again.note else None, again.version) == ("edited", 6)
        assert versions == [2, 3, 4]

    async def test_a_stale_version_on_a_child_change_raises_concurrency_error(
        self, new_uow: Factory
    ) -> None:
        basket = Basket(owner="ana")
        basket.add_item("apple")
        await self._stored(new_uow, basket)
        async with new_uow() as first, new_uow() as second:
            mine = await first.repository(Basket).get(basket.id)
            theirs = await second.repository(Basket).get(basket.id)
            mine.lines[0].quantity = 2
            theirs.add_item("pear")
            await first.commit()
            with pytest.raises(ConcurrencyError):
                await second.commit()
        again = await self._load(new_uow, basket)
        assert (_lines(again), again.version) == ([(1, "apple", 2)], 2)

    async def test_a_change_that_is_not_committed_is_not_stored(self, new_uow: Factory) -> None:
        basket = Basket(owner="ana")
        basket.add_item("apple")
        await self._stored(new_uow, basket)
        basket.lines[0].quantity = 9  # the application's object is not the stored one
        async with new_uow() as uow:
            loaded = await uow.repository(Basket).get(basket.id)
            loaded.lines[0].sku = "plum"
            loaded.add_item("pear")
            assert await uow.repository(Basket).count() == 1
        again = await self._load(new_uow, basket)
        assert (_lines(again), again.version) == ([(1, "apple", 1)], 1)

    async def test_removing_the_root_removes_its_children(self, new_uow: Factory) -> None:
        basket = Basket(owner="ana", note=BasketNote(text="gift"))
        basket.add_item("apple")
        kept = Basket(owner="bo", lines=[BasketLine(position=1, sku="kiwi")])
        await self._stored(new_uow, basket)
        await self._stored(new_uow, kept)
        async with new_uow() as uow:
            await uow.repository(Basket).remove(await uow.repository(Basket).get(basket.id))
            # Gone for this unit of work at once, before anything is flushed.
            assert await uow.repository(Basket).get_or_none(basket.id) is None
            await uow.commit()
        async with new_uow() as uow:
            assert await uow.repository(Basket).get_or_none(basket.id) is None
            [left] = await uow.repository(Basket).find()
            assert _lines(left) == [(1, "kiwi", 1)]

    async def test_children_are_tested_as_a_whole(self, new_uow: Factory) -> None:
        noted = Basket(owner="ana", note=BasketNote(text="gift"))
        noted.add_item("apple")
        plain = Basket(owner="bo")
        await self._stored(new_uow, noted)
        await self._stored(new_uow, plain)
        async with new_uow() as uow:
            baskets = uow.repository(Basket)
            assert [b.owner for b in await baskets.find(F("note").is_none())] == ["bo"]
            assert [b.owner for b in await baskets.find(F("note").is_not_none())] == ["ana"]
            assert [b.owner for b in await baskets.find(F("lines").any())] == ["ana"]
            assert [b.owner for b in await baskets.find(~F("lines").any())] == ["bo"]
            assert await baskets.count(F("lines").any(F("sku").is_none())) == 0
            assert await baskets.count(F("note").any() & ~F("note").is_none()) == 1
            # A list of children is never None: said, not silently false.
            with pytest.raises(InvalidSpecification, match=r"never None: F\('lines'\)\.any\(\)"):
                await baskets.find(F("lines").is_none())
