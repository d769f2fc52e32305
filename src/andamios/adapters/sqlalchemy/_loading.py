"""The direct read path: rows of a flat mapping loaded straight into the session's identity map.

``get``, ``find``, ``first``, ``count``, ``exists`` and ``stream`` of an aggregate whose mapping is
*flat* (one table, plain columns: no children, no value objects spread over columns, no
inheritance) skip the ORM's query machinery: the repository runs a Core statement on the unit of
work's own connection, in one greenlet hop, and :meth:`FlatLoader.load` makes each row an
aggregate the way SQLAlchemy's loader does (an instance made without ``__init__``, its values in
``__dict__``, its state keyed and registered in the identity map, clean), or returns the object
the identity map already holds for that id, unchanged. Values are converted by the columns'
types, as SQLAlchemy converts them (the statement's columns are typed). Any other mapping is
loaded by the ORM (:class:`~._repository.SqlAlchemyRepository` decides).

Measured (issue 15): the ORM's loading was 14% of a get by id and 34% of a stream, and the ORM
query's typed parameter (``$1::UUID``) and qualified column list cost DuckDB about 85 µs per
lookup; the get statement here sends the id untyped.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, Session

from andamios.adapters.sqlalchemy._bulk import no_gc
from andamios.adapters.sqlalchemy._direct import Processors, converted, result_processors
from andamios.adapters.sqlalchemy._json_changes import json_attributes
from andamios.adapters.sqlalchemy._mapping import AggregateMapping

if TYPE_CHECKING:
    from andamios.adapters.sqlalchemy._session import AggregateSession

__all__ = ["FlatLoader", "RowStream", "flat_loader"]


class FlatLoader:
    """How the rows of one flat mapping are selected and made aggregates."""

    __slots__ = (
        "_bind",
        "_get",
        "_id_index",
        "_identity_class",
        "_json",
        "_keys",
        "_manager",
        "columns",
    )

    def __init__(self, mapping: AggregateMapping) -> None:
        mapper = mapping.mapper
        by_column = {prop.columns[0]: prop.key for prop in mapper.column_attrs}
        mapped = [column for column in mapping.table.columns if column in by_column]
        #: The table's mapped columns, in table order: what every statement of it selects.
        self.columns: tuple[sa.Column[Any], ...] = tuple(mapped)
        self._keys = tuple(by_column[column] for column in mapped)
        self._id_index = self._keys.index("id")
        self._identity_class = mapper._identity_class
        self._manager = mapper.class_manager
        self._json = bool(json_attributes(mapper))
        self._bind: dict[sa.Dialect, Any] = {}
        # Unqualified (columns of no table, typed as the table's) and the id untyped: DuckDB binds
        # "SELECT id, ... WHERE id = $1" faster than "SELECT products.id, ... = $1::UUID".
        bare = [sa.column(column.name, column.type) for column in mapped]
        untyped = sa.type_coerce(sa.bindparam("id"), sa.types.NullType())
        self._get = (
            sa.select(*bare)
            .select_from(sa.table(mapping.table.name, schema=mapping.table.schema))
            .where(bare[self._id_index] == untyped)
        )

    @property
    def get_statement(self) -> sa.Select[Any]:
        """``SELECT <columns> FROM <table> WHERE <id> = :id``: unqualified, the id untyped.

        :meth:`bind_id` converts the id first. Measured on DuckDB 2.0 (issue 15): the ORM's
        ``products.id = $1::UUID`` and qualified column list cost about 15% more per lookup.
        """
        return self._get

    def bind_id(self, dialect: sa.Dialect, id: object) -> object:
        """``id`` as the id column's type sends it to ``dialect``'s driver."""
        try:
            process = self._bind[dialect]
        except KeyError:
            id_type = self.columns[self._id_index].type
            process = self._bind[dialect] = id_type.bind_processor(dialect)
        return id if process is None else process(id)

    def load(self, session: AggregateSession, rows: Iterable[Sequence[Any]]) -> list[Any]:
        """The aggregates of ``rows`` (in :attr:`columns` order), as the session holds them.

        What SQLAlchemy's loader does for a row, inlined (the bulk path's inserts do the same):
        an identity the map holds already gives the held object as it is (its unflushed changes
        are the unit of work's, never overwritten by the row).
        """
        identity_map = session.identity_map
        held = identity_map._dict
        weak_map = identity_map._wr
        hash_key = session.hash_key
        identity_class = self._identity_class
        manager = self._manager
        cls: Any = manager.class_
        make_state, state_attr = manager._state_constructor, manager.STATE_ATTR
        keys, id_index = self._keys, self._id_index
        loaded: list[Any] = []
        made = []
        for row in rows:
            key = (identity_class, (row[id_index],), None)
            state = held.get(key)
            found = None if state is None else state.obj()
            if found is not None:
                loaded.append(found)
                continue
            # ClassManager.new_instance, inlined (2% of a stream): the state where it puts it.
            aggregate = cls.__new__(cls)
            state = make_state(aggregate, manager)
            values = aggregate.__dict__
            values[state_attr] = state
            values.update(zip(keys, row, strict=True))
            state.key = key
            state.session_id = hash_key
            held[key] = state
            state._instance_dict = weak_map
            loaded.append(aggregate)
            made.append(state)
        if self._json:
            # As the mapper's load event does: what a JsonValue holds now is what was read.
            for state in made:
                session.json_snapshots.take(state)
        return loaded


class RowStream:
    """One statement's rows read batch by batch on a unit of work's connection (``stream()``).

    Each batch is ``size`` aggregates and whether more follow (one row read ahead tells). The
    result is read on only while nothing else happens in the unit of work: :meth:`intact` says
    whether that is so (the same transaction, no other operation, nothing waiting to be flushed
    that a page would flush first). Otherwise the stream goes on by keyset pages after the last
    batch: it then sees what the unit of work did, as pages do, and DuckDB, which ends a result
    at the next statement on its connection, loses nothing.
    """

    __slots__ = (
        "_ahead",
        "_connection",
        "_loader",
        "_processors",
        "_result",
        "_size",
        "_transaction",
    )

    def __init__(self, loader: FlatLoader, size: int) -> None:
        self._loader = loader
        self._size = size
        self._ahead: list[Any] = []
        self._result: sa.CursorResult[Any] | None = None
        self._processors: Processors = ()
        self._connection: sa.Connection | None = None
        self._transaction: object = None

    def open(self, session: Session, statement: sa.Select[Any]) -> tuple[list[Any], bool]:
        """Run ``statement`` (after an autoflush, as a query would) and read its first batch."""
        session._autoflush()
        connection = session.connection()  # first: it begins the transaction if none has
        self._transaction = session.get_transaction()
        self._connection = connection
        # Options of this statement only: Connection.execution_options() would change the
        # connection, and every later statement of the unit of work would stream.
        streamed = {"stream_results": True, "max_row_buffer": self._size + 1}
        result = self._result = connection.execute(statement, execution_options=streamed)
        self._processors = result_processors(
            connection.dialect, self._loader.columns, result.cursor.description
        )
        return self.next(session)

    def next(self, session: Session) -> tuple[list[Any], bool]:
        """The next batch, and whether more follow."""
        assert self._result is not None  # opened
        assert self._connection is not None
        size = self._size
        # SQLAlchemy's own fetch (its row buffer, soft close and error handling), without a Row
        # object per row: the values converted as its result processors say.
        result = self._result
        fetched = result.cursor_strategy.fetchmany(
            result, result.cursor, size + 1 - len(self._ahead)
        )
        rows = [*self._ahead, *converted(self._processors, fetched)]
        self._ahead = rows[size:]
        # Made and registered with the collector paused (not while the fetch waits for the
        # driver: other tasks run then): otherwise the collections the batch's allocations
        # trigger promote the aggregates the caller still holds, and full collections follow
        # every few batches (measured: a quarter of a stream of 100,000).
        with no_gc():
            loaded = self._loader.load(cast("AggregateSession", session), rows[:size])
        return loaded, len(rows) > size

    def intact(self, session: Session) -> bool:
        """Whether the next batch may still be read from the result."""
        if session.get_transaction() is not self._transaction:
            return False  # committed or rolled back meanwhile: the result went with it
        aggregate_session = cast("AggregateSession", session)
        aggregate_session.json_snapshots.flag_changes(aggregate_session)
        return session._is_clean()

    def close(self) -> None:
        """Let go of the result (what the driver still holds of it)."""
        result, self._result = self._result, None
        if result is not None:
            result.close()


_LOADERS: weakref.WeakKeyDictionary[Mapper[Any], FlatLoader | None] = weakref.WeakKeyDictionary()


def _is_flat(mapper: Mapper[Any]) -> bool:
    """One table of plain columns (``map()`` refuses mapped inheritance), no children, no value
    object spread over columns, and no load listener of the application's (the JSON snapshots'
    own listener is what :meth:`FlatLoader.load` does itself)."""
    listeners = 1 if json_attributes(mapper) else 0
    return not (
        mapper.relationships
        or mapper.composites
        or len(mapper.class_manager.dispatch.load) > listeners
    )


def flat_loader(mapping: AggregateMapping) -> FlatLoader | None:
    """The loader of ``mapping``'s aggregate, or None when its mapping is not flat."""
    mapper = mapping.mapper
    try:
        return _LOADERS[mapper]
    except KeyError:
        found = FlatLoader(mapping) if _is_flat(mapper) else None
        _LOADERS[mapper] = found
        return found
