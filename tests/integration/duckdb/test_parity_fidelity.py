"""Parity of fidelity: edge values are stored, refused and compared alike by every adapter.

Hypothesis draws probes (an aggregate holding every kind of column the SQL mapping checks) with
edge values: NaN, infinities and ``-0.0``; integers beyond 32 and 64 bits; text with NUL, lone
surrogates and emoji, and longer than its ``VARCHAR``; Decimals with too many places or ``NaN``;
naive and aware datetimes at many offsets; ``None`` where the column is ``NOT NULL``; values of
the wrong type; repeated unique keys; JSON value objects holding non-finite floats. On memory, an
in-memory DuckDB and a DuckDB file:

1. storing them gives the same error class with nothing saved, or the same values read back
   (same type; floats by NaN-ness and sign of zero; datetimes by instant and awareness);
2. changing the JSON containers in place and committing reads back the same everywhere, the
   version growing by one when something changed;
3. random specifications over those values find the same probes, or raise the same
   ``InvalidSpecification``.

The number of examples follows the loaded hypothesis profile (``HYPOTHESIS_PROFILE=thorough``
runs 10,000 per test; see ``docs/guides/testing-parity.md``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from hypothesis import example, given
from hypothesis import strategies as st
from tests.integration.duckdb._contract_mapping import DATABASE_KINDS, SQL_NAMES, open_database
from tests.integration.duckdb._parity import combined, parity_settings

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import JsonValue, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, Aware, Digits, F, Order, Spec, ValueObject
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory

# -- domain ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tag(ValueObject):
    label: str
    weight: float


@dataclass(frozen=True)
class Spot(ValueObject):
    """A value object nesting another."""

    rank: int
    tag: Tag


@dataclass(eq=False, kw_only=True)
class Probe(AggregateRoot[UUID]):
    code: str
    label: str
    small: int
    big: int
    ratio: float | None
    amount: Annotated[Decimal, Digits(12, 2)]
    flag: bool
    seen_at: Annotated[datetime, Aware()] | None
    local_at: datetime | None
    blob: bytes | None
    tags: set[Tag] = field(default_factory=set)
    spots: list[Spot] = field(default_factory=list)
    spot: Spot | None = None


class Lab(UnitOfWork):
    probes: Repository[Probe, UUID]


type Factory = UnitOfWorkFactory[Lab]

FIELDS = [
    "code",
    "label",
    "small",
    "big",
    "ratio",
    "amount",
    "flag",
    "seen_at",
    "local_at",
    "blob",
    "tags",
    "spots",
    "spot",
]


def _map(mapping: Mapping) -> None:
    table = sa.Table(
        "probes",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("code", sa.String, nullable=False, unique=True),
        sa.Column("label", sa.String(8), nullable=False),
        sa.Column("small", sa.Integer, nullable=False),
        sa.Column("big", sa.BigInteger, nullable=False),
        sa.Column("ratio", sa.Double),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("flag", sa.Boolean, nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True)),
        sa.Column("local_at", sa.DateTime()),
        sa.Column("blob", sa.LargeBinary),
        sa.Column("tags", JsonValue(set[Tag]), nullable=False),
        sa.Column("spots", JsonValue(list[Spot]), nullable=False),
        sa.Column("spot", JsonValue(Spot)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Probe, table)


# -- values ----------------------------------------------------------------------------------------

ANY_CHAR = st.characters(codec=None, exclude_categories=())  # lone surrogates included
EDGE_TEXT = st.sampled_from(
    [
        "",
        "a",
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udfff",
        "😀",
        "😀😀😀😀😀😀😀😀",
        "ü" * 8,
        "x" * 8,
        "x" * 9,
    ]
)
TEXT = EDGE_TEXT | st.text(ANY_CHAR, max_size=10)
SMALL_TEXT = st.sampled_from(["", "a", " ", "😀", "ab"])
INT32, INT64 = 2**31, 2**63
EDGE_INTS = st.sampled_from(
    [0, -1, 1, INT32 - 1, INT32, -INT32, -INT32 - 1, INT64 - 1, INT64, -INT64, -INT64 - 1, 2**100]
)
INTS = EDGE_INTS | st.integers(min_value=-3, max_value=3)
EDGE_FLOATS = st.sampled_from(
    [math.nan, -math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, 1.7976931348623157e308, 0.1]
)
FLOATS = EDGE_FLOATS | st.floats()
EDGE_DECIMALS = st.sampled_from(
    [
        Decimal("0.00"),
        Decimal("-0.00"),
        Decimal("-0"),
        Decimal("5"),
        Decimal("1.5"),
        Decimal("1.25"),
        Decimal("1.234"),
        Decimal("1E+2"),
        Decimal("9999999999.99"),
        Decimal("10000000000.00"),
        Decimal("-9999999999.99"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
    ]
)
DECIMALS = EDGE_DECIMALS | st.decimals(places=2, min_value=-(10**10) + 1, max_value=10**10 - 1)
OFFSETS = st.sampled_from([0, 1, -1, 5.5, -9.5, 13, 14, -12, 0.75]).map(
    lambda hours: timezone(timedelta(hours=hours))
)
NAIVE = st.sampled_from(
    [
        datetime(2024, 1, 1),
        datetime(2024, 3, 31, 2, 30),
        datetime(1970, 1, 1),
        datetime(2000, 2, 29),
    ]
) | st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
AWARE = st.builds(lambda moment, zone: moment.replace(tzinfo=zone), NAIVE, OFFSETS) | st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
EDGE_BYTES = st.sampled_from([b"", b"\x00", b"\xff\xfe", bytes(range(256))])
BYTES = EDGE_BYTES | st.binary(max_size=8)
CODES = st.sampled_from(["A", "B", "", "\x00", "😀"])


#: Text every database stores: valid UTF-8 without NUL (PostgreSQL refuses U+0000).
STORABLE_CHAR = st.characters(codec="utf-8", exclude_characters="\x00")
UTF8_TEXT = SMALL_TEXT | st.text(STORABLE_CHAR, max_size=6)
FINITE = st.floats(allow_nan=False, allow_infinity=False)


def tags(*, valid: bool = False) -> st.SearchStrategy[Tag]:
    """Tags; unless ``valid``, with labels no database stores and weights JSON cannot hold."""
    if valid:
        return st.builds(Tag, label=UTF8_TEXT, weight=FINITE | st.integers(-2, 2))
    return st.builds(Tag, label=SMALL_TEXT | TEXT, weight=FLOATS | st.integers(-2, 2))


def spots(*, valid: bool = False) -> st.SearchStrategy[Spot]:
    """Spots; unless ``valid``, with ranks beyond 64 bits and invalid tags."""
    if valid:
        return st.builds(Spot, rank=st.integers(-INT64, INT64 - 1), tag=tags(valid=True))
    return st.builds(Spot, rank=INTS, tag=tags())


def wrong(*values: object) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


#: Per field: values that fit the type (edge cases included) | values of other types or None.
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "code": CODES | wrong(None, 1, b"A"),
    "label": TEXT | wrong(None, 1, b"a", 1.5),
    "small": INTS | wrong(None, True, "1", 1.0, Decimal(1)),
    "big": INTS | wrong(None, False, "1", 1.5),
    "ratio": st.none() | FLOATS | st.integers(-3, 3) | wrong(2**64, 10**400, Decimal("1.5"), "1"),
    "amount": DECIMALS | st.integers(-3, 3) | wrong(None, 1.5, math.nan, "1.00", True),
    "flag": st.booleans() | wrong(None, 0, 1, "true"),
    "seen_at": st.none() | AWARE | NAIVE | wrong(datetime(2024, 1, 1).date(), "2024-01-01"),
    "local_at": st.none() | NAIVE | AWARE | wrong(datetime(2024, 1, 1).date(), 0),
    "blob": st.none() | BYTES | wrong(bytearray(b"ab"), memoryview(b"ab"), "ab", 1),
    "tags": st.sets(tags(), max_size=3) | st.frozensets(tags(), max_size=2) | wrong([], None),
    "spots": st.lists(spots(), max_size=3) | wrong((), None),
    "spot": st.none() | spots() | wrong(Tag("a", 1.0), 1),
}

#: Values that every adapter stores (the rows the spec tests search).
VALID: dict[str, st.SearchStrategy[Any]] = {
    "label": st.text(STORABLE_CHAR, max_size=8),
    "small": st.integers(-INT32, INT32 - 1),
    "big": st.sampled_from([-INT64, INT64 - 1, 0, INT32, -INT32 - 1]) | st.integers(-3, 3),
    "ratio": st.none() | EDGE_FLOATS | st.floats(),
    "amount": st.sampled_from([Decimal("-0.00"), Decimal("9999999999.99"), Decimal("1.25")])
    | st.decimals(places=2, min_value=-3, max_value=3),
    "flag": st.booleans(),
    "seen_at": st.none() | AWARE,
    "local_at": st.none() | NAIVE,
    "blob": st.none() | BYTES,
    "tags": st.sets(tags(valid=True), max_size=3),
    "spots": st.lists(spots(valid=True), max_size=2),
    "spot": st.none() | spots(valid=True),
}


@st.composite
def probes(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1-3 probes' field values, mostly valid, each field possibly an edge or a wrong value."""
    count = draw(st.integers(min_value=1, max_value=3))
    rows = []
    for n in range(count):
        row = {name: draw(VALID[name]) for name in VALID}
        row["code"] = f"P{n}"
        for name in draw(st.sets(st.sampled_from(FIELDS), max_size=3)):
            row[name] = draw(VALUES[name])
        rows.append(row)
    return rows


