"""The message bus on the real in-memory adapter: routing, events, failures, retries, queries."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

import pytest
from pydantic import Field, ValidationError

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.application import (
    ApplicationError,
    Command,
    DuplicateHandler,
    HandlerNotFound,
    MessageBus,
    Query,
    RetryPolicy,
)
from andamios.domain import AggregateRoot, AndamiosError, DomainEvent
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, NotFound, UnitOfWorkError

# -- a small shop ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Sold(DomainEvent):
    sku: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class StockLow(DomainEvent):
    sku: str
    stock: int


@dataclass(frozen=True, kw_only=True)
class ReorderPlaced(DomainEvent):
    sku: str
    quantity: int


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[str]):
    stock: int
    reorder_level: int = 3

    def sell(self, quantity: int) -> None:
        if quantity > self.stock:
            msg = f"only {self.stock} of {self.id} in stock"
            raise ValueError(msg)
        before = self.stock
        self.stock -= quantity
        self.record(Sold(sku=self.id, quantity=quantity))
        if self.stock <= self.reorder_level < before:
            self.record(StockLow(sku=self.id, stock=self.stock))


@dataclass(eq=False, kw_only=True)
class Reorder(AggregateRoot[UUID]):
    sku: str
    quantity: int

    @classmethod
    def place(cls, sku: str, quantity: int) -> Reorder:
        reorder = cls(sku=sku, quantity=quantity)
        reorder.record(ReorderPlaced(sku=sku, quantity=quantity))
        return reorder


class Shop(UnitOfWork):
    products: Repository[Product, str]
    reorders: Repository[Reorder, UUID]


class AddProduct(Command):
    sku: str = Field(min_length=1)
    stock: int = Field(ge=0)


class SellProduct(Command[int]):
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)


class StockOf(Query[int]):
    sku: str


class CountingFactory:
    """A real in-memory factory that counts the units of work it makes."""

    def __init__(self) -> None:
        self.inner = InMemoryUnitOfWork.factory(Shop)
        self.made: list[Shop] = []

    @property
    def calls(self) -> int:
        return len(self.made)

    def __call__(self) -> Shop:
        uow = self.inner()
        self.made.append(uow)
        return uow


async def add_product(command: AddProduct, uow: Shop) -> None:
    async with uow:
        await uow.products.add(Product(id=command.sku, stock=command.stock))
        await uow.commit()


async def sell_product(command: SellProduct, uow: Shop) -> int:
    async with uow:
        product = await uow.products.get(command.sku)
        product.sell(command.quantity)
        await uow.commit()
    return product.stock


async def stock_of(query: StockOf, uow: Shop) -> int:
    async with uow:
        return (await uow.products.get(query.sku)).stock


async def place_reorder(event: StockLow, uow: Shop, *, batch: int) -> None:
    async with uow:
        await uow.reorders.add(Reorder.place(event.sku, batch))
        await uow.commit()


class Journal:
    """Records what event handlers saw, and the unit of work each one was given."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.uows: list[UnitOfWork] = []

    async def note(self, event: DomainEvent, uow: Shop) -> None:
        self.uows.append(uow)
        match event:
            case Sold(sku=sku, quantity=quantity):
                self.lines.append(f"sold {quantity} {sku}")
            case StockLow(sku=sku, stock=stock):
                self.lines.append(f"low {sku} {stock}")
            case ReorderPlaced(sku=sku, quantity=quantity):
                self.lines.append(f"reorder {quantity} {sku}")
            case _:
                self.lines.append(type(event).__name__)


async def no_sleep(seconds: float) -> None:
    del seconds


@pytest.fixture
def new_uow() -> CountingFactory:
    return CountingFactory()


@pytest.fixture
def bus(new_uow: CountingFactory) -> MessageBus[Shop]:
    bus = MessageBus(new_uow, sleep=no_sleep)
    bus.register(AddProduct, add_product)
    bus.register(SellProduct, sell_product)
    bus.register(StockOf, stock_of)
    return bus


