"""The ORM session behind a unit of work: versions, pending adds, and rollback without expiry."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from andamios.adapters.sqlalchemy._bulk import BulkWriter
from andamios.adapters.sqlalchemy._json_changes import JsonSnapshots
from andamios.domain import AggregateRoot
from andamios.ports.spi import Clock, SystemClock, audit_fields

__all__ = ["AggregateSession"]


class AggregateSession(Session):
    """A :class:`~sqlalchemy.orm.Session` that keeps aggregate versions as the port defines them.

    - ``version`` becomes 1 when an aggregate is first inserted and grows by exactly one per
      committed transaction that changed it, however many times autoflush ran meanwhile: the first
      flush of a change in a transaction writes ``version = version + 1 ... RETURNING version``
      with ``WHERE version = <loaded>``; later flushes of the same transaction keep it.
    - Before each flush the flush ledger (:mod:`._flush`) finds, once, what the flush writes;
      with the unit of work's :class:`~._bulk.BulkWriter` it checks it against the mapped
      constraints and writes large groups of one aggregate type through the Arrow path. This
      session keeps the books of the transaction (versions, stamps, bulk inserts, pending adds);
      the ledger writes them during a flush.
    - A rollback (explicit, on leaving a unit of work, or after a failed flush) forgets every
      object instead of expiring it, so aggregates keep the state the application gave them, as
      in the in-memory adapter, and their versions go back to what was last committed.
    - Values stored by ``JsonValue`` and changed in place (``batch.allocations.add(line)``) are
      found before every flush, including the one of ``commit()``, and written like assigned
      ones (:mod:`._json_changes`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Objects whose version this transaction changed, and the version to restore on rollback.
        self.versions_before: dict[int, tuple[AggregateRoot[Any], int]] = {}
        #: Aggregates added in this transaction, by (type, id): they are not in the identity map
        #: until flushed, and ``get`` must still find them.
        self.pending: dict[tuple[type, object], AggregateRoot[Any]] = {}
        #: What the current (or last) flush writes (new, changed, deleted): errors name them.
        self.flushed: tuple[tuple[object, ...], tuple[object, ...], tuple[object, ...]] = (
            (),
            (),
            (),
        )
        #: The flush ledger's bulk path; set by the unit of work.
        self.writer: BulkWriter | None = None
        #: Batches inserted in bulk in this transaction, with the versions they had before.
        self.inserted: list[tuple[Sequence[AggregateRoot[Any]], list[int]]] = []
        self._inserted_ids: set[int] | None = None
        #: Tells the time of audit timestamps; set by the unit of work.
        self.clock: Clock = SystemClock()
        #: When the current transaction began (by ``clock``): the time every stamp of it gets.
        self.moment = self.clock.now()
        #: Aggregates this transaction stamped, and their timestamps before, to restore on rollback.
        self.stamps_before: dict[int, tuple[AggregateRoot[Any], dict[str, object]]] = {}
        #: The JSON form of the ``JsonValue`` attributes of persistent objects, last written or
        #: read: what finds the values changed in place.
        self.json_snapshots = JsonSnapshots()
        #: What the identity map held when a rollback found no transaction to roll back: the
        #: session keeps holding it (its identity map alone would hold it weakly, and let go of
        #: what the unit of work no longer sees), as the in-memory adapter keeps what it loaded.
        self.kept: list[object] = []

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        """Flush, with the ``JsonValue`` attributes changed in place flagged first.

        Before SQLAlchemy decides whether anything is dirty: a session whose only changes are in
        place looks clean to it, and would not flush (nor run ``before_flush``) at all.
        """
        self.json_snapshots.flag_changes(self)
        super().flush(objects)

    def expunge_all(self) -> None:
        """Forget every object (and the snapshots of their JSON values)."""
        super().expunge_all()
        self.json_snapshots.forget()
        self.kept = []

    def record_inserted(self, batch: Sequence[AggregateRoot[Any]], versions: list[int]) -> None:
        """Remember a batch the bulk path inserted (one list per batch: cheaper than a dict)."""
        self.inserted.append((batch, versions))
        self._inserted_ids = None

    def inserted_ids(self) -> set[int] | frozenset[int]:
        """The ``id()`` of every aggregate the bulk path inserted in this transaction."""
        if not self.inserted:
            return frozenset()
        if self._inserted_ids is None:
            self._inserted_ids = {id(a) for batch, _ in self.inserted for a in batch}
        return self._inserted_ids

    def begin_moment(self) -> None:
        """A transaction begins: read the time its audit timestamps get."""
        self.moment = self.clock.now()

    def stamp(self, aggregates: Iterable[AggregateRoot[Any]], *, new: bool) -> None:
        """Set the audit timestamps of aggregates first inserted (``new``) or changed.

        The values are those of the in-memory adapter: the moment the transaction began, in both
        fields on insert and in the ``UpdatedAt`` field on a change; a rollback restores them.
        """
        batch = list(aggregates)
        stamped = {kind: _stamped_fields(kind, new=new) for kind in set(map(type, batch))}
        if not any(stamped.values()):
            return  # no audit field: nothing to read per aggregate (a bulk insert of 100,000)
        for aggregate in batch:
            names = stamped[type(aggregate)]
            if names:
                before = {name: getattr(aggregate, name) for name in names}
                # The first values are the ones a rollback restores (an aggregate removed and
                # added again in one transaction is stamped twice, with the same moment).
                self.stamps_before.setdefault(id(aggregate), (aggregate, before))
                for name in names:
                    setattr(aggregate, name, self.moment)

    def pending_aggregate(self, kind: type, id: object) -> AggregateRoot[Any] | None:
        """The aggregate of that type and id added in this transaction and not yet flushed."""
        found = self.pending.get((kind, id))
        if found is None or not sa.inspect(found).pending:
            return None
        return found

    def restore_versions(self) -> None:
        """Give every aggregate this transaction versioned its last committed version back."""
        for aggregate, version in self.versions_before.values():
            set_committed_value(aggregate, "version", version)
        # Last: an aggregate inserted in bulk, then removed and added again, had these.
        for batch, versions in self.inserted:
            for aggregate, version in zip(batch, versions, strict=True):
                set_committed_value(aggregate, "version", version)
        self.versions_before.clear()
        for aggregate, values in self.stamps_before.values():
            for name, value in values.items():
                set_committed_value(aggregate, name, value)
        self.stamps_before.clear()
        self.forget_inserted()

    def forget_inserted(self) -> None:
        """The transaction ended: its bulk-inserted batches are ordinary stored aggregates."""
        self.inserted.clear()
        self._inserted_ids = None


def _stamped_fields(kind: type, *, new: bool) -> list[str]:
    """The audit fields a change of a ``kind`` aggregate stamps (``new``: an insert's)."""
    audit = audit_fields(kind)
    return [n for n in ((audit.created, audit.updated) if new else (audit.updated,)) if n]


@event.listens_for(AggregateSession, "before_commit")
def _flush_in_place_changes(session: AggregateSession) -> None:
    # A commit flushes only a session SQLAlchemy finds dirty: flag what changed in place first.
    session.flush()


@event.listens_for(AggregateSession, "after_commit")
def _forget_transaction(session: AggregateSession) -> None:
    session.versions_before.clear()
    session.stamps_before.clear()
    session.forget_inserted()
    session.pending.clear()


@event.listens_for(AggregateSession, "after_rollback")
def _forget_everything(session: AggregateSession) -> None:
    # Runs before SQLAlchemy expires the identity map: detached first, nothing is expired.
    session.restore_versions()
    session.pending.clear()
    _forget_deleted(session)
    session.expunge_all()


def _forget_deleted(session: AggregateSession) -> None:
    """Detach what a flush of the rolled-back transaction deleted.

    The identity map no longer holds it, so ``expunge_all`` would miss it, and SQLAlchemy would
    then put it back, expired: reading one of its fields would load it, outside the greenlet
    (``MissingGreenlet``), where every other aggregate of the transaction is simply forgotten.
    """
    transaction = session._transaction
    while transaction is not None:
        for state in list(transaction._deleted):
            state._deleted = False
            state._detach(session)
        transaction._deleted.clear()
        transaction = transaction._parent