def _build(row: dict[str, Any], id: UUID) -> Probe:
    """A new probe (its own containers, so no adapter shares a set with another)."""
    copied: dict[str, Any] = {
        name: (type(value)(value) if isinstance(value, (set, frozenset, list)) else value)
        for name, value in row.items()
    }
    return Probe(id=id, **copied)


# -- comparing what comes back ---------------------------------------------------------------------


def _same(value: object) -> object:  # noqa: PLR0911 - one form per kind of value
    """A form equal between two values exactly when they are the same stored value."""
    match value:
        case float():
            if math.isnan(value):
                return ("float", "nan")
            return ("float", value, math.copysign(1.0, value))
        case Decimal():
            return ("Decimal", str(value))
        case datetime():
            aware = value.utcoffset() is not None
            instant = value.astimezone(UTC) if aware else value
            # The instant and the awareness (``fold``, which ``==`` ignores, is not compared).
            return ("datetime", aware, instant.replace(tzinfo=None))
        case Tag() | Spot():
            return (type(value).__name__, *(_same(getattr(value, f.name)) for f in fields(value)))
        case set() | frozenset():
            return (type(value).__name__, sorted(repr(_same(item)) for item in value))
        case list() | tuple():
            return (type(value).__name__, [_same(item) for item in value])
        case _:
            return (type(value).__name__, value)


