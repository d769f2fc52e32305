"""Alembic's implementation for DuckDB: transactional DDL, type comparison, DuckDB's limits.

Alembic finds an implementation by the dialect's name; importing this module registers
:class:`DuckDBImpl` for ``duckdb`` (the ``duckdb+async`` dialect and duckdb-engine's ``duckdb``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic.ddl.impl import DefaultImpl

from andamios.adapters.migrations._errors import UnsupportedMigration
from andamios.adapters.migrations._rules import TableShape, judge, refusal
from andamios.adapters.migrations._types import canonical_type

if TYPE_CHECKING:
    from alembic.operations.batch import BatchOperationsImpl

__all__ = ["DuckDBImpl", "serial_refusal"]

_BATCH_HINT = "with op.batch_alter_table({table!r}, recreate='always') as batch_op:"


class DuckDBImpl(DefaultImpl):
    """Alembic's DuckDB implementation.

    - DDL is transactional: a migration run is one transaction, and a failure rolls all of it
      back, so the database stays at the revision it started from.
    - Types are compared by the names DuckDB gives them (``TEXT`` is ``VARCHAR``, ``NUMERIC``
      is ``DECIMAL(18,3)``), so autogenerate reports real changes only.
    - DuckDB keeps no constraint names: a reflected unique constraint is matched to the
      mapping's by its columns.
    - A change DuckDB cannot make in place (see :mod:`._rules`) makes a batch operation rebuild
      the table (``recreate='auto'``); outside a batch it raises :class:`UnsupportedMigration`
      before any statement runs, naming the batch operation to use.
    - A table with an integer primary key and no default is refused with a clear message:
      DuckDB has no ``SERIAL``.
    """

    __dialect__ = "duckdb"
    transactional_ddl = True

    # -- autogenerate --------------------------------------------------------------------

    def compare_type(
        self, inspector_column: sa.Column[Any], metadata_column: sa.Column[Any]
    ) -> bool:
        """Whether the column's type differs, by the names DuckDB gives both types."""
        # The reflected type renders as DuckDB reported it (the DuckDB adapter's reflection
        # keeps every name it cannot map exactly as a type of that name), so both sides are
        # the SQL this dialect writes, named by DuckDB itself.
        reflected, wanted = (self._duckdb_name(c) for c in (inspector_column, metadata_column))
        if reflected is None or wanted is None:
            return super().compare_type(inspector_column, metadata_column)
        return reflected != wanted

    def _duckdb_name(self, column: sa.Column[Any]) -> str | None:
        rendered = self.dialect.type_compiler_instance.process(column.type, type_expression=column)
        return canonical_type(rendered)

    def correct_for_autogen_constraints(
        self,
        conn_uniques: set[sa.UniqueConstraint],
        conn_indexes: set[sa.Index],
        metadata_unique_constraints: set[sa.UniqueConstraint],
        metadata_indexes: set[sa.Index],
    ) -> None:
        """Give reflected unique constraints the mapping's names (DuckDB does not keep them)."""
        by_columns = {_columns(unique): unique for unique in conn_uniques}
        for unique in metadata_unique_constraints:
            reflected = by_columns.get(_columns(unique))
            if unique.name is None or reflected is None:
                continue
            name = self.dialect.identifier_preparer.format_constraint(unique, _alembic_quote=False)
            reflected.name = sa.sql.elements.conv(str(name))

    # -- DuckDB's limits -------------------------------------------------------------------

    def _shape(self, table_name: str, schema: str | None) -> TableShape | None:
        if self.as_sql or self.connection is None:  # offline (--sql): nothing to inspect
            return None
        return TableShape.read(sa.inspect(self.connection), table_name, schema)

    def _check(self, table_name: str, schema: str | None, change: str, **kw: Any) -> None:
        shape = self._shape(table_name, schema)
        if shape is None:
            return
        verdict = judge(shape, change, **kw)
        if not verdict.possible:
            raise UnsupportedMigration(refusal(table_name, [verdict]))
        if not verdict.in_place:
            raise UnsupportedMigration(
                f"{verdict.why}. Rebuild the table: {_BATCH_HINT.format(table=table_name)}"
            )

    def requires_recreate_in_batch(self, batch_op: BatchOperationsImpl) -> bool:
        """Whether DuckDB needs the table rebuilt for the batch's changes.

        Raises :class:`UnsupportedMigration` when it does but cannot rebuild the table.
        """
        shape = self._shape(batch_op.table_name, batch_op.schema)
        if shape is None:
            return False
        verdicts = [
            judge(shape, name, **_judge_args(name, args, kw)) for name, args, kw in batch_op.batch
        ]
        if not all(verdict.possible for verdict in verdicts):
            raise UnsupportedMigration(refusal(batch_op.table_name, verdicts))
        return not all(verdict.in_place for verdict in verdicts)

    def alter_column(self, table_name: str, column_name: str, **kw: Any) -> None:
        """``ALTER TABLE ... ALTER COLUMN``, if DuckDB can do it in place."""
        self._check(
            table_name,
            kw.get("schema"),
            "alter_column",
            **_judge_args("alter_column", (table_name, column_name), kw),
        )
        super().alter_column(table_name, column_name, **kw)

    def add_column(self, table_name: str, column: sa.Column[Any], **kw: Any) -> None:
        """``ALTER TABLE ... ADD COLUMN``, if DuckDB can do it in place."""
        self._check(table_name, kw.get("schema"), "add_column", new_column=column)
        super().add_column(table_name, column, **kw)

    def drop_column(self, table_name: str, column: sa.Column[Any], **kw: Any) -> None:
        """``ALTER TABLE ... DROP COLUMN``, if DuckDB can do it in place."""
        self._check(table_name, kw.get("schema"), "drop_column", column=column.name)
        super().drop_column(table_name, column, **kw)

    def add_constraint(self, const: Any, **kw: Any) -> None:
        """``ALTER TABLE ... ADD CONSTRAINT`` (DuckDB: unique constraints only)."""
        table = const.table
        self._check(table.name, table.schema, "add_constraint", constraint=const)
        super().add_constraint(const, **kw)

    def drop_constraint(self, const: sa.Constraint, **kw: Any) -> None:
        """DuckDB cannot drop a constraint: always refused, naming the batch operation to use."""
        table = const.table
        self._check(table.name, table.schema, "drop_constraint", constraint=const)
        super().drop_constraint(const, **kw)

    def create_table(self, table: sa.Table, **kw: Any) -> None:
        """``CREATE TABLE``; refused (clearly) when it would need ``SERIAL``."""
        reason = serial_refusal(table)
        if reason is not None:
            raise UnsupportedMigration(reason)
        super().create_table(table, **kw)


