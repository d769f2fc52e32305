"""One in-memory transaction: identity map, staged changes, snapshot reads, atomic commit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from andamios.adapters.memory._evaluate import evaluate, sort_rows
from andamios.adapters.memory._store import (
    InMemoryStore,
    StoredRow,
    Tables,
    capture_state,
    copy_value,
    live_state,
    structural,
)
from andamios.domain import AggregateRoot, Order, Spec
from andamios.ports.errors import ConcurrencyError, DuplicateError
from andamios.ports.spi import (
    Clock,
    SystemClock,
    audit_fields,
    check_stored,
    new_blank,
    resolve_path,
    stored_state,
    version_written,
)

__all__ = ["Workspace", "read_field"]

type Key = tuple[type[AggregateRoot[Any]], object]


@dataclass(slots=True)
class _Loaded:
    aggregate: AggregateRoot[Any]
    version: int
    state: dict[str, object]
    # structural(state), computed once per stored state (commits compare with it).
    _compared: object = None

    def changed(self) -> bool:
        """Whether the aggregate differs from its stored state (compared, nothing copied)."""
        if self._compared is None:
            self._compared = structural(self.state)
        return structural(live_state(self.aggregate)) != self._compared

    def stored(self, state: dict[str, object]) -> None:
        """The aggregate's state was committed: one version more."""
        self.version += 1
        self.state = state
        self._compared = None


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


def _check_version(aggregate: AggregateRoot[Any], loaded: int) -> None:
    """The version belongs to Andamios: a domain that writes it is told so, in every adapter."""
    if aggregate.version != loaded:
        raise version_written(aggregate, loaded)


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


