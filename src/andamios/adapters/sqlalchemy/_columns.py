"""What a mapped column says about the values it holds, and whether it can hold a field's values.

``map()`` asks two things of every column that stores a field:

- can it give back every value of the field's type unchanged? ``sa.Float`` is a 32-bit ``REAL``
  on DuckDB (``0.1`` reads back ``0.10000000149011612``), ``sa.Numeric()`` without precision is
  ``DECIMAL(18, 3)`` (``1.23456`` reads back ``1.235``), a ``sa.Date`` drops a datetime's time.
  Such a column is a :class:`~andamios.ports.errors.MappingError` naming the column type to use.
- what limits does it add? ``String(8)``, ``Integer`` (32 bits), ``Numeric(12, 2)``, a time zone
  or none, ``NOT NULL``: registered as port-level :class:`~andamios.ports.ColumnFacts`, so the
  in-memory adapter refuses what the database refuses, with the same error.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from andamios.adapters.sqlalchemy._types import JsonValue
from andamios.domain import Aware, Bits, Digits, MaxLength, Naive
from andamios.ports import ColumnFacts, Constraint
from andamios.ports.errors import MappingError

__all__ = [
    "check_agreement",
    "check_column_type",
    "column_facts",
    "refuse_unfilled",
    "unique_groups",
]


def _type_constraints(kind: sa.types.TypeEngine[Any]) -> tuple[Constraint, ...]:  # noqa: PLR0911 - one per type
    if isinstance(kind, sa.String) and not isinstance(kind, sa.Enum) and kind.length is not None:
        return (MaxLength(kind.length),)
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float) and kind.precision:
        return (Digits(kind.precision, kind.scale or 0),)
    if isinstance(kind, (sa.DateTime, sa.Time)):
        return (Aware(),) if kind.timezone else (Naive(),)
    if isinstance(kind, sa.SmallInteger):
        return (Bits(16),)
    if isinstance(kind, sa.BigInteger):
        return (Bits(64),)
    if isinstance(kind, sa.Integer):
        return (Bits(32),)
    return ()


def column_facts(column: sa.ColumnElement[Any]) -> ColumnFacts:
    """The limits ``column`` puts on the values it stores (a custom type converts: none)."""
    nullable = bool(getattr(column, "nullable", True))
    kind = column.type
    if isinstance(kind, JsonValue):
        return ColumnFacts(nullable=nullable, json=True)
    if isinstance(kind, sa.types.TypeDecorator):
        return ColumnFacts(nullable=nullable)
    return ColumnFacts(nullable=nullable, constraints=_type_constraints(kind))


# The column types that give back a value of each field type unchanged, and the one to use.
_FITS: dict[type, tuple[tuple[type, ...], str]] = {
    bool: ((sa.Boolean,), "sa.Boolean"),
    int: ((sa.Integer,), "sa.Integer or sa.BigInteger"),
    float: ((sa.Double,), "sa.Double (sa.Float is a 32-bit REAL on DuckDB)"),
    Decimal: ((sa.Numeric,), "sa.Numeric(precision, scale) with Digits(precision, scale)"),
    str: ((sa.String,), "sa.String"),
    bytes: ((sa.LargeBinary,), "sa.LargeBinary"),
    datetime: ((sa.DateTime,), "sa.DateTime (timezone=True for aware values)"),
    date: ((sa.Date,), "sa.Date"),
    time: ((sa.Time,), "sa.Time"),
    timedelta: ((sa.Interval,), "sa.Interval"),
    UUID: ((sa.Uuid,), "sa.Uuid"),
}


def _why_not(kind: type, column_type: sa.types.TypeEngine[Any]) -> str | None:
    """Why a plain column type cannot give back values of ``kind``, or None if it can."""
    if issubclass(kind, enum.Enum):
        return None if isinstance(column_type, sa.Enum) else "sa.Enum(YourEnum, native_enum=False)"
    fits = next((v for k, v in _FITS.items() if kind is k), None)
    if fits is None:
        return None  # a type this check does not know: the user's business
    classes, use = fits
    if not isinstance(column_type, classes) or (
        kind is not str and isinstance(column_type, sa.Enum)
    ):
        return use
    if kind is Decimal and (
        isinstance(column_type, sa.Float) or not getattr(column_type, "precision", None)
    ):
        return use  # NUMERIC without precision is DECIMAL(18, 3) on DuckDB: it rounds
    if kind is UUID and not getattr(column_type, "as_uuid", True):
        return "sa.Uuid (as_uuid=True)"
    return None


def check_column_type(owner: type, field: str, kind: object, column: sa.ColumnElement[Any]) -> None:
    """Raise MappingError if ``column`` would change a value of ``kind``, the field's bare type
    (``FieldRule.kind``: no ``Annotated``, ``X | None`` or ``NewType``)."""
    column_type = column.type
    if not isinstance(kind, type) or isinstance(column_type, sa.types.TypeDecorator):
        return  # a custom column type converts the value itself
    if dataclasses.is_dataclass(kind):
        return  # a value object: a composite() or a JsonValue column, checked where they are
    use = _why_not(kind, column_type)
    if use is not None:
        msg = (
            f"{owner.__name__}.{field} is {kind.__name__}, but its column {column} is "
            f"{column_type!r}, which would not give back every such value unchanged: use {use}"
        )
        raise MappingError(msg)


def check_agreement(
    owner: type, field: str, declared: tuple[object, ...], column: sa.ColumnElement[Any]
) -> None:
    """Raise MappingError if the domain's markers on ``field`` allow what ``column`` refuses."""
    if isinstance(column.type, sa.types.TypeDecorator):
        return
    facts = _type_constraints(column.type)
    for marker in declared:
        if not isinstance(marker, (MaxLength, Digits, Bits, Aware, Naive)):
            continue
        if not any(_within(marker, fact) for fact in facts if type(fact) is type(marker)):
            same_kind = [fact for fact in facts if type(fact) is type(marker)]
            if not same_kind and isinstance(marker, MaxLength):
                continue  # an unbounded text column holds whatever the domain allows
            msg = (
                f"{owner.__name__}.{field} declares {marker!r}, but its column {column} is "
                f"{column.type!r}: make them agree (MaxLength(n) is sa.String(n), Digits(p, s) "
                "is sa.Numeric(p, s), Bits(32) is sa.Integer, Aware() is "
                "sa.DateTime(timezone=True), Naive() is sa.DateTime())"
            )
            raise MappingError(msg)


