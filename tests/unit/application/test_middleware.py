"""Message-bus middleware on the real in-memory adapter: order, attempts, kinds, short-circuits."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.application import (
    ApplicationError,
    Command,
    HandlerCall,
    MessageBus,
    Middleware,
    Next,
    Query,
    RetryPolicy,
)
from andamios.domain import AggregateRoot, DomainEvent
from andamios.ports import Repository, UnitOfWork
from andamios.ports.errors import ConcurrencyError

# -- a small shop ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Sold(DomainEvent):
    sku: str
    quantity: int


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[str]):
    stock: int

    def sell(self, quantity: int) -> None:
        if quantity > self.stock:
            msg = f"only {self.stock} of {self.id} in stock"
            raise ValueError(msg)
        self.stock -= quantity
        self.record(Sold(sku=self.id, quantity=quantity))


class Shop(UnitOfWork):
    products: Repository[Product, str]


class AddProduct(Command):
    sku: str
    stock: int


class SellProduct(Command[int]):
    sku: str
    quantity: int
    key: str = ""


class StockOf(Query[int]):
    sku: str


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


async def no_sleep(seconds: float) -> None:
    del seconds


class Calls:
    """A middleware that records every call it sees, then runs the rest of the chain."""

    def __init__(self) -> None:
        self.seen: list[HandlerCall] = []

    async def __call__(self, call: HandlerCall, call_next: Next) -> object:
        self.seen.append(call)
        return await call_next()

    @property
    def runs(self) -> list[tuple[str, str, str, int]]:
        return [
            (call.kind, type(call.message).__name__, call.handler, call.attempt)
            for call in self.seen
        ]


def build(*middleware: Middleware) -> MessageBus[Shop]:
    bus = MessageBus(
        InMemoryUnitOfWork.factory(Shop),
        retry=RetryPolicy(attempts=3, backoff=0, jitter=0),
        sleep=no_sleep,
        middleware=middleware,
    )
    bus.register(AddProduct, add_product)
    bus.register(SellProduct, sell_product)
    bus.register(StockOf, stock_of)
    return bus


# -- the chain ---------------------------------------------------------------------------------


async def test_the_first_middleware_is_the_outermost() -> None:
    trace: list[str] = []

    def tracing(name: str) -> Middleware:
        async def middleware(call: HandlerCall, call_next: Next) -> object:
            trace.append(f"{name} in")
            result = await call_next()
            trace.append(f"{name} out {result}")
            return result

        return middleware

    async def traced_sell(command: SellProduct, uow: Shop) -> int:
        trace.append("handler")
        return await sell_product(command, uow)

    bus = MessageBus(
        InMemoryUnitOfWork.factory(Shop), middleware=[tracing("a"), tracing("b"), tracing("c")]
    )
    bus.register(AddProduct, add_product)
    bus.register(SellProduct, traced_sell)
    await bus.handle(AddProduct(sku="TEA", stock=10))
    trace.clear()
    assert await bus.handle(SellProduct(sku="TEA", quantity=4)) == 6
    assert trace == ["a in", "b in", "c in", "handler", "c out 6", "b out 6", "a out 6"]


async def test_the_handler_gets_the_unit_of_work_the_middleware_saw() -> None:
    calls = Calls()
    given: list[UnitOfWork] = []

    async def remember(command: AddProduct, uow: Shop) -> None:
        given.append(uow)
        await add_product(command, uow)

    bus = MessageBus(InMemoryUnitOfWork.factory(Shop), middleware=[calls])
    bus.register(AddProduct, remember)
    command = AddProduct(sku="TEA", stock=1)
    await bus.handle(command)
    [call] = calls.seen
    assert call.unit_of_work is given[0]
    assert call.message == command
    assert call.handler == remember.__qualname__
    assert call.handler.endswith("<locals>.remember")


async def test_commands_queries_and_events_go_through_the_chain() -> None:
    calls = Calls()
    bus = build(calls)
    noted: list[int] = []

    async def note_sale(event: Sold, uow: Shop) -> None:
        noted.append(event.quantity)

    bus.subscribe(Sold, note_sale)
    await bus.handle(AddProduct(sku="TEA", stock=10))
    await bus.handle(SellProduct(sku="TEA", quantity=3))
    assert await bus.ask(StockOf(sku="TEA")) == 7
    await bus.publish(Sold(sku="TEA", quantity=1))
    assert calls.runs == [
        ("command", "AddProduct", "add_product", 1),
        ("command", "SellProduct", "sell_product", 1),
        ("event", "Sold", note_sale.__qualname__, 1),
        ("query", "StockOf", "stock_of", 1),
        ("event", "Sold", note_sale.__qualname__, 1),
    ]
    assert noted == [3, 1]


# -- attempts ----------------------------------------------------------------------------------


async def test_every_attempt_of_a_command_goes_through_the_chain_with_its_number() -> None:
    calls = Calls()
    given: list[UnitOfWork] = []

    async def flaky(command: SellProduct, uow: Shop) -> int:
        given.append(uow)
        if len(given) < 3:
            msg = "Product 'TEA' was changed by another unit of work"
            raise ConcurrencyError(msg)
        return await sell_product(command, uow)

    bus = MessageBus(
        InMemoryUnitOfWork.factory(Shop),
        retry=RetryPolicy(attempts=3, backoff=0, jitter=0),
        sleep=no_sleep,
        middleware=[calls],
    )
    bus.register(AddProduct, add_product)
    bus.register(SellProduct, flaky)
    await bus.handle(AddProduct(sku="TEA", stock=10))
    calls.seen.clear()
    assert await bus.handle(SellProduct(sku="TEA", quantity=2)) == 8
    assert [call.attempt for call in calls.seen] == [1, 2, 3]
    assert [call.unit_of_work for call in calls.seen] == given
    assert len({id(uow) for uow in given}) == 3  # a fresh unit of work for every attempt


async def test_every_attempt_of_an_event_handler_goes_through_the_chain() -> None:
    calls = Calls()
    runs: list[int] = []

    async def flaky_listener(event: Sold, uow: Shop) -> None:
        runs.append(event.quantity)
        if len(runs) == 1:
            msg = "lost a race"
            raise ConcurrencyError(msg)

    bus = build(calls)
    bus.subscribe(Sold, flaky_listener)
    await bus.publish(Sold(sku="TEA", quantity=5))
    assert [(call.kind, call.attempt) for call in calls.seen] == [("event", 1), ("event", 2)]
    assert runs == [5, 5]


async def test_a_query_runs_once_even_after_a_conflict() -> None:
    calls = Calls()

    async def conflicted(query: StockOf, uow: Shop) -> int:
        msg = "a read that conflicts"
        raise ConcurrencyError(msg)

    bus = MessageBus(InMemoryUnitOfWork.factory(Shop), sleep=no_sleep, middleware=[calls])
    bus.register(StockOf, conflicted)
    with pytest.raises(ConcurrencyError, match="a read that conflicts"):
        await bus.ask(StockOf(sku="TEA"))
    assert calls.runs == [("query", "StockOf", conflicted.__qualname__, 1)]


async def test_a_conflict_raised_by_a_middleware_is_retried() -> None:
    async def conflict_first(call: HandlerCall, call_next: Next) -> object:
        if call.attempt == 1:
            msg = "a middleware lost a race"
            raise ConcurrencyError(msg)
        return await call_next()

    calls = Calls()
    bus = build(calls, conflict_first)
    await bus.handle(AddProduct(sku="TEA", stock=10))
    assert await bus.handle(SellProduct(sku="TEA", quantity=1)) == 9
    assert calls.runs[-2:] == [
        ("command", "SellProduct", "sell_product", 1),
        ("command", "SellProduct", "sell_product", 2),
    ]


# -- what a middleware may do --------------------------------------------------------------------


async def test_a_middleware_may_short_circuit_a_repeated_command() -> None:
    done: dict[str, object] = {}
    handled: list[str] = []

    async def idempotent(call: HandlerCall, call_next: Next) -> object:
        key = getattr(call.message, "key", "")
        if key in done:
            return done[key]
        result = await call_next()
        if key:
            done[key] = result
        return result

    async def note_sale(event: Sold, uow: Shop) -> None:
        handled.append(event.sku)

    bus = build(idempotent)
    bus.subscribe(Sold, note_sale)
    await bus.handle(AddProduct(sku="TEA", stock=10))
    assert await bus.handle(SellProduct(sku="TEA", quantity=3, key="order-1")) == 7
    assert await bus.handle(SellProduct(sku="TEA", quantity=3, key="order-1")) == 7
    assert await bus.ask(StockOf(sku="TEA")) == 7  # sold once
    assert handled == ["TEA"]  # and one event
    assert await bus.handle(SellProduct(sku="TEA", quantity=3, key="order-2")) == 4


async def test_a_middleware_may_transform_the_result() -> None:
    async def doubled(call: HandlerCall, call_next: Next) -> object:
        result = await call_next()
        return result * 2 if isinstance(result, int) else result

    bus = build(doubled)
    await bus.handle(AddProduct(sku="TEA", stock=10))
    assert await bus.handle(SellProduct(sku="TEA", quantity=1)) == 18
    assert await bus.ask(StockOf(sku="TEA")) == 18


async def test_what_a_middleware_raises_is_what_the_caller_gets() -> None:
    async def forbidden(call: HandlerCall, call_next: Next) -> object:
        if call.kind == "command" and isinstance(call.message, SellProduct):
            msg = f"not allowed to run {call.handler}"
            raise PermissionError(msg)
        return await call_next()

    bus = build(forbidden)
    await bus.handle(AddProduct(sku="TEA", stock=10))
    with pytest.raises(PermissionError, match="not allowed to run sell_product"):
        await bus.handle(SellProduct(sku="TEA", quantity=1))
    assert await bus.ask(StockOf(sku="TEA")) == 10  # the handler never ran


async def test_a_middleware_may_translate_the_handlers_error() -> None:
    class OutOfStock(Exception):
        pass

    async def translate(call: HandlerCall, call_next: Next) -> object:
        try:
            return await call_next()
        except ValueError as error:
            raise OutOfStock(str(error)) from error

    bus = build(translate)
    await bus.handle(AddProduct(sku="TEA", stock=1))
    with pytest.raises(OutOfStock, match="only 1 of TEA in stock") as caught:
        await bus.handle(SellProduct(sku="TEA", quantity=2))
    assert isinstance(caught.value.__cause__, ValueError)


async def test_the_events_of_a_commit_are_dispatched_when_a_middleware_fails_after_it() -> None:
    handled: list[int] = []

    async def fail_after(call: HandlerCall, call_next: Next) -> object:
        result = await call_next()
        if call.kind == "command" and isinstance(call.message, SellProduct):
            msg = "the audit log is down"
            raise OSError(msg)
        return result

    async def note_sale(event: Sold, uow: Shop) -> None:
        handled.append(event.quantity)

    bus = build(fail_after)
    bus.subscribe(Sold, note_sale)
    await bus.handle(AddProduct(sku="TEA", stock=10))
    with pytest.raises(OSError, match="the audit log is down"):
        await bus.handle(SellProduct(sku="TEA", quantity=4))
    assert handled == [4]  # the sale was committed, so its event happened
    assert await bus.ask(StockOf(sku="TEA")) == 6


async def test_a_failing_event_handler_chain_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handled: list[str] = []

    async def fail_for_mail(call: HandlerCall, call_next: Next) -> object:
        if call.handler.endswith("send_mail"):
            msg = "smtp is down"
            raise ConnectionError(msg)
        return await call_next()

    async def send_mail(event: Sold, uow: Shop) -> None:
        handled.append("mail")

    async def keep_count(event: Sold, uow: Shop) -> None:
        handled.append("count")

    bus = build(fail_for_mail)
    bus.subscribe(Sold, send_mail)
    bus.subscribe(Sold, keep_count)
    await bus.handle(AddProduct(sku="TEA", stock=10))
    with caplog.at_level(logging.ERROR, logger="andamios.application"):
        assert await bus.handle(SellProduct(sku="TEA", quantity=1)) == 9
    assert handled == ["count"]
    [record] = caplog.records
    assert "send_mail failed on Sold" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ConnectionError)


async def test_call_next_twice_is_refused() -> None:
    ran: list[int] = []

    async def twice(call: HandlerCall, call_next: Next) -> object:
        await call_next()
        return await call_next()

    async def counted(command: AddProduct, uow: Shop) -> None:
        ran.append(command.stock)

    bus = MessageBus(InMemoryUnitOfWork.factory(Shop), middleware=[twice])
    bus.register(AddProduct, counted)
    with pytest.raises(
        ApplicationError,
        match=r"middleware .*<locals>\.twice called call_next twice for .*<locals>\.counted "
        r"\(command attempt 1\)",
    ):
        await bus.handle(AddProduct(sku="TEA", stock=1))
    assert ran == [1]


# -- registration --------------------------------------------------------------------------------


async def test_a_middleware_that_cannot_be_called_is_refused() -> None:
    new_uow = InMemoryUnitOfWork.factory(Shop)
    with pytest.raises(TypeError, match=r"a middleware must be an async function .* got 42"):
        MessageBus(new_uow, middleware=[Calls(), 42])  # type: ignore[list-item]
    bus = MessageBus(new_uow)
    with pytest.raises(TypeError, match="got 'log'"):
        bus.add_middleware("log")  # type: ignore[arg-type]
    assert bus.middleware == ()
    with pytest.raises(TypeError, match=r"got a single one .*pass middleware=\[it\]"):
        MessageBus(new_uow, middleware=Calls())  # type: ignore[arg-type]


async def test_add_middleware_adds_the_innermost() -> None:
    trace: list[str] = []

    async def outer(call: HandlerCall, call_next: Next) -> object:
        trace.append("outer")
        return await call_next()

    async def inner(call: HandlerCall, call_next: Next) -> object:
        trace.append("inner")
        return await call_next()

    bus = build(outer)
    bus.add_middleware(inner)
    assert bus.middleware == (outer, inner)
    await bus.handle(AddProduct(sku="TEA", stock=1))
    assert trace == ["outer", "inner"]


async def test_without_middleware_the_bus_calls_handlers_directly() -> None:
    callers: list[str] = []

    async def where_from(query: StockOf, uow: Shop) -> int:
        callers.append(sys._getframe(1).f_code.co_name)
        return 0

    async def add_where_from(command: AddProduct, uow: Shop) -> None:
        callers.append(sys._getframe(1).f_code.co_name)

    bare = MessageBus(InMemoryUnitOfWork.factory(Shop))
    bare.register(StockOf, where_from)
    bare.register(AddProduct, add_where_from)
    await bare.ask(StockOf(sku="TEA"))
    await bare.handle(AddProduct(sku="TEA", stock=1))
    wrapped = MessageBus(InMemoryUnitOfWork.factory(Shop), middleware=[Calls()])
    wrapped.register(StockOf, where_from)
    await wrapped.ask(StockOf(sku="TEA"))
    assert callers == ["ask", "_run", "__call__"]  # the last one: Calls.__call__, a middleware


# -- an example --------------------------------------------------------------------------------


async def test_a_logging_middleware(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("shop.bus")

    async def log_runs(call: HandlerCall, call_next: Next) -> object:
        name = type(call.message).__name__
        log.info("%s %s -> %s (attempt %d)", call.kind, name, call.handler, call.attempt)
        try:
            result = await call_next()
        except Exception:
            log.warning("%s failed", call.handler)
            raise
        log.info("%s returned %r", call.handler, result)
        return result

    bus = build(log_runs)
    with caplog.at_level(logging.INFO, logger="shop.bus"):
        await bus.handle(AddProduct(sku="TEA", stock=2))
        await bus.handle(SellProduct(sku="TEA", quantity=1))
        with pytest.raises(ValueError, match="only 1"):
            await bus.handle(SellProduct(sku="TEA", quantity=5))
    assert [record.getMessage() for record in caplog.records if record.name == "shop.bus"] == [
        "command AddProduct -> add_product (attempt 1)",
        "add_product returned None",
        "command SellProduct -> sell_product (attempt 1)",
        "sell_product returned 1",
        "command SellProduct -> sell_product (attempt 1)",
        "sell_product failed",
    ]
