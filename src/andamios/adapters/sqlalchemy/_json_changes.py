"""In-place changes to values stored by :class:`JsonValue`: found before each flush.

SQLAlchemy sees an assignment (``batch.allocations = {...}``) but never a change made inside the
value (``batch.allocations.add(line)``, ``plan.extras.append(3)``, ``terms.prices[0] = ...``):
the attribute still holds the same object, so nothing would be written. The in-memory adapter
compares whole aggregates at commit and saves such changes; this module makes the SQL adapter
save them too.

Every persistent object (aggregate root or child entity) of a mapper with ``JsonValue`` columns
has a snapshot of each such attribute's JSON text, taken when it becomes persistent: loaded (the
mapper's ``load`` and ``refresh`` events), inserted by the ORM (``after_insert``) or by the bulk
path (:meth:`JsonSnapshots.take_all`). Before each flush, :meth:`JsonSnapshots.flag_changes`
compares the current JSON text with the snapshot and ``flag_modified``\\ s the attribute when
they differ, so the flush writes it, the root's version grows and the bulk path takes it (the
flush ledger, :mod:`._flush`, finds it changed); the snapshot becomes the value written. It runs
from ``AggregateSession.flush``, ahead of SQLAlchemy's own test for anything dirty: a session whose
only changes are in place looks clean to SQLAlchemy, which would not flush, nor call the
``before_flush`` listeners, at all. Only mappers with a ``JsonValue`` column get the listeners;
objects of other mappers are never looked at.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import event
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import flag_modified

from andamios.adapters.sqlalchemy._types import JsonValue
from andamios.ports.spi import json_problem

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import QueryContext, Session
    from sqlalchemy.orm.state import InstanceState

__all__ = ["JsonAttribute", "JsonSnapshots", "json_attributes"]


class JsonAttribute(NamedTuple):
    """A mapped attribute stored by a :class:`JsonValue` column, and how to compare its values."""

    key: str
    #: The value's JSON text, as bytes (pydantic's serializer, without ``dump_json``'s wrapper:
    #: measured three times faster, and the snapshot it gives is compared in one ``==``). Values
    #: of the wrong type are left to the checks and the column of the write, without a warning.
    to_json: Callable[[Any], bytes]
    #: The value back from its JSON text.
    validate_json: Callable[[bytes], Any]


_ATTRIBUTES: weakref.WeakKeyDictionary[Mapper[Any], tuple[JsonAttribute, ...]] = (
    weakref.WeakKeyDictionary()
)


def json_attributes(mapper: Mapper[Any]) -> tuple[JsonAttribute, ...]:
    """The attributes of ``mapper`` stored by a :class:`JsonValue` column."""
    found = _ATTRIBUTES.get(mapper)
    if found is None:
        found = tuple(
            JsonAttribute(
                prop.key,
                functools.partial(kind._adapter.serializer.to_json, warnings=False),
                kind._adapter.validate_json,
            )
            for prop in mapper.column_attrs
            if len(prop.columns) == 1 and isinstance(kind := prop.columns[0].type, JsonValue)
        )
        _ATTRIBUTES[mapper] = found
    return found


#: The snapshot of a value that has no JSON text (a lone surrogate in a ``str``): no JSON text
#: is empty, so it differs from every value that has one.
_NOT_JSON = b""


def _json_form(attribute: JsonAttribute, value: object) -> bytes | None:
    """The JSON text of ``value`` (``None`` for ``None``: SQL ``NULL``)."""
    if value is None:
        return None
    try:
        text = attribute.to_json(value)
    except ValueError:  # refused by the write's checks, which say why (a DataError)
        return _NOT_JSON
    if b"null" in text and json_problem(value) is not None:
        # pydantic writes NaN and infinities as null: without this, None -> NaN in place would
        # look unchanged here while memory sees the change (and both refuse it).
        return _NOT_JSON
    return text


class JsonSnapshots:
    """The JSON form, as last written or read, of the ``JsonValue`` attributes of one session's
    persistent objects.

    Held by the session; keyed weakly by instance state, so an object the application drops is
    forgotten with it (a stream of many aggregates is not kept alive).
    """

    __slots__ = ("_taken",)

    def __init__(self) -> None:
        self._taken: weakref.WeakKeyDictionary[InstanceState[Any], dict[str, bytes | None]] = (
            weakref.WeakKeyDictionary()
        )

    def take(self, state: InstanceState[Any]) -> None:
        """Remember the JSON form of the JSON attributes of ``state`` (just made persistent)."""
        values = state.dict
        self._taken[state] = {
            attribute.key: _json_form(attribute, values.get(attribute.key))
            for attribute in json_attributes(state.mapper)
        }

    def retake(self, state: InstanceState[Any], keys: Iterable[str] | None) -> None:
        """The attributes ``keys`` (None: all) of ``state`` were read again from the database."""
        snapshot = self._taken.setdefault(state, {})
        values = state.dict
        for attribute in json_attributes(state.mapper):
            if keys is None or attribute.key in keys:
                snapshot[attribute.key] = _json_form(attribute, values.get(attribute.key))

    def take_all(self, states: Iterable[InstanceState[Any]]) -> None:
        """Remember the JSON attributes of objects that just became persistent together (the
        bulk path's inserts): nothing to do when their mapper has none."""
        for state in states:
            if not json_attributes(state.mapper):
                return  # one mapper for all of them
            self.take(state)

    def flag_changes(self, session: Session) -> None:
        """Flag every JSON attribute changed in place since its snapshot, and take it anew.

        A JSON form that differs only because a set iterates in another order (or a ``Decimal``
        is written with another exponent) is no change when the snapshot read back equals the
        value, as the in-memory adapter's structural comparison decides.
        """
        taken = self._taken
        if not taken:
            return
        hash_key = session.hash_key
        gone: list[InstanceState[Any]] = []
        attributes_of: dict[object, tuple[JsonAttribute, ...]] = {}
        # Weak keys: an object dropped meanwhile leaves once the iteration is done.
        for state, snapshot in taken.items():
            # Persistent in this session (``state.persistent`` without its registry look-up).
            if state.session_id != hash_key or state.key is None or state._deleted:
                gone.append(state)  # expunged, deleted, or made transient to be added anew
                continue
            manager = state.manager
            attributes = attributes_of.get(manager)
            if attributes is None:
                attributes = attributes_of[manager] = json_attributes(state.mapper)
            values = state.dict
            for attribute in attributes:
                key = attribute.key
                if key not in values:
                    continue  # expired (through the raw session): a refresh snapshots it anew
                value = values[key]
                now = _json_form(attribute, value)
                before = snapshot.get(key)
                if now == before:
                    continue
                snapshot[key] = now
                if key in state.committed_state:
                    continue  # assigned anew: the ORM writes it already
                if before and attribute.validate_json(before) == value:
                    continue  # equal values, in another JSON form
                flag_modified(state.obj(), key)
        for state in gone:
            del taken[state]

    def forget(self) -> None:
        """Drop every snapshot (the session's objects were expunged)."""
        self._taken.clear()


def _snapshots(session: object) -> JsonSnapshots | None:
    return getattr(session, "json_snapshots", None)


def _loaded(state: InstanceState[Any], context: QueryContext) -> None:
    snapshots = _snapshots(context.session)
    if snapshots is not None:
        snapshots.take(state)


def _refreshed(state: InstanceState[Any], context: object, keys: Iterable[str] | None) -> None:
    # Also sent, with a token for a context, when a composite() value is first read.
    snapshots = _snapshots(getattr(context, "session", None))
    if snapshots is not None:
        snapshots.retake(state, keys)


def _inserted(mapper: Mapper[Any], connection: Connection, state: InstanceState[Any]) -> None:
    snapshots = _snapshots(state.session)
    if snapshots is not None:
        snapshots.take(state)


@event.listens_for(Mapper, "after_mapper_constructed")
def _watch(mapper: Mapper[Any], class_: type) -> None:
    """Only mappers with a ``JsonValue`` column get the listeners that take snapshots."""
    if not any(isinstance(c.type, JsonValue) for c in mapper.persist_selectable.columns):
        return
    event.listen(mapper, "load", _loaded, raw=True)
    event.listen(mapper, "refresh", _refreshed, raw=True)
    event.listen(mapper, "after_insert", _inserted, raw=True)
