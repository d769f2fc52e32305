"""The in-memory unit of work and repository: a shipped adapter, not a test double."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from typing import Any, cast

from andamios.adapters.memory._query import run_query
from andamios.adapters.memory._store import InMemoryStore
from andamios.adapters.memory._workspace import Workspace, read_field
from andamios.domain import AggregateRoot, Order, Spec
from andamios.ports import Cursor, Hooks
from andamios.ports.errors import UnsupportedOperation
from andamios.ports.spi import (
    Clock,
    HookSet,
    QueryPlan,
    RawSql,
    Repository,
    Tracker,
    UnitOfWork,
    compose,
    compose_repository,
    hook_set,
    rows_to_arrow,
)

__all__ = ["InMemoryFactory", "InMemoryRepository", "InMemoryUnitOfWork"]


async def _yield_to_other_tasks() -> None:
    # A database call would suspend the task here; doing the same lets concurrent tasks
    # interleave as they will in production, so races show up in memory-backed tests too.
    await asyncio.sleep(0)


class InMemoryRepository[A: AggregateRoot[Any], ID](Repository[A, ID]):
    """A repository over an in-memory transaction (see :class:`InMemoryUnitOfWork`)."""

    def __init__(
        self,
        aggregate_type: type[A],
        *,
        tracker: Tracker,
        workspace: Workspace,
        id_type: object = None,
    ) -> None:
        super().__init__(aggregate_type, tracker=tracker, id_type=id_type)
        self._workspace = workspace

    async def _add(self, aggregate: A) -> None:
        await _yield_to_other_tasks()
        self._workspace.add(aggregate, self._aggregate_type)

    async def _add_many(self, aggregates: list[A]) -> None:
        # A bulk insert is written at once (the SQL adapters' Arrow path): a stored id fails
        # here, not at the next flush.
        await super()._add_many(aggregates)
        self._workspace.flush()

    async def _get(self, id: ID) -> A | None:
        if self._workspace.reads(self._aggregate_type, id):
            await self._workspace.reading()
        await _yield_to_other_tasks()
        return cast("A | None", self._workspace.get(self._aggregate_type, id))

    async def _find(
        self, spec: Spec | None, order: tuple[Order, ...], limit: int | None, offset: int
    ) -> list[A]:
        await self._workspace.reading()
        await _yield_to_other_tasks()
        return self._workspace.find(self._aggregate_type, spec, order, limit, offset)

    def _stream_batches(
        self,
        spec: Spec | None,
        order_by: Any,
        batch_size: int,
        include_deleted: bool,
        after: Cursor | None,
    ) -> AsyncGenerator[list[A]]:
        # stream() starts here with no cursor; the pages after a one pass are the base class's.
        assert after is None
        return self._one_pass(spec, order_by, batch_size, include_deleted)

    async def _one_pass(
        self, spec: Spec | None, order_by: Any, size: int, include_deleted: bool
    ) -> AsyncGenerator[list[A]]:
        """Match and order once, as a SQL stream's one statement, and hand out ``size`` at a time
        until something else runs in the unit of work, it ends its transaction or changes wait
        to be flushed: then keyset pages from the last one, as the SQL adapters do. (A page per
        batch matched and sorted every row again: 100,000 rows took 96 s.)"""
        checked, order = self._stream_terms(spec, order_by, size, include_deleted)
        tracker = self._tracker
        workspace = self._workspace
        kind = self._aggregate_type
        await workspace.reading()
        await _yield_to_other_tasks()
        async with tracker.observe("stream", kind) as op:
            rows = workspace.ordered(kind, checked, order)
            transaction = workspace.transaction
            op.rows = min(len(rows), size)
        start = 0
        while True:
            batch = cast("list[A]", workspace.hand_out_all(kind, rows[start : start + size]))
            operations = tracker.operations
            tracker.see_streamed(batch)
            yield batch
            start += size
            if start >= len(rows):
                return
            if (
                tracker.operations != operations
                or workspace.transaction is not transaction
                or workspace.holds_unflushed()
            ):
                pages = self._stream_pages_after(
                    batch[-1],
                    order,
                    spec=spec,
                    order_by=order_by,
                    batch_size=size,
                    include_deleted=include_deleted,
                )
                async for each in pages:
                    yield each
                return
            async with tracker.observe("stream", kind) as op:
                await _yield_to_other_tasks()
                op.rows = min(len(rows) - start, size)

    async def _count(self, spec: Spec | None) -> int:
        await self._workspace.reading()
        await _yield_to_other_tasks()
        return self._workspace.count(self._aggregate_type, spec)

    async def _remove(self, aggregate: A) -> bool:
        await _yield_to_other_tasks()
        return self._workspace.remove(aggregate, self._aggregate_type)

    async def _mark_deleted(self, aggregate: A, field: str, *, deleted: bool) -> bool:
        await _yield_to_other_tasks()
        return self._workspace.mark_deleted(aggregate, self._aggregate_type, field, deleted=deleted)


class InMemoryUnitOfWork(UnitOfWork):
    """A unit of work over an :class:`InMemoryStore`, with the same semantics as DuckDB's.

    Transactions read a snapshot taken at their first read, as DuckDB's begins with its first
    statement (the snapshot rule, ``docs/adr/0002-ports-semantics.md``); nothing is visible to
    other units of work before commit. Before each query and at commit it flushes, as a SQL unit
    of work does (``docs/adr/0021-one-flush-on-every-adapter.md``): it checks what changed since
    the last flush against the storage rules (``DataError``), the versions of what it changes
    (``ConcurrencyError``), new ids and unique keys (``DuplicateError``), and versions and stamps
    what it wrote; commit then publishes all changes at once. Aggregates are
    deep-copied in and out of the store, so mutating an object never changes stored state.
    As a SQL unit of work holds a pooled connection, one holds a slot of its store's pool from
    its transaction's first read (or its commit's writes) to its commit or rollback, and waits
    for one as long (:class:`InMemoryStore`: ``pool_size``, ``pool_timeout``).

    Use :meth:`factory` with your shape: ``new_uow = InMemoryUnitOfWork.factory(Shop)``.
    """

    adapter_name = "memory"

    def __init__(
        self,
        store: InMemoryStore | None = None,
        clock: Clock | None = None,
        *,
        read_only: bool = False,
        hooks: HookSet | Iterable[Hooks] = (),
    ) -> None:
        self._store = store if store is not None else InMemoryStore()
        self._workspace = Workspace(self._store, clock, autoflush=not read_only)
        super().__init__(observer=hook_set(hooks).observer(self.adapter_name))
        self._tracker.read_only = read_only

    @property
    def store(self) -> InMemoryStore:
        """The committed state this unit of work reads and writes."""
        return self._store

    @classmethod
    def factory[U: UnitOfWork](
        cls,
        shape: type[U],
        *,
        store: InMemoryStore | None = None,
        clock: Clock | None = None,
        read_only: bool = False,
        hooks: Iterable[Hooks] = (),
    ) -> InMemoryFactory[U]:
        """A callable making a fresh ``shape`` unit of work over one shared store per call.

        ``clock`` tells the time of audit timestamps (default: :class:`SystemClock`);
        ``read_only`` makes units of work that refuse every write (``UnitOfWork.read_only``);
        ``hooks`` are told what each unit of work does (:class:`~andamios.ports.Hooks`).
        """
        shared = store if store is not None else InMemoryStore()
        return InMemoryFactory(
            compose(cls, shape), shared, clock, read_only=read_only, hooks=hook_set(hooks)
        )

    def _create_repository(
        self,
        aggregate_type: type[AggregateRoot[Any]],
        id_type: object,
        repository_type: type[Repository[Any, Any]] = Repository,
    ) -> Repository[Any, Any]:
        # A specialized repository (the user's subclass of Repository) over this adapter's.
        built = compose_repository(InMemoryRepository, repository_type)
        return built(
            aggregate_type, tracker=self._tracker, workspace=self._workspace, id_type=id_type
        )

    async def _begin(self) -> None:
        self._workspace.begin()

    async def _commit(self) -> None:
        await self._workspace.writing()
        await _yield_to_other_tasks()
        self._workspace.commit()

    async def _rollback(self) -> None:
        self._workspace.rollback()

    def _holds_changes(self) -> bool:
        return self._workspace.holds_changes()

    async def _close(self) -> None:
        # The final rollback gave the slot back already; this is for the unforeseen.
        self._workspace.release()

    async def _run_query(self, plan: QueryPlan) -> list[tuple[object, ...]]:
        await self._workspace.reading()
        await _yield_to_other_tasks()
        return run_query(plan, self._workspace.rows, read_field)

    async def _run_query_arrow(self, plan: QueryPlan) -> Any:
        return rows_to_arrow(plan.names, await self._run_query(plan))

    def _raw_sql(self) -> RawSql:
        return _NoRawSql(self._tracker)


class _NoRawSql(RawSql):
    """Raw SQL has no meaning without a database: every call says what to use instead."""

    def _checked(self, statement: object, params: object, *, rows: bool) -> dict[str, object]:
        msg = (
            "the in-memory adapter runs no SQL: read with uow.query(ReadQuery(...)) (joins, "
            "groups, aggregations), which every adapter runs alike, or a repository's find()"
        )
        raise UnsupportedOperation(msg)


class InMemoryFactory[U: UnitOfWork]:
    """Makes fresh in-memory units of work of one shape over one shared store."""

    def __init__(
        self,
        uow_class: type[U],
        store: InMemoryStore,
        clock: Clock | None = None,
        *,
        read_only: bool = False,
        hooks: HookSet | None = None,
    ) -> None:
        self._uow_class = uow_class
        self.store = store
        self.clock = clock
        self.read_only = read_only
        #: The hooks every unit of work of this factory tells (see ``andamios.ports.Hooks``).
        self.hooks = hook_set(hooks)

    def __call__(self) -> U:
        """A new unit of work; enter it with ``async with``."""
        return cast("Any", self._uow_class)(  # type: ignore[no-any-return]
            store=self.store, clock=self.clock, read_only=self.read_only, hooks=self.hooks
        )

    def __repr__(self) -> str:
        return f"<InMemoryFactory of {self._uow_class.__name__}>"
