"""Autogenerate: what every database needs, and on DuckDB, migrations that DuckDB can run.

On every database, :func:`include_object` and :func:`render_item` leave out the foreign keys
the database's dialect does not create (:func:`~._ddl.created_on`), and :func:`render_item`
writes types a migration can import. On other databases the migration is Alembic's own.

On DuckDB (Alembic's implementation is :class:`~._impl.DuckDBImpl`),
:func:`process_revision_directives` (set by the migration environment) rewrites what Alembic
compared, table by table, with the rules of :mod:`._rules`:

- changes DuckDB makes in place stay Alembic's usual ``op.*`` calls;
- changes that need the table rebuilt become one ``op.batch_alter_table(..., recreate='always')``
  block, preceded by a comment saying why;
- changes DuckDB can make neither in place nor by a rebuild start the migration with a comment
  and ``raise UnsupportedMigration(...)``, so running it fails before anything changes.

It also orders the changes so that fewer are blocked, names unnamed unique constraints and foreign
keys as DuckDB names them (``<table>_<columns>_key``, ``..._fkey``), creates the sequences of new
tables' columns first (Alembic does not render ``sa.Sequence``), and refuses (at once, writing
nothing) a new table whose integer primary key DuckDB could not create.

On every database, a NOT NULL column without a ``server_default`` added to an existing table
(which fails on a table with rows) makes the upgrade start with a comment saying what to add and
``raise MigrationError(...)``, and a warning (:class:`MissingDefaultOp`).
"""

from __future__ import annotations

import logging
import sys
import textwrap
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.autogenerate.render import render_op
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext

from andamios.adapters.migrations._ddl import created_on
from andamios.adapters.migrations._errors import UnsupportedMigration
from andamios.adapters.migrations._impl import DuckDBImpl, serial_refusal
from andamios.adapters.migrations._rules import TableShape, Verdict, judge, refusal

__all__ = [
    "MissingDefaultOp",
    "RebuildTableOps",
    "UnsupportedChangeOp",
    "describe_diff",
    "process_revision_directives",
    "render_item",
]

_WIDTH = 92
_log = logging.getLogger(__name__)


class RebuildTableOps(ops.ModifyTableOps):
    """Changes to one table that DuckDB makes by rebuilding it (a batch with recreate)."""

    def __init__(
        self,
        table_name: str,
        changes: list[ops.MigrateOperation],
        *,
        schema: str | None = None,
        reasons: Iterable[str] = (),
    ) -> None:
        super().__init__(table_name, changes, schema=schema)
        self.reasons = list(dict.fromkeys(reasons))


class UnsupportedChangeOp(ops.MigrateOperation):
    """A change DuckDB cannot make: rendered as a comment and ``raise UnsupportedMigration``."""

    def __init__(self, table_name: str, reason: str) -> None:
        self.table_name = table_name
        self.reason = reason

    def reverse(self) -> UnsupportedChangeOp:
        """Undoing an unsupported change is unsupported too."""
        return self

    def to_diff_tuple(self) -> tuple[Any, ...]:
        """``("unsupported", table, reason)``."""
        return ("unsupported", self.table_name, self.reason)


class MissingDefaultOp(ops.MigrateOperation):
    """NOT NULL columns without a ``server_default``, added to existing tables.

    On a table with rows, ``ADD COLUMN`` fails (DuckDB: ``NOT NULL constraint failed``), as those
    rows have no value for it. Rendered at the start of the upgrade as a comment saying what to
    add and ``raise MigrationError(...)``: the upgrade stops before anything runs until the
    migration is edited (as Django's ``makemigrations`` asks for a default).
    """

    def __init__(self, columns: list[sa.Column[Any]]) -> None:
        self.columns = columns

    @property
    def names(self) -> str:
        """``table.column, ...``."""
        return ", ".join(f"{column.table.name}.{column.name}" for column in self.columns)

    @property
    def reason(self) -> str:
        """What the raise says."""
        verb = "is" if len(self.columns) == 1 else "are"
        return f"{self.names} {verb} NOT NULL without a server_default: edit this revision"

    def to_diff_tuple(self) -> tuple[Any, ...]:
        """``("missing_default", "table.column, ...")``."""
        return ("missing_default", self.names)


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in textwrap.wrap(text, _WIDTH)]


