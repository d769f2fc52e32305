"""Unique keys in memory, checked as DuckDB checks them and in time proportional to a commit.

DuckDB checks a unique index at each statement, and the ORM writes a flush's inserts and updates
before its deletes: a row may not take a key another row holds when the commit begins, even if
that row gives it up in the same commit (two rows swapping keys, or one removed and a new one
added with its key, both fail with ``DuplicateError``). The in-memory adapter checks the same:
each written row's key against the committed keys of the other rows, and against the other
written rows. The committed keys are kept in an index per type and key group, built once from
the store and updated by every commit, so a commit costs what it writes, not what is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from andamios.domain import AggregateRoot
from andamios.ports.errors import DuplicateError
from andamios.ports.spi import StorageRules, audit_fields, storage_rules

__all__ = ["UniqueIndex"]

type Read = Callable[[str], object]
type Rows = Mapping[object, Any]  # id -> StoredRow
type Group = tuple[str, ...]


def _groups(rules: StorageRules) -> list[tuple[Group, bool]]:
    """Each unique key group and whether it holds among live (not soft-deleted) rows only."""
    return [(g, False) for g in rules.unique] + [((name,), True) for name in rules.live_unique]


def _key(read: Read, group: Group, live: bool, deleted: str | None) -> tuple[object, ...] | None:
    """A row's key in ``group``, or None when it takes part in no clash (a NULL, or deleted)."""
    key = tuple(read(name) for name in group)
    if None in key or (live and deleted is not None and read(deleted) is not None):
        return None
    return key


class UniqueIndex:
    """The unique keys of one store's committed rows, by type and key group."""

    def __init__(self) -> None:
        self._keys: dict[tuple[type, StorageRules, Group, bool], dict[tuple[object, ...], object]]
        self._keys = {}

    def _index(
        self, kind: type, rules: StorageRules, group: Group, live: bool, rows: Rows
    ) -> dict[tuple[object, ...], object]:
        slot = (kind, rules, group, live)
        found = self._keys.get(slot)
        if found is None:  # built once from the committed rows, then kept by each commit
            deleted = audit_fields(kind).deleted
            found = {}
            for id, row in rows.items():
                key = _key(row.state.get, group, live, deleted)
                if key is not None:
                    found[key] = id
            self._keys[slot] = found
        return found

    def guards(self, kind: type) -> bool:
        """Whether ``kind`` has unique keys to check."""
        return bool(_groups(storage_rules(kind)))

    def commit(
        self,
        kind: type[AggregateRoot[Any]],
        rows: Rows,
        written: Iterable[tuple[object, dict[str, object]]],
        removed: Iterable[object],
    ) -> Callable[[], None]:
        """Check the rows a commit writes; return what updates the index once it is published.

        ``rows`` are the committed rows of ``kind`` before the commit; ``written`` the
        ``(id, state)`` it inserts or updates; ``removed`` the ids it deletes. Raises
        :class:`DuplicateError` naming the key, and then changes nothing.
        """
        rules = storage_rules(kind)
        deleted = audit_fields(kind).deleted
        writes = list(written)
        gone = list(removed)
        changes: list[tuple[dict[tuple[object, ...], object], Group, bool]] = []
        for group, live in _groups(rules):
            index = self._index(kind, rules, group, live, rows)
            final: dict[tuple[object, ...], object] = {}
            for id, state in writes:
                key = _key(state.get, group, live, deleted)
                if key is None:
                    continue
                holder = index.get(key, id)
                if holder != id or final.setdefault(key, id) != id:
                    names = ", ".join(f"{n} {v!r}" for n, v in zip(group, key, strict=True))
                    msg = f"{kind.__name__} with {names} already exists"
                    raise DuplicateError(msg)
            changes.append((index, group, live))

        def publish() -> None:
            for index, group, live in changes:
                for id in (*gone, *(id for id, _ in writes)):
                    row = rows.get(id)
                    old = None if row is None else _key(row.state.get, group, live, deleted)
                    if old is not None and index.get(old) == id:
                        del index[old]
                for id, state in writes:
                    key = _key(state.get, group, live, deleted)
                    if key is not None:
                        index[key] = id

        return publish

    def clear(self) -> None:
        """Forget every key (the store was cleared)."""
        self._keys.clear()
