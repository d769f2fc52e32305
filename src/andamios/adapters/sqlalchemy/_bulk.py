"""The bulk path: many aggregates of one type written in one statement over staged rows.

When a unit of work inserts, updates or deletes at least :data:`BULK_THRESHOLD` aggregates of
one type at once, and its database supplies a
:class:`~andamios.adapters.sql_spi.BulkStager` (DuckDB: an Arrow table; PostgreSQL: ``COPY``
into a temporary table), this module stages their columns, converted as the stager says for
each mapped column, and runs one statement on the unit of work's own connection, inside its
transaction:

- insert: ``INSERT INTO t (...) SELECT ... FROM andamios_staged``;
- update: ``UPDATE t SET ... , version = t.version + 1 FROM andamios_staged AS staged WHERE
  t.id = staged.id AND t.version = staged.andamios_expected RETURNING t.id`` (RETURNING: see
  ADR 0004, decision 3);
- delete: ``DELETE FROM t USING andamios_staged AS staged WHERE ... RETURNING t.id``.

Fewer rows back than staged means another unit of work changed or removed some of them: the
whole commit fails with :class:`ConcurrencyError` naming how many. Afterwards the session holds
the aggregates exactly as if the ORM had flushed them (identity map, committed state, versions),
so later changes are tracked and ``get`` returns the same objects (``docs/adr/0006-bulk-path.md``).

The writer decides nothing about a flush and keeps no books: the flush ledger
(:mod:`._flush`) tells it which groups to write and records what each statement returns (the
versions the rows had before), for a rollback to restore.
"""

from __future__ import annotations

import contextlib
import gc
import operator
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.state import InstanceState

from andamios.adapters.sql_spi import STAGED, BulkStager, Convert
from andamios.adapters.sqlalchemy._mapping import AggregateMapping, Mapping
from andamios.domain import AggregateRoot, Digits
from andamios.ports.errors import ConcurrencyError, DataError, DuplicateError, PersistenceError
from andamios.ports.spi import check_all, check_stored, storage_rules

__all__ = ["BULK_THRESHOLD", "BulkWriter", "no_gc"]

#: From this many aggregates of one type in one flush on, inserts, updates and deletes take the
#: Arrow path. Measured (ADR 0006): with 1 the ORM is a little faster; from 5 on, Arrow never is
#: slower, for inserts and (one ``UPDATE ... RETURNING`` per row on the ORM path) updates.
BULK_THRESHOLD = 5

type Translate = Callable[[BaseException], PersistenceError]

#: Told what :meth:`BulkWriter.insert` inserted: the session, the batch, the versions it had.


