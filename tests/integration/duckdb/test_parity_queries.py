"""Parity for read models: random data, random queries, the same rows, value for value.

Hypothesis generates gadgets (NULLs, ties, equal group keys, decimals, integers, floats that are
multiples of 0.25 so every sum is exact, NaN, texts differing in case), one to five baskets with
0-3 lines whose sku matches some gadgets and not others and an optional note, and tickets, some
soft-deleted. Over them it builds queries: one source, child entities joined inner or outer,
gadgets joined to the lines by sku, tickets joined to gadgets; ``where`` specs (``any()`` over
children included); plain rows or groups over 0-2 keys with random aggregations
(``Count(distinct=True)`` too, and aggregations without ``group_by`` over filters that may match
nothing); ``having`` and ``order_by`` over outputs (either direction and NULL placement);
``limit``/``offset``; ``unordered()`` (compared as multisets) and ``into()`` a dataclass.

The in-memory adapter and each SQL database (a DuckDB file, then PostgreSQL) must return the same
rows in the same order, each value of the same type and equal (NaN equal to NaN, a ``Decimal``
with its scale), through ``uow.query`` and through ``uow.query_page`` walked to the end, which
must also give the unpaged rows. A query one adapter refuses, every one refuses with the same
message. A second test groups up to 30 gadgets with wide numbers (cents, whole numbers, quarters)
and compares every mean, sum, minimum and maximum of them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import math
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from hypothesis import event, given
from hypothesis import strategies as st
from tests.integration.duckdb._contract_mapping import (
    PARITY_KINDS,
    contract_tables,
    map_basket,
    map_ticket,
    module_database,
)
from tests.integration.duckdb._parity import combined, orderings, parity_settings

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import (
    Aggregation,
    Avg,
    Count,
    F,
    InvalidSpecification,
    Max,
    Min,
    ReadQuery,
    Spec,
    Sum,
)
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.testing.models import Basket, BasketLine, BasketNote, Gadget, Ticket


class Shop(UnitOfWork):
    gadgets: Repository[Gadget, UUID]
    baskets: Repository[Basket, UUID]
    tickets: Repository[Ticket, UUID]


type Factory = UnitOfWorkFactory[Shop]

# -- data -------------------------------------------------------------------------------------

SKUS = ["a", "A", "b", "c"]  # gadgets' skus (and tickets' titles); no line holds "c"
LINE_SKUS = ["a", "A", "b", "z"]  # no gadget holds "z"
NAMES = ["x", "X", "y", ""]
NOTES = ["n", "N", "m%"]
OWNERS = ["ana", "Ana", "bo", "BO", "cy"]
BASKET_NOTES = ["x", "X", "y"]
PRICES = [Decimal(v) for v in ("-2.97", "-1.50", "0.00", "0.01", "0.25", "2.25", "10.00")]
WEIGHTS = [-1.5, 0.0, 0.25, 2.25, 3.0, math.nan]
DATES = [date(2023, 12, 31), date(2024, 1, 1), date(2024, 6, 30)]

#: The values a field holds in the data, by its class and its path inside it (None: nullable).
VOCABULARY: dict[tuple[type, str], list[Any]] = {
    (Gadget, "sku"): SKUS,
    (Gadget, "name"): NAMES,
    (Gadget, "price"): PRICES,
    (Gadget, "quantity"): [-2, 0, 1, 3],
    (Gadget, "weight"): [None, *WEIGHTS],
    (Gadget, "note"): [None, *NOTES],
    (Gadget, "active"): [True, False],
    (Gadget, "released"): [None, *DATES],
    (Basket, "owner"): OWNERS,
    (Basket, "note.text"): [None, *BASKET_NOTES],
    (BasketLine, "position"): [0, 1, 2],
    (BasketLine, "sku"): LINE_SKUS,
    (BasketLine, "quantity"): [-1, 0, 2, 3],
    (BasketNote, "text"): BASKET_NOTES,
    (Ticket, "title"): SKUS,
    (Ticket, "done"): [True, False],
}
NUMBERS = (int, float, Decimal)


@dataclasses.dataclass(frozen=True)
class Data:
    gadgets: list[dict[str, Any]]
    baskets: list[tuple[UUID, str, list[tuple[UUID, str, int]], tuple[UUID, str] | None]]
    tickets: list[tuple[UUID, str, bool, bool]]  # id, title, done, deleted


def _pick(kind: type, field: str) -> st.SearchStrategy[Any]:
    return st.sampled_from(VOCABULARY[kind, field])


@st.composite
def data(draw: st.DrawFn) -> Data:
    serial = iter(range(1, 10_000))

    def new_id() -> UUID:
        # The high byte varies (its top bit too), so the ids order as UUIDs, not by creation.
        return UUID(int=(draw(st.integers(0, 255)) << 120) | next(serial))

    gadgets = [
        {"id": new_id()}
        | {
            field: draw(_pick(Gadget, field))
            for field in ("sku", "name", "price", "quantity", "weight", "note", "active")
        }
        | {"released": draw(_pick(Gadget, "released"))}
        for _ in range(draw(st.integers(0, 8)))
    ]
    owners = draw(st.lists(st.sampled_from(OWNERS), unique=True, min_size=1))
    baskets = []
    for owner in owners:
        lines = [
            (new_id(), draw(_pick(BasketLine, "sku")), draw(_pick(BasketLine, "quantity")))
            for _ in range(draw(st.integers(0, 3)))
        ]
        text = draw(st.none() | _pick(BasketNote, "text"))
        baskets.append((new_id(), owner, lines, None if text is None else (new_id(), text)))
    tickets = [
        (
            new_id(),
            draw(_pick(Ticket, "title")),
            draw(st.booleans()),
            draw(st.integers(0, 3)) == 0,  # soft-deleted
        )
        for _ in range(draw(st.integers(0, 5)))
    ]
    return Data(gadgets, baskets, tickets)


async def _load(new_uow: Factory, given: Data) -> None:
    """Fresh objects (each adapter gets its own) with the same ids."""
    async with new_uow() as uow:
        await uow.gadgets.add_many([Gadget(**fields) for fields in given.gadgets])
        await uow.baskets.add_many(
            [
                Basket(
                    id=id,
                    owner=owner,
                    lines=[
                        BasketLine(id=line, position=n, sku=sku, quantity=quantity)
                        for n, (line, sku, quantity) in enumerate(lines)
                    ],
                    note=None if note is None else BasketNote(id=note[0], text=note[1]),
                )
                for id, owner, lines, note in given.baskets
            ]
        )
        tickets = [Ticket(id=id, title=title, done=done) for id, title, done, _ in given.tickets]
        await uow.tickets.add_many(tickets)
        await uow.commit()
    deleted = [id for id, *_, gone in given.tickets if gone]
    if deleted:
        async with new_uow() as uow:
            for id in deleted:
                await uow.tickets.remove(await uow.tickets.get(id))
            await uow.commit()


# -- queries ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Column:
    """A path a query may read: as the query names it, the class holding it and its kind."""

    path: str
    owner: type
    inside: str  # the path inside ``owner``
    kind: type

    def values(self) -> st.SearchStrategy[Any]:
        """Values to compare it with (never ``None``: that is ``is_none()``)."""
        if self.inside == "id":
            return st.builds(UUID, int=st.integers(0, 2**128 - 1))
        return st.sampled_from([v for v in VOCABULARY[self.owner, self.inside] if v is not None])


KINDS: dict[tuple[type, str], type] = {
    key: type(next(v for v in values if v is not None)) for key, values in VOCABULARY.items()
}


def _columns(owner: type, prefix: str) -> list[Column]:
    paths = ["id", *(inside for kind, inside in KINDS if kind is owner)]
    return [
        Column(prefix + inside, owner, inside, UUID if inside == "id" else KINDS[owner, inside])
        for inside in paths
    ]


@dataclasses.dataclass(frozen=True)
class Shape:
    """The sources of a query: how it starts, and the columns and any() paths it can read."""

    query: ReadQuery[Any]
    columns: list[Column]
    children: list[tuple[str, type]]  # paths for F(path).any(...) and the child class


@functools.cache
def _child_leaves(kind: type) -> st.SearchStrategy[Spec]:
    return st.one_of(*(_leaf(column) for column in _columns(kind, "") if column.inside != "id"))


@st.composite
def shapes(draw: st.DrawFn) -> Shape:
    start = draw(st.sampled_from(["gadget", "ticket", "basket", "basket+", "gadget+ticket"]))
    if start == "gadget":
        return Shape(ReadQuery(Gadget), _columns(Gadget, ""), [])
    if start == "ticket":
        query = ReadQuery(Ticket)
        if draw(st.booleans()):
            query = query.including_deleted()
        return Shape(query, _columns(Ticket, ""), [])
    if start == "basket":
        return Shape(
            ReadQuery(Basket), _columns(Basket, ""), [("lines", BasketLine), ("note", BasketNote)]
        )
    if start == "gadget+ticket":
        on = draw(st.sampled_from([("gadget.sku", "ticket.title"), ("ticket.title", "gadget.sku")]))
        query = ReadQuery(Gadget).join(Ticket, on=on, outer=draw(st.booleans()))
        if draw(st.booleans()):
            query = query.including_deleted()
        return Shape(query, _columns(Gadget, "gadget.") + _columns(Ticket, "ticket."), [])
    columns = _columns(Basket, "basket.")
    query = ReadQuery(Basket)
    line = draw(st.sampled_from(["lines", "line"]))
    with_lines = draw(st.booleans())
    if with_lines:
        query = query.join("basket.lines", name=line, outer=draw(st.booleans()))
        columns += _columns(BasketLine, f"{line}.")
    if draw(st.booleans()) or not with_lines:
        query = query.join("basket.note", outer=draw(st.booleans()))
        columns += _columns(BasketNote, "note.")
    if with_lines and draw(st.booleans()):
        pair = (f"{line}.sku", "gadget.sku")
        on = pair if draw(st.booleans()) else (pair[1], pair[0])
        query = query.join(Gadget, on=on, outer=draw(st.booleans()))
        columns += _columns(Gadget, "gadget.")
    return Shape(query, columns, [("basket.lines", BasketLine), ("basket.note", BasketNote)])


@functools.cache
def _leaf(column: Column) -> st.SearchStrategy[Spec]:
    field, values = F(column.path), column.values()
    comparisons: list[Callable[[Any], Spec]] = [
        lambda v: field == v,
        lambda v: field != v,
        lambda v: field < v,
        lambda v: field <= v,
        lambda v: field > v,
        lambda v: field >= v,
    ]
    leaves = [
        st.tuples(st.sampled_from(comparisons), values).map(lambda pair: pair[0](pair[1])),
        st.lists(values, min_size=1, max_size=3).map(field.in_),
        st.lists(values, min_size=1, max_size=2).map(field.not_in),
        st.tuples(values, values).map(lambda pair: field.between(*pair)),
        st.booleans().map(lambda b: field.is_none() if b else field.is_not_none()),
    ]
    if column.kind is str:
        methods = ["contains", "startswith", "endswith", "ilike"]
        leaves.append(
            st.tuples(st.sampled_from(methods), values).map(
                lambda pair: getattr(field, pair[0])(pair[1])
            )
        )
    return st.one_of(leaves)


@functools.cache
def _where(
    columns: tuple[Column, ...], children: tuple[tuple[str, type], ...]
) -> st.SearchStrategy[Spec]:
    leaves = [_leaf(column) for column in columns]
    leaves += [
        combined(_child_leaves(kind), max_leaves=2).map(F(path).any) for path, kind in children
    ]
    return combined(st.one_of(leaves), max_leaves=2)


@dataclasses.dataclass(frozen=True)
class Made:
    """A query and what the test does with it."""

    query: ReadQuery[Any]
    page_size: int | None  # walk query_page with this size (None: the query cannot be paged)


_AGGREGATIONS: list[tuple[Callable[[Column], Aggregation], tuple[type, ...]]] = [
    (lambda column: Count(column.path), (object,)),
    (lambda column: Count(column.path, distinct=True), (object,)),
    (lambda column: Sum(column.path), NUMBERS),
    (lambda column: Avg(column.path), NUMBERS),
    (lambda column: Min(column.path), (*NUMBERS, str, date, UUID)),
    (lambda column: Max(column.path), (*NUMBERS, str, date, UUID)),
]


@st.composite
def aggregations(draw: st.DrawFn, columns: list[Column]) -> tuple[Aggregation, Column | type]:
    """An aggregation and the column whose values it holds, or the type of number it is."""
    if draw(st.integers(0, 6)) == 0:
        return Count(), int
    make, column = draw(
        st.sampled_from(
            [
                (make, column)
                for make, kinds in _AGGREGATIONS
                for column in columns
                if issubclass(column.kind, kinds)
                and (column.kind is not bool or kinds == (object,))
            ]
        )
    )
    aggregation = make(column)
    if isinstance(aggregation, Count):
        return aggregation, int
    if isinstance(aggregation, Avg):
        return aggregation, float
    if isinstance(aggregation, Sum):
        return aggregation, column.kind
    return aggregation, column


#: The numbers a count, sum or mean is compared with, by its type (as a field of that type).
FITTING: dict[type, list[Any]] = {
    int: [-1, 0, 1, 2, 3],
    float: [-1, 0, 2, 0.25, 2.5, -1.5],
    Decimal: [-1, 0, 2, Decimal("0.25"), Decimal("2.00"), Decimal("-1.5")],
}
EVERY_NUMBER = [*FITTING[float], *FITTING[Decimal]]


@functools.cache
def _number_leaf(name: str, kind: type) -> st.SearchStrategy[Spec]:
    """Leaves over a count, sum or mean; now and then with a number its type refuses."""
    field = F(name)
    values = st.integers(0, 9).flatmap(
        lambda n: st.sampled_from(EVERY_NUMBER if n == 0 else FITTING[kind])
    )
    return st.one_of(
        st.tuples(st.sampled_from(["==", "!=", "<", ">="]), values).map(
            lambda pair: {
                "==": field == pair[1],
                "!=": field != pair[1],
                "<": field < pair[1],
                ">=": field >= pair[1],
            }[pair[0]]
        ),
        st.lists(values, min_size=1, max_size=2).map(field.in_),
        st.tuples(values, values).map(lambda pair: field.between(*pair)),
        st.booleans().map(lambda b: field.is_none() if b else field.is_not_none()),
    )


@st.composite
def queries(draw: st.DrawFn) -> Made:
    shape = draw(shapes())
    query = shape.query
    if draw(st.booleans()):
        query = query.where(draw(_where(tuple(shape.columns), tuple(shape.children))))
    columns = shape.columns
    outputs: dict[str, str | Aggregation] = {}
    held: dict[str, Column | type] = {}  # what each output holds: a column's values, a number
    if draw(st.integers(0, 2)) == 0:
        chosen = draw(st.lists(st.sampled_from(columns), min_size=1, max_size=4, unique=True))
        for n, column in enumerate(chosen):
            outputs[f"c{n}"] = column.path
            held[f"c{n}"] = column
    else:
        keys = draw(st.lists(st.sampled_from(columns), max_size=2, unique=True))
        if keys:
            query = query.group_by(*(column.path for column in keys))
        shown = draw(st.lists(st.sampled_from(keys), unique=True)) if keys else []
        for n, column in enumerate(shown):
            outputs[f"k{n}"] = column.path
            held[f"k{n}"] = column
        for n in range(draw(st.integers(0 if shown or keys else 1, 3))):
            aggregation, holds = draw(aggregations(columns))
            outputs[f"a{n}"] = aggregation
            held[f"a{n}"] = holds
        if not outputs:
            outputs["a0"], held["a0"] = Count(), int
    query = query.select(**outputs)
    if draw(st.integers(0, 3)) == 0:
        leaves = [
            _leaf(dataclasses.replace(column, path=name))
            if isinstance(column, Column)
            else _number_leaf(name, column)
            for name, column in held.items()
        ]
        query = query.having(draw(combined(st.one_of(leaves), max_leaves=2)))
    query = query.order_by(draw(orderings(list(outputs), max_size=3)))
    if draw(st.integers(0, 4)) == 0:
        row = dataclasses.make_dataclass("Row", [(name, Any) for name in outputs])
        query = query.into(row)
    if draw(st.integers(0, 4)) == 0:
        return Made(query.unordered(), None)
    if draw(st.booleans()):
        query = query.limit(draw(st.none() | st.integers(0, 4))).offset(draw(st.integers(0, 3)))
        return Made(query, None)
    return Made(query, draw(st.integers(1, 3)))


# -- comparing --------------------------------------------------------------------------------


def _exact(value: object) -> object:
    """What two values share when they are the same value of the same type."""
    if isinstance(value, float) and math.isnan(value):
        return float, "nan"
    if isinstance(value, Decimal):
        return Decimal, value.as_tuple()  # the scale counts: 1.50 is not 1.5
    return type(value), value


def _row(row: object) -> tuple[object, ...]:
    fields = dataclasses.asdict(row) if dataclasses.is_dataclass(row) else row  # type: ignore[arg-type]
    assert isinstance(fields, dict)
    return tuple((name, _exact(value)) for name, value in fields.items())


type Seen = tuple[str, object]


async def _seen(new_uow: Factory, made: Made) -> list[Seen]:
    """What one adapter answers to ``made``: its rows (a multiset if unordered), its pages."""
    async with new_uow() as uow:
        try:
            rows = [_row(row) for row in await uow.query(made.query)]
        except InvalidSpecification as error:
            return [("refused", str(error))]
        if not made.query.deterministic:
            return [("rows", Counter(rows))]
        seen: list[Seen] = [("rows", rows)]
        if made.page_size is not None:
            page = await uow.query_page(made.query, size=made.page_size)
            paged = [_row(row) for row in page.items]
            while page.next is not None:
                page = await uow.query_page(made.query, size=made.page_size, after=page.next)
                assert page.items, "a page after a cursor is never empty"
                paged += [_row(row) for row in page.items]
            assert paged == rows, "query_page walked to the end gives the unpaged rows"
            seen.append(("paged", paged))
        return seen


@pytest.fixture(scope="module", params=PARITY_KINDS)
def sql_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[asyncio.Runner, Any]]:
    """One SQL database (a DuckDB file, then PostgreSQL) per module; each example empties it."""
    mapping = Mapping()
    gadgets, _ = contract_tables(mapping)
    mapping.map(Gadget, gadgets)
    map_basket(mapping)
    map_ticket(mapping)
    try:
        directory = tmp_path_factory.mktemp("parity_queries")
        with module_database(directory, mapping, request.param) as (runner, database):
            yield runner, SqlAlchemyUnitOfWork.factory(Shop, database=database, mapping=mapping)
    finally:
        mapping.clear()


TABLES = ("basket_lines", "basket_notes", "baskets", "gadgets", "tickets")


@parity_settings(60)  # per database: a DuckDB file, then PostgreSQL (~5 s in all)
@given(stored=data(), made=st.lists(queries(), min_size=1, max_size=3))
def test_memory_and_sql_agree_on_read_models(
    sql_factory: Any, stored: Data, made: list[Made]
) -> None:
    runner, sql = sql_factory

    async def compare() -> None:
        async with sql.database.engine.begin() as connection:
            for table in TABLES:
                await connection.execute(sa.text(f"DELETE FROM {table}"))
        memory = InMemoryUnitOfWork.factory(Shop)
        await _load(memory, stored)
        await _load(sql, stored)
        for each in made:
            expected = await _seen(memory, each)
            answer = expected[0]
            event("refused" if answer[0] == "refused" else "rows" if answer[1] else "no rows")
            actual = await _seen(sql, each)
            assert actual == expected, f"query={each.query!r}"

    runner.run(compare())


# -- many numbers per group -------------------------------------------------------------------

#: Gadgets with numbers of every width: cents, whole numbers, quarters (float sums stay exact).
NUMBERED = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(-(10**6), 10**6).map(lambda cents: Decimal(cents).scaleb(-2)),
        st.integers(-(10**6), 10**6),
        st.none() | st.integers(-(10**4), 10**4).map(lambda quarters: quarters / 4),
    ),
    max_size=30,
)


@parity_settings(60)  # per database (~1 s in all)
@given(numbered=NUMBERED, together=st.booleans())
def test_memory_and_sql_agree_on_means_and_sums_of_many_numbers(
    sql_factory: Any, numbered: list[tuple[str, Decimal, int, float | None]], together: bool
) -> None:
    """Means and sums over groups of up to 30 numbers: where rounding would differ, if anywhere
    (PostgreSQL's own AVG differs from a float division in about one mean in 400)."""
    runner, sql = sql_factory
    query = ReadQuery(Gadget)
    if not together:
        query = query.group_by("sku").select("sku")
    query = query.select(
        **{
            f"{name}_{field}": make(field)
            for field in ("price", "quantity", "weight")
            for name, make in (("avg", Avg), ("sum", Sum), ("min", Min), ("max", Max))
        }
    )

    async def compare() -> None:
        async with sql.database.engine.begin() as connection:
            await connection.execute(sa.text("DELETE FROM gadgets"))
        memory = InMemoryUnitOfWork.factory(Shop)
        answers = []
        for new_uow in (memory, sql):
            async with new_uow() as uow:
                await uow.gadgets.add_many(
                    [
                        Gadget(sku=sku, name="n", price=price, quantity=quantity, weight=weight)
                        for sku, price, quantity, weight in numbered
                    ]
                )
                await uow.commit()
            answers.append(await _seen(new_uow, Made(query, None)))
        assert answers[1] == answers[0]

    runner.run(compare())
