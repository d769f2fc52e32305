"""Build a message bus from a unit-of-work factory and your registration functions.

The cosmicpython ``bootstrap()``, typed: the unit-of-work factory is the swappable default (the
container's ``uow`` provider in production, an in-memory factory in a test), and handlers are
registered by plain functions that mypy checks against the bus::

    # application layer: imports andamios.application, never a database
    def register_shop(bus: MessageBus[Shop]) -> None:
        bus.register(PlaceOrder, place_order)
        bus.subscribe(OrderPlaced, reserve_stock)

    # composition root
    bus = bootstrap(container.uow, register_shop, partial(register_mail, mailer=mailer))
    bus = bootstrap(InMemoryUnitOfWork.factory(Shop), register_shop)        # in a test

:class:`~andamios.containers.PersistenceContainer` builds its ``bus`` the same way from its
``handlers`` provider.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from andamios.application import MessageBus, Middleware, RetryPolicy, Sleep
from andamios.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["Registration", "bootstrap"]

type Registration[U: UnitOfWork] = Callable[[MessageBus[U]], object]
"""A function that registers handlers on a bus: ``def register(bus: MessageBus[Shop]) -> None``."""


def bootstrap[U: UnitOfWork](
    new_uow: UnitOfWorkFactory[U],
    /,
    *registrations: Registration[U],
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    middleware: Iterable[Middleware] = (),
) -> MessageBus[U]:
    """A :class:`MessageBus` over ``new_uow`` with each registration function applied, in order.

    ``new_uow`` is any callable returning a fresh unit of work: ``container.uow`` (a provider),
    ``InMemoryUnitOfWork.factory(Shop)`` or ``SqlAlchemyUnitOfWork.factory(Shop, ...)``.
    ``retry``, ``sleep`` and ``middleware`` are passed to the bus (inject a no-op ``sleep`` in
    tests), as the container passes its ``middleware`` provider's.
    """
    bus = MessageBus(new_uow, retry=retry, sleep=sleep, middleware=middleware)
    for register in registrations:
        register(bus)
    return bus
