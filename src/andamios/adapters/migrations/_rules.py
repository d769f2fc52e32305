"""What DuckDB can change in an existing table, and what needs the table rebuilt.

Observed on DuckDB 2.0 (each rule is provoked for real by a test):

- A table with an index, or one that another table's foreign key references, refuses almost
  every ``ALTER TABLE``: ``Dependency Error: Cannot alter entry "products" because there are
  entries that depend on it.`` Adding a nullable column without constraints, changing a column's
  default, and creating or dropping indexes still work.
- ``ALTER TABLE ... ADD CONSTRAINT`` works for ``UNIQUE`` only: ``Not implemented Error: No
  support for adding FOREIGN_KEY constraints with ALTER TABLE`` (also ``CHECK``); a table has
  one primary key, set when it is created. ``ADD COLUMN ... REFERENCES``: ``Parser Error:
  Adding columns with FOREIGN KEY constraints is not supported yet``.
- No constraint can be dropped: ``Not implemented Error: No support for that ALTER TABLE option
  yet!``
- The type of a column in a primary key, unique or foreign key constraint cannot change
  (``Binder Error: Cannot change the type of a column that has a UNIQUE or PRIMARY KEY
  constraint specified``), and such a column cannot be dropped (``Catalog Error: Cannot drop
  column "sku" because there is a UNIQUE constraint that depends on it``).
- A table that another table's foreign key references cannot be dropped either (``Catalog
  Error: Could not drop the table because this table is main key table of the table "lines"``),
  so it cannot be rebuilt.

What cannot be done in place is done by rebuilding the table (Alembic's batch "move and copy":
create the new table, copy the rows, drop the old one, rename, re-create the indexes), inside the
migration's transaction. A table others reference cannot be rebuilt: such a change is refused
before anything runs, with a message saying what to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.engine.reflection import Inspector

from andamios.adapters.migrations._ddl import created_on

__all__ = ["TableShape", "Verdict", "judge", "refusal"]


@dataclass(frozen=True, slots=True)
class TableShape:
    """What decides whether DuckDB can alter a table in place."""

    name: str
    #: Names of the table's indexes (not the ones DuckDB keeps for constraints).
    indexes: tuple[str, ...] = ()
    #: Columns in the primary key or a unique constraint.
    key_columns: frozenset[str] = frozenset()
    #: Columns of the table's foreign keys.
    foreign_key_columns: frozenset[str] = frozenset()
    #: Other tables with a foreign key to this one.
    referenced_by: tuple[str, ...] = ()

    @classmethod
    def read_all(cls, inspector: Inspector, schema: str | None = None) -> dict[str, TableShape]:
        """The shapes of the tables of ``schema`` as the database has them (its reflection)."""
        names = inspector.get_table_names(schema)
        primary_keys = inspector.get_multi_pk_constraint(schema)
        uniques = inspector.get_multi_unique_constraints(schema)
        indexes = inspector.get_multi_indexes(schema)
        foreign_keys = inspector.get_multi_foreign_keys(schema)
        referencing: dict[str, set[str]] = {}
        for name in names:
            for fk in foreign_keys[(schema, name)]:
                referencing.setdefault(fk["referred_table"], set()).add(name)
        shapes = {}
        for name in names:
            key = (schema, name)
            columns = set(primary_keys[key]["constrained_columns"])
            for unique in uniques[key]:
                columns.update(unique["column_names"])
            shapes[name] = cls(
                name,
                indexes=tuple(str(index["name"]) for index in indexes[key]),
                key_columns=frozenset(columns),
                foreign_key_columns=frozenset(
                    column for fk in foreign_keys[key] for column in fk["constrained_columns"]
                ),
                referenced_by=tuple(sorted(referencing.get(name, set()) - {name})),
            )
        return shapes

    @classmethod
    def read(cls, inspector: Inspector, name: str, schema: str | None = None) -> TableShape:
        """The shape of a table as the database has it (an empty shape if it does not exist)."""
        return cls.read_all(inspector, schema).get(name) or cls(name)

    @classmethod
    def from_table(cls, table: sa.Table, dialect: sa.Dialect) -> TableShape:
        """The shape a mapping gives a table on ``dialect`` (the database after an upgrade).

        Foreign keys ``dialect`` does not create (:func:`~._ddl.created_on`) are not there.
        """
        keys: set[str] = set()
        for constraint in table.constraints:
            if isinstance(constraint, sa.PrimaryKeyConstraint | sa.UniqueConstraint):
                keys.update(column.name for column in constraint.columns)
        referenced_by = sorted(
            other.name
            for other in table.metadata.tables.values()
            if other is not table
            and any(fk.column.table is table for fk in _created_keys(other, dialect))
        )
        return cls(
            table.name,
            indexes=tuple(sorted(str(index.name) for index in table.indexes)),
            key_columns=frozenset(keys),
            foreign_key_columns=frozenset(fk.parent.name for fk in _created_keys(table, dialect)),
            referenced_by=tuple(referenced_by),
        )

    def referenced(self, table: str) -> TableShape:
        """This shape, once ``table`` has a foreign key to it."""
        if table in self.referenced_by:
            return self
        return replace(self, referenced_by=(*self.referenced_by, table))

    def unreferenced_by(self, table: str) -> TableShape:
        """This shape, once ``table`` (and its foreign keys) is gone."""
        if table not in self.referenced_by:
            return self
        return replace(self, referenced_by=tuple(t for t in self.referenced_by if t != table))

    def changed(self, changes: Iterable[object]) -> TableShape:
        """This shape after a table's changes (the indexes they create and drop)."""
        indexes = list(self.indexes)
        for change in changes:
            name = getattr(change, "index_name", None)
            if isinstance(change, ops.CreateIndexOp):
                indexes.append(str(name))
            elif isinstance(change, ops.DropIndexOp) and name in indexes:
                indexes.remove(str(name))
        return replace(self, indexes=tuple(indexes))

    @property
    def locked(self) -> str | None:
        """Why DuckDB refuses most ALTERs of this table, if it does."""
        if self.referenced_by:
            return f"table {_names(self.referenced_by)} references it with a FOREIGN KEY"
        if self.indexes:
            return f"it has an index ({_names(self.indexes)})"
        return None


