"""The in-memory adapter: transactional, versioned, and held to the same contract as DuckDB.

>>> new_uow = InMemoryUnitOfWork.factory(Shop)  # doctest: +SKIP
>>> async with new_uow() as uow: ...            # doctest: +SKIP
"""

from __future__ import annotations

from andamios.adapters.memory._store import InMemoryStore
from andamios.adapters.memory._unit_of_work import (
    InMemoryFactory,
    InMemoryRepository,
    InMemoryUnitOfWork,
)

__all__ = ["InMemoryFactory", "InMemoryRepository", "InMemoryStore", "InMemoryUnitOfWork"]
