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

The bus logs to the ``andamios.application`` logger (retries at INFO, failed event handlers at
ERROR). See ``docs/adr/0005-message-bus.md`` for when events are dispatched and what a failure
means.
"""

from __future__ import annotations

from andamios.application._bus import MessageBus, Sleep
from andamios.application._errors import ApplicationError, DuplicateHandler, HandlerNotFound
from andamios.application._messages import Command, Message, MessageType, Query
from andamios.application._retry import RetryPolicy

__all__ = [
    "ApplicationError",
    "Command",
    "DuplicateHandler",
    "HandlerNotFound",
    "Message",
    "MessageBus",
    "MessageType",
    "Query",
    "RetryPolicy",
    "Sleep",
]
