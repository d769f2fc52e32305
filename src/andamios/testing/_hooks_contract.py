"""The hooks contract: every adapter tells the same hooks the same events at the same moments."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest

from andamios.domain import F, ReadQuery
from andamios.ports import (
    BeforeCommit,
    Began,
    Committed,
    Ended,
    Hooks,
    Operation,
    RollbackReason,
    RolledBack,
    Statement,
)
from andamios.ports.errors import ConcurrencyError, UnitOfWorkError
from andamios.testing._recording_hooks import RecordingHooks
from andamios.testing._support import Factory, seed
from andamios.testing.models import Gadget

__all__ = ["HooksContract"]

_G = "Gadget"


class _Veto(Exception):
    """What the vetoing hook raises."""


class _Vetoing(Hooks):
    """Vetoes commits while ``refuse`` is set."""

    def __init__(self) -> None:
        self.refuse = True

    async def before_commit(self, event: BeforeCommit) -> None:
        await asyncio.sleep(0)
        if self.refuse:
            msg = "not on a Sunday"
            raise _Veto(msg)


class _Broken(Hooks):
    """Fails in every hook but ``before_commit``: sync or async, the unit of work goes on."""

    def began(self, event: Began) -> None:
        raise RuntimeError(event.shape)

    async def operation(self, event: Operation) -> None:
        await asyncio.sleep(0)
        raise RuntimeError(event.kind)

    def statement(self, event: Statement) -> None:
        raise RuntimeError(event.statement)

    async def committed(self, event: Committed) -> None:
        raise RuntimeError(event.shape)

    def rolled_back(self, event: RolledBack) -> None:
        raise RuntimeError(event.reason)

    def ended(self, event: Ended) -> None:
        raise RuntimeError(event.shape)


def _gadget(sku: str = "H-1") -> Gadget:
    return Gadget(sku=sku, name="hooked", price=Decimal("1.50"))


class HooksContract:
    """The hooks every adapter tells, with the same events: see :class:`~andamios.ports.Hooks`.

    Override ``new_uow`` with a factory over one empty store whose units of work are given the
    ``hooks`` fixture, the ``vetoing`` fixture and the ``broken`` fixture, in that order
    (``factory(ContractUnitOfWork, hooks=[hooks, vetoing, broken])``), and ``system`` with
    the database system your adapter names in events (``"memory"``, ``"duckdb"``, ...).
    """

    pytestmark = pytest.mark.asyncio

    @pytest.fixture
    def hooks(self) -> RecordingHooks:
        """The hooks whose events the tests check."""
        return RecordingHooks()

    @pytest.fixture
    def vetoing(self) -> _Vetoing:
        """Hooks that veto commits only while a test asks them to."""
        hooks = _Vetoing()
        hooks.refuse = False
        return hooks

    @pytest.fixture
    def broken(self) -> Hooks:
        """Hooks that fail in every method but ``before_commit``."""
        return _Broken()

    @pytest.fixture
    def system(self) -> str:
        """Override: the ``system`` your adapter's events name."""
        raise NotImplementedError

    @pytest.fixture
    def new_uow(self, hooks: RecordingHooks, vetoing: Hooks, broken: Hooks) -> Factory:
        """Override: a factory over one empty store, given ``[hooks, vetoing, broken]``."""
        raise NotImplementedError

    async def test_a_committed_unit_of_work_tells_each_step(
        self, new_uow: Factory, hooks: RecordingHooks, system: str
    ) -> None:
        gadget = _gadget()
        async with new_uow() as uow:
            await uow.gadgets.add(gadget)
            await uow.commit()
        assert hooks.outline() == [
            ("began", False),
            ("operation", "add", _G, 1, None),
            ("before_commit",),
            ("committed",),
            ("ended", None),
        ]
        assert {event.unit_of_work for event in hooks.events} == {uow}
        assert {(event.system, event.shape) for event in hooks.events} == {
            (system, "ContractUnitOfWork")
        }
        operation = next(event for event in hooks.events if isinstance(event, Operation))
        ended = hooks.events[-1]
        assert isinstance(ended, Ended)
        assert 0 <= operation.duration <= ended.duration
        assert operation.aggregate_type is Gadget
        assert operation.started_at > 1_700_000_000 * 10**9  # epoch nanoseconds

    async def test_every_read_is_told_with_what_it_handed_out(
        self, new_uow: Factory, hooks: RecordingHooks
    ) -> None:
        gadgets = await seed(new_uow)
        hooks.clear()
        async with new_uow() as uow:
            await uow.gadgets.get(gadgets[0].id)
            assert await uow.gadgets.get_or_none(_gadget().id) is None
            await uow.gadgets.find(F("price") > 5)
            await uow.gadgets.first(order_by="price")
            await uow.gadgets.count()
            await uow.gadgets.exists(F("sku") == "none")
            page = await uow.gadgets.page(size=4)
            await uow.gadgets.page(size=4, after=page.next)
            assert len([g async for g in uow.gadgets.stream(batch_size=5)]) == 6
            await uow.query(ReadQuery(Gadget).select("sku"))
        operations = [step for step in hooks.outline() if step[0] == "operation"]
        assert operations == [
            ("operation", "get", _G, 1, None),
            ("operation", "get", _G, 0, None),
            ("operation", "find", _G, 4, None),
            ("operation", "find", _G, 1, None),
            ("operation", "count", _G, None, None),
            ("operation", "exists", _G, None, None),
            ("operation", "page", _G, 4, None),
            ("operation", "page", _G, 2, None),
            ("operation", "stream", _G, 5, None),
            ("operation", "stream", _G, 1, None),
            ("operation", "query", _G, 6, None),
        ]
        # It read, and did not commit: the block's end discarded its transaction.
        assert hooks.outline()[-2:] == [("rolled_back", "exited", None), ("ended", None)]

    async def test_writes_are_told_with_how_many_aggregates(
        self, new_uow: Factory, hooks: RecordingHooks
    ) -> None:
        gadgets = await seed(new_uow)
        hooks.clear()
        async with new_uow() as uow:
            await uow.gadgets.add_many([_gadget("H-2"), _gadget("H-3")])
            await uow.gadgets.remove(await uow.gadgets.get(gadgets[0].id))
            await uow.commit()
        assert hooks.outline()[1:4] == [
            ("operation", "add_many", _G, 2, None),
            ("operation", "get", _G, 1, None),
            ("operation", "remove", _G, 1, None),
        ]

    async def test_a_rollback_is_told_with_its_reason(
        self, new_uow: Factory, hooks: RecordingHooks
    ) -> None:
        async with new_uow() as uow:
            await uow.gadgets.add(_gadget())
            await uow.rollback()
            await uow.rollback()  # nothing done since: nothing told
        with pytest.raises(ZeroDivisionError):  # noqa: PT012 - the block is under test
            async with new_uow() as uow:
                await uow.gadgets.count()
                _ = 1 / 0
        async with new_uow() as uow:
            await uow.gadgets.count()
        async with new_uow() as uow:
            pass  # did nothing: no rollback to tell
        assert hooks.outline() == [
            ("began", False),
            ("operation", "add", _G, 1, None),
            ("rolled_back", "requested", None),
            ("ended", None),
            ("began", False),
            ("operation", "count", _G, None, None),
            ("rolled_back", "error", "ZeroDivisionError"),
            ("ended", "ZeroDivisionError"),
            ("began", False),
            ("operation", "count", _G, None, None),
            ("rolled_back", "exited", None),
            ("ended", None),
            ("began", False),
            ("ended", None),
        ]
        rolled_back = [e for e in hooks.events if isinstance(e, RolledBack)]
        assert [e.reason for e in rolled_back] == [
            RollbackReason.REQUESTED,
            RollbackReason.ERROR,
            RollbackReason.EXITED,
        ]
        assert isinstance(rolled_back[1].error, ZeroDivisionError)

    async def test_a_failed_commit_is_a_rollback_told_once(
        self, new_uow: Factory, hooks: RecordingHooks
    ) -> None:
        gadgets = await seed(new_uow)
        hooks.clear()
        with pytest.raises(ConcurrencyError):  # noqa: PT012 - the block is under test
            async with new_uow() as first, new_uow() as second:
                mine = await first.gadgets.get(gadgets[0].id)
                theirs = await second.gadgets.get(gadgets[0].id)
                mine.rename("mine")
                theirs.rename("theirs")
                await first.commit()
                await second.commit()
        outline = hooks.outline()
        assert outline.count(("committed",)) == 1
        assert outline.count(("rolled_back", "commit_failed", "ConcurrencyError")) == 1
        assert len([step for step in outline if step[0] == "rolled_back"]) == 1
        assert outline[-1] == ("ended", "ConcurrencyError")

    async def test_a_commit_refused_before_it_writes_is_told_as_a_failed_commit(
        self, new_uow: Factory, hooks: RecordingHooks
    ) -> None:
        gadgets = await seed(new_uow)
        hooks.clear()
        async with new_uow() as uow:
            await uow.gadgets.get(gadgets[0].id)
            with pytest.raises(UnitOfWorkError):
                await uow.gadgets.remove(_gadget())  # not loaded: refused
            assert hooks.outline()[-1] == ("operation", "remove", _G, 0, None)
            await uow.commit()
        assert ("committed",) in hooks.outline()

    async def test_before_commit_may_veto_and_the_unit_of_work_goes_on(
        self, new_uow: Factory, hooks: RecordingHooks, vetoing: _Vetoing
    ) -> None:
        vetoing.refuse = True
        async with new_uow() as uow:
            await uow.gadgets.add(_gadget())
            with pytest.raises(_Veto, match="Sunday"):
                await uow.commit()
            assert await uow.gadgets.count() == 1  # still held, still usable
            vetoing.refuse = False
            await uow.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 1
        first = hooks.outline()[:5]
        assert first == [
            ("began", False),
            ("operation", "add", _G, 1, None),
            ("before_commit",),
            ("operation", "count", _G, None, None),
            ("before_commit",),
        ]

    async def test_a_vetoed_block_saves_nothing(self, new_uow: Factory, vetoing: _Vetoing) -> None:
        vetoing.refuse = True
        with pytest.raises(_Veto):  # noqa: PT012 - the block is under test
            async with new_uow() as uow:
                await uow.gadgets.add(_gadget())
                await uow.commit()
        vetoing.refuse = False
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 0

    async def test_a_failing_hook_is_logged_and_changes_nothing(
        self, new_uow: Factory, hooks: RecordingHooks, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.ERROR, logger="andamios.hooks"):
            async with new_uow() as uow:
                await uow.gadgets.add(_gadget())
                await uow.commit()
            async with new_uow() as uow:
                assert await uow.gadgets.count() == 1
        failures = [r for r in caplog.records if r.name == "andamios.hooks"]
        assert {r.levelno for r in failures} == {logging.ERROR}
        told = {r.getMessage().split(" failed on ")[1].split(" ")[0] for r in failures}
        assert {"began", "operation", "committed", "rolled_back", "ended"} <= told
        assert all(r.exc_info is not None for r in failures)
        # The hooks after a failing one are still told: the recorder is first, and complete.
        assert hooks.outline()[-3:] == [
            ("operation", "count", _G, None, None),
            ("rolled_back", "exited", None),
            ("ended", None),
        ]

    async def test_a_read_only_unit_of_work_says_so(
        self, new_uow: Factory, hooks: RecordingHooks
    ) -> None:
        async with new_uow() as uow:
            pass
        began = hooks.events[0]
        assert isinstance(began, Began)
        assert began.read_only is uow.read_only is False
