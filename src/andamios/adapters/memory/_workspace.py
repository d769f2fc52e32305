"""One in-memory transaction: identity map, flushed changes, snapshot reads, atomic commit.

A SQL unit of work flushes before each statement it sends (autoflush): it writes what changed
since its last flush, and the database checks it then. So the in-memory workspace flushes at
each read that would send a statement (:meth:`Workspace.flush`): it checks what changed since
its last flush as a database would (values, the versions of what it changes first, new ids,
unique keys), raises the error a SQL flush raises at that point, and otherwise versions and
stamps what it wrote, as the SQL adapters' flush ledger does. The commit flushes, checks again
against what other units of work committed meanwhile, and publishes everything at once. A
rollback puts back the versions and stamps its flushes gave, as the SQL adapters do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from andamios.adapters.memory._evaluate import evaluate, sort_rows
from andamios.adapters.memory._held import Held, Loaded, check_version
from andamios.adapters.memory._store import (
    InMemoryStore,
    StoredRow,
    Tables,
    capture_state,
    copy_value,
)
from andamios.domain import AggregateRoot, Order, Spec
from andamios.ports.errors import ConcurrencyError, DuplicateError, PersistenceError
from andamios.ports.spi import (
    Clock,
    SystemClock,
    audit_fields,
    check_stored,
    new_blank,
    resolve_path,
    stored_state,
)

__all__ = ["Workspace", "read_field"]

type Key = tuple[type[AggregateRoot[Any]], object]


@dataclass(frozen=True, slots=True)
class _Unloaded:
    """A committed row a query looks at without building an aggregate for it (yet)."""

    id: object
    row: StoredRow


type _Candidate = AggregateRoot[Any] | _Unloaded


def _read(candidate: _Candidate, path: str) -> object:
    if not isinstance(candidate, _Unloaded):
        return resolve_path(candidate, path)
    head, _, rest = path.partition(".")
    if head == "id":
        value: object = candidate.id
    elif head == "version":
        value = candidate.row.version
    else:
        value = candidate.row.state[head]
    return resolve_path(value, rest) if rest else value


def read_field(candidate: object, path: str) -> object:
    """A (dotted) field of an aggregate, or of a committed row :meth:`Workspace.rows` gave."""
    return _read(candidate, path)  # type: ignore[arg-type]


def _checked_state(aggregate: AggregateRoot[Any], state: dict[str, object]) -> None:
    """Refuse what no adapter can store, then keep each value as storage gives it back."""
    check_stored(aggregate)
    stored_state(type(aggregate), state)


def _stamped(aggregate: AggregateRoot[Any], *, new: bool) -> list[str]:
    """The audit fields a flush stamps: ``created`` and ``updated`` of a new aggregate, the
    ``updated`` of a changed one."""
    audit = audit_fields(type(aggregate))
    names = (audit.created, audit.updated) if new else (audit.updated,)
    return [name for name in names if name is not None]


def _raise_stale(stale: list[str], changed: int) -> None:
    """One ConcurrencyError for the whole commit, naming how many aggregates were stale."""
    if len(stale) == 1:
        raise ConcurrencyError(stale[0])
    if stale:
        msg = (
            f"{len(stale)} of {changed} aggregates were changed or removed by another unit of "
            f"work; the first: {stale[0]}"
        )
        raise ConcurrencyError(msg)


type _Update = tuple[Key, Loaded, dict[str, object]]
type _Insert = tuple[Key, AggregateRoot[Any], dict[str, object]]


class _Commit(NamedTuple):
    """What a checked commit publishes, and what it keeps of it once published."""

    tables: Tables
    deletes: list[Key]
    updates: list[_Update]
    inserts: list[_Insert]
    keep_keys: list[Callable[[], None]]


class Workspace:
    """What one unit of work sees and has changed since its transaction began."""

    def __init__(
        self, store: InMemoryStore, clock: Clock | None = None, *, autoflush: bool = True
    ) -> None:
        self._store = store
        #: Whether a read flushes first (a read-only unit of work's does not, as in SQL).
        self._autoflush = autoflush
        self._clock: Clock = clock if clock is not None else SystemClock()
        #: When the current transaction began: the time every audit stamp of it gets.
        self._moment = self._clock.now()
        #: The committed state this transaction reads: taken at its first read (:meth:`_tables`).
        self._snapshot: Tables | None = None
        self._loaded: dict[Key, Loaded] = {}
        self._added: dict[Key, AggregateRoot[Any]] = {}
        #: The added aggregates a flush wrote, and what it wrote of each.
        self._inserted: dict[Key, Held] = {}
        self._removed: set[Key] = set()
        #: The loaded aggregates a flush of this transaction wrote.
        self._written: set[Key] = set()
        #: Added, or removed, since the last flush: the next one writes them.
        self._unflushed: list[Key] = []
        self._unflushed_removed: list[Key] = []
        #: Added aggregates a flush wrote, then removed: a rollback still puts back what the
        #: flush gave them; until the next flush their id stays taken (``_taken``), as a SQL
        #: session's identity map holds a deleted object until it is flushed.
        self._dropped: dict[Key, Held] = {}
        self._taken: dict[Key, AggregateRoot[Any]] = {}
        #: Whether this transaction holds a slot of the store's pool (:meth:`reading`).
        self._pooled = False

    def begin(self) -> None:
        """Start a transaction: forget staged changes; its first read takes a new snapshot."""
        self.release()
        self._snapshot = None
        self._moment = self._clock.now()
        self._loaded.clear()
        self._added.clear()
        self._inserted.clear()
        self._dropped.clear()
        self._written.clear()
        self._removed.clear()
        self._unflushed.clear()
        self._unflushed_removed.clear()
        self._taken.clear()

    def rollback(self) -> None:
        """Forget staged changes, and put back the versions and audit stamps flushes gave.

        As a SQL session, which forgets every aggregate it holds when it rolls a transaction
        back, and has none to roll back if nothing was read, staged or changed since the last
        commit: then it keeps holding what it loaded before.
        """
        began = (
            self._snapshot is not None
            or self._added
            or self._removed
            or any(loaded.dirty() for loaded in self._loaded.values())
        )
        self._undo_flushes()
        if began:
            self.begin()
        else:
            self.release()
            self._moment = self._clock.now()

    def _undo_flushes(self) -> None:
        """Put back the versions and audit stamps this transaction's flushes gave: its writes
        are lost (a rollback, or a failed flush or commit, which ends a SQL transaction)."""
        for loaded in self._loaded.values():
            loaded.undo()
        for held in (*self._inserted.values(), *self._dropped.values()):
            object.__setattr__(held.aggregate, "version", 0)
            held.unstamp()

    # -- the pool -------------------------------------------------------------------------------

    async def reading(self) -> None:
        """Hold a slot of the store's pool before this transaction reads the store.

        A SQL unit of work takes its pooled connection at its transaction's first statement
        and keeps it to the commit or rollback: so does this one, and waits as long.
        """
        if not self._pooled:
            await self._store.pool.acquire()
            self._pooled = True

    async def writing(self) -> None:
        """Hold a slot before a commit that writes: a SQL flush needs a connection too."""
        if not self._pooled and (self._added or self._removed or self.holds_changes()):
            await self.reading()

    def reads(self, kind: type[AggregateRoot[Any]], id: object) -> bool:
        """Whether :meth:`get` reads the store (nothing held here answers it)."""
        key = (kind, id)
        return key not in self._removed and key not in self._added and key not in self._loaded

    def release(self) -> None:
        """Give this transaction's slot back, if it holds one (its end, or the block's)."""
        if self._pooled:
            self._pooled = False
            self._store.pool.release()

    def _snapshot_tables(self) -> Tables:
        """The committed state this transaction reads, taken at its first read.

        DuckDB begins a transaction with its first statement, so it sees every commit made
        before that one.
        """
        if self._snapshot is None:
            self._snapshot = self._store.tables
        return self._snapshot

    def _tables(self) -> Tables:
        """:meth:`_snapshot_tables`, for a query: flushed first (:meth:`flush`), as a SQL unit
        of work flushes before each query it sends. A read by id does not flush (ADR 0021)."""
        if self._autoflush:
            self.flush()
        return self._snapshot_tables()

    def flush(self) -> None:
        """Write what changed since the last flush, as a SQL flush does, or raise and write none.

        A failed flush ends the transaction, as in SQL: what earlier flushes wrote is lost too,
        and the versions and stamps they gave are put back.

        Checked against the store as it is now (a database checks a statement against what is
        committed, not against the transaction's snapshot): a value the storage rules refuse
        (``DataError``), an aggregate changed first in this transaction, or removed, that
        another unit of work changed or removed since it was loaded (``ConcurrencyError``), an
        added id already stored or a unique key already held (``DuplicateError``). Then the
        aggregates it writes first get their next version and their audit stamps.
        """
        try:
            self._flush()
        except PersistenceError:
            self._undo_flushes()
            raise

    def _flush(self) -> None:
        current = self._store.tables
        stale: list[str] = []
        removals: list[Key] = []
        for key in self._unflushed_removed:
            self._sort(current, key, key, stale, removals)
        rewrites: list[tuple[Key, Held, dict[str, object]]] = []
        for key, loaded in self._loaded.items():
            if loaded.dirty() and key not in self._removed:
                check_version(loaded.aggregate, loaded.expected)
                item = (key, loaded, self._written_state(loaded.aggregate, new=False))
                if loaded.written:
                    rewrites.append(item)
                else:
                    self._sort(current, key, item, stale, rewrites)
        for key, held in self._inserted.items():
            if held.dirty():
                rewrites.append((key, held, self._written_state(held.aggregate, new=False)))
        inserts = [
            (key, self._added[key], self._written_state(self._added[key], new=True))
            for key in self._unflushed
            if key in self._added
        ]
        _raise_stale(stale, len(removals) + len(rewrites) + len(stale))
        self._refuse_stored(self._unflushed, current)
        self._check_unique(current, rewrites, inserts)
        audit_moment = self._moment
        for key, held, state in rewrites:
            held.stamp(_stamped(held.aggregate, new=False), audit_moment)
            if isinstance(held, Loaded):
                held.write(state)
                self._written.add(key)
            else:
                held.settle(state)
        for key, aggregate, state in inserts:
            held = Held(aggregate, state)
            held.stamp(_stamped(aggregate, new=True), audit_moment)
            object.__setattr__(aggregate, "version", 1)
            held.settle(state)
            self._inserted[key] = held
        self._unflushed.clear()
        self._unflushed_removed.clear()
        self._taken.clear()

    def _written_state(self, aggregate: AggregateRoot[Any], *, new: bool) -> dict[str, object]:
        """What a flush writes of ``aggregate``: its fields, stamped, checked (DataError)."""
        state = capture_state(aggregate)
        for name in _stamped(aggregate, new=new):
            state[name] = self._moment
        _checked_state(aggregate, state)
        return state

    def _check_unique(
        self,
        current: Tables,
        changes: list[tuple[Key, Held, dict[str, object]]],
        inserts: list[_Insert],
    ) -> None:
        """The unique keys of what this flush writes, against the store and this transaction."""
        flushed = {key: state for key, _, state in (*changes, *inserts)}
        kinds = {kind for kind, _ in flushed if self._store.unique.guards(kind)}
        for kind in kinds:
            held = [
                (key, each.basis)
                for key, each in (
                    *((key, self._loaded[key]) for key in self._written),
                    *self._inserted.items(),
                )
                if key[0] is kind and key not in self._removed
            ]
            written = dict(held) | {key: state for key, state in flushed.items() if key[0] is kind}
            removed = [id for k, id in self._removed if k is kind]
            self._store.unique.commit(
                kind,
                current.get(kind, {}),
                ((id, state) for (_, id), state in written.items()),
                removed,
            )

    def _refuse_stored(self, keys: Iterable[Key], tables: Tables) -> None:
        """A DuplicateError for the first of these added keys that ``tables`` stores."""
        for key in keys:
            kind, id = key
            if key in self._added and key not in self._removed and id in tables.get(kind, {}):
                msg = f"{kind.__name__} with id {id!r} already exists"
                raise DuplicateError(msg)

    # -- reads ----------------------------------------------------------------------------------

    def _materialize(self, kind: type[AggregateRoot[Any]], id: object, row: StoredRow) -> Any:
        aggregate = new_blank(kind)
        for name, value in row.state.items():
            object.__setattr__(aggregate, name, copy_value(value))
        object.__setattr__(aggregate, "version", row.version)
        # Stored states are private and never mutated, so the loaded state may share them.
        self._loaded[(kind, id)] = Loaded(aggregate, row.version, dict(row.state))
        return aggregate

    def get(self, kind: type[AggregateRoot[Any]], id: object) -> Any:
        """The aggregate with this id as this transaction sees it, or None."""
        key = (kind, id)
        if key in self._removed:
            return self._added.get(key)
        if key in self._added:
            return self._added[key]
        loaded = self._loaded.get(key)
        if loaded is not None:
            return loaded.aggregate
        row = self._snapshot_tables().get(kind, {}).get(id)
        return None if row is None else self._materialize(kind, id, row)

    def _candidates(self, kind: type[AggregateRoot[Any]]) -> list[_Candidate]:
        candidates: list[_Candidate] = []
        for id, row in self._tables().get(kind, {}).items():
            key = (kind, id)
            if key in self._removed:
                continue
            loaded = self._loaded.get(key)
            if loaded is not None and loaded.version == row.version:
                candidates.append(loaded.aggregate)
            else:
                # Not loaded, or changed by another unit of work since it was (in an earlier
                # transaction): matched and ordered by its stored row, as the database does.
                candidates.append(_Unloaded(id, row))
        candidates.extend(aggregate for (k, _), aggregate in self._added.items() if k is kind)
        return candidates

    def rows(self, kind: type) -> list[object]:
        """What a read-model query reads of ``kind``: this transaction's view of every aggregate
        (read their fields with :func:`read_field`)."""
        return list(self._candidates(kind))

    def _matching(self, kind: type[AggregateRoot[Any]], spec: Spec | None) -> list[_Candidate]:
        candidates = self._candidates(kind)
        if spec is None:
            return candidates
        return [c for c in candidates if evaluate(spec, lambda p, c=c: _read(c, p)) is True]  # type: ignore[misc]

    @property
    def transaction(self) -> object:
        """What identifies the current transaction's reads: another one after a commit or a
        rollback (a stream reading one result ends with it)."""
        return self._snapshot

    def holds_unflushed(self) -> bool:
        """Whether the next flush would write anything."""
        return bool(
            self._unflushed
            or self._unflushed_removed
            or any(held.dirty() for held in (*self._loaded.values(), *self._inserted.values()))
        )

    def ordered(
        self, kind: type[AggregateRoot[Any]], spec: Spec | None, order: tuple[Order, ...]
    ) -> list[object]:
        """Every match, ordered (after a flush), for :meth:`hand_out_all` to hand out."""
        rows = self._matching(kind, spec)
        sort_rows(rows, order, _read)
        return rows  # type: ignore[return-value]

    def hand_out_all(self, kind: type[AggregateRoot[Any]], rows: list[object]) -> list[Any]:
        """The aggregates for rows :meth:`ordered` gave, through the identity map."""
        return [self._hand_out(kind, row) for row in rows]  # type: ignore[arg-type]

    def find(
        self,
        kind: type[AggregateRoot[Any]],
        spec: Spec | None,
        order: tuple[Order, ...],
        limit: int | None,
        offset: int,
    ) -> list[Any]:
        """The matching aggregates, ordered and sliced, through the identity map."""
        rows = self.ordered(kind, spec, order)
        return self.hand_out_all(
            kind, rows[offset:] if limit is None else rows[offset : offset + limit]
        )

    def _hand_out(self, kind: type[AggregateRoot[Any]], candidate: _Candidate) -> Any:
        """The object this unit of work holds for a candidate (identity map), else a new one."""
        if not isinstance(candidate, _Unloaded):
            return candidate
        loaded = self._loaded.get((kind, candidate.id))
        if loaded is not None:
            return loaded.aggregate
        return self._materialize(kind, candidate.id, candidate.row)

    def count(self, kind: type[AggregateRoot[Any]], spec: Spec | None) -> int:
        """How many aggregates match."""
        return len(self._matching(kind, spec))

    # -- writes ---------------------------------------------------------------------------------

    def add(self, aggregate: AggregateRoot[Any], kind: type[AggregateRoot[Any]]) -> None:
        """Stage a new aggregate; an id this transaction holds is a DuplicateError now, one only
        stored is at the next flush (:meth:`flush`), as a SQL unit of work finds it."""
        key = (kind, aggregate.id)
        loaded = self._loaded.get(key)
        if self._added.get(key) is aggregate or (
            key not in self._removed and loaded is not None and loaded.aggregate is aggregate
        ):
            return  # held already; found without a read, which would take the snapshot
        removed = self._taken.get(key)
        if removed is aggregate:
            self.flush()  # as SQL: the removal is written first, then the object added anew
        elif removed is not None:
            msg = f"{kind.__name__} with id {aggregate.id!r} already exists in this unit of work"
            raise DuplicateError(msg)
        if key in self._added:
            msg = f"{kind.__name__} with id {aggregate.id!r} was already added in this unit of work"
            raise DuplicateError(msg)
        if loaded is not None and key in self._unflushed_removed and loaded.aggregate is aggregate:
            self.flush()  # the removal is written first, then the object added anew, as in SQL
        # Another object is refused while the removed one is held, until the removal is flushed.
        elif loaded is not None and (key not in self._removed or key in self._unflushed_removed):
            msg = f"{kind.__name__} with id {aggregate.id!r} already exists in this unit of work"
            raise DuplicateError(msg)
        self._added[key] = aggregate
        self._unflushed.append(key)

    def remove(self, aggregate: AggregateRoot[Any], kind: type[AggregateRoot[Any]]) -> bool:
        """Stage a removal; False if this transaction does not hold this very object."""
        key = (kind, aggregate.id)
        if self._added.get(key) is aggregate:
            del self._added[key]
            flushed = self._inserted.pop(key, None)
            if flushed is not None:
                self._dropped[key] = flushed
                self._taken[key] = aggregate
            return True
        loaded = self._loaded.get(key)
        if loaded is None or loaded.aggregate is not aggregate or key in self._removed:
            return False
        self._removed.add(key)
        self._unflushed_removed.append(key)
        return True

    def mark_deleted(
        self,
        aggregate: AggregateRoot[Any],
        kind: type[AggregateRoot[Any]],
        field: str,
        *,
        deleted: bool,
    ) -> bool:
        """Soft delete (stamp ``field``) or restore (clear it); False if not held here."""
        key = (kind, aggregate.id)
        loaded = self._loaded.get(key)
        held = self._added.get(key) is aggregate or (
            loaded is not None and loaded.aggregate is aggregate
        )
        if not held:
            return False
        if not deleted:
            setattr(aggregate, field, None)
        elif getattr(aggregate, field) is None:
            setattr(aggregate, field, self._moment)
        return True

    # -- commit ---------------------------------------------------------------------------------

    def holds_changes(self) -> bool:
        """Whether a loaded aggregate was written or differs from what was stored (read-only
        units of work refuse adds and removes before they get here)."""
        return any(loaded.written or loaded.dirty() for loaded in self._loaded.values())

    def commit(self) -> None:
        """Flush, check every version and new id against what is committed now (another unit of
        work may have committed since the flush), then publish every change at once, or none."""
        with self._store.lock:
            self.flush()
            try:
                done = self._checked_commit()
            except PersistenceError:
                self._undo_flushes()
                raise
            self._store.publish(done.tables)
            for keep in done.keep_keys:
                keep()
        for key in done.deletes:
            del self._loaded[key]
        for _key, loaded, _state in done.updates:
            loaded.stored()
        for key, aggregate, state in done.inserts:
            self._loaded[key] = Loaded(aggregate, 1, state)
        self._snapshot = None
        self._moment = self._clock.now()
        self._added.clear()
        self._inserted.clear()
        self._dropped.clear()
        self._written.clear()
        self._removed.clear()
        self._unflushed.clear()
        self._unflushed_removed.clear()
        self._taken.clear()
        self.release()

    def _checked_commit(self) -> _Commit:
        """What a commit publishes; raises, changing nothing, if another unit of work changed,
        removed or added the same since this transaction flushed it."""
        current = self._store.tables
        stale: list[str] = []
        deletes: list[Key] = []
        for key in self._removed:
            self._sort(current, key, key, stale, deletes)
        updates: list[_Update] = []
        for key, loaded in self._loaded.items():
            if loaded.written and key not in self._removed:
                self._sort(current, key, (key, loaded, loaded.basis), stale, updates)
        inserts = [(key, held.aggregate, held.basis) for key, held in self._inserted.items()]
        _raise_stale(stale, len(deletes) + len(updates) + len(stale))
        self._refuse_stored(self._inserted, current)
        tables = self._apply(current, deletes, updates, inserts)
        keep_keys = self._unique_keys(current, deletes, updates, inserts)
        return _Commit(tables, deletes, updates, inserts, keep_keys)

    def _unique_keys(
        self,
        current: Tables,
        deletes: list[Key],
        updates: list[_Update],
        inserts: list[_Insert],
    ) -> list[Callable[[], None]]:
        """Check the unique keys this commit writes (DuplicateError); what keeps the index."""
        written: dict[type[AggregateRoot[Any]], list[tuple[object, dict[str, object]]]] = {}
        for (kind, id), _, state in (*updates, *inserts):
            written.setdefault(kind, []).append((id, state))
        removed: dict[type[AggregateRoot[Any]], list[object]] = {}
        for kind, id in deletes:
            removed.setdefault(kind, []).append(id)
        return [
            self._store.unique.commit(
                kind, current.get(kind, {}), written.get(kind, ()), removed.get(kind, ())
            )
            for kind in written.keys() | removed.keys()
        ]

    def _sort[T](
        self, current: Tables, key: Key, item: T, stale: list[str], fresh: list[T]
    ) -> None:
        """Put ``item`` in ``fresh`` if its loaded version is still stored, else say why not."""
        kind, id = key
        loaded = self._loaded[key]
        row = current.get(kind, {}).get(id)
        if row is None:
            stale.append(f"{kind.__name__} {id!r} was removed by another unit of work")
        elif row.version != loaded.version:
            stale.append(
                f"{kind.__name__} {id!r} was changed by another unit of work "
                f"(loaded version {loaded.version}, stored version {row.version})"
            )
        else:
            fresh.append(item)

    @staticmethod
    def _apply(
        current: Tables,
        deletes: list[Key],
        updates: list[_Update],
        inserts: list[_Insert],
    ) -> Tables:
        tables = dict(current)
        copied: dict[type[AggregateRoot[Any]], dict[object, StoredRow]] = {}

        def table(kind: type[AggregateRoot[Any]]) -> dict[object, StoredRow]:
            if kind not in copied:
                copied[kind] = dict(current.get(kind, {}))
            return copied[kind]

        for kind, id in deletes:
            del table(kind)[id]
        for (kind, id), loaded, state in updates:
            table(kind)[id] = StoredRow(loaded.version + 1, state)
        for (kind, id), _aggregate, state in inserts:
            table(kind)[id] = StoredRow(1, state)
        for kind, rows in copied.items():
            tables[kind] = MappingProxyType(rows)
        return MappingProxyType(tables)
