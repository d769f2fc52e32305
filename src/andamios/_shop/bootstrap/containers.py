"""The shop's container: its own services around Andamios' persistence container.

``PersistenceContainer`` is nested (``providers.Container``), not subclassed: a subclass of a
dependency-injector container that redefines ``handlers`` would leave the inherited ``bus``
pointing at the old one, while the keyword arguments of a nested container are providers of
this one, so ``notifications`` below is the very outbox the handlers use.
"""

from __future__ import annotations

from functools import partial

from dependency_injector import containers, providers

from andamios._shop.adapters.notifications import Outbox
from andamios._shop.adapters.orm import mapping
from andamios._shop.application import ShopUnitOfWork, register_handlers
from andamios.containers import PersistenceContainer

__all__ = ["ShopContainer"]


class ShopContainer(containers.DeclarativeContainer):
    """``persistence`` holds the config, the database, units of work and the bus."""

    notifications = providers.Singleton(Outbox)

    persistence = providers.Container(
        PersistenceContainer,
        unit_of_work=ShopUnitOfWork,
        mapping=mapping,
        handlers=providers.List(
            providers.Callable(partial, register_handlers, notifications=notifications)
        ),
    )
