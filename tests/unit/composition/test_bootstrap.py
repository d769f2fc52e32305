"""andamios.bootstrap: a message bus from a unit-of-work factory and registration functions."""

from __future__ import annotations

from functools import partial
from uuid import UUID

from tests.unit.composition._app import AddNote, CountNotes, Notebook, register_notes

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.application import HandlerCall, MessageBus, Next, RetryPolicy
from andamios.bootstrap import bootstrap
from andamios.containers import PersistenceContainer
from andamios.domain import uuid7
from andamios.ports.errors import ConcurrencyError


async def test_registers_every_function_in_order_on_a_bus_over_the_factory() -> None:
    seen: list[str] = []
    calls: list[str] = []

    def first(bus: MessageBus[Notebook]) -> None:
        calls.append("first")

    new_uow = InMemoryUnitOfWork.factory(Notebook)
    bus = bootstrap(new_uow, first, partial(register_notes, seen=seen))
    assert calls == ["first"]
    await bus.handle(AddNote(text="hello"))
    assert await bus.ask(CountNotes()) == 1
    assert seen == ["hello"]


async def test_takes_the_retry_policy_and_sleep() -> None:
    pauses: list[float] = []
    attempts: list[int] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    async def flaky(command: AddNote, uow: Notebook) -> UUID:
        attempts.append(len(attempts) + 1)
        if len(attempts) == 1:
            raise ConcurrencyError("lost a race")
        return uuid7()

    def register(bus: MessageBus[Notebook]) -> None:
        bus.register(AddNote, flaky)

    policy = RetryPolicy(attempts=2, backoff=0.5, jitter=0.0)
    bus = bootstrap(InMemoryUnitOfWork.factory(Notebook), register, retry=policy, sleep=sleep)
    assert bus.retry is policy
    await bus.handle(AddNote(text="again"))
    assert attempts == [1, 2]
    assert pauses == [0.5]


async def test_builds_a_bus_over_a_containers_units_of_work() -> None:
    container = PersistenceContainer(unit_of_work=Notebook)
    container.config.adapter.from_value("memory")
    bus = bootstrap(container.uow, register_notes)
    await bus.handle(AddNote(text="via the container"))
    async with container.uow() as uow:
        assert [note.text for note in await uow.notes.find()] == ["via the container"]


async def test_middleware_wraps_every_handler_run_of_the_bus_it_builds() -> None:
    seen: list[str] = []

    async def named(call: HandlerCall, call_next: Next) -> object:
        seen.append(f"{call.kind} {type(call.message).__name__} -> {call.handler}")
        return await call_next()

    bus = bootstrap(InMemoryUnitOfWork.factory(Notebook), register_notes, middleware=[named])
    await bus.handle(AddNote(text="wrapped"))
    assert seen == ["command AddNote -> add_note"]