def serial_refusal(table: sa.Table) -> str | None:
    """Why DuckDB cannot create ``table``, if it is because of an integer primary key without a
    default (PostgreSQL's dialect writes ``SERIAL``, which DuckDB does not have).

    Asked by ``create_table`` when a migration runs, and by autogenerate when it writes one.
    """
    column = table.autoincrement_column
    if column is None or column.default is not None or column.server_default is not None:
        return None
    sequence = f"{table.name}_{column.name}_seq"
    return (
        f"column {table.name}.{column.name} is an integer primary key without a default, which "
        "PostgreSQL's dialect creates as SERIAL and DuckDB has no SERIAL: give it a sequence "
        f"(in the mapping: sa.Column({column.name!r}, sa.Integer, sa.Sequence({sequence!r}), "
        "primary_key=True); in a migration: server_default=sa.text(\"nextval('"
        f'{sequence}\')") after op.execute("CREATE SEQUENCE {sequence}")), or '
        "autoincrement=False"
    )


def _columns(constraint: sa.UniqueConstraint) -> tuple[str, ...]:
    return tuple(sorted(column.name for column in constraint.columns))


def _judge_args(name: str, args: Iterable[Any], kw: dict[str, Any]) -> dict[str, Any]:
    """The keywords of :func:`judge` for one of Alembic's implementation calls."""
    args = tuple(args)
    if name == "alter_column":
        return {
            "column": args[1],
            "type_changed": kw.get("type_") is not None,
            "structural": any(kw.get(key) is not None for key in ("nullable", "type_", "name")),
        }
    if name == "add_column":
        return {"new_column": args[1]}
    if name == "drop_column":
        return {"column": args[1].name}
    if name in ("add_constraint", "drop_constraint"):
        return {"constraint": args[0]}
    return {}