async def stored_stock(new_uow: UnitOfWorkFactory[Shop], sku: str) -> int:
    async with new_uow() as uow:
        return (await uow.products.get(sku)).stock


# -- commands ----------------------------------------------------------------------------------


async def test_a_command_runs_its_handler_with_a_fresh_unit_of_work(
    bus: MessageBus[Shop], new_uow: CountingFactory
) -> None:
    await bus.handle(AddProduct(sku="TEA", stock=10))
    assert await bus.handle(SellProduct(sku="TEA", quantity=4)) == 6
    assert new_uow.calls == 2
    assert new_uow.made[0] is not new_uow.made[1]
    assert await stored_stock(new_uow, "TEA") == 6


async def test_handler_errors_propagate_and_roll_back(
    bus: MessageBus[Shop], new_uow: CountingFactory
) -> None:
    await bus.handle(AddProduct(sku="TEA", stock=1))
    with pytest.raises(ValueError, match="only 1 of TEA in stock"):
        await bus.handle(SellProduct(sku="TEA", quantity=2))
    with pytest.raises(NotFound):
        await bus.handle(SellProduct(sku="NOPE", quantity=1))
    assert await stored_stock(new_uow, "TEA") == 1


async def test_invalid_input_is_refused_when_the_command_is_built() -> None:
    with pytest.raises(ValidationError) as caught:
        SellProduct(sku="", quantity=0, note="x")  # type: ignore[call-arg]
    assert {error["loc"] for error in caught.value.errors()} == {("sku",), ("quantity",), ("note",)}
    command = SellProduct(sku="TEA", quantity=1)
    with pytest.raises(ValidationError, match="frozen"):
        command.quantity = 5  # mypy needs the pydantic plugin to see frozen models
    assert AddProduct.model_validate_json('{"sku": "TEA", "stock": 3}').stock == 3


async def test_an_unvalidated_command_is_refused_before_any_unit_of_work(
    bus: MessageBus[Shop], new_uow: CountingFactory
) -> None:
    smuggled = SellProduct.model_construct(sku="TEA", quantity=-5)
    with pytest.raises(ValidationError, match="quantity"):
        await bus.handle(smuggled)
    with pytest.raises(ValidationError, match="sku"):
        await bus.ask(StockOf.model_construct(sku=None))
    assert new_uow.calls == 0


async def test_an_unknown_command_is_a_clear_error_before_any_unit_of_work(
    new_uow: CountingFactory,
) -> None:
    bus = MessageBus(new_uow)
    with pytest.raises(HandlerNotFound, match=r"register one with bus.register\(AddProduct") as e:
        await bus.handle(AddProduct(sku="TEA", stock=1))
    assert e.value.message_type is AddProduct
    assert isinstance(e.value, ApplicationError)
    assert isinstance(e.value, LookupError)
    assert issubclass(ApplicationError, AndamiosError)
    with pytest.raises(HandlerNotFound, match="StockOf"):
        await bus.ask(StockOf(sku="TEA"))
    assert new_uow.calls == 0


async def test_a_second_handler_for_a_command_is_refused(bus: MessageBus[Shop]) -> None:
    async def other(command: SellProduct, uow: Shop) -> int:
        return 0

    with pytest.raises(DuplicateHandler, match="SellProduct is already handled by sell_product"):
        bus.register(SellProduct, other)
    with pytest.raises(DuplicateHandler, match="exactly one handler"):
        bus.register(StockOf, stock_of)
    assert issubclass(DuplicateHandler, ApplicationError)
    assert issubclass(DuplicateHandler, ValueError)
    await bus.handle(AddProduct(sku="TEA", stock=2))
    assert await bus.handle(SellProduct(sku="TEA", quantity=1)) == 1  # still the first handler


async def test_dependencies_are_bound_at_registration(new_uow: CountingFactory) -> None:
    seen: list[tuple[str, int]] = []

    async def with_dependencies(command: AddProduct, uow: Shop, prefix: str, *, scale: int) -> None:
        seen.append((prefix + command.sku, command.stock * scale))

    bus = MessageBus(new_uow)
    bus.register(AddProduct, with_dependencies, "shop:", scale=10)
    bus.register(SellProduct, functools.partial(sell_product))
    await bus.handle(AddProduct(sku="TEA", stock=2))
    assert seen == [("shop:TEA", 20)]
    assert "MessageBus: 2 command/query handlers, 0 event handlers" in repr(bus)