def _snapshot(probe: Probe) -> dict[str, object]:
    return {"version": probe.version, **{name: _same(getattr(probe, name)) for name in FIELDS}}


# -- adapters --------------------------------------------------------------------------------------

ADAPTERS = ("memory", "duckdb-memory", "duckdb-file", "postgresql")


@dataclass
class Adapters:
    """The event loop and the two databases kept open for the module's examples."""

    runner: asyncio.Runner
    databases: dict[str, Database]
    mapping: Mapping

    def factories(self) -> dict[str, Factory]:
        """A new memory store and the DuckDB ones, emptied."""

        async def empty() -> None:
            for database in self.databases.values():
                async with database.engine.begin() as connection:
                    await connection.execute(sa.text("DELETE FROM probes"))

        self.runner.run(empty())
        found: dict[str, Factory] = {"memory": InMemoryUnitOfWork.factory(Lab)}
        for kind, database in self.databases.items():
            found[kind] = SqlAlchemyUnitOfWork.factory(Lab, database=database, mapping=self.mapping)
        return found

    def each[T](
        self, work: Callable[[Factory], Coroutine[Any, Any, T]], factories: dict[str, Factory]
    ) -> dict[str, T]:
        return {name: self.runner.run(work(new_uow)) for name, new_uow in factories.items()}