@dataclass(frozen=True, slots=True)
class _Column:
    """One mapped column: the attribute holding it, its name (quoted: ``sql``), its conversion."""

    key: str
    column: sa.Column[Any]
    sql: str
    convert: Convert


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to write one aggregate type in bulk (``None`` columns: the type cannot be)."""

    table: str
    id: _Column
    version: _Column
    columns: tuple[_Column, ...]
    identity_class: type
    #: The fields whose conversion refuses what their ``Digits`` refuses (:func:`_strict_digits`).
    converted_strictly: frozenset[str] = frozenset()


type _PlansOf = weakref.WeakKeyDictionary[sa.Dialect, dict[BulkStager, _Plan | None]]

#: The bulk plans made, by mapper, dialect and stager (they go with their mapper or dialect).
_PLANS: weakref.WeakKeyDictionary[Mapper[Any], _PlansOf] = weakref.WeakKeyDictionary()


def _plan(mapping: AggregateMapping, dialect: sa.Dialect, stager: BulkStager) -> _Plan | None:
    """The bulk plan of an aggregate type, or None if its mapping needs the ORM."""
    mapper = mapping.mapper
    if mapper.relationships or mapper.inherits is not None:
        return None
    columns: list[_Column] = []
    preparer = dialect.identifier_preparer
    by_column = {prop.columns[0]: prop.key for prop in mapper.column_attrs}
    for column in mapping.table.columns:
        key = by_column.get(column)
        if key is None:
            continue  # not mapped: map() made sure a default or NULL fills it, as the ORM does
        convert = stager.converter(column, dialect)
        if convert is None:
            return None
        columns.append(_Column(key, column, preparer.quote(column.name), convert))
    by_key = {column.key: column for column in columns}
    return _Plan(
        table=preparer.format_table(mapping.table),
        id=by_key["id"],
        version=by_key["version"],
        columns=tuple(columns),
        identity_class=mapper._identity_class,
        converted_strictly=_strict_digits(mapping.aggregate_type, columns, stager),
    )


def _strict_digits(kind: type, columns: Iterable[_Column], stager: BulkStager) -> frozenset[str]:
    """The ``Decimal`` fields whose staged conversion refuses exactly what their rule refuses.

    That is a field whose only constraint is ``Digits(p, s)``, stored as is (no type decorator)
    in a ``NUMERIC(p, s)`` column, with a stager that says its conversion refuses a value that
    does not fit one (``refuses_unfit_decimals``: DuckDB's Arrow ``decimal128(p, s)``, which
    raises on a lost digit, an overflow or a value that is not finite). Their values' types are
    still checked before the conversion; quantizing each value there too cost more than the
    INSERT of 10,000 aggregates.
    """
    if not getattr(stager, "refuses_unfit_decimals", False):
        return frozenset()
    rules = storage_rules(kind).by_name
    strict = set()
    for column in columns:
        rule, kind_of_column = rules.get(column.key), column.column.type
        if (
            rule is not None
            and rule.kind is Decimal
            and not rule.json
            and type(kind_of_column) is sa.Numeric
            and kind_of_column.precision is not None
            and rule.constraints == (Digits(kind_of_column.precision, kind_of_column.scale or 0),)
        ):
            strict.add(column.key)
    return frozenset(strict)


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while many objects are made and registered.

    With 100,000 aggregates alive, every collection the allocations trigger walks them all:
    measured, that tripled the cost of registering them. Nothing cyclic is freed meanwhile.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _values(aggregates: Sequence[Any], states: list[dict[str, Any]], key: str) -> list[Any]:
    """The values of attribute ``key``; ``states`` are the aggregates' ``__dict__``."""
    try:
        # Constructed and loaded aggregates keep their values in __dict__: a C-speed loop.
        return list(map(operator.itemgetter(key), states))
    except KeyError:
        # An expired or deferred attribute is read through the instrumentation.
        return [getattr(aggregate, key) for aggregate in aggregates]


