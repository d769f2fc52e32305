"""The hooks port itself: which hooks are called, redaction, and a commit that always stands."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.ports import Began, Committed, Hooks, Operation, Statement
from andamios.ports.spi import HookSet, hook_set
from andamios.testing import RecordingHooks
from andamios.testing.models import ContractUnitOfWork, Gadget

pytestmark = pytest.mark.asyncio


class _Silent(Hooks):
    """Overrides nothing."""


class _Raw(RecordingHooks):
    statement_parameters = True


def _gadget() -> Gadget:
    return Gadget(sku="P-1", name="port", price=Decimal(1))


async def test_hooks_must_be_hooks_instances() -> None:
    with pytest.raises(TypeError, match=r"Hooks instances .* got <built-in function print>"):
        InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[print])  # type: ignore[list-item]


async def test_a_single_hooks_object_is_taken_as_one_hook() -> None:
    hooks = RecordingHooks()
    hooks_set = HookSet(hooks)
    assert hooks_set.hooks == (hooks,)
    assert hook_set(hooks_set) is hooks_set
    assert "RecordingHooks" in repr(hooks_set)
    assert repr(hook_set(None)) == "<HookSet of no hooks>"


async def test_hooks_that_override_nothing_cost_no_observer() -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[_Silent()])
    assert not new_uow.hooks
    assert new_uow.hooks.observer("memory") is None
    async with new_uow() as uow:
        await uow.gadgets.add(_gadget())
        await uow.commit()


async def test_only_overridden_methods_are_called() -> None:
    called: list[str] = []

    class OnlyCommits(Hooks):
        def committed(self, event: Committed) -> None:
            called.append(event.shape)

    async with InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[OnlyCommits()])() as uow:
        await uow.gadgets.add(_gadget())
        await uow.commit()
    assert called == ["ContractUnitOfWork"]
    assert HookSet(OnlyCommits()).calls("began") == ()


async def test_statements_are_redacted_unless_a_hook_asks_for_parameters() -> None:
    raw, redacted = _Raw(statements=True), RecordingHooks(statements=True)
    hooks = HookSet([raw, redacted])
    assert hooks.wants_parameters
    async with InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=hooks.hooks)() as uow:
        observer = uow._tracker.observer
        assert observer is not None
        assert observer.wants_parameters
        # What a SQL adapter does for a statement it ran (the SPI's record_statement).
        observer.record_statement(
            "SELECT * FROM t WHERE name = 'Ann' AND note = 'it''s'",
            {"p": 1},
            rows=None,
            started_at=1,
            duration=0.5,
        )
        await uow.gadgets.count()
    (seen_raw,) = raw.statements()
    (seen_redacted,) = redacted.statements()
    assert seen_raw.statement.endswith("name = 'Ann' AND note = 'it''s'")
    assert seen_raw.parameters == {"p": 1}
    assert seen_redacted.statement == "SELECT * FROM t WHERE name = ? AND note = ?"
    assert seen_redacted.parameters is None
    assert (seen_raw.operation, seen_raw.duration, seen_raw.started_at) == ("count", 0.5, 1)
    assert isinstance(raw.events[1], Statement)
    assert isinstance(raw.events[2], Operation)


async def test_a_cancellation_during_an_async_committed_hook_does_not_undo_the_commit() -> None:
    entered = asyncio.Event()

    class SlowAfterCommit(Hooks):
        async def committed(self, event: Committed) -> None:
            entered.set()
            await asyncio.sleep(10)

    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[SlowAfterCommit()])
    outcome: list[str] = []

    async def work() -> None:
        async with new_uow() as uow:
            await uow.gadgets.add(_gadget())
            await uow.commit()
            outcome.append("commit returned")  # the commit's answer is its success
            await asyncio.sleep(10)  # the cancellation arrives here, at the next suspension
            outcome.append("not reached")

    task = asyncio.create_task(work())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == ["commit returned"]
    async with new_uow() as uow:
        assert await uow.gadgets.count() == 1


async def test_a_cancellation_during_an_async_committed_hook_then_a_timeout() -> None:
    class SlowAfterCommit(Hooks):
        async def committed(self, event: Committed) -> None:
            await asyncio.sleep(10)

    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[SlowAfterCommit()])
    with pytest.raises(TimeoutError):  # noqa: PT012 - the block is under test
        async with asyncio.timeout(0.05), new_uow() as uow:
            await uow.gadgets.add(_gadget())
            await uow.commit()
            await asyncio.sleep(10)
    async with new_uow() as uow:
        assert await uow.gadgets.count() == 1


async def test_an_async_hook_is_awaited_in_order() -> None:
    told: list[str] = []

    class Slow(Hooks):
        async def began(self, event: Began) -> None:
            await asyncio.sleep(0.01)
            told.append("slow began")

    class Fast(Hooks):
        def began(self, event: Began) -> None:
            told.append("fast began")

    async with InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[Slow(), Fast()])():
        told.append("block")
    assert told == ["slow began", "fast began", "block"]


async def test_ended_is_told_when_closing_the_unit_of_work_fails() -> None:
    class ClosesBadly(InMemoryUnitOfWork):
        async def _close(self) -> None:
            msg = "the disk is gone"
            raise OSError(msg)

    hooks = RecordingHooks()
    with pytest.raises(OSError, match="disk is gone"):
        async with ClosesBadly.factory(ContractUnitOfWork, hooks=[hooks])() as uow:
            await uow.gadgets.count()
    assert hooks.outline()[-2:] == [("rolled_back", "exited", None), ("ended", "OSError")]
