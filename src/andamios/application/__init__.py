"""The application layer: commands, queries and the message bus; imports domain and ports only.

Handlers are plain async functions that take a message and a fresh unit of work::

    class SellProduct(Command[int]):
        sku: str
        quantity: int = Field(gt=0)

    async def sell_product(command: SellProduct, uow: Shop) -> int:
        async with uow:
            product = await uow.products.get(command.sku)
            product.sell(command.quantity)
            await uow.commit()
        return product.stock

    bus = MessageBus(InMemoryUnitOfWork.factory(Shop))    # in the composition root
    bus.register(SellProduct, sell_product)
    left = await bus.handle(SellProduct(sku="TEA-01", quantity=3))

Middleware wraps every handler run, for logging, metrics or idempotency: an async function that
gets the :class:`HandlerCall` (message, handler name, kind, attempt, unit of work) and returns
``await call_next()``, or a stored result without running the handler::

    async def log_runs(call: HandlerCall, call_next: Next) -> object:
        print(f"{call.kind} {type(call.message).__name__} -> {call.handler}")
        return await call_next()

    bus = MessageBus(InMemoryUnitOfWork.factory(Shop), middleware=[log_runs])    # outermost first

The bus logs to the ``andamios.application`` logger (retries at INFO, failed event handlers at
ERROR). See ``docs/adr/0005-message-bus.md`` for when events are dispatched and what a failure
means.
"""

from __future__ import annotations

from andamios.application._bus import MessageBus, Sleep
from andamios.application._errors import ApplicationError, DuplicateHandler, HandlerNotFound
from andamios.application._messages import Command, Message, MessageType, Query
from andamios.application._middleware import HandlerCall, Middleware, Next
from andamios.application._retry import RetryPolicy

__all__ = [
    "ApplicationError",
    "Command",
    "DuplicateHandler",
    "HandlerCall",
    "HandlerNotFound",
    "Message",
    "MessageBus",
    "MessageType",
    "Middleware",
    "Next",
    "Query",
    "RetryPolicy",
    "Sleep",
]
