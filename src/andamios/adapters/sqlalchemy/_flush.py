"""The flush ledger: what one flush writes, found once, for the ORM and the bulk path alike.

Before every flush of an :class:`~._session.AggregateSession` (its ``before_flush`` event),
:class:`FlushLedger` walks ``session.new``, ``session.dirty`` (asking ``is_modified`` once per
object) and ``session.deleted`` once, and from that one pass:

- stamps the audit timestamps of what is inserted, or changed first in this transaction;
- checks what is written against the rules every adapter applies (with a bulk writer);
- sends large groups of one aggregate type through the :class:`~._bulk.BulkWriter`
  (``DELETE``, ``INSERT``, ``UPDATE`` over staged rows) and records what each statement
  returns (the versions the rows had before) in the session's books, for a rollback;
- versions what is left to the ORM: ``1`` for an insert, ``version + 1`` (computed by the
  database, ``WHERE version = <loaded>``) for the first change of an aggregate in a transaction.

An aggregate changes when its own fields or its collections of children do, or when a field of
one of its child entities does: the root's version guards the whole aggregate.

The writer keeps no books; the session keeps them (``versions_before``, ``inserted``,
``stamps_before``, ``pending``) and this module is the one that writes them during a flush.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from itertools import compress, repeat
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.attributes import _ScalarAttributeImpl, instance_state
from sqlalchemy.orm.base import PassiveFlag
from sqlalchemy.orm.instrumentation import ClassManager
from sqlalchemy.orm.state import InstanceState

from andamios.adapters.sqlalchemy._bulk import BulkWriter, no_gc
from andamios.adapters.sqlalchemy._session import AggregateSession
from andamios.domain import AggregateRoot
from andamios.ports.spi import (
    audit_fields,
    check_all,
    check_stored,
    storage_rules,
    version_written,
)

__all__ = ["FlushLedger", "is_modified", "record_inserted"]

type Groups = dict[type, list[AggregateRoot[Any]]]


class FlushLedger:
    """What one flush of ``session`` writes: found once, then stamped, checked, written, versioned.

    ``new``, ``changed`` and ``removed`` group, by type, the aggregates of the writer's mapping
    the flush inserts, changes (their own columns) and deletes; ``others`` are the other objects
    it inserts or changes (child entities, classes mapped straight in the registry), checked
    one by one; ``first`` are the stored aggregates it changes first in this transaction (their
    own fields or a child's), whose version grows.
    """

    __slots__ = ("changed", "first", "new", "new_roots", "others", "removed", "session")

    def __init__(self, session: AggregateSession) -> None:
        self.session = session
        writer = session.writer
        mapped = _nothing_mapped if writer is None else writer.mapping.is_mapped
        #: Every aggregate root the flush inserts (stamped and versioned, whatever its mapping).
        added = list(session.new)
        self.new_roots: list[AggregateRoot[Any]] = [
            each for each in added if isinstance(each, AggregateRoot)
        ]
        self.new: Groups = _grouped(self.new_roots, mapped)
        # Session.dirty's states (changed, not removed), without its IdentitySet of objects;
        # is_modified once per dirty object of this flush.
        dirty = list(session.identity_map._modified - session._deleted.keys())
        modified = list(map(_OBJECT, compress(dirty, map(is_modified, dirty))))
        roots: list[AggregateRoot[Any]] = [m for m in modified if isinstance(m, AggregateRoot)]
        children = [m for m in modified if not isinstance(m, AggregateRoot)]
        self.first = _first_changes(session, roots, children)
        self._stamp(roots, children)
        self.changed: Groups = _grouped(roots, mapped)
        # Child entities, and classes mapped straight in the registry: checked one by one.
        new, changed = self.new, self.changed
        self.others: list[object] = [each for each in added if type(each) not in new]
        self.others += [each for each in (*roots, *children) if type(each) not in changed]
        self.removed: Groups = {}
        for each in session.deleted:
            if isinstance(each, AggregateRoot) and mapped(type(each)):
                self.removed.setdefault(type(each), []).append(each)

    def _stamp(self, roots: list[AggregateRoot[Any]], children: list[object]) -> None:
        """Stamp what this flush inserts, or changes first in this transaction.

        A root changed only through a child and stamped now has a changed field of its own:
        it joins ``roots`` (written, and checked, with the roots changed themselves).
        """
        session = self.session
        session.stamp(self.new_roots, new=True)
        stamped = [a for a in self.first if audit_fields(type(a)).updated is not None]
        session.stamp(stamped, new=False)
        if children and stamped:
            seen = {id(root) for root in roots}
            roots += [a for a in stamped if id(a) not in seen and is_modified(instance_state(a))]

    def check(self, writer: BulkWriter) -> None:
        """Refuse what the flush would store changed (the same rules as every adapter)."""
        session = self.session
        for kind, group in self.new.items():
            if not writer.takes(writer.mapping.aggregate_mapping(kind), len(group)):
                check_all(group)  # else the bulk insert checks them
        for group in self.changed.values():
            committed = list(map(_COMMITTED, map(instance_state, group)))
            # Only an aggregate whose version was assigned has one in its committed state.
            for aggregate in compress(group, map(operator.contains, committed, repeat("version"))):
                _check_version(session, aggregate)
            check_all(group, skip=_unassigned(group, committed))
        for each in self.others:
            check_stored(each)

    def write(self, writer: BulkWriter) -> None:
        """Write the large groups through the bulk path, and record what it wrote."""
        session = self.session
        mapping = writer.mapping
        for kind, group in self.removed.items():
            if writer.takes(mapping.aggregate_mapping(kind), len(group)):
                writer.delete(session, group)
        for kind, group in self.new.items():
            if writer.takes(mapping.aggregate_mapping(kind), len(group)):
                for aggregate in group:
                    session.expunge(aggregate)
                    session.pending.pop((kind, aggregate.id), None)
                record_inserted(session, group, writer.insert_rows(session, group))
        versions = session.versions_before
        firsts = set(map(id, self.first))
        for kind, group in self.changed.items():
            first = list(compress(group, map(firsts.__contains__, map(id, group))))
            if writer.takes(mapping.aggregate_mapping(kind), len(first)):
                loaded = writer.update(session, first)
                versions.update(zip(map(id, first), zip(first, loaded, strict=True), strict=True))

    def version(self) -> None:
        """Version what the ORM writes: 1 if inserted, one more if changed first now."""
        session = self.session
        versions = session.versions_before
        for aggregate in self.new_roots:
            if not instance_state(aggregate).pending:
                continue  # inserted by the bulk path, which recorded it
            # Kept if already there: an aggregate removed and added again restores its old version.
            versions.setdefault(id(aggregate), (aggregate, aggregate.version))
            aggregate.version = 1
        for aggregate in self.first:
            if id(aggregate) in versions:
                continue  # updated by the bulk path, which recorded it
            versions[id(aggregate)] = (aggregate, aggregate.version)
            column = sa.inspect(aggregate).mapper.version_id_col
            # Computed by the database and read back with RETURNING; the ORM adds
            # "WHERE version = <loaded>" and raises StaleDataError when no row matches.
            aggregate.version = column + 1


def is_modified(state: InstanceState[Any]) -> bool:
    """``Session.is_modified`` of ``state``'s object, asking only the attributes it changed.

    SQLAlchemy's ``is_modified`` asks the history of every mapped attribute; one without a
    committed value (none in ``committed_state``) has none to tell (``History.from_*`` say
    "unchanged" without it, and ``NO_CHANGE`` loads nothing), so the answer is the same from
    these alone: for a product renamed, one attribute asked instead of six.
    """
    if not state.modified:
        return False
    values = state.dict
    manager = state.manager
    plain = _compared_plainly(manager)
    for key, before in state.committed_state.items():
        if key in plain and key in values:
            # History.from_scalar_attribute's own test for a held value (the column type's
            # compare_values, which is ``==`` for these), without the History or the call.
            if (values[key] == before) is not True:
                return True
            continue
        impl = manager[key].impl
        added, _, deleted = impl.get_history(state, values, passive=PassiveFlag.NO_CHANGE)
        if added or deleted:
            return True
    return False


def _compared_plainly(manager: ClassManager[Any]) -> frozenset[str]:
    """The attributes of ``manager``'s class that SQLAlchemy compares as ``x == y``: a scalar
    column whose type keeps ``TypeEngine.compare_values`` (not a ``TypeDecorator``'s, nor an
    ``ARRAY``'s or a ``PickleType``'s own). Kept in the manager's ``info``, which goes with it.
    """
    found: frozenset[str] | None = manager.info.get(_PLAIN)
    if found is None:
        found = manager.info[_PLAIN] = frozenset(
            key
            for key, attribute in manager.items()
            if type(attribute.impl) is _ScalarAttributeImpl
            and getattr(attribute.impl.is_equal, "__func__", None) is _DEFAULT_COMPARE
        )
    return found


_PLAIN = "andamios.compared_plainly"


def _unassigned(group: list[AggregateRoot[Any]], committed: list[dict[str, Any]]) -> set[str]:
    """The fields none of ``group`` (changed aggregates of one type; ``committed``: their
    committed states) was given since it was loaded or last flushed: their values are what
    storage holds, checked when they were written.

    Only plain columns of simple values count (a string, a number, a date, an id...): a value
    object, a JSON value or a container may change in place, unseen here, and is checked.
    A renamed product has its name checked, not its six other fields: the flush writes only
    the name (a third of the flush of 10,000 renames went to checking the rest).
    """
    assigned = set().union(*committed)
    simple = {
        rule.name for rule in storage_rules(type(group[0])).fields if rule.fast.kind is not None
    }
    return (simple & _compared_plainly(instance_state(group[0]).manager)) - assigned


_DEFAULT_COMPARE = sa.types.TypeEngine.compare_values
_OBJECT = operator.methodcaller("obj")


def _grouped(aggregates: list[AggregateRoot[Any]], mapped: Callable[[type], bool]) -> Groups:
    """``aggregates`` of a ``mapped`` type, grouped by type (in the order each first comes)."""
    groups: Groups = {}
    if len(set(map(type, aggregates))) == 1:  # the common flush: no call per aggregate
        groups[type(aggregates[0])] = aggregates
    else:
        for each in aggregates:
            groups.setdefault(type(each), []).append(each)
    return {kind: group for kind, group in groups.items() if mapped(kind)}


def _nothing_mapped(kind: type) -> bool:
    """Without a writer nothing is grouped: the ORM writes it all, unchecked."""
    return False


def _first_changes(
    session: AggregateSession, roots: list[AggregateRoot[Any]], children: list[object]
) -> list[AggregateRoot[Any]]:
    """The stored aggregates changed (``roots``, or through ``children``) first in this
    transaction."""
    found: dict[int, AggregateRoot[Any]] = {id(root): root for root in roots}
    if children:
        owners = _owners(session)
        for child in children:
            owner = owners.get(id(child))
            if owner is not None:  # an orphan about to be deleted has none: its root changed
                found.setdefault(id(owner), owner)
    versions = session.versions_before
    inserted = session.inserted_ids()
    return [
        aggregate for key, aggregate in found.items() if key not in versions and key not in inserted
    ]


def _owners(session: Session) -> dict[int, AggregateRoot[Any]]:
    """The aggregate root holding each loaded child entity, by the child's ``id()``."""
    owners: dict[int, AggregateRoot[Any]] = {}
    for item in session.identity_map.values():
        if not isinstance(item, AggregateRoot):
            continue
        for relationship in sa.inspect(item).mapper.relationships:
            held = item.__dict__.get(relationship.key)
            for child in held if isinstance(held, list) else (held,):
                owners[id(child)] = item
    return owners


_COMMITTED = operator.attrgetter("committed_state")


def _check_version(session: AggregateSession, aggregate: AggregateRoot[Any]) -> None:
    """The version belongs to Andamios: a domain that assigned it is told so, as in memory
    (``aggregate``'s version was assigned: its committed state holds the one it had)."""
    committed = instance_state(aggregate).committed_state
    before = session.versions_before.get(id(aggregate))
    expected = committed["version"] if before is None else before[1] + 1
    if aggregate.version != expected:
        raise version_written(aggregate, expected)


def record_inserted(
    session: Session, batch: Sequence[AggregateRoot[Any]], versions: list[int]
) -> None:
    """Record a batch the bulk path inserted in ``session`` (an :class:`AggregateSession`),
    with the versions it had before: a rollback restores them."""
    books = cast("AggregateSession", session)  # what the bulk writer writes for
    books.record_inserted(batch, versions)
    # Persistent now: what their JsonValue attributes hold is what was written.
    books.json_snapshots.take_all(map(instance_state, batch))


@event.listens_for(AggregateSession, "before_flush")
def _before_flush(
    session: AggregateSession, flush_context: UOWTransaction, instances: object
) -> None:
    writer = session.writer
    if writer is None:
        ledger = FlushLedger(session)
    else:
        # Many objects are made meanwhile: see no_gc.
        with no_gc():
            ledger = FlushLedger(session)
            ledger.check(writer)
            ledger.write(writer)
    # After the bulk path wrote its groups: what the ORM writes now, to explain its errors.
    session.flushed = (tuple(session.new), tuple(session.dirty), tuple(session.deleted))
    ledger.version()
