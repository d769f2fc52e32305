"""The ORM session behind a unit of work: versions, pending adds, and rollback without expiry."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.attributes import set_committed_value

from andamios.domain import AggregateRoot

__all__ = ["AggregateSession"]


class AggregateSession(Session):
    """A :class:`~sqlalchemy.orm.Session` that keeps aggregate versions as the port defines them.

    - ``version`` becomes 1 when an aggregate is first inserted and grows by exactly one per
      committed transaction that changed it, however many times autoflush ran meanwhile: the first
      flush of a change in a transaction writes ``version = version + 1 ... RETURNING version``
      with ``WHERE version = <loaded>``; later flushes of the same transaction keep it.
    - A rollback (explicit, on leaving a unit of work, or after a failed flush) forgets every
      object instead of expiring it, so aggregates keep the state the application gave them, as
      in the in-memory adapter, and their versions go back to what was last committed.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Objects whose version this transaction changed, and the version to restore on rollback.
        self.versions_before: dict[int, tuple[AggregateRoot[Any], int]] = {}
        #: Aggregates added in this transaction, by (type, id): they are not in the identity map
        #: until flushed, and ``get`` must still find them.
        self.pending: dict[tuple[type, object], AggregateRoot[Any]] = {}

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
        self.versions_before.clear()


@event.listens_for(AggregateSession, "before_flush")
def _version_changes(
    session: AggregateSession, flush_context: UOWTransaction, instances: object
) -> None:
    versions = session.versions_before
    for aggregate in session.new:
        # Kept if already there: an aggregate removed and added again restores its old version.
        versions.setdefault(id(aggregate), (aggregate, aggregate.version))
        aggregate.version = 1
    for aggregate in session.dirty:
        if id(aggregate) in versions or not session.is_modified(aggregate):
            continue
        versions[id(aggregate)] = (aggregate, aggregate.version)
        column = sa.inspect(aggregate).mapper.version_id_col
        # Computed by the database and read back with RETURNING; the ORM adds
        # "WHERE version = <loaded>" and raises StaleDataError when no row matches.
        aggregate.version = column + 1


@event.listens_for(AggregateSession, "after_commit")
def _forget_transaction(session: AggregateSession) -> None:
    session.versions_before.clear()
    session.pending.clear()


@event.listens_for(AggregateSession, "after_rollback")
def _forget_everything(session: AggregateSession) -> None:
    # Runs before SQLAlchemy expires the identity map: detached first, nothing is expired.
    session.restore_versions()
    session.pending.clear()
    session.expunge_all()