@renderers.dispatch_for(RebuildTableOps)
def _render_rebuild(autogen_context: AutogenContext, op: RebuildTableOps) -> list[str]:
    lines: list[str] = []
    for reason in op.reasons:
        lines.extend(_comment(reason + "."))
    lines.extend(
        _comment(
            "So the table is rebuilt: its rows are copied into a new table that replaces it, "
            "in this migration's transaction."
        )
    )
    with autogen_context._within_batch():
        lines.append(
            f"with op.batch_alter_table({op.table_name!r}, schema={op.schema!r}, "
            "recreate='always') as batch_op:"
        )
        for change in op.ops:
            lines.extend(render_op(autogen_context, change))
    lines.append("")
    return lines


@renderers.dispatch_for(UnsupportedChangeOp)
def _render_unsupported(autogen_context: AutogenContext, op: UnsupportedChangeOp) -> list[str]:
    autogen_context.imports.add("from andamios.adapters.migrations import UnsupportedMigration")
    return [
        *_comment(op.reason + "."),
        "# The changes below are what the mapping asks for; edit this migration to a form DuckDB",
        "# can run, then remove this raise.",
        f"raise UnsupportedMigration({op.reason!r})",
    ]


@renderers.dispatch_for(MissingDefaultOp)
def _render_missing_default(autogen_context: AutogenContext, op: MissingDefaultOp) -> list[str]:
    autogen_context.imports.add("from andamios.adapters.migrations import MigrationError")
    one = len(op.columns) == 1
    return [
        *_comment(
            f"{op.names} {'is' if one else 'are'} NOT NULL and {'has' if one else 'have'} no "
            "server_default: adding a column like that to a table that has rows fails, since "
            "those rows have no value for it. Give it one: server_default=... in its "
            "op.add_column below (or in the mapping's column, then autogenerate again); or add "
            'it nullable, fill it (op.execute("UPDATE ...")), then make it NOT NULL. If the '
            "table is empty wherever this migration runs, just remove this raise."
        ),
        f"raise MigrationError({op.reason!r})",
    ]


def include_object(
    obj: object,
    name: str | None,
    type_: str,
    reflected: bool,
    compare_to: object,
    *,
    dialect: sa.Dialect,
) -> bool:
    """Leave out of the comparison the foreign keys ``dialect`` does not create.

    Alembic's ``include_object`` hook, with the dialect bound (the migration environment binds
    the database's): the mapping's key of a child table is not created on DuckDB (ADR 0009),
    so a DuckDB database neither gets it from a migration nor is found to miss it.
    """
    return not (
        type_ == "foreign_key_constraint"
        and isinstance(obj, sa.ForeignKeyConstraint)
        and not created_on(obj, dialect)
    )


def _public_import(cls: type) -> str | None:
    """``from package import Name`` for a class of a private module its package exports."""
    parts = cls.__module__.split(".")
    private = next((at for at, part in enumerate(parts) if part.startswith("_")), None)
    if not private:  # a public module (None), or a private top-level one (0)
        return None
    package = ".".join(parts[:private])
    if getattr(sys.modules.get(package), cls.__name__, None) is not cls:
        return None
    return f"from {package} import {cls.__name__}"


def _targets(constraint: sa.ForeignKeyConstraint) -> tuple[list[str], list[str]]:
    return list(constraint.column_keys), [key.target_fullname for key in constraint.elements]


