"""DuckDB's query results as Arrow tables, straight from its columnar result.

The statement is compiled by the connection's dialect and run as a DuckDB relation
(``connection.sql(...).to_arrow_table()``), on the unit of work's own connection (its worker
thread), inside its transaction: no Python object is made per value. DuckDB 2.0 warns that a
DB-API result's ``to_arrow_table()`` makes an extra copy of the rows; a relation's does not.
"""

from __future__ import annotations

from typing import Any, cast

import duckdb
import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util.concurrency import await_

from andamios.adapters.sql_spi import observed_statement

__all__ = ["RelationArrowReader"]


def _to_arrow(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> Any:
    return conn.sql(sql, params=params or None).to_arrow_table()


class RelationArrowReader:
    """Runs a statement as a DuckDB relation and returns its ``pyarrow.Table``."""

    __slots__ = ()

    def read(self, connection: sa.Connection, statement: sa.ClauseElement) -> Any:
        """The rows of ``statement`` as a ``pyarrow.Table``, its values bound as parameters."""
        compiled = cast(
            "SQLCompiler",
            statement.compile(
                dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
            ),
        )
        values: dict[str, Any] = dict(compiled.construct_params() or {})
        processors: dict[str, Any] = dict(compiled._bind_processors)  # as SQLAlchemy binds
        params = [
            processors[name](values[name]) if name in processors else values[name]
            for name in compiled.positiontup or ()
        ]
        driver: Any = connection.connection.driver_connection
        try:
            with observed_statement(connection, compiled.string, params):
                return await_(driver.run(_to_arrow, compiled.string, params))
        except duckdb.Error as error:
            raise sa.exc.DBAPIError.instance(
                compiled.string, params, error, duckdb.Error
            ) from error
