"""TYPING CASES, never run: what mypy accepts and refuses when handlers meet the message bus.

Every refused line carries ``# type: ignore[code]`` with the error code mypy must report there.
The project's mypy gate checks this file too, and (``warn_unused_ignores``, part of ``strict``)
fails if an ignore is unused, that is if mypy stopped refusing that line.
``tests/unit/application/test_typing.py`` strips the ignores and asserts that mypy reports
exactly these codes on exactly these lines, and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_type

from andamios.application import Command, MessageBus, Query
from andamios.domain import AggregateRoot, DomainEvent
from andamios.ports import Repository, UnitOfWork


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[str]):
    price: int


class Shop(UnitOfWork):
    products: Repository[Product, str]


class Cafe(UnitOfWork):
    pass


class CreateProduct(Command[str]):
    sku: str


class RenameProduct(Command):
    name: str


class PriceOf(Query[int]):
    sku: str


@dataclass(frozen=True, kw_only=True)
class ProductRepriced(DomainEvent):
    sku: str


@dataclass(frozen=True, kw_only=True)
class ProductRenamed(DomainEvent):
    name: str


async def create_product(command: CreateProduct, uow: Shop) -> str:
    return command.sku


async def create_in_any_uow(command: CreateProduct, uow: UnitOfWork) -> str:
    return command.sku


async def create_with_clock(
    command: CreateProduct, uow: Shop, *, clock: Callable[[], float]
) -> str:
    return f"{command.sku}@{clock()}"


async def create_returning_int(command: CreateProduct, uow: Shop) -> int:
    return 1


async def create_in_a_cafe(command: CreateProduct, uow: Cafe) -> str:
    return command.sku


def create_synchronously(command: CreateProduct, uow: Shop) -> str:
    return command.sku


async def rename_product(command: RenameProduct, uow: Shop) -> None:
    pass


async def price_of(query: PriceOf, uow: Shop) -> int:
    return 0


async def notify(event: ProductRepriced, uow: Shop) -> None:
    pass


async def audit(event: DomainEvent, uow: UnitOfWork) -> None:
    pass


async def notify_with_a_result(event: ProductRepriced, uow: Shop) -> int:
    return 0


def accepted(bus: MessageBus[Shop]) -> None:
    bus.register(CreateProduct, create_product)
    bus.register(CreateProduct, create_in_any_uow)  # a handler may ask for less
    bus.register(CreateProduct, create_with_clock, clock=time.monotonic)
    bus.register(RenameProduct, rename_product)  # Command alone means Command[None]
    bus.register(PriceOf, price_of)
    bus.subscribe(ProductRepriced, notify)
    bus.subscribe(ProductRepriced, audit)  # a handler of a base event class


def refused(bus: MessageBus[Shop]) -> None:
    # The handler takes another command:
    bus.register(RenameProduct, create_product)  # type: ignore[misc]
    # CreateProduct is a Command[str]; this handler returns an int:
    bus.register(CreateProduct, create_returning_int)  # type: ignore[misc]
    # The handler wants another unit-of-work shape than the bus makes:
    bus.register(CreateProduct, create_in_a_cafe)  # type: ignore[arg-type]
    # Handlers are async:
    bus.register(CreateProduct, create_synchronously)  # type: ignore[arg-type]
    # A dependency is missing, or of the wrong type:
    bus.register(CreateProduct, create_with_clock)  # type: ignore[call-arg]
    bus.register(CreateProduct, create_with_clock, clock="now")  # type: ignore[arg-type]
    # An event is not a command, a command is not an event:
    bus.register(ProductRepriced, notify)  # type: ignore[arg-type]
    bus.subscribe(CreateProduct, create_product)  # type: ignore[type-var, arg-type]
    # The handler takes another event:
    bus.subscribe(ProductRenamed, notify)  # type: ignore[misc]
    # Event handlers return nothing:
    bus.subscribe(ProductRepriced, notify_with_a_result)  # type: ignore[arg-type]


async def results(bus: MessageBus[Shop]) -> None:
    assert_type(await bus.handle(CreateProduct(sku="TEA")), str)
    assert_type(await bus.ask(PriceOf(sku="TEA")), int)
    assert_type(f"{await bus.handle(CreateProduct(sku='TEA'))}", str)  # results are covariant
    anything: Command[object] = CreateProduct(sku="TEA")
    price: str = await bus.ask(PriceOf(sku="TEA"))  # type: ignore[arg-type]
    # Queries go to ask(), commands to handle():
    await bus.handle(PriceOf(sku="TEA"))  # type: ignore[arg-type]
    await bus.ask(CreateProduct(sku="TEA"))  # type: ignore[arg-type]
    del price, anything