def _mapped(rendered: sa.ForeignKeyConstraint, context: AutogenContext) -> sa.ForeignKeyConstraint:
    """The mapping's foreign key that ``rendered`` copies, if it is one (else ``rendered``).

    Alembic renders ``create_table`` from a copy of the mapping's table, and SQLAlchemy's copy
    of a constraint drops its DDL condition: the condition is the original's.
    """
    table = context.table_key_to_table.get(rendered.table.key)
    keys = table.foreign_key_constraints if table is not None else ()
    return next((key for key in keys if _targets(key) == _targets(rendered)), rendered)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool | None:
    """Render what a migration needs rendered otherwise (``render_item`` of the context).

    - a foreign key the database's dialect does not create is left out of ``create_table``;
    - an application's ``TypeDecorator`` over a SQLAlchemy type, as that type (the database
      stores the same): a migration must not depend on application code that will change;
    - a type of a private module (``DuckDBType`` of ``andamios.adapters.duckdb._types``) is
      imported from the package that exports it (``from andamios.adapters.duckdb import
      DuckDBType``);
    - any other type of the application's, with an import of its module.
    """
    if type_ == "foreign_key":
        dialect = autogen_context.dialect
        if dialect is not None and not created_on(_mapped(obj, autogen_context), dialect):
            return None  # Alembic leaves a constraint rendered as None out of create_table
        return False
    if type_ != "type" or type(obj).__module__.startswith("sqlalchemy."):
        return False
    if isinstance(obj, sa.types.TypeDecorator):
        impl = obj.impl_instance
        if type(impl).__module__ == "sqlalchemy.sql.sqltypes":
            return f"sa.{impl!r}"
    statement = _public_import(type(obj))
    if statement is not None:
        autogen_context.imports.add(statement)
        return repr(obj)
    autogen_context.imports.add(f"import {type(obj).__module__}")
    return False


# -- the rewrite ---------------------------------------------------------------------------

_CHANGES: dict[type[ops.MigrateOperation], str] = {
    ops.AlterColumnOp: "alter_column",
    ops.AddColumnOp: "add_column",
    ops.DropColumnOp: "drop_column",
    ops.AddConstraintOp: "add_constraint",
    ops.DropConstraintOp: "drop_constraint",
}


def _verdict(shape: TableShape, change: ops.MigrateOperation) -> Verdict:
    kind = next((name for cls, name in _CHANGES.items() if isinstance(change, cls)), "other")
    if isinstance(change, ops.AlterColumnOp):
        return judge(
            shape,
            kind,
            column=change.column_name,
            type_changed=change.modify_type is not None,
            structural=any(
                value is not None
                for value in (change.modify_nullable, change.modify_type, change.modify_name)
            ),
        )
    if isinstance(change, ops.AddColumnOp):
        return judge(shape, kind, new_column=change.column)
    if isinstance(change, ops.DropColumnOp):
        return judge(shape, kind, column=change.column_name)
    if isinstance(change, ops.AddConstraintOp | ops.DropConstraintOp):
        return judge(shape, kind, constraint=change.to_constraint())
    return judge(shape, kind)


type _Named = ops.CreateUniqueConstraintOp | ops.CreateForeignKeyOp


def _duckdb_name(table: str, change: _Named) -> str:
    """DuckDB's name for the unique constraint or foreign key ``change`` creates."""
    if isinstance(change, ops.CreateUniqueConstraintOp):
        return "_".join([table, *change.columns, "key"])
    return "_".join([table, *change.local_cols, *change.remote_cols, "fkey"])


def _name_constraints(table_ops: ops.ModifyTableOps) -> None:
    """Name unnamed unique constraints and foreign keys as DuckDB names them.

    DuckDB keeps no constraint names and reports its own; a batch needs a name to drop one.
    """
    table = table_ops.table_name
    for change in table_ops.ops:
        named = ops.CreateUniqueConstraintOp | ops.CreateForeignKeyOp
        if isinstance(change, named) and change.constraint_name is None:
            change.constraint_name = _duckdb_name(table, change)
        elif (
            isinstance(change, ops.DropConstraintOp)
            and change.constraint_name is None
            and isinstance(change._reverse, named)
        ):
            change.constraint_name = _duckdb_name(table, change._reverse)