class Workspace:
    """What one unit of work sees and has changed since its transaction began."""

    def __init__(self, store: InMemoryStore, clock: Clock | None = None) -> None:
        self._store = store
        self._clock: Clock = clock if clock is not None else SystemClock()
        #: When the current transaction began: the time every audit stamp of it gets.
        self._moment = self._clock.now()
        #: The committed state this transaction reads: taken at its first read (:meth:`_tables`).
        self._snapshot: Tables | None = None
        self._loaded: dict[Key, _Loaded] = {}
        self._added: dict[Key, AggregateRoot[Any]] = {}
        self._removed: set[Key] = set()
        #: Added since the last flush: their ids are checked against the store at the next.
        self._unflushed: list[Key] = []
        #: Whether this transaction holds a slot of the store's pool (:meth:`reading`).
        self._pooled = False

    def begin(self) -> None:
        """Start a transaction: forget staged changes; its first read takes a new snapshot."""
        self.release()
        self._snapshot = None
        self._moment = self._clock.now()
        self._loaded.clear()
        self._added.clear()
        self._removed.clear()
        self._unflushed.clear()

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

    def _tables(self) -> Tables:
        """The committed state this transaction reads, taken at its first read.

        DuckDB begins a transaction with its first statement, so it sees every commit made
        before that one. Every read that sends a statement first flushes what was added: an
        id already stored fails then, as the INSERT a SQL unit of work flushes before that
        statement does (and every later read, until a rollback).
        """
        if self._snapshot is None:
            self._snapshot = self._store.tables
        self.flush_added()
        return self._snapshot

    def flush_added(self) -> None:
        """Refuse an id added since the last flush that is stored already (DuplicateError)."""
        if not self._unflushed:
            return
        self._refuse_stored(self._unflushed, self._store.tables)
        self._unflushed.clear()

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
        self._loaded[(kind, id)] = _Loaded(aggregate, row.version, dict(row.state))
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
        row = self._tables().get(kind, {}).get(id)
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

    def find(
        self,
        kind: type[AggregateRoot[Any]],
        spec: Spec | None,
        order: tuple[Order, ...],
        limit: int | None,
        offset: int,
    ) -> list[Any]:
        """The matching aggregates, ordered and sliced, through the identity map."""
        rows = self._matching(kind, spec)
        sort_rows(rows, order, _read)
        chosen = rows[offset:] if limit is None else rows[offset : offset + limit]
        return [self._hand_out(kind, c) for c in chosen]

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
        stored is at the next flush (:meth:`flush_added`), as a SQL unit of work finds it."""
        key = (kind, aggregate.id)
        loaded = self._loaded.get(key)
        if self._added.get(key) is aggregate or (
            key not in self._removed and loaded is not None and loaded.aggregate is aggregate
        ):
            return  # held already; found without a read, which would take the snapshot
        if key in self._added or (key not in self._removed and key in self._loaded):
            msg = f"{kind.__name__} with id {aggregate.id!r} already exists"
            raise DuplicateError(msg)
        self._added[key] = aggregate
        self._unflushed.append(key)

    def remove(self, aggregate: AggregateRoot[Any], kind: type[AggregateRoot[Any]]) -> bool:
        """Stage a removal; False if this transaction does not hold this very object."""
        key = (kind, aggregate.id)
        if self._added.get(key) is aggregate:
            del self._added[key]
            return True
        loaded = self._loaded.get(key)
        if loaded is None or loaded.aggregate is not aggregate or key in self._removed:
            return False
        self._removed.add(key)
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
        """Whether a loaded aggregate differs from what was stored (read-only units of work
        refuse adds and removes before they get here)."""
        return any(loaded.changed() for loaded in self._loaded.values())

    def commit(self) -> None:
        """Check every value, version and new id, then publish every change at once, or nothing."""
        with self._store.lock:
            current = self._store.tables
            stale: list[str] = []
            deletes: list[Key] = []
            for key in self._removed:
                self._sort(current, key, key, stale, deletes)
            updates: list[tuple[Key, _Loaded, dict[str, object]]] = []
            for key, loaded in self._loaded.items():
                if key in self._removed:
                    continue
                _check_version(loaded.aggregate, loaded.version)
                # Compared as it is, copied only if changed: a unit of work that read 10,000
                # aggregates and changed 10 copies 10.
                if loaded.changed():
                    state = capture_state(loaded.aggregate)
                    _checked_state(loaded.aggregate, state)
                    self._sort(current, key, (key, loaded, state), stale, updates)
            inserts: list[tuple[Key, AggregateRoot[Any], dict[str, object]]] = []
            for key, aggregate in self._added.items():
                state = capture_state(aggregate)
                _checked_state(aggregate, state)
                inserts.append((key, aggregate, state))
            _raise_stale(stale, len(deletes) + len(updates) + len(stale))
            self._refuse_stored(self._added, current)
            stamps = self._stamp(updates, inserts)
            tables = self._apply(current, deletes, updates, inserts)
            publish_keys = self._unique_keys(current, deletes, updates, inserts)
            self._store.publish(tables)
            for keep in publish_keys:
                keep()
        for key in deletes:
            del self._loaded[key]
        for _key, loaded, state in updates:
            loaded.stored(state)
            object.__setattr__(loaded.aggregate, "version", loaded.version)
        for key, aggregate, state in inserts:
            object.__setattr__(aggregate, "version", 1)
            self._loaded[key] = _Loaded(aggregate, 1, state)
        for aggregate, name, moment in stamps:
            object.__setattr__(aggregate, name, moment)
        self._snapshot = None
        self._moment = self._clock.now()
        self._added.clear()
        self._removed.clear()
        self._unflushed.clear()
        self.release()

    def _unique_keys(
        self,
        current: Tables,
        deletes: list[Key],
        updates: list[tuple[Key, _Loaded, dict[str, object]]],
        inserts: list[tuple[Key, AggregateRoot[Any], dict[str, object]]],
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

    def _stamp(
        self,
        updates: list[tuple[Key, _Loaded, dict[str, object]]],
        inserts: list[tuple[Key, AggregateRoot[Any], dict[str, object]]],
    ) -> list[tuple[AggregateRoot[Any], str, object]]:
        """Write the audit timestamps into the states to store; what to set on the aggregates."""
        stamps: list[tuple[AggregateRoot[Any], str, object]] = []
        changed = [(loaded.aggregate, state, False) for _, loaded, state in updates]
        changed += [(aggregate, state, True) for _, aggregate, state in inserts]
        for aggregate, state, new in changed:
            audit = audit_fields(type(aggregate))
            candidates = (audit.created, audit.updated) if new else (audit.updated,)
            names = [name for name in candidates if name is not None]
            for name in names:
                state[name] = self._moment
                stamps.append((aggregate, name, self._moment))
        return stamps

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
        updates: list[tuple[Key, _Loaded, dict[str, object]]],
        inserts: list[tuple[Key, AggregateRoot[Any], dict[str, object]]],
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
