"""DuckDB's bulk staging: rows as an Arrow table, read by a replacement scan or registered.

DuckDB ingests an Arrow table ~50x faster than row-by-row SQL (ADR 0006). Each column of the
staged rows becomes an Arrow array with an explicit type read from the mapped column, and the
statement runs on the unit of work's own connection (its worker thread), inside its
transaction. pyarrow is imported only when a bulk statement is planned; it is the ``bulk``
extra (``pip install 'andamios[bulk]'``): without it no aggregate type has a bulk plan, so
``add_many`` and large flushes go through the ORM, with the same results, and one log record
says so (ADR 0013).

DuckDB counts its replacement scan of Python variables as external access: a database opened
with ``external_access=False`` (the default) reads the table through ``register`` instead
(ADR 0012, section 3).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from decimal import Decimal
from types import ModuleType
from typing import Any

import duckdb
import sqlalchemy as sa
from sqlalchemy.util.concurrency import await_

from andamios.adapters.sql_spi import STAGED, Convert, base_type, observed_statement
from andamios.ports.spi import quantized

__all__ = ["ArrowStager", "arrow"]

_log = logging.getLogger("andamios.adapters.duckdb")


@functools.cache
def arrow() -> ModuleType | None:
    """pyarrow, or None where it is not installed (logged once: bulk writes use the ORM)."""
    try:
        import pyarrow as pa  # type: ignore[import-untyped]  # noqa: PLC0415 - only on the bulk path
    except ModuleNotFoundError:
        _log.warning(
            "pyarrow is not installed: DuckDB bulk writes go through the ORM (same results, "
            "slower); install andamios[bulk] (pip install 'andamios[bulk]') for the Arrow bulk path"
        )
        return None
    return pa  # type: ignore[no-any-return]


def _arrow_type(kind: sa.types.TypeEngine[Any]) -> Any:
    """The Arrow type of a (base) column type; None if the bulk path does not support it."""
    pa: Any = arrow()

    simple = (
        ((sa.Enum, sa.JSON, sa.String), pa.string),
        ((sa.Boolean,), pa.bool_),
        ((sa.SmallInteger,), pa.int16),
        ((sa.BigInteger,), pa.int64),
        ((sa.Integer,), pa.int32),
        ((sa.Float,), pa.float64),
        ((sa.Date,), pa.date32),
        ((sa.LargeBinary,), pa.binary),
    )
    for classes, make in simple:
        if isinstance(kind, classes) and not isinstance(kind, sa.DateTime):
            return make()
    if isinstance(kind, sa.Numeric):
        if kind.precision is None:
            return None  # NUMERIC without precision: leave its rounding to the ORM and DuckDB
        return pa.decimal128(kind.precision, kind.scale or 0)
    if isinstance(kind, sa.DateTime):
        return pa.timestamp("us", tz="UTC" if kind.timezone else None)
    if isinstance(kind, sa.Time):
        return pa.time64("us")
    return None


def _at_scale(value: Any, scale: int) -> Any:
    """``value`` with exactly ``scale`` decimal places where that changes nothing but its
    trailing zeros; anything else as it is (the conversion then refuses it)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return value
    exact = quantized(value, scale)  # None: no such form within 80 digits, it cannot fit
    return exact if exact is not None and exact == value else value


def _uuid_bytes(values: list[Any]) -> list[Any]:
    # What UUID.bytes computes, without its property call: 2.5x faster.
    return [None if value is None else value.int.to_bytes(16) for value in values]


def _run_staged(conn: Any, table: Any, sql: str) -> list[Any]:
    """Run ``sql`` reading the Arrow ``table`` as ``andamios_staged`` (on the worker thread).

    DuckDB's replacement scan finds the local variable by its name: nothing is registered in
    the connection's catalog, so nothing is left to clean up when the statement fails and the
    transaction is aborted (an ``unregister`` would itself fail then).
    """
    andamios_staged = table  # noqa: F841 - read by name by DuckDB's replacement scan
    return list(conn.execute(sql).fetchall())


