"""``Mapping``: imperative mapping of aggregate dataclasses, its checks, and the spec compiler."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import column_property, synonym
from tests.integration.duckdb._parcels import Money, Parcel, map_parcel, parcels

from andamios.adapters.duckdb import AsyncDuckDBDialect
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, compile_order, compile_spec
from andamios.domain import AggregateRoot, F, InvalidSpecification, Order, Spec
from andamios.ports import Repository, UnitOfWork, new_blank
from andamios.ports.errors import MappingError


@dataclass(eq=False, kw_only=True)
class Plain(AggregateRoot[int]):
    name: str = ""


class NotADataclass(AggregateRoot[int]):
    pass


@pytest.fixture
def mapping() -> Iterator[Mapping]:
    mapping = Mapping()
    yield mapping
    mapping.clear()


def plain_table(mapping: Mapping, table_name: str = "plain", **columns: Any) -> sa.Table:
    defaults: dict[str, Any] = {
        "id": sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        "name": sa.Column("name", sa.String),
        "version": sa.Column("version", sa.Integer),
    }
    defaults.update(columns)
    return sa.Table(table_name, mapping.metadata, *(c for c in defaults.values() if c is not None))


def sql(expression: sa.ClauseElement) -> str:
    return str(expression.compile(dialect=AsyncDuckDBDialect()))


# -- mapping ------------------------------------------------------------------------------------


def test_map_is_imperative_and_the_aggregate_stays_a_plain_dataclass(mapping: Mapping) -> None:
    table = plain_table(mapping)
    mapping.map(Plain, table)
    assert mapping.is_mapped(Plain)
    assert mapping.table_for(Plain) is table
    assert repr(mapping) == "<Mapping of Plain>"
    plain = Plain(id=1, name="x")
    assert (plain.version, plain.pending_events) == (0, ())
    mapping.map(Plain, table)  # the same table again: nothing happens
    assert mapping.aggregate_mapping(Plain).table is table


def test_clear_unmaps_so_a_class_can_be_mapped_again(mapping: Mapping) -> None:
    table = plain_table(mapping)
    mapping.map(Plain, table)
    mapping.clear()
    assert not mapping.is_mapped(Plain)
    assert sa.inspect(Plain, raiseerr=False) is None
    assert repr(mapping) == "<Mapping of nothing>"
    mapping.map(Plain, table)
    assert sa.inspect(Plain).local_table is table


class Plains(UnitOfWork):
    plains: Repository[Plain, int]


async def test_the_in_memory_adapter_still_works_on_a_mapped_class(mapping: Mapping) -> None:
    mapping.map(Plain, plain_table(mapping))
    new_uow = InMemoryUnitOfWork.factory(Plains)
    async with new_uow() as uow:
        await uow.plains.add(Plain(id=1, name="kept"))
        await uow.commit()
    async with new_uow() as uow:
        loaded = await uow.plains.get(1)  # built without __init__, instrumented all the same
        loaded.name = "changed"
        await uow.commit()
    assert sa.inspect(new_blank(Plain)).transient
    mapping.clear()
    assert not hasattr(new_blank(Plain), "_sa_instance_state")


def test_an_own_metadata_can_be_given() -> None:
    metadata = sa.MetaData()
    assert Mapping(metadata).metadata is metadata


@pytest.mark.parametrize(
    ("aggregate", "message"),
    [
        (int, "not an AggregateRoot subclass"),
        (NotADataclass, "must be a dataclass"),
    ],
)
def test_only_aggregate_dataclasses_are_mapped(
    mapping: Mapping, aggregate: Any, message: str
) -> None:
    with pytest.raises(MappingError, match=message):
        mapping.map(aggregate, plain_table(mapping))


def test_a_class_is_mapped_to_one_table(mapping: Mapping) -> None:
    mapping.map(Plain, plain_table(mapping))
    with pytest.raises(MappingError, match=r"already mapped to table 'plain'.*'other'"):
        mapping.map(Plain, plain_table(mapping, "other"))


def test_a_class_is_mapped_by_one_mapping(mapping: Mapping) -> None:
    mapping.map(Plain, plain_table(mapping))
    other = Mapping()
    with pytest.raises(MappingError, match="already mapped by another Mapping"):
        other.map(Plain, plain_table(other))


def test_a_subclass_of_a_mapped_aggregate_is_refused(mapping: Mapping) -> None:
    @dataclass(eq=False, kw_only=True)
    class Special(Plain):
        flavour: str = ""

    mapping.map(Plain, plain_table(mapping))
    table = plain_table(mapping, "special", flavour=sa.Column("flavour", sa.String))
    with pytest.raises(MappingError, match="inherits from Plain, which is mapped"):
        mapping.map(Special, table)


def test_the_table_must_belong_to_the_mapping(mapping: Mapping) -> None:
    foreign = plain_table(Mapping())
    with pytest.raises(MappingError, match="this mapping's metadata"):
        mapping.map(Plain, foreign)


def test_every_field_needs_a_column_and_the_error_names_them(mapping: Mapping) -> None:
    table = sa.Table(
        "parcels",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("row_version", sa.Integer),
    )
    with pytest.raises(MappingError, match=r"no column for Parcel\.label, cost, size, spot"):
        mapping.map(Parcel, table, version_column="row_version")


def test_the_version_column_must_exist(mapping: Mapping) -> None:
    with pytest.raises(MappingError, match="no version column 'version' for Plain"):
        mapping.map(Plain, plain_table(mapping, version=None))
    with pytest.raises(MappingError, match="no version column 'revision'"):
        mapping.map(Plain, plain_table(mapping, "p2"), version_column="revision")


def test_version_is_mapped_by_version_column_only(mapping: Mapping) -> None:
    table = plain_table(mapping)
    with pytest.raises(MappingError, match="version_column="):
        mapping.map(Plain, table, properties={"version": table.c.version})


@pytest.mark.parametrize("composite_key", [False, True], ids=["another-column", "composite-key"])
def test_the_primary_key_must_be_the_id(mapping: Mapping, composite_key: bool) -> None:
    table = plain_table(
        mapping,
        id=sa.Column("id", sa.Integer, primary_key=composite_key, autoincrement=False),
        name=sa.Column("name", sa.String, primary_key=True),
    )
    with pytest.raises(MappingError, match="primary key of table 'plain' must be the one column"):
        mapping.map(Plain, table)


@pytest.mark.parametrize("wrap", [False, True], ids=["column", "column_property"])
def test_the_id_may_live_in_a_column_of_another_name(mapping: Mapping, wrap: bool) -> None:
    table = plain_table(mapping, id=sa.Column("plain_id", sa.Integer, primary_key=True))
    mapping.map(
        Plain,
        table,
        properties={"id": column_property(table.c.plain_id) if wrap else table.c.plain_id},
    )
    assert sa.inspect(Plain).primary_key == (table.c.plain_id,)


def test_sqlalchemy_refusing_a_property_is_a_mapping_error_and_leaves_nothing_behind(
    mapping: Mapping,
) -> None:
    mapping.map(Plain, plain_table(mapping))
    table = parcels(mapping)
    with pytest.raises(MappingError, match="cannot map Parcel onto table 'parcels'") as caught:
        map_parcel(mapping, table, size=42)
    assert caught.value.__cause__ is not None
    assert not mapping.is_mapped(Parcel)
    assert sa.inspect(Parcel, raiseerr=False) is None
    map_parcel(mapping, table)  # the failed attempt did not break the registry
    assert sa.inspect(Plain).configured


def test_a_mapping_that_fails_to_configure_is_disposed(mapping: Mapping) -> None:
    table = parcels(mapping)
    with pytest.raises(MappingError, match="cannot map Parcel"):
        map_parcel(
            mapping,
            table,
            label=sa.orm.relationship("Nowhere", lazy="raise"),
            title=table.c.title,  # stored by no field, but mapped: only the relationship fails
        )
    assert sa.inspect(Parcel, raiseerr=False) is None


@pytest.mark.parametrize("lazy", ["select", "dynamic"])
def test_lazy_loading_relationships_are_refused(
    mapping: Mapping, lazy: Literal["select", "dynamic"]
) -> None:
    table = parcels(mapping)
    with pytest.raises(MappingError, match=rf"Parcel.size would load lazily \(lazy='{lazy}'\)"):
        map_parcel(mapping, table, size=sa.orm.relationship("Nowhere", lazy=lazy))
    assert sa.inspect(Parcel, raiseerr=False) is None


def test_unmapped_aggregates_are_named(mapping: Mapping) -> None:
    with pytest.raises(MappingError, match=r"Plain is not mapped: call mapping.map\(Plain"):
        mapping.table_for(Plain)


def test_columns_that_are_not_fields_stay_unmapped(mapping: Mapping) -> None:
    table = parcels(mapping, sa.Column("audit", sa.String, server_default="x"))
    map_parcel(mapping, table, label=column_property(table.c.title), alias=synonym("label"))
    mapper = sa.inspect(Parcel)
    fields = {"id", "label", "cost", "size", "spot", "version", "alias"}
    composite_columns = {"cost_amount", "cost_currency", "spot_x", "spot_y"}  # SQLAlchemy maps them
    assert set(mapper.attrs.keys()) == fields | composite_columns
    assert mapper.attrs["label"].columns == [table.c.title]
    assert mapper.version_id_col is table.c.row_version


# -- the spec compiler ------------------------------------------------------------------------


@pytest.fixture
def parcel_mapping(mapping: Mapping) -> Mapping:
    map_parcel(mapping, parcels(mapping))
    return mapping


def test_paths_compile_to_the_mapped_columns(parcel_mapping: Mapping) -> None:
    mapped = parcel_mapping.aggregate_mapping(Parcel)
    assert sql(compile_spec(mapped, F("label") == "x")) == "parcels.title = %(param_1)s"
    assert sql(compile_spec(mapped, F("cost.amount") > 5)) == "parcels.cost_amount > %(param_1)s"
    assert sql(compile_spec(mapped, F("version") == 2)) == "parcels.row_version = %(param_1)s"
    order = compile_order(mapped, [Order("cost.currency"), Order("label", descending=True)])
    assert [sql(term) for term in order] == [
        "parcels.cost_currency ASC NULLS LAST",
        "parcels.title DESC NULLS LAST",
    ]


def test_a_value_object_without_a_composite_cannot_be_queried_inside(
    parcel_mapping: Mapping,
) -> None:
    mapped = parcel_mapping.aggregate_mapping(Parcel)
    with pytest.raises(InvalidSpecification, match=r"Parcel\.size\.width has no column.*composite"):
        compile_spec(mapped, F("size.width") == 1)
    with pytest.raises(InvalidSpecification, match=r"Parcel\.spot\.x has no column"):
        compile_order(mapped, [Order("spot.x")])
    with pytest.raises(InvalidSpecification, match=r"Parcel\.cost is stored in several columns"):
        compile_spec(mapped, F("cost") == Money(Decimal(1), "EUR"))


def test_every_node_compiles_with_bound_values(parcel_mapping: Mapping) -> None:
    mapped = parcel_mapping.aggregate_mapping(Parcel)
    spec = (
        (F("label").in_(["a", None]) | F("label").not_in(["b"]))
        & ~F("cost.amount").between(1, 2)
        & F("size").is_none()
        & F("cost.currency").is_not_none()
        & F("label").startswith("50%_")
        & F("label").endswith("x")
        & F("label").ilike("a_%")
        & (F("label") != "z")
        & (F("cost.amount") <= 3)
        & (F("cost.amount") >= 0)
        & (F("cost.amount") < 9)
    )
    compiled = compile_spec(mapped, spec).compile(dialect=AsyncDuckDBDialect())
    text = str(compiled)
    assert "parcels.title IN (__[POSTCOMPILE_" in text
    assert "NOT IN (__[POSTCOMPILE_" in text
    assert "parcels.cost_amount NOT BETWEEN" in text
    assert "parcels.size IS NULL" in text
    assert "parcels.cost_currency IS NOT NULL" in text
    assert "parcels.title LIKE %(title_3)s || '%%' ESCAPE '/'" in text  # startswith
    assert "parcels.title LIKE '%%' || %(title_4)s ESCAPE '/'" in text  # endswith
    assert "ILIKE" in text
    assert "50%" not in text
    assert sorted(map(str, compiled.params.values())) == sorted(
        ["['a', None]", "['b']", "1", "2", "50/%/_", "x", "a_%", "z", "3", "0", "9"]
    )


def test_nulls_first_is_written_out(parcel_mapping: Mapping) -> None:
    mapped = parcel_mapping.aggregate_mapping(Parcel)
    [term] = compile_order(mapped, [F("label").desc(nulls_first=True)])
    assert sql(term) == "parcels.title DESC NULLS FIRST"


def test_an_unknown_node_is_an_invalid_specification(parcel_mapping: Mapping) -> None:
    class Anything(Spec):
        def fields(self) -> frozenset[str]:
            return frozenset()

    with pytest.raises(InvalidSpecification, match="unsupported specification node"):
        compile_spec(parcel_mapping.aggregate_mapping(Parcel), Anything())


def test_a_mapping_is_never_copied() -> None:
    mapping = Mapping()
    assert copy.copy(mapping) is mapping
    assert copy.deepcopy(mapping) is mapping
    assert copy.deepcopy({"m": mapping})["m"] is mapping
