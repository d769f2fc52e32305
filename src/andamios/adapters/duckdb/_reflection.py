"""An SQLAlchemy ``Inspector`` for DuckDB that reads DuckDB's catalog (see :mod:`._catalog`).

``sqlalchemy.inspect(engine_or_connection)`` builds the dialect's ``inspector`` class, and the
``duckdb+async`` dialect names this one: reflection (``Table(..., autoload_with=...)``,
``MetaData.reflect``), Alembic's autogenerate and its batch mode all read DuckDB's catalog.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy.engine.interfaces import (
    ReflectedCheckConstraint,
    ReflectedColumn,
    ReflectedForeignKeyConstraint,
    ReflectedIndex,
    ReflectedPrimaryKeyConstraint,
    ReflectedTableComment,
    ReflectedUniqueConstraint,
    TableKey,
)
from sqlalchemy.engine.reflection import Inspector, ObjectKind, ObjectScope

from andamios.adapters.duckdb._catalog import Catalog, TableCatalog, read_catalog

__all__ = ["DuckDBInspector"]


class DuckDBInspector(Inspector):
    """Reflection of DuckDB tables, columns, keys, constraints, indexes and sequences."""

    def _catalog(self, schema: str | None, names: Collection[str] | None = None) -> Catalog:
        with self._operation_context() as conn:
            return read_catalog(conn, schema, names)

    def _multi[T](
        self, schema: str | None, filter_names: Collection[str] | None, part: Any
    ) -> dict[TableKey, T]:
        catalog = self._catalog(schema, filter_names)
        return {(schema, name): part(table) for name, table in catalog.tables.items()}

    def _one(self, table_name: str, schema: str | None) -> TableCatalog:
        from sqlalchemy.exc import NoSuchTableError  # noqa: PLC0415

        table = self._catalog(schema, [table_name]).tables.get(table_name)
        if table is None:
            raise NoSuchTableError(table_name)
        return table

    def get_table_names(self, schema: str | None = None, **kw: Any) -> list[str]:
        """The tables of ``schema`` (the current schema by default)."""
        return sorted(self._catalog(schema).tables)

    def has_table(self, table_name: str, schema: str | None = None, **kw: Any) -> bool:
        """Whether ``table_name`` exists."""
        return table_name in self._catalog(schema, [table_name]).tables

    def get_sequence_names(self, schema: str | None = None, **kw: Any) -> list[str]:
        """The sequences of ``schema``."""
        return self._catalog(schema, ()).sequences

    def has_sequence(self, sequence_name: str, schema: str | None = None, **kw: Any) -> bool:
        """Whether the sequence exists."""
        return sequence_name in self.get_sequence_names(schema)

    def get_columns(
        self, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedColumn]:
        """The columns of a table, in order."""
        return self._one(table_name, schema).columns

    def get_multi_columns(
        self,
        schema: str | None = None,
        filter_names: Sequence[str] | None = None,
        kind: ObjectKind = ObjectKind.TABLE,
        scope: ObjectScope = ObjectScope.DEFAULT,
        **kw: Any,
    ) -> dict[TableKey, list[ReflectedColumn]]:
        """The columns of several tables."""
        return self._multi(schema, filter_names, lambda table: table.columns)

    def get_pk_constraint(
        self, table_name: str, schema: str | None = None, **kw: Any
    ) -> ReflectedPrimaryKeyConstraint:
        """The primary key of a table."""
        return self._one(table_name, schema).primary_key

    def get_multi_pk_constraint(
        self,
        schema: str | None = None,
        filter_names: Sequence[str] | None = None,
        kind: ObjectKind = ObjectKind.TABLE,
        scope: ObjectScope = ObjectScope.DEFAULT,
        **kw: Any,
    ) -> dict[TableKey, ReflectedPrimaryKeyConstraint]:
        """The primary keys of several tables."""
        return self._multi(schema, filter_names, lambda table: table.primary_key)

    def get_foreign_keys(
        self, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedForeignKeyConstraint]:
        """The foreign keys of a table."""
        return self._one(table_name, schema).foreign_keys

    def get_multi_foreign_keys(
        self,
        schema: str | None = None,
        filter_names: Sequence[str] | None = None,
        kind: ObjectKind = ObjectKind.TABLE,
        scope: ObjectScope = ObjectScope.DEFAULT,
        **kw: Any,
    ) -> dict[TableKey, list[ReflectedForeignKeyConstraint]]:
        """The foreign keys of several tables."""
        return self._multi(schema, filter_names, lambda table: table.foreign_keys)

    def get_indexes(
        self, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedIndex]:
        """The indexes of a table (not those DuckDB keeps for its constraints)."""
        return self._one(table_name, schema).indexes

    def get_multi_indexes(
        self,
        schema: str | None = None,
        filter_names: Sequence[str] | None = None,
        kind: ObjectKind = ObjectKind.TABLE,
        scope: ObjectScope = ObjectScope.DEFAULT,
        **kw: Any,
    ) -> dict[TableKey, list[ReflectedIndex]]:
        """The indexes of several tables."""
        return self._multi(schema, filter_names, lambda table: table.indexes)

    def get_unique_constraints(
        self, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedUniqueConstraint]:
        """The unique constraints of a table, named as DuckDB names them."""
        return self._one(table_name, schema).unique_constraints

    def get_multi_unique_constraints(
        self,
        schema: str | None = None,
        filter_names: Sequence[str] | None = None,
        kind: ObjectKind = ObjectKind.TABLE,
        scope: ObjectScope = ObjectScope.DEFAULT,
        **kw: Any,
    ) -> dict[TableKey, list[ReflectedUniqueConstraint]]:
        """The unique constraints of several tables."""
        return self._multi(schema, filter_names, lambda table: table.unique_constraints)

    def get_check_constraints(
        self, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedCheckConstraint]:
        """The check constraints of a table."""
        return self._one(table_name, schema).check_constraints

    def get_multi_check_constraints(
        self,
        schema: str | None = None,
        filter_names: Sequence[str] | None = None,
        kind: ObjectKind = ObjectKind.TABLE,
        scope: ObjectScope = ObjectScope.DEFAULT,
        **kw: Any,
    ) -> dict[TableKey, list[ReflectedCheckConstraint]]:
        """The check constraints of several tables."""
        return self._multi(schema, filter_names, lambda table: table.check_constraints)

    def get_table_comment(
        self, table_name: str, schema: str | None = None, **kw: Any
    ) -> ReflectedTableComment:
        """The comment on a table."""
        return ReflectedTableComment(text=self._one(table_name, schema).comment)

    def get_multi_table_comment(
        self,
        schema: str | None = None,
        filter_names: Sequence[str] | None = None,
        kind: ObjectKind = ObjectKind.TABLE,
        scope: ObjectScope = ObjectScope.DEFAULT,
        **kw: Any,
    ) -> dict[TableKey, ReflectedTableComment]:
        """The comments on several tables."""
        return self._multi(
            schema, filter_names, lambda table: ReflectedTableComment(text=table.comment)
        )

    def get_table_options(
        self, table_name: str, schema: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        """DuckDB tables have no options."""
        self._one(table_name, schema)
        return {}

    def get_multi_table_options(
        self,
        schema: str | None = None,
        filter_names: Sequence[str] | None = None,
        kind: ObjectKind = ObjectKind.TABLE,
        scope: ObjectScope = ObjectScope.DEFAULT,
        **kw: Any,
    ) -> dict[TableKey, dict[str, Any]]:
        """DuckDB tables have no options."""
        return self._multi(schema, filter_names, lambda table: {})