async def test_registration_refuses_what_is_not_a_message_or_a_handler(
    bus: MessageBus[Shop],
) -> None:
    async def handler(event: DomainEvent, uow: Shop) -> None:
        del event, uow

    with pytest.raises(TypeError, match="register\\(\\) takes a Command or Query subclass"):
        bus.register(Sold, handler)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="register\\(\\) takes a Command or Query subclass"):
        bus.register(AddProduct(sku="A", stock=1), handler)  # type: ignore[misc]
    with pytest.raises(TypeError, match="must be an async function"):
        bus.register(StockOf, None)  # type: ignore[arg-type]

    @dataclass
    class Lend(Command[int]):  # a dataclass's habits, on a pydantic model
        sku: str

    with pytest.raises(TypeError, match="Lend is a dataclass, but commands and queries are"):
        bus.register(Lend, handler)  # type: ignore[misc]
    with pytest.raises(TypeError, match="subscribe\\(\\) takes a DomainEvent subclass"):
        bus.subscribe(AddProduct, handler)  # type: ignore[misc]
    with pytest.raises(TypeError, match="must be an async function"):
        bus.subscribe(Sold, "handler")  # type: ignore[arg-type]


async def test_commands_and_queries_go_through_their_own_door(
    bus: MessageBus[Shop], new_uow: CountingFactory
) -> None:
    with pytest.raises(TypeError, match=r"handle\(\) takes a Command, got StockOf; send queries"):
        await bus.handle(StockOf(sku="TEA"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"ask\(\) takes a Query, got AddProduct; send queries"):
        await bus.ask(AddProduct(sku="TEA", stock=1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"handle\(\) takes a Command, got dict$"):
        await bus.handle({"sku": "TEA"})  # type: ignore[arg-type]
    assert new_uow.calls == 0


# -- events ------------------------------------------------------------------------------------


async def test_committed_events_reach_handlers_that_raise_further_events(
    bus: MessageBus[Shop], new_uow: CountingFactory
) -> None:
    journal = Journal()
    bus.subscribe(StockLow, place_reorder, batch=20)
    bus.subscribe(DomainEvent, journal.note)  # a base class receives every event
    await bus.handle(AddProduct(sku="TEA", stock=5))
    assert await bus.handle(SellProduct(sku="TEA", quantity=3)) == 2
    assert journal.lines == ["sold 3 TEA", "low TEA 2", "reorder 20 TEA"]
    async with new_uow() as uow:
        [reorder] = await uow.reorders.find()
        assert (reorder.sku, reorder.quantity, reorder.version) == ("TEA", 20, 1)
    # Each event handler ran with a unit of work of its own, none of them the command's.
    command_uow = new_uow.made[1]
    assert all(uow is not command_uow for uow in journal.uows)
    assert len({id(uow) for uow in journal.uows}) == 3


async def test_events_are_dispatched_breadth_first_in_order(new_uow: CountingFactory) -> None:
    order: list[str] = []

    async def react(event: Sold, uow: Shop) -> None:
        order.append(f"{event.sku}")
        if event.sku in {"A", "B"}:
            async with uow:
                product = Product(id=f"{event.sku}{event.sku}", stock=9)
                await uow.products.add(product)
                product.sell(1)  # records Sold(AA) / Sold(BB) on commit
                await uow.commit()

    async def record_sales(command: SellProduct, uow: Shop) -> int:
        async with uow:
            for sku in ("A", "B"):
                product = Product(id=sku, stock=10)
                await uow.products.add(product)
                product.sell(1)
            await uow.commit()
        return 2

    bus = MessageBus(new_uow)
    bus.register(SellProduct, record_sales)
    bus.subscribe(Sold, react)
    await bus.handle(SellProduct(sku="A", quantity=1))
    # A and B (raised by the command) come before AA and BB (raised by A's and B's handlers).
    assert order == ["A", "B", "AA", "BB"]


async def test_events_are_not_dispatched_without_a_commit(new_uow: CountingFactory) -> None:
    journal = Journal()

    async def sell_without_commit(command: AddProduct, uow: Shop) -> None:
        async with uow:
            product = Product(id=command.sku, stock=command.stock)
            await uow.products.add(product)
            product.sell(1)

    bus = MessageBus(new_uow)
    bus.register(AddProduct, sell_without_commit)
    bus.subscribe(Sold, journal.note)
    await bus.handle(AddProduct(sku="TEA", stock=3))
    assert journal.lines == []
    async with new_uow() as uow:
        assert await uow.products.count() == 0


async def test_events_committed_before_a_handler_failed_are_still_dispatched(
    new_uow: CountingFactory,
) -> None:
    journal = Journal()

    async def commit_then_fail(command: SellProduct, uow: Shop) -> int:
        async with uow:
            product = Product(id=command.sku, stock=5)
            await uow.products.add(product)
            product.sell(command.quantity)
            await uow.commit()
        msg = "the mail server is down"
        raise ConnectionError(msg)

    bus = MessageBus(new_uow)
    bus.register(SellProduct, commit_then_fail)
    bus.subscribe(Sold, journal.note)
    with pytest.raises(ConnectionError):
        await bus.handle(SellProduct(sku="TEA", quantity=2))
    assert journal.lines == ["sold 2 TEA"]
    assert await stored_stock(new_uow, "TEA") == 3


async def test_a_failing_event_handler_is_logged_and_nothing_else_is_undone(
    bus: MessageBus[Shop], new_uow: CountingFactory, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal()

    async def broken(event: Sold, uow: Shop) -> None:
        msg = f"dashboard offline for {event.sku}"
        raise ConnectionError(msg)

    bus.subscribe(Sold, broken)
    bus.subscribe(Sold, journal.note)  # after the failing one: still runs
    bus.subscribe(StockLow, journal.note)  # a later event: still dispatched
    await bus.handle(AddProduct(sku="TEA", stock=5))
    with caplog.at_level(logging.ERROR, logger="andamios.application"):
        assert await bus.handle(SellProduct(sku="TEA", quantity=3)) == 2
    assert journal.lines == ["sold 3 TEA", "low TEA 2"]
    assert await stored_stock(new_uow, "TEA") == 2  # the commit that raised the event stands
    [record] = caplog.records
    assert record.name == "andamios.application"
    assert record.levelno == logging.ERROR
    assert "broken" in record.getMessage()
    assert "Sold(" in record.getMessage()
    assert "sku='TEA'" in record.getMessage()
    assert isinstance(record.__dict__["event"], Sold)
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ConnectionError)


async def test_an_event_handlers_own_commit_stands_when_it_fails_afterwards(
    bus: MessageBus[Shop], new_uow: CountingFactory, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal()

    async def reorder_then_fail(event: StockLow, uow: Shop) -> None:
        await place_reorder(event, uow, batch=5)
        msg = "printer jammed"
        raise OSError(msg)

    bus.subscribe(StockLow, reorder_then_fail)
    bus.subscribe(ReorderPlaced, journal.note)
    await bus.handle(AddProduct(sku="TEA", stock=4))
    with caplog.at_level(logging.ERROR, logger="andamios.application"):
        await bus.handle(SellProduct(sku="TEA", quantity=2))
    assert journal.lines == ["reorder 5 TEA"]
    assert "reorder_then_fail" in caplog.text
    assert "printer jammed" in caplog.text


async def test_publish_dispatches_events_from_outside_a_unit_of_work(
    bus: MessageBus[Shop], new_uow: CountingFactory
) -> None:
    journal = Journal()
    bus.subscribe(StockLow, place_reorder, batch=7)
    bus.subscribe(ReorderPlaced, journal.note)
    await bus.publish(StockLow(sku="TEA", stock=0), Sold(sku="TEA", quantity=1))
    assert journal.lines == ["reorder 7 TEA"]
    with pytest.raises(TypeError, match="publish\\(\\) takes DomainEvent instances, got str"):
        await bus.publish("StockLow")  # type: ignore[arg-type]


async def test_a_subscription_is_refused_twice_but_not_with_other_dependencies(
    bus: MessageBus[Shop],
) -> None:
    bus.subscribe(StockLow, place_reorder, batch=10)
    with pytest.raises(DuplicateHandler, match="place_reorder is already subscribed to StockLow"):
        bus.subscribe(StockLow, place_reorder, batch=10)
    bus.subscribe(StockLow, place_reorder, batch=20)
    assert "3 command/query handlers, 2 event handlers" in repr(bus)


# -- retries -----------------------------------------------------------------------------------


def interfering(
    new_uow: UnitOfWorkFactory[Shop], times: int
) -> tuple[list[int], Callable[[str], Awaitable[None]]]:
    """A rival that sells one item in its own unit of work, the first ``times`` it is called."""
    calls: list[int] = []

    async def rival(sku: str) -> None:
        calls.append(len(calls) + 1)
        if len(calls) <= times:
            async with new_uow() as uow:
                (await uow.products.get(sku)).sell(1)
                await uow.commit()

    return calls, rival


async def sell_racing(
    command: SellProduct, uow: Shop, *, rival: Callable[[str], Awaitable[None]], seen: list[int]
) -> int:
    async with uow:
        product = await uow.products.get(command.sku)
        seen.append(product.stock)
        await rival(command.sku)  # another unit of work changes the product meanwhile
        product.sell(command.quantity)
        await uow.commit()
    return product.stock


async def test_a_conflict_reruns_the_handler_with_fresh_state(
    new_uow: CountingFactory, caplog: pytest.LogCaptureFixture
) -> None:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    calls, rival = interfering(new_uow, times=1)
    seen: list[int] = []
    bus = MessageBus(new_uow, retry=RetryPolicy(attempts=3, backoff=0.5, jitter=0), sleep=sleep)
    bus.register(AddProduct, add_product)
    bus.register(SellProduct, sell_racing, rival=rival, seen=seen)
    await bus.handle(AddProduct(sku="TEA", stock=10))
    with caplog.at_level(logging.INFO, logger="andamios.application"):
        assert await bus.handle(SellProduct(sku="TEA", quantity=2)) == 7
    assert seen == [10, 9]  # the second run loaded the rival's committed change
    assert calls == [1, 2]
    assert sleeps == [0.5]
    assert await stored_stock(new_uow, "TEA") == 7
    assert (
        "sell_racing lost a concurrent update (attempt 1 of 3); retrying in 0.500s" in caplog.text
    )
    # add, first run, rival, second run, and the read above
    assert new_uow.calls == 5


async def test_the_conflict_propagates_after_the_last_attempt(new_uow: CountingFactory) -> None:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    calls, rival = interfering(new_uow, times=99)
    seen: list[int] = []
    policy = RetryPolicy(attempts=4, backoff=0.01, multiplier=3, jitter=0)
    bus = MessageBus(new_uow, retry=policy, sleep=sleep)
    bus.register(AddProduct, add_product)
    bus.register(SellProduct, sell_racing, rival=rival, seen=seen)
    await bus.handle(AddProduct(sku="TEA", stock=10))
    with pytest.raises(ConcurrencyError, match="changed by another unit of work"):
        await bus.handle(SellProduct(sku="TEA", quantity=1))
    assert len(calls) == 4
    assert seen == [10, 9, 8, 7]
    assert sleeps == pytest.approx([0.01, 0.03, 0.09])
    assert await stored_stock(new_uow, "TEA") == 6  # only the rival's four sales


async def test_no_retry_with_a_single_attempt(new_uow: CountingFactory) -> None:
    _calls, rival = interfering(new_uow, times=1)
    bus = MessageBus(new_uow, retry=RetryPolicy.never(), sleep=no_sleep)
    bus.register(AddProduct, add_product)
    bus.register(SellProduct, sell_racing, rival=rival, seen=[])
    await bus.handle(AddProduct(sku="TEA", stock=10))
    with pytest.raises(ConcurrencyError):
        await bus.handle(SellProduct(sku="TEA", quantity=1))
    assert bus.retry.attempts == 1


async def test_concurrent_commands_all_succeed_thanks_to_retries(
    new_uow: CountingFactory,
) -> None:
    bus = MessageBus(new_uow, retry=RetryPolicy(attempts=10, backoff=0, jitter=0.001))
    bus.register(AddProduct, add_product)
    bus.register(SellProduct, sell_product)
    await bus.handle(AddProduct(sku="TEA", stock=10))
    lefts = await asyncio.gather(*(bus.handle(SellProduct(sku="TEA", quantity=1)) for _ in "12345"))
    assert sorted(lefts) == [5, 6, 7, 8, 9]
    assert await stored_stock(new_uow, "TEA") == 5
    assert new_uow.calls > 7  # at least one sale lost a race and ran again


async def test_event_handlers_are_retried_and_logged_when_they_keep_conflicting(
    new_uow: CountingFactory, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []
    bus = MessageBus(new_uow, retry=RetryPolicy(attempts=2, backoff=0, jitter=0), sleep=no_sleep)
    bus.register(AddProduct, add_product)
    bus.register(SellProduct, sell_product)

    async def restock(event: StockLow, uow: Shop, *, times: int) -> None:
        attempts.append(1)
        async with uow:
            product = await uow.products.get(event.sku)
            if len(attempts) <= times:  # a rival restocks first
                async with new_uow() as rival:
                    (await rival.products.get(event.sku)).stock += 1
                    await rival.commit()
            product.stock += 100
            await uow.commit()

    bus.subscribe(StockLow, restock, times=1)
    await bus.handle(AddProduct(sku="TEA", stock=4))
    await bus.handle(SellProduct(sku="TEA", quantity=2))
    assert len(attempts) == 2
    assert await stored_stock(new_uow, "TEA") == 103

    attempts.clear()
    other = MessageBus(new_uow, retry=RetryPolicy(attempts=2, jitter=0), sleep=no_sleep)
    other.register(SellProduct, sell_product)
    other.subscribe(StockLow, restock, times=99)
    async with new_uow() as uow:
        await uow.products.add(Product(id="POT", stock=4))
        await uow.commit()
    with caplog.at_level(logging.ERROR, logger="andamios.application"):
        await other.handle(SellProduct(sku="POT", quantity=2))
    assert len(attempts) == 2
    assert "event handler" in caplog.text
    assert "<locals>.restock failed on StockLow (the commit that raised it stands" in caplog.text
    assert await stored_stock(new_uow, "POT") == 4  # the sale stands, plus the rivals' restocks


# -- queries -----------------------------------------------------------------------------------


async def test_a_query_returns_its_handlers_result(bus: MessageBus[Shop]) -> None:
    await bus.handle(AddProduct(sku="TEA", stock=8))
    assert await bus.ask(StockOf(sku="TEA")) == 8


async def test_a_query_handler_cannot_commit(
    new_uow: CountingFactory, bus: MessageBus[Shop]
) -> None:
    journal = Journal()
    bus.subscribe(Sold, journal.note)

    class SneakySale(Query[int]):
        sku: str

    async def sneaky(query: SneakySale, uow: Shop) -> int:
        async with uow:
            product = await uow.products.get(query.sku)
            product.sell(1)
            await uow.commit()
        return product.stock

    bus.register(SneakySale, sneaky)
    await bus.handle(AddProduct(sku="TEA", stock=8))
    with pytest.raises(UnitOfWorkError, match="SneakySale is a query: its handler reads"):
        await bus.ask(SneakySale(sku="TEA"))
    assert await stored_stock(new_uow, "TEA") == 8
    assert journal.lines == []
    # Only that unit of work is read-only.
    assert await bus.handle(SellProduct(sku="TEA", quantity=1)) == 7
