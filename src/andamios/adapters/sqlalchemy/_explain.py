"""Conflict and duplicate errors that name the aggregate, its id and what happened.

A driver tells a conflict or a duplicate in its own words ("TransactionContext Error: Conflict on
tuple deletion!" for an UPDATE, 'Duplicate key "id: 0193..." violates primary key constraint.').
A unit of work knows what it was writing, so its errors say it as the in-memory adapter does, and
keep the driver's words at the end, in parentheses:

- ``Gadget UUID('...') was changed or removed by another unit of work (loaded version 1; ...)``;
- ``Gadget with id UUID('...') already exists (...)``, ``Basket with owner 'ann' already exists``.

What is known where:

- a failing statement names its table; the ORM's UPDATE and DELETE of one row end with the id
  and the version it expects (``WHERE t.id = ? AND t.version = ?``), so its last parameters say
  which aggregate it was;
- a failed flush forgets its objects (the session rolls back), so :class:`Explainer` remembers
  what each flush writes before it runs;
- at COMMIT, only the aggregates this transaction wrote are known: the duplicate key the driver
  reports is matched against their ids and unique columns.

The translation of the driver's error (``SqlDatabase.translate_error``) may set
``duplicate_key`` on a :class:`DuplicateError`: the key as the driver wrote it, ``"sku: a"``
(column: value pairs, joined by ``", "``) or only the values (``"a"``), at COMMIT.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.exc import StaleDataError

from andamios.domain import AggregateRoot
from andamios.ports.errors import ConcurrencyError, DuplicateError, PersistenceError

if TYPE_CHECKING:
    from andamios.adapters.sqlalchemy._session import AggregateSession

__all__ = ["Explainer", "aggregates_in", "explain_duplicate", "name_first", "racing_insert"]

# How many ids a message lists when it cannot tell which of several aggregates it was.
SHOWN = 3

_IDENTIFIER = r'(?:"(?:[^"]|"")*"|[^\s(."]+)'
_DML = re.compile(
    rf"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:{_IDENTIFIER}\.)*(?P<table>{_IDENTIFIER})",
    re.IGNORECASE,
)
_SILENCING_HINT = "Please set confirm_deleted_rows=False"
_INSERT = re.compile(r"\s*INSERT\s", re.IGNORECASE)
# "UPDATE statement on table 'gadgets' expected to update 1 row(s); 0 were matched." (matches
# any text: the groups are None when SQLAlchemy says something else).
_STALE = re.compile(
    r"(?:(?P<op>UPDATE|DELETE) statement on table '(?P<table>[^']*)' expected to \w+ "
    r"(?P<expected>\d+) row\(s\); (?P<matched>\d+) were matched)?"
)


def _table(obj: object) -> sa.Table:
    return cast("sa.Table", instance_state(obj).mapper.local_table)


def _table_name(obj: object) -> str:
    return _table(obj).name


def _id(obj: object) -> object:
    return instance_state(obj).dict.get("id")


def _version(obj: object) -> int | None:
    """The version ``obj`` was loaded with (also while a flush is bumping it); None: unversioned."""
    state = instance_state(obj)
    version = state.committed_state.get("version", state.dict.get("version"))
    return version if isinstance(version, int) else None


def name_first(objects: Sequence[object]) -> str:
    """The ids of the first :data:`SHOWN` of ``objects``, and "..." if there are more."""
    shown = ", ".join(repr(_id(each)) for each in objects[:SHOWN])
    return f"{shown}, ..." if len(objects) > SHOWN else shown


def _changed(objects: Sequence[object], error: PersistenceError, stale: int | None) -> str:
    first = objects[0]
    kind = type(first).__name__
    if len(objects) == 1:
        version = _version(first)
        said = str(error) if version is None else f"loaded version {version}; {error}"
        return f"{kind} {_id(first)!r} was changed or removed by another unit of work ({said})"
    how_many = "some" if stale is None else str(stale)
    return (
        f"{how_many} of {len(objects)} {kind} aggregates were changed or removed by another unit "
        f"of work, among {name_first(objects)} ({error})"
    )


def _unquoted(identifier: str) -> str:
    if identifier.startswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier


# -- duplicates -----------------------------------------------------------------------------------


def _unique_keys(table: sa.Table) -> list[tuple[sa.Column[Any], ...]]:
    """Every unique key of ``table`` (its columns), the primary key first."""
    more = [tuple(c.columns) for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
    more += [tuple(i.columns) for i in table.indexes if i.unique and i.columns]
    more.sort(key=lambda columns: [column.name for column in columns])
    return list(dict.fromkeys([tuple(table.primary_key.columns), *more]))


def _texts(key: str, columns: Sequence[sa.Column[Any]]) -> list[str] | None:
    """The value of each of ``columns`` in a duplicate key as the driver wrote it, or None."""
    named = ", ".join(f"{re.escape(column.name)}: (.*)" for column in columns)
    found = re.fullmatch(named, key, re.DOTALL)
    if found is not None:
        return list(found.groups())
    values = key.split(", ") if len(columns) > 1 else [key]
    return values if len(values) == len(columns) else None


def _written_as(text: str, value: object) -> bool:
    """Whether the driver writes ``value`` as ``text`` (``1.50`` for ``Decimal("1.5")``)."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        try:
            return Decimal(text) == Decimal(str(value))
        except InvalidOperation:
            return False
    # DuckDB writes booleans as true and false.
    return text == (str(value).lower() if isinstance(value, bool) else str(value))