@pytest.fixture(scope="module")
def adapters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adapters]:
    directory: Path = tmp_path_factory.mktemp("parity_fidelity")
    mapping = Mapping()
    _map(mapping)
    try:
        with asyncio.Runner() as runner:
            opened = {
                SQL_NAMES[kind]: open_database(kind, directory, mapping) for kind in DATABASE_KINDS
            }
            databases = {name: runner.run(o.__aenter__()) for name, o in opened.items()}
            try:
                yield Adapters(runner, databases, mapping)
            finally:
                for each in opened.values():
                    runner.run(each.__aexit__(None, None, None))
    finally:
        mapping.clear()


def _agree[T](outcomes: dict[str, T], context: object) -> T:
    expected = outcomes["memory"]
    for name, outcome in outcomes.items():
        assert outcome == expected, f"{name} differs from memory for {context!r}:\n{outcomes!r}"
    return expected


async def _everything(new_uow: Factory) -> list[dict[str, object]]:
    async with new_uow() as uow:
        found = await uow.probes.find(None, order_by=[Order("code")])
        return [_snapshot(probe) for probe in found]


IDS = [UUID(int=n + 1) for n in range(3)]

#: A probe every adapter stores; the examples below change one field of it.
BASE: dict[str, Any] = {
    "code": "P0",
    "label": "",
    "small": 0,
    "big": 0,
    "ratio": None,
    "amount": Decimal("0.00"),
    "flag": False,
    "seen_at": None,
    "local_at": None,
    "blob": None,
    "tags": set(),
    "spots": [],
    "spot": None,
}


# -- 1. storing edge values ------------------------------------------------------------------------


@parity_settings(100)
@given(rows=probes())
@example(rows=[{**BASE, "amount": Decimal("-0.00")}])  # memory kept -0.00, DuckDB gave 0.00
@example(rows=[{**BASE, "spot": Spot(0, Tag("", 0))}])  # memory kept int 0, DuckDB gave 0.0
@example(rows=[{**BASE, "ratio": 10**400}])  # memory: OverflowError, DuckDB: OperationalError
@example(rows=[{**BASE, "ratio": -0.0, "label": "a\x00b"}])
@example(rows=[BASE, {**BASE, "label": "x"}])  # a repeated unique code
def test_every_adapter_stores_or_refuses_the_same_values(
    adapters: Adapters, rows: list[dict[str, Any]]
) -> None:
    async def store(new_uow: Factory) -> tuple[str | None, list[dict[str, object]]]:
        error = None
        try:
            async with new_uow() as uow:
                await uow.probes.add_many(
                    _build(row, id) for row, id in zip(rows, IDS, strict=False)
                )
                await uow.commit()
        except Exception as exc:  # the class is the outcome compared
            error = type(exc).__name__
        return error, await _everything(new_uow)

    error, stored = _agree(adapters.each(store, adapters.factories()), rows)
    if error is not None:
        assert stored == [], f"{error} but something was saved"
    else:
        assert len(stored) == len(rows)


# -- 2. JSON containers changed in place -----------------------------------------------------------

OPS = st.one_of(
    st.tuples(st.just("add"), tags()),
    st.tuples(st.just("discard"), st.integers(0, 3)),
    st.tuples(st.just("replace"), st.integers(0, 3), spots()),
    st.tuples(st.just("append"), spots(valid=True)),
    st.tuples(st.just("pop"), st.integers(0, 3)),
)


def _apply(probe: Probe, op: tuple[Any, ...]) -> None:
    match op:
        case ("add", tag):
            probe.tags.add(tag)
        case ("discard", index):
            held = sorted(probe.tags, key=repr)
            probe.tags.discard(held[index] if index < len(held) else Tag("absent", 0.0))
        case ("replace", index, spot):
            if probe.spots:
                probe.spots[index % len(probe.spots)] = spot
        case ("append", spot):
            probe.spots.append(spot)
        case _:
            if probe.spots:
                probe.spots.pop(op[1] % len(probe.spots))


