"""map() refuses what it cannot serve, naming the fix; and accepts what every adapter serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from andamios.adapters.sqlalchemy import Child, Mapping
from andamios.domain import AggregateRoot, Bits, Entity, MaxLength, SoftDeletable, Unique
from andamios.ports import storage_rules
from andamios.ports.errors import MappingError


@dataclass(frozen=True)
class Tag:
    text: str


@dataclass(eq=False, kw_only=True)
class Thing(AggregateRoot[UUID]):
    ratio: float = 0.0
    amount: Decimal = Decimal(0)
    ref: UUID | None = None
    short: Annotated[str, MaxLength(4)] = ""
    small: Annotated[int, Bits(16)] = 0
    either: int | str | None = None
    tag: Tag | None = None


def _columns(**overrides: Any) -> list[sa.Column[Any]]:
    types: dict[str, Any] = {
        "ratio": sa.Double,
        "amount": sa.Numeric(8, 2),
        "ref": sa.Uuid,
        "short": sa.String,
        "small": sa.Integer,
        "either": sa.String,
        "tag": sa.JSON,
    }
    types.update(overrides)
    return [sa.Column(name, kind) for name, kind in types.items()]


def _map(*extra: Any, **overrides: Any) -> Mapping:
    mapping = Mapping()
    table = sa.Table(
        "things",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        *_columns(**overrides),
        *extra,
    )
    mapping.map(Thing, table)
    return mapping


def test_columns_that_hold_every_value_unchanged_are_accepted() -> None:
    mapping = _map(sa.Column("audit", sa.String, nullable=False, server_default="x"))
    try:
        rules = storage_rules(Thing).by_name
        assert rules["short"].constraints == (MaxLength(4),)  # the domain's, tighter
        assert rules["small"].constraints == (Bits(16),)
    finally:
        mapping.clear()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ratio": sa.Float}, "use sa.Double"),
        ({"amount": sa.Numeric}, r"use sa.Numeric\(precision, scale\)"),
        ({"ref": sa.Uuid(as_uuid=False)}, r"use sa.Uuid \(as_uuid=True\)"),
        ({"short": sa.String(2)}, r"declares MaxLength\(length=4\)"),
        ({"small": sa.SmallInteger, "ratio": sa.Integer}, "use sa.Double"),
    ],
)
def test_columns_that_would_change_values_are_refused(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(MappingError, match=message):
        _map(**overrides)
    assert sa.inspect(Thing, raiseerr=False) is None


def test_an_unfilled_not_null_column_is_refused() -> None:
    with pytest.raises(MappingError, match=r"things\.extra is NOT NULL, but no field"):
        _map(sa.Column("extra", sa.String, nullable=False))


@dataclass(eq=False, kw_only=True)
class Member(AggregateRoot[UUID], SoftDeletable):
    email: Annotated[str, Unique(live_only=True)]
    handle: Annotated[str, Unique()] = ""
    joined: datetime | None = None


def _members(*extra: Any, unique_handle: bool = True) -> sa.Table:
    mapping = Mapping()
    return sa.Table(
        "members",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("email", sa.String, nullable=False),
        sa.Column("handle", sa.String, nullable=False, unique=unique_handle),
        sa.Column("joined", sa.DateTime),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False),
        *extra,
    )


def test_unique_keys_must_be_declared_alike() -> None:
    live = sa.Column("live", sa.String, sa.Computed("CASE WHEN deleted_at IS NULL THEN email END"))
    table = _members(live, sa.Index("ux_live", "live", unique=True))
    mapping = Mapping(table.metadata)
    mapping.map(Member, table)
    try:
        assert storage_rules(Member).unique == (("handle",),)
        assert storage_rules(Member).live_unique == ("email",)
    finally:
        mapping.clear()
    table = _members()
    with pytest.raises(MappingError, match="0 unique index\\(es\\) over computed columns"):
        Mapping(table.metadata).map(Member, table)
    table = _members(unique_handle=False)
    with pytest.raises(MappingError, match="is declared Unique\\(\\), but its column"):
        Mapping(table.metadata).map(Member, table)
    table = _members(sa.Column("other", sa.String, unique=True))
    with pytest.raises(MappingError, match="unique key over other, which no field stores"):
        Mapping(table.metadata).map(Member, table)


@dataclass(eq=False, kw_only=True)
class Line(Entity[UUID]):
    code: str
    qty: int = 0


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[UUID]):
    code: str
    lines: list[Line] = field(default_factory=list)


def _orders(target: str, **properties: Any) -> Mapping:
    mapping = Mapping()
    orders = sa.Table(
        "orders",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("order_code", sa.String, nullable=False, unique=True),
        sa.Column("hidden", sa.String),
        sa.Column("version", sa.Integer, nullable=False),
    )
    lines = sa.Table(
        "lines",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("code", sa.String, sa.ForeignKey(target), nullable=False),
        sa.Column("qty", sa.Integer, nullable=False),
    )
    mapping.map(
        Order,
        orders,
        properties={"code": orders.c.order_code, **properties},
        children={"lines": Child(Line, lines)},
    )
    return mapping


def test_a_child_join_field_links_to_the_root_field_storing_the_key() -> None:
    mapping = _orders("orders.order_code")
    try:
        link = storage_rules(Order).links[0]
        assert (link.children, link.child_field, link.root_field) == ("lines", "code", "code")
    finally:
        mapping.clear()


def test_a_child_join_field_to_a_column_no_field_stores_is_refused() -> None:
    with pytest.raises(MappingError, match="which no field of Order stores"):
        _orders("orders.hidden")
