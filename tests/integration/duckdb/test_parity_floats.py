"""Parity for floating point: NaN, infinities and signed zeros answer the same on every adapter.

DuckDB compares and orders ``DOUBLE`` values as a total order, not as IEEE 754 (and Python's
``float``) do: NaN equals NaN (whatever its sign bit) and is greater than every other number,
``+inf`` included; ``-0.0`` equals ``0.0``; an int compared with a DOUBLE is converted to one.
``NULL`` keeps its placement (last unless ``nulls_first``). The cases below were measured on
DuckDB and are asserted on memory, an in-memory DuckDB database and a DuckDB file; hypothesis then
compares random specs and orderings over the same values.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from tests.integration.duckdb._contract_mapping import DATABASE_KINDS, SQL_NAMES, open_database
from tests.integration.duckdb._parity import combined, orderings, parity_settings

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, F, InvalidSpecification, Order, Spec
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory


@dataclass(eq=False, kw_only=True)
class Reading(AggregateRoot[UUID]):
    """A measurement: two optional DOUBLE fields and an exact one."""

    value: float | None = None
    spare: float | None = None
    exact: Decimal | None = None


class Lab(UnitOfWork):
    readings: Repository[Reading, UUID]


type Factory = UnitOfWorkFactory[Lab]
type Outcome = tuple[list[UUID], int, bool] | str

NAN, INF = math.nan, math.inf
BIG = 2.0**53  # beyond it a DOUBLE does not hold every int (specs refuse such ints)

#: The stored values, by name; the ids follow this order (it breaks ties in ORDER BY).
STORED: dict[str, float | None] = {
    "zero": 0.0,
    "nzero": -0.0,
    "nan": NAN,
    "neg_nan": -NAN,
    "inf": INF,
    "ninf": -INF,
    "one": 1.5,
    "big": BIG,
    "none": None,
}
IDS = {name: UUID(int=n + 1) for n, name in enumerate(STORED)}
NAMES = {id: name for name, id in IDS.items()}
NUMBERS = {name for name, value in STORED.items() if value is not None}
NANS = {"nan", "neg_nan"}
NOT_NAN = NUMBERS - NANS
POSITIVE = {"one", "big", "inf"}

#: What DuckDB answers (measured): the names of the matching rows.
CASES: list[tuple[str, Spec, set[str]]] = [
    ("== nan", F("value") == NAN, NANS),
    ("== -nan", F("value") == -NAN, NANS),
    ("!= nan", F("value") != NAN, NOT_NAN),
    ("< nan", F("value") < NAN, NOT_NAN),
    ("<= nan", F("value") <= NAN, NUMBERS),
    ("> nan", F("value") > NAN, set()),
    (">= nan", F("value") >= NAN, NANS),
    ("not (== nan)", ~(F("value") == NAN), NOT_NAN),
    ("> inf", F("value") > INF, NANS),
    (">= inf", F("value") >= INF, NANS | {"inf"}),
    ("< -inf", F("value") < -INF, set()),
    ("<= -inf", F("value") <= -INF, {"ninf"}),
    ("== inf", F("value") == INF, {"inf"}),
    ("== 0.0", F("value") == 0.0, {"zero", "nzero"}),
    ("== -0.0", F("value") == -0.0, {"zero", "nzero"}),
    ("< 0.0", F("value") < 0.0, {"ninf"}),
    ("> -0.0", F("value") > -0.0, POSITIVE | NANS),
    ("== 0 (int)", F("value") == 0, {"zero", "nzero"}),
    ("== 2**53 (int)", F("value") == 2**53, {"big"}),
    ("> 2**53 (int)", F("value") > 2**53, {"inf"} | NANS),
    ("< -2**53 (int)", F("value") < -(2**53), {"ninf"}),
    ("between(0.0, nan)", F("value").between(0.0, NAN), NUMBERS - {"ninf"}),
    ("between(nan, nan)", F("value").between(NAN, NAN), NANS),
    ("between(nan, 0.0)", F("value").between(NAN, 0.0), set()),
    ("between(-inf, inf)", F("value").between(-INF, INF), NOT_NAN),
    ("between(-0.0, 0.0)", F("value").between(-0.0, 0.0), {"zero", "nzero"}),
    ("in [nan]", F("value").in_([NAN]), NANS),
    ("in [nan, None]", F("value").in_([NAN, None]), NANS),
    ("in [0.0]", F("value").in_([0.0]), {"zero", "nzero"}),
    ("in [-inf, inf]", F("value").in_([-INF, INF]), {"inf", "ninf"}),
    ("not_in [nan]", F("value").not_in([NAN]), NOT_NAN),
    ("not_in [nan, None]", F("value").not_in([NAN, None]), set()),
    ("not_in [-0.0]", F("value").not_in([-0.0]), NUMBERS - {"zero", "nzero"}),
    ("is_none", F("value").is_none(), {"none"}),
]

#: DuckDB's ORDER BY over the stored values (ties broken by id, as the ports add it).
ORDERS: list[tuple[Order, list[str]]] = [
    (Order("value"), ["ninf", "zero", "nzero", "one", "big", "inf", "nan", "neg_nan", "none"]),
    (
        Order("value", descending=True),
        ["nan", "neg_nan", "inf", "big", "one", "zero", "nzero", "ninf", "none"],
    ),
    (
        Order("value", nulls_first=True),
        ["none", "ninf", "zero", "nzero", "one", "big", "inf", "nan", "neg_nan"],
    ),
    (
        Order("value", descending=True, nulls_first=True),
        ["none", "nan", "neg_nan", "inf", "big", "one", "zero", "nzero", "ninf"],
    ),
]


def _mapping() -> Mapping:
    mapping = Mapping()
    table = sa.Table(
        "readings",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("value", sa.Double),
        sa.Column("spare", sa.Double),
        sa.Column("exact", sa.Numeric(12, 2)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Reading, table)
    return mapping


@dataclass
class Adapters:
    """Both DuckDB databases (kept open for the module) and the loop that drives them."""

    runner: asyncio.Runner
    databases: dict[str, Database]
    mapping: Mapping

    def factories(self) -> dict[str, Factory]:
        """A fresh in-memory store and both emptied databases, by adapter name."""
        for database in self.databases.values():
            self.runner.run(_empty(database))
        sql = {
            name: SqlAlchemyUnitOfWork.factory(Lab, database=database, mapping=self.mapping)
            for name, database in self.databases.items()
        }
        return {"memory": InMemoryUnitOfWork.factory(Lab), **sql}


async def _empty(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(sa.text("DELETE FROM readings"))
    # DuckDB 2.0.0's row group pruner ignores deleted rows under ORDER BY ... LIMIT: after a
    # DELETE in a table with a primary key, LIMIT 1 sometimes gives no row at all (duckdb/duckdb
    # PR 22949). A checkpoint drops the deleted rows; this file tests floats, not that bug.
    async with database.engine.connect() as connection:
        await connection.execute(sa.text("CHECKPOINT"))


@pytest.fixture(scope="module")
def adapters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adapters]:
    mapping = _mapping()
    directory = tmp_path_factory.mktemp("parity_floats")
    try:
        with asyncio.Runner() as runner:
            stack = contextlib.AsyncExitStack()
            databases = {
                SQL_NAMES[kind]: runner.run(
                    stack.enter_async_context(open_database(kind, directory, mapping))
                )
                for kind in DATABASE_KINDS
            }
            try:
                yield Adapters(runner, databases, mapping)
            finally:
                runner.run(stack.aclose())
    finally:
        mapping.clear()


async def _load(new_uow: Factory, rows: list[Reading]) -> None:
    copies = [
        Reading(id=r.id, value=r.value, spare=r.spare, exact=r.exact) for r in rows
    ]  # each adapter gets its own objects
    async with new_uow() as uow:
        await uow.readings.add_many(copies)
        await uow.commit()


async def _outcome(
    new_uow: Factory, spec: Spec | None, order: list[Order], limit: int | None, offset: int
) -> Outcome:
    async with new_uow() as uow:
        try:
            found = await uow.readings.find(spec, order_by=order, limit=limit, offset=offset)
            return (
                [r.id for r in found],
                await uow.readings.count(spec),
                await uow.readings.exists(spec),
            )
        except InvalidSpecification as error:
            return f"InvalidSpecification: {error}"


def _outcomes(  # noqa: PLR0917 - one call per example
    adapters: Adapters,
    rows: list[Reading],
    spec: Spec | None,
    order: list[Order],
    limit: int | None = None,
    offset: int = 0,
) -> dict[str, Outcome]:
    factories = adapters.factories()

    async def run() -> dict[str, Outcome]:
        results: dict[str, Outcome] = {}
        for name, new_uow in factories.items():
            await _load(new_uow, rows)
            results[name] = await _outcome(new_uow, spec, order, limit, offset)
        return results

    return adapters.runner.run(run())


def _stored() -> list[Reading]:
    return [Reading(id=IDS[name], value=value) for name, value in STORED.items()]


def _names(outcome: Outcome) -> list[str]:
    assert not isinstance(outcome, str), outcome
    return [NAMES[id] for id in outcome[0]]


@pytest.mark.parametrize(("spec", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_specs_over_special_floats_match_what_duckdb_answers(
    adapters: Adapters, spec: Spec, expected: set[str]
) -> None:
    outcomes = _outcomes(adapters, _stored(), spec, [])
    for adapter, outcome in outcomes.items():
        assert set(_names(outcome)) == expected, adapter
        assert outcome[1:] == (len(expected), bool(expected)), adapter


@pytest.mark.parametrize(("order", "expected"), ORDERS, ids=[repr(order) for order, _ in ORDERS])
def test_orderings_over_special_floats_match_what_duckdb_answers(
    adapters: Adapters, order: Order, expected: list[str]
) -> None:
    outcomes = _outcomes(adapters, _stored(), None, [order])
    for adapter, outcome in outcomes.items():
        assert _names(outcome) == expected, adapter


def test_signed_zeros_and_nans_read_back_with_their_sign(adapters: Adapters) -> None:
    async def signs(new_uow: Factory) -> dict[str, float]:
        await _load(new_uow, _stored())
        async with new_uow() as uow:
            found = await uow.readings.find(F("value").is_not_none())
            return {NAMES[r.id]: math.copysign(1.0, r.value) for r in found if r.value is not None}

    for adapter, new_uow in adapters.factories().items():
        assert adapters.runner.run(signs(new_uow)) == {
            name: math.copysign(1.0, value) for name, value in STORED.items() if value is not None
        }, adapter


@pytest.mark.parametrize(
    "spec",
    [
        F("exact") == Decimal("NaN"),
        F("exact") < Decimal("NaN"),
        F("exact").between(Decimal(0), Decimal("NaN")),
        F("exact").in_([Decimal("NaN"), Decimal(1)]),
        F("exact") > Decimal("-Infinity"),
        F("value") == 2**53 + 1,  # as a DOUBLE it would be 2**53
        F("value").in_([0.0, -(2**53) - 1]),
    ],
    ids=repr,
)
def test_a_value_no_column_compares_exactly_gets_one_answer_everywhere(
    adapters: Adapters, spec: Spec
) -> None:
    """Refused before any SQL on every adapter, or the same rows: never a decimal error."""
    rows = [Reading(id=IDS["one"], exact=Decimal("1.50")), Reading(id=IDS["zero"])]
    outcomes = _outcomes(adapters, rows, spec, [Order("exact"), Order("value")])
    assert len(set(map(repr, outcomes.values()))) == 1, outcomes


# -- random specs and orderings --------------------------------------------------------------------

FLOATS = st.sampled_from(
    [NAN, -NAN, INF, -INF, 0.0, -0.0, 1.5, -2.0, BIG, 5e-324, 1.7976931348623157e308]
)
STORABLE = st.none() | FLOATS
#: Values a spec may compare a float field with: floats, and ints a DOUBLE holds exactly.
TARGETS = FLOATS | st.sampled_from([0, 1, -2, 2**53, -(2**53)])
FIELDS = st.sampled_from(["value", "spare"])


@st.composite
def readings(draw: st.DrawFn) -> list[Reading]:
    count = draw(st.integers(min_value=0, max_value=10))
    return [
        Reading(id=UUID(int=n + 1), value=draw(STORABLE), spare=draw(STORABLE))
        for n in range(count)
    ]


@st.composite
def leaves(draw: st.DrawFn) -> Spec:
    field = F(draw(FIELDS))
    kind = draw(st.sampled_from(["cmp", "in", "not_in", "none", "between"]))
    if kind == "cmp":
        target = draw(TARGETS)
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
        comparisons: dict[str, Spec] = {
            "==": field == target,
            "!=": field != target,
            "<": field < target,
            "<=": field <= target,
            ">": field > target,
            ">=": field >= target,
        }
        return comparisons[op]
    if kind in ("in", "not_in"):
        values = draw(st.lists(st.none() | TARGETS, min_size=1, max_size=3))
        return field.in_(values) if kind == "in" else field.not_in(values)
    if kind == "none":
        return field.is_none() if draw(st.booleans()) else field.is_not_none()
    return field.between(draw(TARGETS), draw(TARGETS))


specs = combined(leaves(), max_leaves=4)

orders = orderings(["value", "spare", "id"], max_size=3)


@parity_settings(150)
@given(
    rows=readings(),
    spec=st.none() | specs,
    order=orders,
    limit=st.none() | st.integers(min_value=0, max_value=5),
    offset=st.integers(min_value=0, max_value=3),
)
def test_random_specs_and_orderings_over_special_floats_agree(  # noqa: PLR0917 - by hypothesis
    adapters: Adapters,
    rows: list[Reading],
    spec: Spec | None,
    order: list[Order],
    limit: int | None,
    offset: int,
) -> None:
    outcomes: dict[str, Any] = _outcomes(adapters, rows, spec, order, limit, offset)
    expected = outcomes.pop("memory")
    assert not isinstance(expected, str), expected
    for adapter, outcome in outcomes.items():
        assert outcome == expected, f"{adapter}: spec={spec!r} order={order!r}"