def _table_changes(
    table_ops: ops.ModifyTableOps, shape: TableShape
) -> tuple[list[ops.MigrateOperation], ops.MigrateOperation]:
    """(Unsupported-change ops to put first, the table's changes as DuckDB can run them)."""
    _name_constraints(table_ops)
    # Indexes dropped first and created last: an index blocks DuckDB's other ALTERs.
    table_ops.ops = [
        *(c for c in table_ops.ops if isinstance(c, ops.DropIndexOp)),
        *(c for c in table_ops.ops if not isinstance(c, ops.DropIndexOp | ops.CreateIndexOp)),
        *(c for c in table_ops.ops if isinstance(c, ops.CreateIndexOp)),
    ]
    verdicts = []
    for change in table_ops.ops:
        verdicts.append(_verdict(shape, change))
        shape = shape.changed([change])
    if not all(verdict.possible for verdict in verdicts):
        return [UnsupportedChangeOp(table_ops.table_name, refusal(shape.name, verdicts))], table_ops
    rebuilds = [verdict.why for verdict in verdicts if not verdict.in_place]
    if rebuilds:
        return [], RebuildTableOps(
            table_ops.table_name, table_ops.ops, schema=table_ops.schema, reasons=rebuilds
        )
    return [], table_ops


def _sequences(table: ops.CreateTableOp) -> list[sa.Sequence]:
    return [
        column.default
        for column in table.columns
        if isinstance(column, sa.Column) and isinstance(column.default, sa.Sequence)
    ]


def _with_sequences(
    create: ops.CreateTableOp, dialect: sa.engine.Dialect
) -> list[ops.MigrateOperation]:
    """Create the sequences of a new table's columns first, and make them the columns' defaults."""
    before: list[ops.MigrateOperation] = []
    columns: list[Any] = []
    for column in create.columns:
        if isinstance(column, sa.Column) and isinstance(column.default, sa.Sequence):
            sequence = column.default
            ddl = sa.schema.CreateSequence(sequence, if_not_exists=True)
            before.append(ops.ExecuteSQLOp(str(ddl.compile(dialect=dialect))))
            copy = column._copy()
            copy.default = None
            sa.DefaultClause(sa.text(f"nextval('{sequence.name}')"))._set_parent(copy)
            columns.append(copy)
        else:
            columns.append(column)
    create.columns = columns
    return [*before, create]


def _referenced_tables(items: Iterable[Any], dialect: sa.Dialect) -> set[str]:
    """The tables the foreign keys among ``items`` (columns, constraints, ops) point to.

    Keys ``dialect`` does not create (a child table's, on DuckDB) reference nothing.
    """
    targets: set[str] = set()
    for item in items:
        if isinstance(item, sa.Column):
            keys: Iterable[sa.ForeignKey] = item.foreign_keys
        elif isinstance(item, sa.ForeignKeyConstraint):
            keys = item.elements
        elif isinstance(item, ops.AddColumnOp):
            keys = item.column.foreign_keys
        elif isinstance(item, ops.CreateForeignKeyOp):
            targets.add(item.referent_table)
            continue
        else:
            continue
        targets.update(
            key.target_fullname.split(".")[-2]
            for key in keys
            if key.constraint is None or created_on(key.constraint, dialect)
        )
    return targets