def _duplicated(key: str, objects: Iterable[object]) -> str | None:
    """``Kind with field value`` for the first of ``objects`` holding ``key``, or None."""
    for obj in objects:
        state = instance_state(obj)
        fields = {prop.columns[0]: prop.key for prop in state.mapper.column_attrs}
        for columns in _unique_keys(_table(obj)):
            texts = _texts(key, columns)
            names = [fields.get(column) for column in columns]
            if texts is None or None in names:
                continue
            values = [state.dict.get(name) for name in names if name is not None]
            if all(_written_as(t, v) for t, v in zip(texts, values, strict=True)):
                held = ", ".join(f"{n} {v!r}" for n, v in zip(names, values, strict=True))
                return f"{type(obj).__name__} with {held}"
    return None


def explain_duplicate(error: DuplicateError, objects: Sequence[object]) -> PersistenceError:
    """``error`` naming which of ``objects`` (the aggregates written) already exists.

    ``Gadget with id UUID('...') already exists (<the driver's words>)``; when the key is none
    of their ids and unique values (a child's, a value the driver writes otherwise): the one
    written, or how many and the first ids.
    """
    key = getattr(error, "duplicate_key", None)
    if key is None or not objects:
        return error
    found = _duplicated(key, objects)
    if found is not None:
        message = f"{found} already exists ({error})"
    elif len(objects) == 1:
        kind, id = type(objects[0]).__name__, _id(objects[0])
        message = f"a key of {kind} {id!r} already exists: {key!r} ({error})"
    else:
        message = (
            f"a key of one of the {len(objects)} aggregates this unit of work wrote already "
            f"exists: {key!r}; they include {name_first(objects)} ({error})"
        )
    explained = DuplicateError(message)
    explained.__cause__ = error.__cause__
    return explained


def aggregates_in(objects: Sequence[object]) -> list[object]:
    """The aggregates among ``objects`` (the written roots, not their child entities), or all
    of ``objects`` if none is an aggregate."""
    roots: list[object] = [each for each in objects if isinstance(each, AggregateRoot)]
    return roots or list(objects)


def racing_insert(error: PersistenceError, objects: Sequence[object]) -> DuplicateError:
    """An INSERT of ``objects`` that waited on a key another unit of work wrote and has not
    committed.

    Only a server that makes writers wait (PostgreSQL, until ``lock_timeout``) reports this;
    DuckDB lets both insert and refuses the second COMMIT with a duplicate key. The same error
    class either way: the key is taken, by a writer this one cannot see yet.
    """
    named = name_first(objects) if objects else "an aggregate"
    kind = type(objects[0]).__name__ if objects else "aggregate"
    return DuplicateError(
        f"a key of {kind} {named} is being written by another unit of work that has not "
        f"committed yet ({error})"
    )