class BulkWriter:
    """Writes many aggregates of one type per statement for one unit of work's session."""

    __slots__ = (
        "_dialect",
        "_mapping",
        "_stager",
        "_translate",
        "threshold",
    )

    def __init__(
        self,
        mapping: Mapping,
        dialect: sa.Dialect,
        translate: Translate,
        threshold: int,
        stager: BulkStager | None,
    ) -> None:
        self._mapping = mapping
        self._dialect = dialect
        self._translate = translate
        self._stager = stager
        self.threshold = threshold

    @property
    def mapping(self) -> Mapping:
        """The mapping whose aggregates this writer writes."""
        return self._mapping

    def plan(self, mapping: AggregateMapping) -> _Plan | None:
        """The bulk plan of ``mapping``'s aggregate, or None if it must go through the ORM."""
        stager = self._stager
        if stager is None:
            return None
        # Made once per mapper, dialect and stager, not per unit of work: 1.1 ms of the 36 an
        # add_many of 10,000 took (its column conversions are built from the column types).
        by_dialect = _PLANS.get(mapping.mapper)
        if by_dialect is None:
            by_dialect = _PLANS[mapping.mapper] = weakref.WeakKeyDictionary()
        plans = by_dialect.get(self._dialect)
        if plans is None:
            plans = by_dialect[self._dialect] = {}
        if stager not in plans:
            plans[stager] = _plan(mapping, self._dialect, stager)
        return plans[stager]

    def takes(self, mapping: AggregateMapping, count: int) -> bool:
        """Whether ``count`` aggregates of ``mapping``'s type go through the bulk path."""
        return count >= self.threshold and self.plan(mapping) is not None

    # -- the statements ------------------------------------------------------------------------

    def _table(
        self,
        aggregates: Sequence[Any],
        columns: Iterable[_Column],
        extra: Sequence[tuple[sa.Column[Any], Any]] = (),
        *,
        read: dict[str, list[Any]] | None = None,
    ) -> list[tuple[sa.Column[Any], Any]]:
        """The staged ``columns`` of ``aggregates``, then ``extra`` ready-made ones (``read``:
        the columns' values, read already)."""
        staged: list[tuple[sa.Column[Any], Any]] = []
        if read is None:
            states = list(map(_DICT, aggregates))
            read = {column.key: _values(aggregates, states, column.key) for column in columns}
        for column in columns:
            values = read[column.key]
            try:
                staged.append((column.column, column.convert(values)))
            except Exception as error:  # any value the stager cannot convert
                raise _unfit(aggregates, column, values) from error
        staged.extend(extra)
        return staged

    def _versions(self, versions: list[int]) -> tuple[sa.Column[Any], Any]:
        """The staged ``andamios_expected`` column: the version each row must still have."""
        stager = self._stager
        assert stager is not None  # a plan exists, so a stager does
        convert = stager.converter(_EXPECTED, self._dialect)
        assert convert is not None  # every stager converts a BIGINT
        return _EXPECTED, convert(versions)

    def _execute(
        self,
        session: Session,
        staged: Sequence[tuple[sa.Column[Any], Any]],
        sql: str,
        aggregates: Sequence[Any],
    ) -> list[Any]:
        """Run ``sql`` over ``staged`` (of ``aggregates``); return the rows it returned."""
        stager = self._stager
        assert stager is not None  # a plan exists, so a stager does
        try:
            rows = stager.run(session.connection(), staged, sql)
        except Exception as error:
            from andamios.adapters.sqlalchemy._explain import (  # noqa: PLC0415 - errors only
                explain_duplicate,
                racing_insert,
            )

            translated = self._translate(error)
            if isinstance(translated, DuplicateError):
                translated = explain_duplicate(translated, aggregates)
            elif isinstance(translated, ConcurrencyError) and sql.startswith("INSERT"):
                translated = racing_insert(translated, aggregates)
            raise translated from translated.__cause__ or error
        return rows

    def _plan_of(self, aggregates: Sequence[Any]) -> tuple[AggregateMapping, _Plan]:
        mapping = self._mapping.aggregate_mapping(type(aggregates[0]))
        plan = self.plan(mapping)
        assert plan is not None
        return mapping, plan

    def insert_rows(self, session: Session, aggregates: Sequence[AggregateRoot[Any]]) -> list[int]:
        """INSERT new ``aggregates`` (one type), make them persistent in ``session``; return
        the versions they had before (now 1), for a rollback to restore."""
        _, plan = self._plan_of(aggregates)
        columns = [c for c in plan.columns if c is not plan.version]
        # Each column read once, for the checks and the staged table (one pass over the
        # aggregates' dictionaries per column instead of two).
        states = list(map(_DICT, aggregates))
        read = {column.key: _values(aggregates, states, column.key) for column in columns}
        check_all(aggregates, read, typed_only=plan.converted_strictly)
        with no_gc():
            ones = plan.version.convert([1] * len(aggregates))
            try:
                table = self._table(aggregates, columns, [(plan.version.column, ones)], read=read)
            except DataError:
                # A value the conversion refused: the error is the full check's where a rule
                # refuses it (as on every adapter), the conversion's own only where none does.
                for aggregate in aggregates:
                    check_stored(aggregate)
                raise
        names = ", ".join(c.sql for c in (*columns, plan.version))
        self._execute(
            session,
            table,
            f"INSERT INTO {plan.table} ({names}) SELECT {names} FROM {STAGED}",
            aggregates,
        )
        with no_gc():
            return _make_persistent(session, plan, states)

    def update(self, session: Session, aggregates: Sequence[AggregateRoot[Any]]) -> list[int]:
        """UPDATE changed, loaded ``aggregates`` (one type), checking every version at once;
        return the versions they were loaded with (each is one more now)."""
        mapping, plan = self._plan_of(aggregates)
        states = list(map(instance_state, aggregates))
        values = list(map(_DICT, aggregates))  # loaded aggregates: instrumented, in __dict__
        committed = list(map(_COMMITTED, states))
        changed = set().union(*committed)
        columns = [c for c in plan.columns if c.key in changed and c not in (plan.id, plan.version)]
        # The version each was loaded with: its committed value if changed since, else its own.
        loaded: list[int] = list(map(dict.get, committed, repeat("version"), map(_VERSION, values)))
        target = plan.table
        assignments = [f"{c.sql} = staged.{c.sql}" for c in columns]
        assignments.append(f"{plan.version.sql} = {target}.{plan.version.sql} + 1")
        self._check_all(
            session,
            mapping,
            self._table(aggregates, (plan.id, *columns), [self._versions(loaded)]),
            f"UPDATE {target} SET {', '.join(assignments)} FROM {STAGED} AS staged "
            f"WHERE {target}.{plan.id.sql} = staged.{plan.id.sql} "
            f"AND {target}.{plan.version.sql} = staged.andamios_expected "
            f"RETURNING {target}.{plan.id.sql}",
            aggregates=aggregates,
            loaded=loaded,
        )
        for held, version in zip(values, loaded, strict=True):
            held["version"] = version + 1
        # SQLAlchemy's own loop, told no identity map: with one it measures the map's length
        # per object (a fifth of this method at 10,000); the modified set is emptied at once.
        InstanceState._commit_all_states(zip(states, values, strict=True))
        session.identity_map._modified.difference_update(states)
        return loaded

    def delete(self, session: Session, aggregates: Sequence[AggregateRoot[Any]]) -> None:
        """DELETE removed ``aggregates`` (one type), checking every version at once."""
        mapping, plan = self._plan_of(aggregates)
        loaded = [_committed_version(instance_state(a)) for a in aggregates]
        target = plan.table
        self._check_all(
            session,
            mapping,
            self._table(aggregates, (plan.id,), [self._versions(loaded)]),
            f"DELETE FROM {target} USING {STAGED} AS staged "
            f"WHERE {target}.{plan.id.sql} = staged.{plan.id.sql} "
            f"AND {target}.{plan.version.sql} = staged.andamios_expected "
            f"RETURNING {target}.{plan.id.sql}",
            aggregates=aggregates,
            loaded=loaded,
        )
        for aggregate in aggregates:
            session.expunge(aggregate)

    def _check_all(
        self,
        session: Session,
        mapping: AggregateMapping,
        staged: Sequence[tuple[sa.Column[Any], Any]],
        sql: str,
        *,
        aggregates: Sequence[AggregateRoot[Any]],
        loaded: list[int],
    ) -> None:
        """Run ``sql``, which returns the id of each row it wrote: every aggregate's, or none."""
        kind, count = mapping.aggregate_type.__name__, len(aggregates)
        try:
            rows = self._execute(session, staged, sql, aggregates)
        except ConcurrencyError as error:
            from andamios.adapters.sqlalchemy._explain import name_first  # noqa: PLC0415

            # A writer whose change this transaction's snapshot cannot see: DuckDB tells only
            # that there was a conflict, not with which row nor how many it would have hit.
            msg = (
                f"some of {count} {kind} aggregates were changed or removed by another unit of "
                f"work, among {name_first(aggregates)} ({error}); nothing was saved"
            )
            raise ConcurrencyError(msg) from error.__cause__
        if len(rows) < count:
            # Compared as the driver returns them: what the id column stores, as text.
            column = mapping.mapper.primary_key[0]
            process = column.type.bind_processor(self._dialect) or _as_it_is
            written = {str(row[0]) for row in rows}
            stale = [
                (aggregate, version)
                for aggregate, version in zip(aggregates, loaded, strict=True)
                if str(process(aggregate.id)) not in written
            ]
            first = (
                f"; the first: {kind} {stale[0][0].id!r} (loaded version {stale[0][1]})"
                if stale
                else ""
            )
            msg = (
                f"{count - len(rows)} of {count} {kind} aggregates were changed or removed by "
                f"another unit of work{first}; nothing was saved"
            )
            raise ConcurrencyError(msg)


