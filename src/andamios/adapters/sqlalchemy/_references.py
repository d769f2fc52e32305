"""The order of a flush's writes between aggregates whose tables a foreign key links.

SQLAlchemy orders a flush's INSERTs and DELETEs between mappers by their relationships.
Aggregates are mapped without any between them (each is its own consistency boundary, and refers
to another by id), so the rows of two aggregates whose tables a foreign key links were written
in the order of their class names: removing an order and its customer in one flush deleted the
customer first, which PostgreSQL refuses (DuckDB has no such key, ADR 0009; memory has none).
A dependency processor on the referring mapper tells the unit of work what a relationship would:
the referenced aggregates are inserted and updated first, and deleted last.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, UOWTransaction
from sqlalchemy.orm.unitofwork import _DeleteAll, _SaveUpdateAll

__all__ = ["order_by_references"]


class _ReferenceOrder:
    """What a many-to-one relationship from ``referrer`` to ``referenced`` tells a flush."""

    __slots__ = ("referenced", "referrer")

    def __init__(self, referrer: Mapper[Any], referenced: Mapper[Any]) -> None:
        self.referrer = referrer
        self.referenced = referenced

    def per_property_preprocessors(self, uow: UOWTransaction) -> None:
        """Called by the unit of work for each mapper in the flush: add the two orderings."""
        referrer, referenced = self.referrer.base_mapper, self.referenced.base_mapper
        saves = _SaveUpdateAll(uow, referenced), _SaveUpdateAll(uow, referrer)  # type: ignore[no-untyped-call]
        deletes = _DeleteAll(uow, referrer), _DeleteAll(uow, referenced)  # type: ignore[no-untyped-call]
        uow.dependencies.update((saves, deletes))


def order_by_references(mapped: Iterable[tuple[sa.Table, Mapper[Any]]]) -> None:
    """Order the flushes of the aggregates ``mapped`` (each one's table and mapper) by the
    foreign keys between their tables; asked again after each ``map``."""
    pairs = list(mapped)
    by_table = dict(pairs)
    for table, mapper in pairs:
        processors: list[Any] = mapper._dependency_processors
        processors[:] = [each for each in processors if not isinstance(each, _ReferenceOrder)]
        for constraint in table.foreign_key_constraints:
            referenced = by_table.get(constraint.referred_table)
            if referenced is not None and referenced is not mapper:
                processors.append(_ReferenceOrder(mapper, referenced))