# -- the unit of work's explainer ---------------------------------------------------------------


class Explainer:
    """Names the aggregate in the conflict and duplicate errors of one unit of work's session."""

    __slots__ = ("_session",)

    def __init__(self, session: AggregateSession) -> None:
        self._session = session

    @property
    def _flushed(self) -> tuple[tuple[object, ...], tuple[object, ...], tuple[object, ...]]:
        """What the current (or last) flush writes: new, changed and deleted objects."""
        return self._session.flushed

    def explain(
        self, error: PersistenceError, cause: BaseException, session: AggregateSession
    ) -> PersistenceError:
        """``error`` (translated from ``cause``) saying which aggregate, when it can tell."""
        if isinstance(error, DuplicateError):
            if getattr(cause, "statement", None) is None:
                # At COMMIT: the aggregates this transaction wrote (before they are forgotten).
                written = [aggregate for aggregate, _ in session.versions_before.values()]
                written += [aggregate for batch, _ in session.inserted for aggregate in batch]
                return explain_duplicate(error, written)
            new, dirty, _ = self._flushed
            return explain_duplicate(error, aggregates_in([*new, *dirty]))
        if not isinstance(error, ConcurrencyError):
            return error
        if isinstance(cause, StaleDataError):
            explained: PersistenceError = ConcurrencyError(self._stale(error, str(cause)))
        elif _INSERT.match(getattr(cause, "statement", None) or ""):
            explained = self._racing_insert(error, cause)
        else:
            explained = ConcurrencyError(self._conflict(error, cause))
        explained.__cause__ = error.__cause__
        return explained

    def _stale(self, error: PersistenceError, said: str) -> str:
        """A versioned UPDATE or DELETE matched fewer rows than it expected."""
        found = _STALE.match(said)
        assert found is not None  # the pattern matches any text
        _, dirty, deleted = self._flushed
        removing = found["op"] == "DELETE"
        table = found["table"]
        candidates = [o for o in (deleted if removing else dirty) if _table_name(o) == table]
        expected, matched = found["expected"], found["matched"]
        stale = None if expected is None else int(expected) - int(matched)
        # SQLAlchemy's advice to silence its check is not the user's remedy (a retry is).
        plain = ConcurrencyError(str(error).split(_SILENCING_HINT)[0].rstrip())
        return _changed(candidates or [*dirty, *deleted], plain, stale)

    def _racing_insert(self, error: PersistenceError, cause: BaseException) -> DuplicateError:
        """An INSERT that waited on a key another unit of work wrote and has not committed."""
        statement = getattr(cause, "statement", None) or ""
        match = _DML.match(statement)
        table = None if match is None else _unquoted(match["table"])
        new, dirty, _ = self._flushed
        of_table = [o for o in new if _table_name(o) == table] or list(new)
        if not all(isinstance(o, AggregateRoot) for o in of_table):
            of_table = aggregates_in([*new, *dirty])  # a child's key: name what was written
        return racing_insert(error, of_table)

    def _conflict(self, error: PersistenceError, cause: BaseException) -> str:
        """A statement collided with another transaction's write of the same row."""
        statement = getattr(cause, "statement", None) or ""
        match = _DML.match(statement)
        table = None if match is None else _unquoted(match["table"])
        new, dirty, deleted = self._flushed
        flushed = [*dirty, *deleted, *new]
        of_table = [o for o in flushed if _table_name(o) == table] or flushed
        # The ORM's per-row UPDATE and DELETE end with "WHERE id = ? AND version = ?" (an
        # unversioned child's with the id); executemany sends a list of such rows.
        params = getattr(cause, "params", None)
        rows = params if isinstance(params, list) else [params]
        versioned = _version(of_table[0]) is not None
        ids = [row[-2] if versioned else row[-1] for row in rows if isinstance(row, tuple) and row]
        concerned = [o for o in of_table if _id(o) in ids] or of_table
        return _changed(concerned, error, None)
