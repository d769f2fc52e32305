"""The SQLAlchemy unit of work: one ``AsyncSession``, one transaction at a time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from andamios.adapters.sql_lifecycle import WorkInFlight, run_to_completion, settle
from andamios.adapters.sql_spi import OBSERVER, ArrowReader, BulkStager, DirectReader
from andamios.adapters.sqlalchemy._bulk import BULK_THRESHOLD, BulkWriter
from andamios.adapters.sqlalchemy._mapping import Mapping
from andamios.adapters.sqlalchemy._repository import SessionContext, SqlAlchemyRepository
from andamios.adapters.sqlalchemy._session import AggregateSession
from andamios.adapters.sqlalchemy._statements import ObservedSession, watch_statements
from andamios.adapters.sqlalchemy._versioned_deletes import watch_versioned_deletes
from andamios.domain import AggregateRoot
from andamios.ports import Hooks
from andamios.ports.errors import PersistenceError, UnitOfWorkError
from andamios.ports.spi import (
    Clock,
    HookSet,
    Repository,
    UnitOfWork,
    compose,
    compose_repository,
    hook_set,
    repository_slots,
)

if TYPE_CHECKING:
    from andamios.ports.spi import QueryPlan, RawSql

__all__ = ["SqlAlchemyFactory", "SqlAlchemyUnitOfWork", "SqlDatabase"]


class SqlDatabase(Protocol):
    """What a unit of work needs from a database: an async engine, error translation, and how
    it stages bulk writes.

    :class:`andamios.adapters.duckdb.Database` and :class:`andamios.adapters.postgresql.Database`
    are two; a third party's adapter supplies the same (see :mod:`andamios.adapters.sql_spi`).
    """

    @property
    def engine(self) -> AsyncEngine:
        """The engine sessions are bound to."""
        ...

    @property
    def bulk_stager(self) -> BulkStager | None:
        """How many rows are staged for one bulk statement; ``None``: the ORM writes them all."""
        ...

    def translate_error(self, exc: BaseException) -> PersistenceError:
        """The Andamios error for a driver or SQLAlchemy exception.

        A statement or COMMIT the driver refused because an earlier statement of the transaction
        failed is a :class:`UnitOfWorkError` whose ``__cause__`` is that failure.
        """
        ...


class SqlAlchemyUnitOfWork(UnitOfWork):
    """A unit of work over one SQLAlchemy ``AsyncSession`` (one database transaction at a time).

    Make them with :meth:`factory`::

        new_uow = SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping)
        async with new_uow() as uow:
            product = await uow.products.get(product_id)
            product.reprice(Decimal("9.90"))
            await uow.commit()

    Objects survive ``commit()`` unexpired (nothing is lazily loaded later); a rollback forgets
    them without expiring them. Every driver error is translated by ``database.translate_error``.
    """

    adapter_name = "sqlalchemy"

    def __init__(
        self,
        *,
        database: SqlDatabase,
        mapping: Mapping,
        bulk_threshold: int | None = None,
        clock: Clock | None = None,
        read_only: bool = False,
        hooks: HookSet | Iterable[Hooks] = (),
    ) -> None:
        self._database = database
        self._mapping = mapping
        engine = database.engine
        watch_versioned_deletes(engine)
        # A read-only unit of work reads from the replica, where the database has one, and
        # never flushes: its changes are refused at commit, not sent to a server that refuses.
        replica: AsyncEngine | None = getattr(database, "replica", None) if read_only else None
        bind = replica or engine
        observer = hook_set(hooks).observer(engine.dialect.name)
        session_class = AggregateSession
        if observer is not None:
            watch_statements(bind)
            session_class = ObservedSession
            observer.translate = self._translate
        session = AsyncSession(
            bind,
            sync_session_class=session_class,
            expire_on_commit=False,
            autoflush=not read_only,
        )
        # A database that tracks its work (see andamios.adapters.sql_lifecycle) can close with
        # units of work in flight; a third party's may not track it.
        self._work: WorkInFlight | None = getattr(database, "work", None)
        self._entered = False
        writer = BulkWriter(
            mapping,
            engine.dialect,
            self._translate,
            BULK_THRESHOLD if bulk_threshold is None else bulk_threshold,
            database.bulk_stager,
        )
        sync_session = cast("AggregateSession", session.sync_session)
        sync_session.writer = writer
        if observer is not None:
            sync_session.info[OBSERVER] = observer
        if clock is not None:
            sync_session.clock = clock
        reader: DirectReader | None = getattr(database, "direct_reader", None)
        self._context = SessionContext(
            session, self._translate, writer, ended=self._ended, reader=reader
        )
        super().__init__(observer=observer)
        self._tracker.read_only = read_only

    def _ended(self) -> bool:
        return self._work is not None and self._work.ended

    def _translate(self, exc: BaseException) -> PersistenceError:
        work = self._work
        if work is not None and work.ended:
            # Whatever the driver says once its database was closed under this unit of work.
            closed = work.closed_error()
            closed.__cause__ = exc
            return closed
        return self._database.translate_error(exc)

    @classmethod
    def factory[U: UnitOfWork](
        cls,
        shape: type[U],
        *,
        database: SqlDatabase,
        mapping: Mapping,
        bulk_threshold: int | None = None,
        clock: Clock | None = None,
        read_only: bool = False,
        hooks: Iterable[Hooks] = (),
    ) -> SqlAlchemyFactory[U]:
        """A callable making a fresh ``shape`` unit of work per call.

        ``clock`` tells the time of audit timestamps (default: :class:`SystemClock`).

        ``read_only`` makes units of work that refuse every write (``UnitOfWork.read_only``) and
        read from ``database.replica`` where the database has one (PostgreSQL's ``replica_url``).

        ``bulk_threshold``: from how many aggregates of one type written in one flush on the
        Arrow bulk path is taken (default :data:`BULK_THRESHOLD`, measured in ADR 0006).

        ``hooks`` are told what each unit of work does, and every SQL statement it runs
        (:class:`~andamios.ports.Hooks`).

        Raises :class:`~andamios.ports.errors.MappingError` at once if an aggregate of the shape
        is not mapped by ``mapping``.
        """
        uow_class = compose(cls, shape)
        for slot in repository_slots(shape):
            mapping.aggregate_mapping(slot.aggregate_type)
            compose_repository(SqlAlchemyRepository, slot.repository_type)  # refused now, if so
        return SqlAlchemyFactory(
            uow_class,
            database,
            mapping,
            bulk_threshold,
            clock,
            read_only=read_only,
            hooks=hook_set(hooks),
        )

    @property
    def session(self) -> AsyncSession:
        """The session of this unit of work (for adapter code and tests, not applications)."""
        return self._context.session

    def _create_repository(
        self,
        aggregate_type: type[AggregateRoot[Any]],
        id_type: object,
        repository_type: type[Repository[Any, Any]] = Repository,
    ) -> Repository[Any, Any]:
        # A specialized repository (the user's subclass of Repository) over this adapter's.
        built = compose_repository(SqlAlchemyRepository, repository_type)
        return built(
            aggregate_type,
            tracker=self._tracker,
            context=self._context,
            mapping=self._mapping.aggregate_mapping(aggregate_type),
            id_type=id_type,
        )

    def _connected(self) -> bool:
        """Whether the session's transaction holds a connection (else ending it needs no I/O)."""
        transaction = self._context.sync_session._transaction
        return transaction is not None and bool(transaction._connections)

    async def _begin(self) -> None:
        # The session's transaction begins with its first use (SQLAlchemy's autobegin), its
        # connection with the first statement: entering costs no I/O and no greenlet.
        self._context.sync_session.begin_moment()
        work = self._work
        if work is None:
            return
        work.enter()  # refused at once once the database is closed
        self._entered = True
        if work.connect_at_begin:
            try:
                with self._context.translated():
                    # The connection now, never abandoned halfway: a connect cancelled mid-way
                    # would leak its socket (asyncpg's codec setup). No transaction (no
                    # snapshot) begins before the first statement.
                    await run_to_completion(self._context.session.connection())
            except BaseException:
                await self._close()  # __aexit__ will not run
                raise

    async def _send_commit(self) -> None:
        session = self._context.session
        # The flush may be cancelled: nothing is committed then, and CancelledError says so.
        await session.flush()
        if self._work is None:
            await settle(session.commit())
        else:
            # Once sent, the COMMIT runs to its end and its outcome is the answer; the
            # database's close() waits for it.
            await self._work.commit(session.commit())

    async def _commit(self) -> None:
        try:
            with self._context.translated():
                await self._send_commit()
        except PersistenceError as error:
            # Nothing was saved: the aggregates keep their last committed versions.
            self._context.sync_session.restore_versions()
            if isinstance(error, UnitOfWorkError):
                # A statement sent through the session failed and its caller went on: the
                # driver refused the flush or the COMMIT. Said as for a repository's failure.
                failure = error.__cause__ or error
                msg = (
                    "cannot commit: an earlier statement in this unit of work failed "
                    f"({type(failure).__name__}: {failure}); nothing was saved"
                )
                raise UnitOfWorkError(msg) from failure
            raise
        self._context.sync_session.begin_moment()

    async def _rollback(self) -> None:
        sync_session = self._context.sync_session
        sync_session.begin_moment()
        with self._context.translated():
            if self._connected():
                await self._context.session.rollback()
            elif sync_session._transaction is not None:
                # Nothing was sent, so nothing was written (no version, stamp or bulk insert to
                # put back): forgetting what the transaction held is the whole rollback, as
                # SQLAlchemy's (see _forget_everything), without a greenlet (each of its async
                # calls costs one, about 20 µs on a 2-core host).
                sync_session.pending.clear()
                sync_session.close()
            elif not self._tracker.leaving:
                # Nothing began since the last commit or rollback: as SQLAlchemy's rollback of no
                # transaction, the session keeps what it holds, as the in-memory adapter does,
                # also once the unit of work forgets what it saw (a re-added id is refused alike).
                sync_session.kept = list(sync_session.identity_map.values())

    # The read models' compiler is imported by the first query (see andamios.domain._lazy).

    async def _run_query(self, plan: QueryPlan) -> list[tuple[object, ...]]:
        from andamios.adapters.sqlalchemy._query import run_query  # noqa: PLC0415

        return await run_query(plan, self._mapping, self._context)

    async def _run_query_arrow(self, plan: QueryPlan) -> Any:
        from andamios.adapters.sqlalchemy._query import run_query_arrow  # noqa: PLC0415

        return await run_query_arrow(plan, self._mapping, self._context, self._arrow_reader)

    def _raw_sql(self) -> RawSql:
        from andamios.adapters.sqlalchemy._query import SqlRawSql  # noqa: PLC0415

        return SqlRawSql(self._tracker, self._context, self._arrow_reader)

    @property
    def _arrow_reader(self) -> ArrowReader | None:
        reader: ArrowReader | None = getattr(self._database, "arrow_reader", None)
        return reader

    def _holds_changes(self) -> bool:
        sync_session = self._context.sync_session
        sync_session.json_snapshots.flag_changes(sync_session)
        return bool(
            sync_session.new
            or sync_session.deleted
            or any(sync_session.is_modified(each) for each in sync_session.dirty)
        )

    async def _close(self) -> None:
        try:
            with self._context.translated():
                session = self._context.session
                if not self._connected():
                    # Nothing to give back (none taken, or a commit or rollback did): no greenlet
                    # and no suspension point, so a cancellation after a commit cannot turn its
                    # success into CancelledError.
                    session.sync_session.close()
                else:
                    # Cancelled meanwhile, the session would return its connection mid-rollback.
                    await run_to_completion(session.close())
        finally:
            if self._entered:
                self._entered = False
                cast("WorkInFlight", self._work).leave()


class SqlAlchemyFactory[U: UnitOfWork]:
    """Makes fresh SQLAlchemy units of work of one shape over one database and mapping."""

    def __init__(
        self,
        uow_class: type[U],
        database: SqlDatabase,
        mapping: Mapping,
        bulk_threshold: int | None = None,
        clock: Clock | None = None,
        *,
        read_only: bool = False,
        hooks: HookSet | None = None,
    ) -> None:
        self._uow_class = uow_class
        self.database = database
        self.mapping = mapping
        self.bulk_threshold = bulk_threshold
        self.clock = clock
        self.read_only = read_only
        #: The hooks every unit of work of this factory tells (see ``andamios.ports.Hooks``).
        self.hooks = hook_set(hooks)

    def __call__(self) -> U:
        """A new unit of work; enter it with ``async with``."""
        return cast("Any", self._uow_class)(  # type: ignore[no-any-return]
            database=self.database,
            mapping=self.mapping,
            bulk_threshold=self.bulk_threshold,
            clock=self.clock,
            read_only=self.read_only,
            hooks=self.hooks,
        )

    def __repr__(self) -> str:
        return f"<SqlAlchemyFactory of {self._uow_class.__name__}>"