def _as_it_is(value: Any) -> Any:
    return value


def _committed_version(state: InstanceState[Any]) -> int:
    """The version an aggregate was loaded with (its committed value, even if changed since)."""
    return cast("int", state.committed_state.get("version", state.dict["version"]))


_COMMITTED = operator.attrgetter("committed_state")
#: An instrumented object's dictionary: its values and its InstanceState (constructed or loaded).
_DICT = operator.attrgetter("__dict__")
_VERSION = operator.itemgetter("version")

#: The staged column of the versions an UPDATE or DELETE expects (see :meth:`BulkWriter.update`).
_EXPECTED: sa.Column[int] = sa.Column("andamios_expected", sa.BigInteger())


def _unfit(aggregates: Sequence[Any], column: _Column, values: list[Any]) -> DataError:
    """A DataError naming the first aggregate whose value of ``column`` cannot be stored."""
    for aggregate, value in zip(aggregates, values, strict=True):
        try:
            column.convert([value])
        except Exception as each:
            kind = type(aggregate)
            msg = (
                f"{kind.__name__} {aggregate.id!r}: {column.key} = {value!r} does not fit its "
                f"column {column.sql}: {each}"
            )
            return DataError(msg, aggregate_type=kind, aggregate_id=aggregate.id, field=column.key)
    # A batch fails only if one of its values does.
    msg = f"no single value of {column.key} fails alone"  # pragma: no cover - see above
    raise AssertionError(msg)  # pragma: no cover - see above


