"""The value vocabulary a domain annotates its fields with (standard library only).

Every adapter honours these alike: a value that breaks one is refused with the same error on
memory and on DuckDB, before anything is written. They are read from :data:`typing.Annotated`::

    @dataclass(eq=False, kw_only=True)
    class Product(AggregateRoot[UUID], Timestamped):
        sku: Annotated[str, MaxLength(20), Unique()]    # sa.String(20), unique=True
        price: Annotated[Decimal, Digits(12, 2)]        # sa.Numeric(12, 2)
        stock: Annotated[int, Bits(32)]                 # sa.Integer
        listed_at: Annotated[datetime, Aware()] | None  # sa.DateTime(timezone=True)

A SQL mapping checks that its table agrees with what the domain declares, and adds what its
columns say (``String(8)`` holds 8 characters even if the domain did not say so): see
``docs/adr/0010-fidelity.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

__all__ = [
    "Aware",
    "Bits",
    "CreatedAt",
    "DeletedAt",
    "Digits",
    "MaxLength",
    "Naive",
    "SoftDeletable",
    "Timestamped",
    "Unique",
    "UpdatedAt",
]


@dataclass(frozen=True, slots=True)
class MaxLength:
    """At most ``length`` characters (``str``) or bytes (``bytes``): a ``VARCHAR(length)``."""

    length: int

    def __post_init__(self) -> None:
        if self.length < 1:
            msg = f"MaxLength needs a length >= 1, got {self.length}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class Digits:
    """A ``Decimal`` with at most ``precision`` digits, ``scale`` of them after the point.

    ``NUMERIC(precision, scale)``: ``Digits(12, 2)`` holds ``9999999999.99``; a value with more
    decimals than ``scale`` does not fit (it is refused, never silently rounded).
    """

    precision: int
    scale: int

    def __post_init__(self) -> None:
        if not 0 <= self.scale <= self.precision or self.precision < 1:
            msg = f"Digits needs 0 <= scale <= precision and precision >= 1, got {self}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class Bits:
    """A signed whole number of at most ``bits`` bits: 16 (``SMALLINT``), 32 (``INTEGER``), 64.

    An ``int`` field without it holds 64 bits (``BIGINT``) in every adapter.
    """

    bits: int

    def __post_init__(self) -> None:
        if self.bits not in (8, 16, 32, 64):
            msg = f"Bits needs 8, 16, 32 or 64, got {self.bits}"
            raise ValueError(msg)

    @property
    def low(self) -> int:
        """The smallest value that fits."""
        return -(1 << (self.bits - 1))

    @property
    def high(self) -> int:
        """The largest value that fits."""
        return (1 << (self.bits - 1)) - 1


@dataclass(frozen=True, slots=True)
class Aware:
    """A timezone-aware ``datetime`` or ``time`` (``WITH TIME ZONE``); a naive one is refused."""


@dataclass(frozen=True, slots=True)
class Naive:
    """A naive ``datetime`` or ``time`` (no time zone); an aware one is refused.

    A database would shift an aware value to UTC and drop its zone: refusing it keeps the value.
    """


@dataclass(frozen=True, slots=True)
class Unique:
    """No two stored aggregates of the type hold the same value here (``None`` excepted).

    A second one is a ``DuplicateError`` on commit, as for a repeated id. ``live_only=True``, on a
    ``SoftDeletable`` aggregate, leaves soft-deleted aggregates out: on DuckDB, a unique index
    over a computed column ``CASE WHEN deleted_at IS NULL THEN <field> END``.
    """

    live_only: bool = False


@dataclass(frozen=True, slots=True)
class CreatedAt:
    """Marks the field stamped once, when the aggregate is first stored."""


@dataclass(frozen=True, slots=True)
class UpdatedAt:
    """Marks the field stamped when the aggregate is first stored and at each committed change."""


@dataclass(frozen=True, slots=True)
class DeletedAt:
    """Marks the field that makes ``remove`` a soft delete: it stamps the field instead.

    Queries (``get``, ``find``, ``count``, ``exists``, ``page``, ``stream``) leave out aggregates
    whose field is set unless asked with ``include_deleted=True``; ``restore`` clears it.
    """


@dataclass(eq=False, kw_only=True)
class Timestamped:
    """A mixin giving an aggregate ``created_at`` and ``updated_at``, stamped by the adapters.

    List it after the aggregate base: ``class Order(AggregateRoot[UUID], Timestamped)``.
    """

    created_at: Annotated[datetime | None, CreatedAt(), Aware()] = None
    updated_at: Annotated[datetime | None, UpdatedAt(), Aware()] = None


@dataclass(eq=False, kw_only=True)
class SoftDeletable:
    """A mixin making ``remove`` stamp ``deleted_at`` instead of deleting the aggregate.

    List it after the aggregate base: ``class Customer(AggregateRoot[UUID], SoftDeletable)``.
    """

    deleted_at: Annotated[datetime | None, DeletedAt(), Aware()] = None
