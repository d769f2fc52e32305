"""PostgreSQL's bulk staging: ``COPY`` into a temporary table, inside the unit of work's
transaction.

The rows of one bulk statement go to ``andamios_staged``, a temporary table typed like the
mapped columns (``ON COMMIT DROP``, and dropped after the statement, so the next bulk statement
of the same transaction makes its own), through asyncpg's binary ``COPY``
(``copy_records_to_table``): one round trip for the rows, however many. The statement the
SQLAlchemy adapter wrote then reads them: ``INSERT ... SELECT ... FROM andamios_staged``,
``UPDATE ... FROM andamios_staged AS staged ... RETURNING``, ``DELETE ... USING ...``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.util.concurrency import await_

from andamios.adapters.sql_spi import STAGED, Convert, observed_statement

__all__ = ["CopyStager"]


def _as_they_are(values: list[Any]) -> list[Any]:
    return values


class CopyStager:
    """Stages rows with ``COPY`` on the asyncpg connection under the unit of work's session."""

    __slots__ = ()

    def converter(self, column: sa.Column[Any], dialect: sa.Dialect) -> Convert | None:
        """The values of ``column`` as the dialect binds them (value objects, enums, JSON).

        The processor of the dialect's own implementation of the type: the generic
        ``Numeric``'s would turn every ``Decimal`` into a float.
        """
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            return _as_they_are
        return lambda values: [None if value is None else process(value) for value in values]

    def run(
        self, connection: sa.Connection, staged: Sequence[tuple[sa.Column[Any], Any]], sql: str
    ) -> list[Any]:
        """Copy ``staged`` into a temporary table, run ``sql`` over it, drop it."""
        dialect = connection.dialect
        preparer = dialect.identifier_preparer
        names = [column.name for column, _ in staged]
        declared = ", ".join(
            f"{preparer.quote(column.name)} {column.type.compile(dialect)}" for column, _ in staged
        )
        # Through the session's connection first: it begins the transaction COPY joins.
        connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {STAGED} ({declared}) ON COMMIT DROP")
        driver: Any = connection.connection.driver_connection
        records = zip(*(values for _, values in staged), strict=True)
        with observed_statement(connection, f"COPY {STAGED} ({', '.join(names)}) FROM STDIN"):
            await_(driver.copy_records_to_table(STAGED, records=records, columns=names))
        result = connection.exec_driver_sql(sql)
        rows = list(result.fetchall()) if result.returns_rows else []
        connection.exec_driver_sql(f"DROP TABLE {STAGED}")
        return rows