def _order(
    changes: list[ops.MigrateOperation], state: dict[str, TableShape], dialect: sa.Dialect
) -> list[ops.MigrateOperation]:
    """Order a revision's changes so that DuckDB can make them.

    DuckDB cannot alter a table another table references. Alembic creates new tables before it
    alters the others, and drops old ones after, so a new table's foreign key, or an old one's,
    would block the changes to the table it references. Here the tables that go away (with
    their own changes) come first and the new ones (with their indexes) last, unless the
    changes of another table concern them (a foreign key to or from them).
    """

    def table(change: ops.MigrateOperation) -> str | None:
        return getattr(change, "table_name", None)

    dropped = {c.table_name for c in changes if isinstance(c, ops.DropTableOp)}
    created = {c.table_name for c in changes if isinstance(c, ops.CreateTableOp)}
    altered = [
        c
        for c in changes
        if isinstance(c, ops.ModifyTableOps) and c.table_name not in dropped | created
    ]
    altered_names = {c.table_name for c in altered}
    needed = _referenced_tables((inner for c in altered for inner in c.ops), dialect)
    early = {
        name
        for name in dropped
        if name in state and not altered_names & set(state[name].referenced_by)
    }
    late = created - needed
    return [
        *(c for c in changes if table(c) in early),
        *(c for c in changes if table(c) not in early | late),
        *(c for c in changes if table(c) in late),
    ]


def _rewrite(
    container: ops.OpContainer,
    state: dict[str, TableShape],
    dialect: sa.engine.Dialect,
    sequences: dict[str, list[str]],
) -> None:
    """Rewrite one list of changes, following the tables' shapes as the changes run."""
    first: list[ops.MigrateOperation] = []
    rewritten: list[ops.MigrateOperation] = []
    for change in _order(list(container.ops), state, dialect):
        if isinstance(change, ops.ModifyTableOps):
            shape = state.get(change.table_name, TableShape(change.table_name))
            refused, table_ops = _table_changes(change, shape)
            first.extend(refused)
            rewritten.append(table_ops)
            state[change.table_name] = shape.changed(change.ops)
            _reference(state, change.table_name, _referenced_tables(change.ops, dialect))
        elif isinstance(change, ops.CreateTableOp):
            serial = serial_refusal(change.to_table())
            if serial is not None:  # said now, not only when the migration runs
                raise UnsupportedMigration(serial)
            state[change.table_name] = TableShape(change.table_name)
            _reference(state, change.table_name, _referenced_tables(change.columns, dialect))
            if _sequences(change):
                sequences[change.table_name] = [s.name for s in _sequences(change)]
                rewritten.extend(_with_sequences(change, dialect))
            else:
                rewritten.append(change)
        elif isinstance(change, ops.DropTableOp):
            state.pop(change.table_name, None)
            for name, shape in state.items():
                state[name] = shape.unreferenced_by(change.table_name)
            rewritten.append(change)
            rewritten.extend(
                ops.ExecuteSQLOp(f"DROP SEQUENCE IF EXISTS {name}")
                for name in sequences.get(change.table_name, ())
            )
        else:
            rewritten.append(change)
    container.ops = [*first, *rewritten]


def _reference(state: dict[str, TableShape], source: str, targets: Iterable[str]) -> None:
    for target in targets:
        if target in state and target != source:
            state[target] = state[target].referenced(source)


def _missing_default(upgrade_ops: ops.UpgradeOps) -> MissingDefaultOp | None:
    """A :class:`MissingDefaultOp` for the NOT NULL columns without a server default that the
    upgrade adds to existing tables (a new table has no rows to fill), if it adds any."""
    columns = [
        inner.column
        for change in upgrade_ops.ops
        if isinstance(change, ops.ModifyTableOps)
        for inner in change.ops
        if isinstance(inner, ops.AddColumnOp)
        and not inner.column.nullable
        and inner.column.server_default is None
        and inner.column.computed is None
        and inner.column.identity is None
    ]
    return MissingDefaultOp(columns) if columns else None