def _created_keys(table: sa.Table, dialect: sa.Dialect) -> list[sa.ForeignKey]:
    """The foreign keys of ``table`` that ``dialect`` creates."""
    return [
        fk
        for constraint in table.foreign_key_constraints
        if created_on(constraint, dialect)
        for fk in constraint.elements
    ]


def _names(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in names)


@dataclass(frozen=True, slots=True)
class Verdict:
    """How DuckDB can make one change: in place (``reason`` is ``None``), or by a rebuild.

    ``blocked_by`` names the tables whose foreign keys keep the table from being rebuilt.
    """

    change: str
    reason: str | None = None
    blocked_by: tuple[str, ...] = ()

    @property
    def in_place(self) -> bool:
        """Whether DuckDB can make the change with ``ALTER TABLE``."""
        return self.reason is None

    @property
    def possible(self) -> bool:
        """Whether DuckDB can make the change at all (in place, or by a rebuild)."""
        return self.in_place or not self.blocked_by

    @property
    def why(self) -> str:
        """Why the table is rebuilt: "DuckDB cannot <change> in place: <reason>"."""
        return f"DuckDB cannot {self.change} in place: {self.reason}"


def refusal(table: str, verdicts: Iterable[Verdict]) -> str:
    """Why DuckDB can neither make ``verdicts``' changes to ``table`` nor rebuild it."""
    refused = [verdict for verdict in verdicts if not verdict.possible]
    changes = "; ".join(f"{v.change} ({v.reason})" for v in refused)
    blockers = _names(dict.fromkeys(name for v in refused for name in v.blocked_by))
    return (
        f"DuckDB cannot make these changes to table {table!r} in place: {changes}; nor can it "
        f"rebuild the table, because table {blockers} references it with a FOREIGN KEY and "
        "DuckDB refuses to drop a table that others reference. Remove those foreign keys "
        "first (rebuild the referencing tables without them in an earlier migration), or drop "
        "and re-create the tables"
    )


_KINDS: dict[type[object], str] = {
    sa.PrimaryKeyConstraint: "PRIMARY KEY",
    sa.ForeignKeyConstraint: "FOREIGN KEY",
    sa.CheckConstraint: "CHECK",
}


def _rebuild(shape: TableShape, change: str, reason: str) -> Verdict:
    return Verdict(change, reason, shape.referenced_by)


def _when_locked(shape: TableShape, change: str) -> Verdict:
    why = shape.locked
    return Verdict(change) if why is None else _rebuild(shape, change, why)


def judge(  # noqa: PLR0911 - one return per kind of change
    shape: TableShape,
    change: str,
    *,
    column: str | None = None,
    new_column: sa.Column[Any] | None = None,
    constraint: sa.Constraint | None = None,
    type_changed: bool = False,
    structural: bool = True,
) -> Verdict:
    """How DuckDB can make ``change`` to the table ``shape`` describes.

    ``change`` is one of ``alter_column``, ``add_column``, ``drop_column``, ``add_constraint``,
    ``drop_constraint`` (anything else, such as creating an index, is made in place). For
    ``alter_column``, ``structural`` is false when only the default or the comment changes, and
    ``type_changed`` tells a type change.
    """
    table = shape.name
    if change == "alter_column":
        what = f"alter column {table}.{column}"
        if not structural:
            return Verdict(what)
        if type_changed and column in shape.key_columns | shape.foreign_key_columns:
            return _rebuild(
                shape, what, "its type cannot change while it is in a key or foreign key"
            )
        return _when_locked(shape, what)
    if change == "add_column":
        assert new_column is not None
        what = f"add column {table}.{new_column.name}"
        if new_column.foreign_keys:
            return _rebuild(shape, what, "a new column cannot have a FOREIGN KEY")
        if new_column.nullable and not new_column.unique and not new_column.primary_key:
            return Verdict(what)
        return _when_locked(shape, what + " with a constraint")
    if change == "drop_column":
        what = f"drop column {table}.{column}"
        if column in shape.key_columns | shape.foreign_key_columns:
            return _rebuild(shape, what, "it is in a key or foreign key")
        return _when_locked(shape, what)
    if change == "add_constraint":
        if isinstance(constraint, sa.UniqueConstraint):
            return _when_locked(shape, f"add a unique constraint to {table}")
        kind = _KINDS.get(type(constraint), "new")
        return _rebuild(
            shape,
            f"add a {kind} constraint to {table}",
            "an existing table gets no new constraint but UNIQUE",
        )
    if change == "drop_constraint":
        return _rebuild(
            shape,
            f"drop a constraint of {table}",
            "an existing table's constraints cannot be dropped",
        )
    return Verdict(change)