@parity_settings(60)
@given(row=st.fixed_dictionaries(VALID), ops=st.lists(OPS, min_size=1, max_size=4))
def test_json_containers_changed_in_place_are_saved_alike(
    adapters: Adapters, row: dict[str, Any], ops: list[tuple[Any, ...]]
) -> None:
    row = {**row, "code": "P0"}
    probe_id = IDS[0]

    async def change(new_uow: Factory) -> tuple[str | None, list[dict[str, object]], bool]:
        async with new_uow() as uow:
            await uow.probes.add(_build(row, probe_id))
            await uow.commit()
        before = await _everything(new_uow)
        error = None
        try:
            async with new_uow() as uow:
                probe = await uow.probes.get(probe_id)
                for op in ops:
                    _apply(probe, op)
                await uow.commit()
        except Exception as exc:  # the class is the outcome compared
            error = type(exc).__name__
        after = await _everything(new_uow)
        return error, after, before == after

    error, after, unchanged = _agree(adapters.each(change, adapters.factories()), (row, ops))
    (stored,) = after
    if error is not None or unchanged:
        assert stored["version"] == 1
    else:
        assert stored["version"] == 2


# -- 3. specifications over edge values ------------------------------------------------------------

#: Values a spec may compare a field with: stored edge values, and values no column holds.
TARGETS: dict[str, st.SearchStrategy[Any]] = {
    "ratio": FLOATS | st.integers(-3, 3) | wrong(2**64, 10**400, Decimal("1.5")),
    "small": INTS | wrong(1.5, True),
    "big": INTS | wrong(1.5, Decimal(2)),
    "amount": DECIMALS | st.integers(-3, 3) | wrong(1.5, math.nan),
    "seen_at": AWARE | NAIVE,
    "local_at": NAIVE | AWARE,
    "label": TEXT,
    "blob": BYTES,
    "flag": st.booleans() | wrong(1),
    "spot": spots(valid=True),
    "spot.rank": INTS,
    "spot.tag.weight": FLOATS,
}


@st.composite
def leaves(draw: st.DrawFn) -> Spec:
    path = draw(st.sampled_from(sorted(TARGETS)))
    value = TARGETS[path]
    kind = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "between", "none"]))
    target = F(path)
    if kind == "in":
        return target.in_(draw(st.lists(value, min_size=1, max_size=3)))
    if kind == "between":
        return target.between(draw(value), draw(value))
    if kind == "none":
        return target.is_none() if draw(st.booleans()) else target.is_not_none()
    compared = draw(value)
    build: dict[str, Callable[[Any], Spec]] = {
        "==": target.__eq__,
        "!=": target.__ne__,
        "<": target.__lt__,
        "<=": target.__le__,
        ">": target.__gt__,
        ">=": target.__ge__,
    }
    return build[kind](compared)


specs = combined(leaves(), max_leaves=3)


@st.composite
def valid_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=0, max_value=6))
    return [{**draw(st.fixed_dictionaries(VALID)), "code": f"P{n}"} for n in range(count)]


@parity_settings(100)
@given(rows=valid_rows(), spec=specs)
# memory finds nothing; DuckDB raises OperationalError (then UnitOfWorkError for the count)
@example(rows=[], spec=F("ratio") == 10**400)
@example(rows=[{**BASE, "ratio": math.nan}], spec=F("ratio") == math.nan)  # noqa: PLW0177
def test_specs_over_edge_values_find_the_same_probes(
    adapters: Adapters, rows: list[dict[str, Any]], spec: Spec
) -> None:
    ids = [UUID(int=n + 1) for n in range(len(rows))]

    async def search(new_uow: Factory) -> tuple[str, list[str] | str, int | str]:
        async with new_uow() as uow:
            await uow.probes.add_many(_build(row, id) for row, id in zip(rows, ids, strict=True))
            await uow.commit()
        async with new_uow() as uow:
            try:
                found: list[str] | str = [
                    p.code for p in await uow.probes.find(spec, order_by=[Order("code")])
                ]
            except Exception as exc:  # the class is the outcome compared
                found = type(exc).__name__
            try:
                counted: int | str = await uow.probes.count(spec)
            except Exception as exc:
                counted = type(exc).__name__
        return "stored", found, counted

    _agree(adapters.each(search, adapters.factories()), (rows, spec))