def _within(declared: object, column: object) -> bool:
    """Whether every value ``declared`` allows, ``column`` (a constraint of the same kind) holds."""
    match declared, column:
        case MaxLength(length=mine), MaxLength(length=theirs):
            return mine <= theirs
        case Digits(precision=p, scale=s), Digits(precision=cp, scale=cs):
            return s <= cs and p - s <= cp - cs
        case Bits(bits=mine), Bits(bits=theirs):
            return mine <= theirs
    return True  # Aware() and Aware(), Naive() and Naive()


def unique_groups(
    table: sa.Table, fields_of: Mapping[sa.ColumnElement[Any], str]
) -> tuple[list[tuple[str, ...]], int]:
    """The field groups that a unique column, constraint or index of ``table`` covers, and how
    many unique keys cover one computed column (the domain must say what they mean)."""
    groups: list[tuple[str, ...]] = []
    computed = 0
    candidates: list[list[sa.ColumnElement[Any]]] = [[c] for c in table.columns if c.unique]
    candidates += [list(c.columns) for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
    candidates += [list(i.columns) for i in table.indexes if i.unique]
    for columns in candidates:
        names = tuple(fields_of.get(column) for column in columns)
        if all(name is not None for name in names):
            if names not in groups:
                groups.append(typing.cast("tuple[str, ...]", names))
        elif len(columns) == 1 and isinstance(getattr(columns[0], "computed", None), sa.Computed):
            computed += 1
        else:
            missing = ", ".join(c.name for c in columns if fields_of.get(c) is None)
            msg = (
                f"table {table.name!r} has a unique key over {missing}, which no field stores: "
                "no adapter could tell two aggregates apart by it; map the column(s) to fields"
            )
            raise MappingError(msg)
    return groups, computed


def refuse_unfilled(owner: type, table: sa.Table, columns: list[sa.Column[Any]]) -> None:
    """Raise MappingError for a NOT NULL column nothing fills (no field, no default)."""
    for column in columns:
        if column.nullable or column.primary_key:
            continue
        if column.default is not None or column.server_default is not None:
            continue
        msg = (
            f"column {table.name}.{column.name} is NOT NULL, but no field of {owner.__name__} "
            "stores it and it has no default: every insert would fail; add the field, make the "
            "column nullable, or give it a server_default"
        )
        raise MappingError(msg)
