"""The SQLAlchemy unit of work: one ``AsyncSession``, one transaction at a time."""

from __future__ import annotations

from typing import Any, Protocol, cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from andamios.adapters.sqlalchemy._mapping import Mapping
from andamios.adapters.sqlalchemy._repository import SessionContext, SqlAlchemyRepository
from andamios.adapters.sqlalchemy._session import AggregateSession
from andamios.domain import AggregateRoot
from andamios.ports import Repository, UnitOfWork, compose, repository_slots
from andamios.ports.errors import PersistenceError

__all__ = ["SqlAlchemyFactory", "SqlAlchemyUnitOfWork", "SqlDatabase"]


class SqlDatabase(Protocol):
    """What a unit of work needs from a database: an async engine and error translation.

    :class:`andamios.adapters.duckdb.Database` is one.
    """

    @property
    def engine(self) -> AsyncEngine:
        """The engine sessions are bound to."""
        ...

    def translate_error(self, exc: BaseException) -> PersistenceError:
        """The Andamios error for a driver or SQLAlchemy exception."""
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

    def __init__(self, *, database: SqlDatabase, mapping: Mapping) -> None:
        self._database = database
        self._mapping = mapping
        session = AsyncSession(
            database.engine,
            sync_session_class=AggregateSession,
            expire_on_commit=False,
            autoflush=True,
        )
        self._context = SessionContext(session, database.translate_error)
        super().__init__()

    @classmethod
    def factory[U: UnitOfWork](
        cls, shape: type[U], *, database: SqlDatabase, mapping: Mapping
    ) -> SqlAlchemyFactory[U]:
        """A callable making a fresh ``shape`` unit of work per call.

        Raises :class:`~andamios.ports.errors.MappingError` at once if an aggregate of the shape
        is not mapped by ``mapping``.
        """
        uow_class = compose(cls, shape)
        for slot in repository_slots(shape):
            mapping.aggregate_mapping(slot.aggregate_type)
        return SqlAlchemyFactory(uow_class, database, mapping)

    @property
    def session(self) -> AsyncSession:
        """The session of this unit of work (for adapter code and tests, not applications)."""
        return self._context.session

    def _create_repository(
        self, aggregate_type: type[AggregateRoot[Any]], id_type: object
    ) -> Repository[Any, Any]:
        return SqlAlchemyRepository(
            aggregate_type,
            tracker=self._tracker,
            context=self._context,
            mapping=self._mapping.aggregate_mapping(aggregate_type),
            id_type=id_type,
        )

    async def _begin(self) -> None:
        with self._context.translated():
            await self._context.session.begin()

    async def _commit(self) -> None:
        try:
            with self._context.translated():
                await self._context.session.commit()
        except PersistenceError:
            # Nothing was saved: the aggregates keep their last committed versions.
            self._context.sync_session.restore_versions()
            raise

    async def _rollback(self) -> None:
        with self._context.translated():
            await self._context.session.rollback()

    async def _close(self) -> None:
        with self._context.translated():
            await self._context.session.close()


class SqlAlchemyFactory[U: UnitOfWork]:
    """Makes fresh SQLAlchemy units of work of one shape over one database and mapping."""

    def __init__(self, uow_class: type[U], database: SqlDatabase, mapping: Mapping) -> None:
        self._uow_class = uow_class
        self.database = database
        self.mapping = mapping

    def __call__(self) -> U:
        """A new unit of work; enter it with ``async with``."""
        return cast("Any", self._uow_class)(database=self.database, mapping=self.mapping)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<SqlAlchemyFactory of {self._uow_class.__name__}>"