def _run_registered(conn: Any, table: Any, sql: str) -> list[Any]:
    """Run ``sql`` reading the Arrow ``table`` registered as ``andamios_staged``.

    For a database without external access, where DuckDB's replacement scan reads no Python
    variable. The registration is part of the transaction: after a failed statement the
    ``unregister`` fails (the transaction is aborted), and the rollback removes the
    registration and lets the table go (measured on DuckDB 2.0: its reference count is back to
    what it was).

    A result still unread on the connection (a ``stream()`` between two batches) refuses a
    registration: it is ended first, as any other statement would end it (the stream, told that
    another operation ran, goes on by pages).
    """
    conn.abort()
    conn.register(STAGED, table)
    try:
        return list(conn.execute(sql).fetchall())
    finally:
        with contextlib.suppress(duckdb.TransactionException):
            conn.unregister(STAGED)


class ArrowStager:
    """Stages rows as an Arrow table on the ``duckdb+async`` driver connection.

    ``registered``: register the table for each statement (~0.4 ms more per statement, measured
    on DuckDB 2.0), which a database without external access needs; otherwise DuckDB's
    replacement scan reads it.
    """

    __slots__ = ("_run",)

    #: Arrow's ``decimal128(p, s)`` refuses a lost digit, an overflow and a value that is not
    #: finite (measured on pyarrow 26), as ``Digits(p, s)`` does: the bulk path leaves it that.
    refuses_unfit_decimals = True

    def __init__(self, *, registered: bool = False) -> None:
        self._run = _run_registered if registered else _run_staged

    def converter(self, column: sa.Column[Any], dialect: sa.Dialect) -> Convert | None:
        """Python values of ``column`` -> an Arrow array of its type; None if unsupported, or
        if pyarrow is not installed (the ORM writes the aggregate type then)."""
        pa: Any = arrow()
        if pa is None:
            return None
        if isinstance(column.type, sa.Interval):
            # A TypeDecorator only where the database has no INTERVAL; DuckDB has one.
            duration = pa.duration("us")
            return lambda values: pa.array(values, type=duration)
        base = base_type(column.type)
        process: Callable[[Any], Any] | None = None
        if isinstance(column.type, sa.types.TypeDecorator) or isinstance(base, (sa.Enum, sa.JSON)):
            # Value objects, enums and JSON are stored as the column's own bind processing says.
            process = column.type.bind_processor(dialect)
        prepare: Callable[[list[Any]], list[Any]] = list
        if isinstance(base, sa.Uuid):
            if not base.as_uuid:
                return None
            prepare, arrow_type = _uuid_bytes, pa.binary(16)
        else:
            arrow_type = _arrow_type(base)
            if arrow_type is None:
                return None

        scale: int | None = None
        if isinstance(base, sa.Numeric) and not isinstance(base, sa.Float):
            scale = base.scale or 0

        def convert(values: list[Any]) -> Any:
            if process is not None:
                values = [None if value is None else process(value) for value in values]
            prepared = prepare(values)
            try:
                return pa.array(prepared, type=arrow_type)
            except pa.ArrowInvalid:
                if scale is None:
                    raise
                # Arrow counts trailing zeros as digits: 1.0 followed by 40 zeros fits a
                # NUMERIC(38, 10), not its conversion. Written at the column's scale it does.
                return pa.array([_at_scale(value, scale) for value in prepared], type=arrow_type)

        return convert

    def run(
        self, connection: sa.Connection, staged: Sequence[tuple[sa.Column[Any], Any]], sql: str
    ) -> list[Any]:
        """Run ``sql`` with the staged arrays as one Arrow table, on the connection's worker."""
        pa: Any = arrow()  # a plan exists, so the converters found pyarrow

        table = pa.table({column.name: array for column, array in staged})
        driver: Any = connection.connection.driver_connection
        with observed_statement(connection, sql):
            rows: list[Any] = await_(driver.run(self._run, table, sql))
        return rows