def process_revision_directives(
    context: MigrationContext, revision: Any, directives: list[ops.MigrationScript]
) -> None:
    """Make autogenerated operations ones the database can run (see the module).

    On DuckDB, the operations are rewritten into ones DuckDB can run; other databases'
    implementations alter tables as Alembic writes the operations. On every database, an upgrade
    that adds a NOT NULL column without a server default to an existing table starts with a
    :class:`MissingDefaultOp`, and a warning is logged.
    """
    if isinstance(context.impl, DuckDBImpl):
        _rewrite_for_duckdb(context, directives)
    for script in directives:
        for upgrade_ops in script.upgrade_ops_list:
            stop = _missing_default(upgrade_ops)
            if stop is not None:
                _log.warning(
                    "%s: NOT NULL without a server_default; the upgrade stops (raise "
                    "MigrationError) until you give it one, as the revision's comment says",
                    stop.names,
                )
                upgrade_ops.ops.insert(0, stop)


def _rewrite_for_duckdb(context: MigrationContext, directives: list[ops.MigrationScript]) -> None:
    connection = context.connection
    if connection is None:  # pragma: no cover - autogenerate always has a connection
        return
    dialect = context.dialect
    database = TableShape.read_all(sa.inspect(connection))
    metadata = context.opts.get("target_metadata")
    tables = metadata.tables if isinstance(metadata, sa.MetaData) else {}
    sequences: dict[str, list[str]] = {}
    for script in directives:
        for upgrade_ops in script.upgrade_ops_list:
            _rewrite(upgrade_ops, dict(database), dialect, sequences)
        for downgrade_ops in script.downgrade_ops_list:
            upgraded = {
                table.name: TableShape.from_table(table, dialect) for table in tables.values()
            }
            _rewrite(downgrade_ops, upgraded, dialect, sequences)


# -- describing differences ------------------------------------------------------------------


def _column_text(column: sa.Column[Any]) -> str:
    null = "NULL" if column.nullable else "NOT NULL"
    return f"{column.table.name}.{column.name} {column.type} {null}"


def describe_diff(diff: Any) -> str:  # noqa: PLR0911 - one return per kind of difference
    """One line for one of Alembic's difference tuples (``andamios db check``)."""
    if isinstance(diff, list):
        return "; ".join(describe_diff(each) for each in diff)
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        sign = "+" if kind == "add_table" else "-"
        return f"{sign} table {diff[1].name}"
    if kind in ("add_column", "remove_column"):
        sign = "+" if kind == "add_column" else "-"
        return f"{sign} column {_column_text(diff[3])}"
    if kind in ("add_index", "remove_index"):
        sign = "+" if kind == "add_index" else "-"
        index = diff[1]
        unique = "unique " if index.unique else ""
        columns = ", ".join(column.name for column in index.columns)
        return f"{sign} {unique}index {index.name} on {index.table.name} ({columns})"
    if kind in ("add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        sign = "+" if kind.startswith("add") else "-"
        constraint = diff[1]
        what = "foreign key" if kind.endswith("fk") else "unique constraint"
        columns = ", ".join(column.name for column in constraint.columns)
        return f"{sign} {what} on {constraint.table.name} ({columns})"
    if kind == "modify_type":
        return f"~ type of {diff[2]}.{diff[3]}: {diff[5]} -> {diff[6]}"
    if kind == "modify_nullable":
        before, after = ("NULL" if value else "NOT NULL" for value in (diff[5], diff[6]))
        return f"~ {diff[2]}.{diff[3]}: {before} -> {after}"
    if kind == "modify_default":
        return f"~ default of {diff[2]}.{diff[3]}: {_default(diff[5])} -> {_default(diff[6])}"
    if kind.startswith("modify_"):
        return f"~ {kind.removeprefix('modify_')} of {diff[2]}.{diff[3]}"
    if kind == "unsupported":
        return f"! {diff[1]}: {diff[2]}"
    if kind == "missing_default":
        return (
            f"! {diff[1]}: NOT NULL without a server_default (a revision adding it stops until "
            "it has one)"
        )
    names = [str(getattr(part, "name", part)) for part in diff[1:] if part is not None]
    return f"~ {kind.replace('_', ' ')}: {', '.join(names)}"


def _default(value: Any) -> str:
    if not isinstance(value, sa.DefaultClause):
        return "none"
    return str(getattr(value.arg, "text", value.arg))