def _make_persistent(session: Session, plan: _Plan, held: list[dict[str, Any]]) -> list[int]:
    """Put just-inserted aggregates (``held``: their ``__dict__``) in the identity map, clean,
    at version 1 (as a flush does); return the versions they had before.

    What SQLAlchemy's loader does for a row it loads (``state.key``, the identity map's
    ``_add_unpresent`` and ``InstanceState._commit_all_states``), inlined into one loop: at
    100,000 aggregates the calls cost more than the INSERT. Aggregates on the bulk path are
    transient, so neither expired (this adapter never expires) nor held strongly by a session
    (``_strong_obj`` is None), and have no relationships (no pending collection mutations).
    Pinned by the tests.
    """
    identity_map = session.identity_map
    table = identity_map._dict
    weak_map = identity_map._wr
    hash_key = session.hash_key
    identity_class = plan.identity_class
    id_key, version = plan.id.key, plan.version.key
    versions: list[int] = list(map(operator.itemgetter(version), held))
    for values in held:
        state = values[_STATE]
        key = (identity_class, (values[id_key],), None)
        state.key = key
        state.session_id = hash_key
        table[key] = state
        state._instance_dict = weak_map
        values[version] = 1
        state.committed_state.clear()
        state.modified = False
    return versions


#: Where an instrumented object holds its InstanceState (SQLAlchemy's default instrumentation).
_STATE = "_sa_instance_state"
