"""Imperative mapping of pure aggregate dataclasses onto SQLAlchemy tables."""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import (
    ColumnProperty,
    Composite,
    Mapper,
    RelationshipProperty,
    registry,
    relationship,
)
from sqlalchemy.orm.base import opt_manager_of_class
from sqlalchemy.orm.instrumentation import ClassManager
from sqlalchemy.sql.util import ClauseAdapter

from andamios.adapters.sql_spi import JsonText, emits_child_foreign_keys
from andamios.adapters.sqlalchemy._columns import (
    check_agreement,
    check_column_type,
    column_facts,
    refuse_unfilled,
    unique_groups,
)
from andamios.adapters.sqlalchemy._direct import StatementCache
from andamios.adapters.sqlalchemy._references import order_by_references
from andamios.adapters.sqlalchemy._types import JsonValue
from andamios.adapters.sqlalchemy._versioned_deletes import VERSION_MARK
from andamios.domain import AggregateRoot, Entity, InvalidSpecification, Unique
from andamios.ports.errors import MappingError
from andamios.ports.spi import (
    ColumnFacts,
    Link,
    aggregate_fields,
    audit_fields,
    check_aggregate_type,
    field_markers,
    leaf_type,
    register_blank_factory,
    register_storage,
    storage_rules,
    type_hints,
    unregister_blank_factory,
    unregister_storage,
)

__all__ = ["STATEMENTS_KEPT", "AggregateMapping", "Child", "ChildColumns", "Mapping"]

#: How many read-model statements a mapping keeps built (:meth:`Mapping.statement`).
STATEMENTS_KEPT = 256

# SQLAlchemy adds RETURNING to a versioned UPDATE only when it believes the database computes
# the version. Andamios does compute it in SQL (``version = version + 1``) and needs the RETURNING:
# on DuckDB it is what turns a concurrent DELETE of the row into a conflict instead of a lost
# update (duckdb#17223; see docs/adr/0004-concurrency-rules.md). A test asserts the RETURNING.
_SERVER_SIDE_VERSION = "_version_id_has_server_side_value"


@dataclass(slots=True)
class AggregateMapping:
    """How one aggregate class is stored: its table, version column and field columns.

    It resolves spec paths for the compiler (:class:`~andamios.adapters.sqlalchemy._compiler.
    SpecColumns`): :meth:`column` for a field (dotted: inside a value object, or a one-to-one
    child's field as a scalar subquery), :meth:`collection` for the children ``any()`` reads.
    """

    aggregate_type: type[AggregateRoot[Any]]
    table: sa.Table
    version_column: sa.Column[Any]
    mapper: Mapper[Any]
    _paths: dict[str, sa.ColumnElement[Any]] | None = field(default=None, init=False, repr=False)
    #: The compiled statements of the direct read path, by query shape (:mod:`._direct`).
    statements: StatementCache = field(
        default_factory=StatementCache, init=False, repr=False, compare=False
    )

    def column(self, path: str) -> sa.ColumnElement[Any]:
        """The column storing a (dotted) field path; InvalidSpecification if none does."""
        if self._paths is None:
            self._paths = _column_paths(self.mapper)
        found = self._paths.get(path)
        if found is None:
            found = _json_path(self.mapper, path)
            if found is not None:
                self._paths[path] = found
        if found is None:
            # A subquery (over the alias _scope keeps), built per use rather than kept here.
            found = _child_value(self.aggregate_type.__name__, self.mapper, self.table, path)
        if found is None:
            raise _no_column(self.aggregate_type.__name__, self.table, path)
        return found

    def collection(self, path: str) -> tuple[ChildColumns, sa.ColumnElement[bool], sa.FromClause]:
        """The children a field holds, for ``EXISTS``: their columns, the join to this root's
        row, and the aliased child table to select from; InvalidSpecification if none."""
        return _collection(self.aggregate_type.__name__, self.mapper, self.table, path)

    def present(self, path: str) -> sa.ColumnElement[bool] | None:
        """Whether the whole value at ``path`` is there, when no one column holds it (a
        one-to-one child, a value object in several columns); None when one column does."""
        return _presence(self.mapper, self.table, path)


class ChildColumns:
    """The columns of one child entity class, read from an alias of its table.

    Made by :meth:`AggregateMapping.collection`; it resolves the paths of the spec inside
    ``any()`` as :class:`AggregateMapping` resolves the root's.
    """

    __slots__ = ("_adapter", "_mapper", "_name", "_paths", "source")

    def __init__(self, mapper: Mapper[Any], source: sa.FromClause) -> None:
        self._mapper = mapper
        self._name = mapper.class_.__name__
        self.source = source
        self._adapter = ClauseAdapter(source)
        self._paths = _column_paths(mapper)

    def column(self, path: str) -> sa.ColumnElement[Any]:
        """The child's column for a (dotted) field path, on the alias; InvalidSpecification."""
        found = self._paths.get(path)
        if found is None:
            found = _json_path(self._mapper, path)
        if found is None:
            # A child maps its own columns only (Child takes no properties, no grandchildren).
            raise _no_column(self._name, self._mapper.local_table, path)
        return self._adapter.traverse(found)

    def collection(self, path: str) -> tuple[ChildColumns, sa.ColumnElement[bool], sa.FromClause]:
        """The children of this child (when its mapping has any), as for the root."""
        return _collection(self._name, self._mapper, self.source, path)

    def present(self, path: str) -> sa.ColumnElement[bool] | None:
        """Whether a value object of this child stored in several columns is there."""
        return _presence(self._mapper, self.source, path)


def _no_column(name: str, table: sa.FromClause, path: str) -> InvalidSpecification:
    head, _, rest = path.partition(".")
    described = getattr(table, "name", table)
    if rest:
        msg = (
            f"{name}.{path} has no column in table {described!r}: map the value "
            f"object {name}.{head} with a composite() property, or store it with "
            "JsonValue (whose str, int, float, Decimal, bool and date fields specs "
            "reach), to query inside it"
        )
    else:
        msg = (
            f"{name}.{path} is stored in several columns: compare or order by its "
            f"fields ({name}.{path}.<field>), not the whole value"
        )
    return InvalidSpecification(msg)


@functools.lru_cache(maxsize=1024)
def _scope(
    mapper: Mapper[Any], parent: sa.FromClause, key: str
) -> tuple[RelationshipProperty[Any], ChildColumns, sa.ColumnElement[bool]] | None:
    """The children mapped at ``key``: the relationship, the columns of an alias of their
    table, and the condition joining that alias to the ``parent`` row (outer query's table).

    Kept per mapper, parent and key: building the alias and adapting the join to it was most of
    what compiling ``F("lines").any(...)`` cost (0.9 of 1.3 ms per call, profiled). One alias
    may serve several subqueries, even of one statement: each ``EXISTS`` and scalar subquery
    has its own FROM, and children have no children of their own to nest one inside another.
    """
    prop = mapper.relationships.get(key)
    if prop is None:
        return None
    child_mapper: Mapper[Any] = prop.mapper
    source = child_mapper.local_table.alias()
    columns = ChildColumns(child_mapper, source)
    to_parent = ClauseAdapter(parent)
    to_child = ClauseAdapter(source)
    joined = sa.and_(
        *(
            to_child.traverse(remote) == to_parent.traverse(local)
            for local, remote in prop.local_remote_pairs
        )
    )
    return prop, columns, joined


def _collection(
    name: str, mapper: Mapper[Any], parent: sa.FromClause, path: str
) -> tuple[ChildColumns, sa.ColumnElement[bool], sa.FromClause]:
    scope = _scope(mapper, parent, path) if "." not in path else None
    if scope is None:
        msg = (
            f"{name}.{path} holds no child entities mapped with children=: any() matches the "
            "children of a field mapped with Child(...)"
        )
        raise InvalidSpecification(msg)
    _, columns, joined = scope
    return columns, joined, columns.source


def _presence(
    mapper: Mapper[Any], parent: sa.FromClause, path: str
) -> sa.ColumnElement[bool] | None:
    """``F(path).is_not_none()`` where no one column holds the value: a value object mapped with
    ``composite()`` is there when one of its columns is not NULL (it reads back ``None`` when
    all are), a one-to-one child when a row of its table joins (``EXISTS``). None otherwise
    (one column; a list of children, which the ports refuse to test for ``None``)."""
    if "." in path:
        return None
    composite = next((each for each in mapper.composites if each.key == path), None)
    if composite is not None:
        to_parent = ClauseAdapter(parent)
        return sa.or_(*(to_parent.traverse(column).is_not(None) for column in composite.columns))
    scope = _scope(mapper, parent, path)
    if scope is None or scope[0].uselist:
        return None
    _, columns, joined = scope
    found = sa.select(sa.literal(1)).select_from(columns.source).where(joined)
    return sa.exists(found.correlate_except(columns.source))


def _child_value(
    name: str, mapper: Mapper[Any], parent: sa.FromClause, path: str
) -> sa.ColumnElement[Any] | None:
    """A one-to-one child's field (``F("note.text")``): a scalar subquery, NULL without a child
    (as the in-memory adapter reads ``None`` part-way); None if ``path`` names no child."""
    head, _, rest = path.partition(".")
    scope = _scope(mapper, parent, head) if rest else None
    if scope is None:
        return None
    prop, columns, joined = scope
    if prop.uselist:
        msg = (
            f"{name}.{head} holds a list of {prop.mapper.class_.__name__}, so {path!r} names "
            f"no single value: match one of them with F({head!r}).any(F({rest!r}) == ...)"
        )
        raise InvalidSpecification(msg)
    value = columns.column(rest)
    subquery = sa.select(value).where(joined).correlate_except(columns.source)
    return subquery.scalar_subquery()


def _column_paths(mapper: Mapper[Any]) -> dict[str, sa.ColumnElement[Any]]:
    paths: dict[str, sa.ColumnElement[Any]] = {}
    for prop in mapper.column_attrs:
        paths[prop.key] = prop.columns[0]
    for composite in mapper.composites:
        value_type = composite.composite_class
        if not dataclasses.is_dataclass(value_type):
            continue
        names = [f.name for f in dataclasses.fields(value_type)]
        for name, column in zip(names, composite.columns, strict=False):
            paths[f"{composite.key}.{name}"] = column
    return paths


# What a JSON leaf is read back as, to compare and order like the field's Python type.
_JSON_LEAVES: dict[object, Callable[[], sa.types.TypeEngine[Any]]] = {
    str: sa.String,
    int: sa.BigInteger,
    float: sa.Double,
    Decimal: lambda: sa.Numeric(38, 10),
    bool: sa.Boolean,
    date: sa.Date,
}


def _json_path(mapper: Mapper[Any], path: str) -> sa.ColumnElement[Any] | None:
    """A field inside a dataclass stored by :class:`JsonValue`, read as the database reads JSON.

    ``F("size.width_cm")`` becomes ``CAST(<the text at $.width_cm of size> AS BIGINT)``; how a
    database reads that text is its adapter's :class:`~andamios.adapters.sql_spi.JsonText`
    (DuckDB: ``json_extract_string``). A missing value object (SQL ``NULL``) gives ``NULL``, as
    the in-memory adapter's path does.
    """
    head, _, rest = path.partition(".")
    column = mapper.columns.get(head)
    if not rest or column is None or not isinstance(column.type, JsonValue):
        return None
    value_type = column.type.value_type
    if not (isinstance(value_type, type) and dataclasses.is_dataclass(value_type)):
        return None
    make = _JSON_LEAVES.get(leaf_type(value_type, rest))
    if make is None:
        return None
    return sa.cast(JsonText(column, rest.split(".")), make())


def _referenced_columns(value: object) -> set[sa.ColumnElement[Any]]:
    """The table columns a ``properties`` value maps (so they are not also mapped by name)."""
    if isinstance(value, ColumnProperty):
        return set(value.columns)
    if isinstance(value, Composite):
        return {a for a in value.attrs if isinstance(a, sa.ColumnElement)}
    if isinstance(value, sa.ColumnElement):
        return {value}
    return set()


def _check_composites(cls: type, props: dict[str, Any]) -> None:
    """Every field of a dataclass value object mapped with ``composite()`` needs one column.

    An optional one reads back ``None`` when all its columns are NULL, as it was stored (an
    imperative ``composite()`` would build ``Money(None, None)``).
    """
    hints = type_hints(cls)
    for key, value in props.items():
        if not isinstance(value, Composite) or not dataclasses.is_dataclass(value.composite_class):
            continue
        hint = hints.get(key)
        if typing.get_origin(hint) is typing.Annotated:
            hint = typing.get_args(hint)[0]
        if type(None) in typing.get_args(hint) and not callable(value.return_none_on):
            value.return_none_on = _all_none
        names = [f.name for f in dataclasses.fields(value.composite_class)]
        if len(names) != len(value.attrs):
            kind = value.composite_class.__name__
            msg = (
                f"{cls.__name__}.{key} is a {kind} with fields {', '.join(names)}, but its "
                f"composite() maps {len(value.attrs)} column(s): give every field of {kind} "
                "one column, in field order"
            )
            raise MappingError(msg)


def _all_none(*values: object) -> bool:
    return all(value is None for value in values)


# Loader strategies that would emit SQL when an attribute is read: impossible without IO in an
# async session (MissingGreenlet), and a hidden query per object anyway.
_LAZY_LOADS = frozenset({"select", True, "dynamic", "write_only"})


def _refuse_lazy_loads(cls: type, props: dict[str, Any]) -> None:
    for key, value in props.items():
        if isinstance(value, RelationshipProperty) and value.lazy in _LAZY_LOADS:
            msg = (
                f"{cls.__name__}.{key} would load lazily (lazy={value.lazy!r}), which an async "
                "session cannot do: load aggregate children eagerly with lazy='selectin' (or "
                "'joined'), or forbid the load with lazy='raise'"
            )
            raise MappingError(msg)


@dataclass(frozen=True, slots=True)
class Child:
    """How child entities of an aggregate are stored: ``Mapping.map(..., children={...})``.

    ``entity_type`` is an :class:`~andamios.domain.Entity` dataclass (not an aggregate) mapped
    onto its own ``table``, whose primary key is the column storing its ``id`` and which declares
    a ``sa.ForeignKey`` to the root's table (the join; the domain never sees that column).
    ``order_by`` names the child fields a list of children is kept in. A field typed
    ``list[Child]`` holds many children; any other type (``Child | None``) holds one.
    """

    entity_type: type[Entity[Any]]
    table: sa.Table
    order_by: str | Sequence[str] = ()


def _key_to_mapped_rows_emitted(ddl: object, target: object, bind: object, **kw: Any) -> bool:
    """Whether a foreign key to a table of an aggregate is created (a child's to its root, one
    aggregate's to another's): unless the dialect says it cannot update a row such a key
    references (:data:`~andamios.adapters.sql_spi.CHILD_FOREIGN_KEYS`; DuckDB, ADR 0009)."""
    return emits_child_foreign_keys(kw.get("dialect"))


class Mapping:
    """The tables of an application and how its aggregates map onto them.

    ::

        mapping = Mapping()
        products = sa.Table("products", mapping.metadata, sa.Column("id", sa.Uuid,
                            primary_key=True), ..., sa.Column("version", sa.Integer))
        mapping.map(Product, products)

    The aggregate stays a plain dataclass: the mapping is imperative and adds nothing the domain
    sees. The version column drives optimistic locking: 0 before the aggregate is stored, 1 after
    its first commit, one more per committed change.

    ``metadata`` holds the tables (``Database.create_all(mapping.metadata)``, migrations);
    ``registry`` is the SQLAlchemy registry the classes are mapped in.
    """

    def __init__(self, metadata: sa.MetaData | None = None) -> None:
        self.metadata = metadata if metadata is not None else sa.MetaData()
        self.registry = registry(metadata=self.metadata)
        self._aggregates: dict[type[AggregateRoot[Any]], AggregateMapping] = {}
        self._children: set[type] = set()
        self._statements: dict[object, sa.Select[Any]] = {}

    def __repr__(self) -> str:
        names = ", ".join(sorted(cls.__name__ for cls in self._aggregates))
        return f"<Mapping of {names or 'nothing'}>"

    # A mapping is process-wide configuration (classes are instrumented once): copying it would
    # copy its tables too. dependency-injector deep-copies values handed to nested containers.
    def __copy__(self) -> Mapping:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Mapping:
        return self

    def map(
        self,
        aggregate_type: type[AggregateRoot[Any]],
        table: sa.Table,
        *,
        version_column: str = "version",
        properties: MappingABC[str, Any] | None = None,
        children: MappingABC[str, Child] | None = None,
    ) -> None:
        """Map an aggregate dataclass onto ``table`` (a table of this mapping's metadata).

        Every dataclass field needs a column of the same name, or an entry in ``properties``
        (passed to SQLAlchemy's ``map_imperatively``: e.g. ``composite()`` for a value object,
        or a column of another name). ``version_column`` names the column holding ``version``.
        Mapping the same class to the same table again does nothing. ``children`` maps fields
        holding child entities (:class:`Child`): loaded with the aggregate (one query per child
        table), saved and removed with it, a child's change a change of the aggregate's version.

        Raises :class:`MappingError` when the class is not an aggregate dataclass, when a field
        or the version column has no column, or when the class is already mapped elsewhere.
        """
        cls = check_aggregate_type(aggregate_type)
        existing = self._aggregates.get(cls)
        if existing is not None:
            if existing.table is table:
                return
            msg = (
                f"{cls.__name__} is already mapped to table {existing.table.name!r}; "
                f"it cannot also be mapped to {table.name!r}"
            )
            raise MappingError(msg)
        if sa.inspect(cls, raiseerr=False) is not None:
            msg = (
                f"{cls.__name__} is already mapped by another Mapping (or SQLAlchemy registry); "
                "a class can be mapped once per process (clear() that mapping first)"
            )
            raise MappingError(msg)
        mapped_base = next(
            (base for base in cls.__mro__[1:] if sa.inspect(base, raiseerr=False) is not None),
            None,
        )
        if mapped_base is not None:
            msg = (
                f"{cls.__name__} inherits from {mapped_base.__name__}, which is mapped: each "
                "aggregate is mapped on its own (mapped inheritance is not supported)"
            )
            raise MappingError(msg)
        if not isinstance(table, sa.Table) or table.metadata is not self.metadata:
            msg = f"map {cls.__name__} onto a sa.Table created with this mapping's metadata"
            raise MappingError(msg)
        props = dict(properties or {})
        _refuse_lazy_loads(cls, props)
        kids = dict(children or {})
        checked = [(key, _check_child(cls, table, key, kid, props)) for key, kid in kids.items()]
        version = self._version_column(cls, table, version_column, props)
        self._check_fields(cls, table, {**props, **kids})
        _check_composites(cls, props)
        self._check_primary_key(cls, table, props)
        fields = set(aggregate_fields(cls))
        referenced: set[sa.ColumnElement[Any]] = set()
        for value in props.values():
            referenced |= _referenced_columns(value)
        unused = [
            c.key
            for c in table.columns
            if c.key not in fields and c.key not in props and c not in referenced
        ]
        refuse_unfilled(cls, table, [table.columns[key] for key in unused])
        links = _links(cls, table, checked, props)
        props.update(self._map_children(cls, checked))
        # Read by the check of versioned DELETEs (``_versioned_deletes``).
        version.info[VERSION_MARK] = True
        try:
            mapper = self.registry.map_imperatively(
                cls,
                table,
                properties=props,
                version_id_col=version,
                version_id_generator=False,
                exclude_properties=unused,
            )
            self.registry.configure()
        except Exception as error:
            self._unmap(cls, children)
            msg = f"cannot map {cls.__name__} onto table {table.name!r}: {error}"
            raise MappingError(msg) from error
        try:
            _check_audit(cls, mapper)
            _register_storage(cls, mapper, table, checked, links)
        except MappingError:
            self._unmap(cls, children)
            raise
        _return_versions(mapper)
        # Other adapters in this process (the in-memory one) build blank instances of the class;
        # they must carry SQLAlchemy's instrumentation state, or setting a field fails.
        register_blank_factory(cls, mapper.class_manager.new_instance)
        self._register(AggregateMapping(cls, table, version, mapper))

    def _register(self, mapped: AggregateMapping) -> None:
        """Record a mapped aggregate: its statements are built anew, its keys made conditional."""
        self._aggregates[mapped.aggregate_type] = mapped
        self._statements.clear()
        self._condition_keys_to_mapped_rows()
        order_by_references((each.table, each.mapper) for each in self._aggregates.values())

    def _condition_keys_to_mapped_rows(self) -> None:
        """Make every foreign key between this mapping's tables conditional DDL.

        Andamios updates every row of an aggregate's tables (a version at least) and DuckDB
        cannot update a row a foreign key references (ADR 0009): such a key, a child's to its
        root or one aggregate's to another's, is created only where the dialect can serve it,
        so a change to a referenced aggregate commits on every database, as in memory. Asked
        again after each ``map``, whichever of two aggregates was mapped first. Migrations ask
        the same condition (``adapters/migrations/_ddl.py``).
        """
        tables = {mapped.table for mapped in self._aggregates.values()}
        tables |= {sa.inspect(kind).local_table for kind in self._children}
        for table in tables:
            for constraint in table.foreign_key_constraints:
                if constraint.referred_table in tables:
                    constraint.ddl_if(callable_=_key_to_mapped_rows_emitted)  # type: ignore[arg-type]

    def _map_children(
        self, cls: type, checked: list[tuple[str, tuple[Child, list[sa.ForeignKey]]]]
    ) -> dict[str, RelationshipProperty[Any]]:
        """Map each child entity class onto its table; the relationships the root gets."""
        relationships: dict[str, RelationshipProperty[Any]] = {}
        mapped: list[type] = []
        try:
            for key, (child, foreign_keys) in checked:
                kind = child.entity_type
                # The foreign key column is the relationship's business, hidden from the domain,
                # unless the child has a field of its name: then it is loaded into that field.
                own = set(aggregate_fields(kind))
                hidden = {
                    f"_andamios_{fk.parent.key}": fk.parent
                    for fk in foreign_keys
                    if fk.parent.key not in own
                }
                mapper = self.registry.map_imperatively(kind, child.table, properties=hidden)
                mapped.append(kind)
                many = _holds_many(cls, key)
                names = [child.order_by] if isinstance(child.order_by, str) else child.order_by
                relationships[key] = relationship(
                    kind,
                    lazy="selectin",
                    cascade="all, delete-orphan",
                    uselist=many,
                    order_by=[child.table.c[name] for name in names] if many else False,
                )
                register_blank_factory(kind, mapper.class_manager.new_instance)
                self._children.add(kind)
        except Exception as error:
            for kind in mapped:
                self._unmap(kind)
            msg = f"cannot map the children of {cls.__name__}: {error}"
            raise MappingError(msg) from error
        return relationships

    def _unmap(self, cls: type, children: MappingABC[str, Child] | None = None) -> None:
        unregister_storage(cls)
        for child in (children or {}).values():
            self._children.discard(child.entity_type)
            unregister_blank_factory(child.entity_type)
            self._unmap(child.entity_type)
        # A failed map_imperatively() leaves the class half instrumented, and a mapper that failed
        # to configure breaks configure() of every other mapper. SQLAlchemy only disposes whole
        # registries publicly; this is what registry.dispose() does for each of its classes.
        manager: ClassManager[Any] | None = opt_manager_of_class(cls)
        # Every failure left after the checks of map() happens once the class is instrumented.
        if manager is not None:  # pragma: no branch
            self.registry._managers.pop(manager, None)
            self.registry._dispose_manager_and_mapper(manager)

    @staticmethod
    def _version_column(
        kind: type[AggregateRoot[Any]], table: sa.Table, name: str, props: dict[str, Any]
    ) -> sa.Column[Any]:
        column = table.columns.get(name)
        if column is None:
            msg = (
                f"table {table.name!r} has no version column {name!r} for {kind.__name__}; add "
                f"sa.Column({name!r}, sa.Integer, nullable=False) or pass version_column="
            )
            raise MappingError(msg)
        if "version" in props:
            msg = f"map {kind.__name__}.version with version_column=, not in properties"
            raise MappingError(msg)
        if name != "version":
            props["version"] = column
        return column

    @staticmethod
    def _check_fields(
        kind: type[AggregateRoot[Any]], table: sa.Table, props: dict[str, Any]
    ) -> None:
        missing = [f for f in aggregate_fields(kind) if f not in props and f not in table.columns]
        if missing:
            msg = (
                f"table {table.name!r} has no column for {kind.__name__}."
                f"{', '.join(missing)}: add the column(s) or map them in properties"
            )
            raise MappingError(msg)

    @staticmethod
    def _check_primary_key(
        kind: type[AggregateRoot[Any]], table: sa.Table, props: dict[str, Any]
    ) -> None:
        id_columns = _referenced_columns(props["id"]) if "id" in props else {table.columns["id"]}
        if set(table.primary_key.columns) != id_columns or len(id_columns) != 1:
            msg = (
                f"the primary key of table {table.name!r} must be the one column storing "
                f"{kind.__name__}.id"
            )
            raise MappingError(msg)

    def statement(self, key: object, build: Callable[[], sa.Select[Any]]) -> sa.Select[Any]:
        """The statement ``build`` makes for ``key`` (a read-model plan), kept while this
        mapping maps what it maps: a statement is immutable and SQLAlchemy caches its compiled
        form, so a query run again costs neither building nor compiling. At most
        ``STATEMENTS_KEPT`` are kept, the oldest dropped first."""
        found = self._statements.get(key)
        if found is None:
            found = build()
            if len(self._statements) >= STATEMENTS_KEPT:
                del self._statements[next(iter(self._statements))]
            self._statements[key] = found
        return found

    def clear(self) -> None:
        """Unmap every class (for tests that map the same classes again); tables are kept."""
        for cls in (*self._aggregates, *self._children):
            unregister_blank_factory(cls)
            unregister_storage(cls)
        self.registry.dispose()
        self._children.clear()
        self.registry = registry(metadata=self.metadata)
        self._aggregates.clear()
        self._statements.clear()

    def is_mapped(self, aggregate_type: type) -> bool:
        """Whether this mapping maps ``aggregate_type``."""
        return aggregate_type in self._aggregates

    def table_for(self, aggregate_type: type) -> sa.Table:
        """The table ``aggregate_type`` is mapped to; MappingError if it is not mapped."""
        return self.aggregate_mapping(aggregate_type).table

    def aggregate_mapping(self, aggregate_type: type) -> AggregateMapping:
        """Everything known about how ``aggregate_type`` is stored (for adapters)."""
        found = self._aggregates.get(aggregate_type)
        if found is None:
            msg = (
                f"{aggregate_type.__name__} is not mapped: call mapping.map("
                f"{aggregate_type.__name__}, table) before making units of work"
            )
            raise MappingError(msg)
        return found


def _holds_many(cls: type, key: str) -> bool:
    """Whether the field ``key`` holds a list of children (else one child, or None)."""
    hint: object = typing.get_type_hints(cls)[key]
    return hint is list or typing.get_origin(hint) is list


def _check_child(
    cls: type, table: sa.Table, key: str, child: Child, props: dict[str, Any]
) -> tuple[Child, list[sa.ForeignKey]]:
    """A workable child mapping: an Entity dataclass, its columns, a foreign key to the root."""
    kind = child.entity_type
    where = f"{cls.__name__}.{key}"
    if key in props or key not in aggregate_fields(cls):
        msg = f"{where} is not a field of {cls.__name__} left to children= (nor in properties)"
        raise MappingError(msg)
    if not (
        isinstance(kind, type)
        and dataclasses.is_dataclass(kind)
        and issubclass(kind, Entity)
        and not issubclass(kind, AggregateRoot)
    ):
        msg = f"{where}: children are Entity dataclasses (not aggregates), not {kind!r}"
        raise MappingError(msg)
    if sa.inspect(kind, raiseerr=False) is not None:
        msg = f"{where}: {kind.__name__} is already mapped (a child belongs to one aggregate)"
        raise MappingError(msg)
    if not isinstance(child.table, sa.Table) or child.table.metadata is not table.metadata:
        msg = f"{where}: map {kind.__name__} onto a sa.Table created with this mapping's metadata"
        raise MappingError(msg)
    missing = [f.name for f in dataclasses.fields(kind) if f.name not in child.table.columns]
    if missing:
        msg = f"table {child.table.name!r} has no column for {kind.__name__}.{', '.join(missing)}"
        raise MappingError(msg)
    if list(child.table.primary_key.columns) != [child.table.columns["id"]]:
        msg = f"the primary key of table {child.table.name!r} must be its id column alone"
        raise MappingError(msg)
    foreign_keys = [fk for fk in child.table.foreign_keys if fk.references(table)]
    if not foreign_keys:
        msg = (
            f"{where}: table {child.table.name!r} has no foreign key to {table.name!r}: declare "
            f"one (sa.Column('{table.name}_id', ..., sa.ForeignKey('{table.name}.id'), "
            "nullable=False)); it defines the join"
        )
        raise MappingError(msg)
    return child, foreign_keys


def _return_versions(mapper: Mapper[Any]) -> None:
    """Make SQLAlchemy emit ``UPDATE ... RETURNING version`` for this mapper's versioned rows."""
    mapper.__dict__[_SERVER_SIDE_VERSION] = True
    mapper._memoized_keys = mapper._memoized_keys - {_SERVER_SIDE_VERSION}


def _check_audit(cls: type, mapper: Mapper[Any]) -> None:
    """Audit timestamps need ``sa.DateTime(timezone=True)`` columns (UTC, timezone-aware)."""
    audit = audit_fields(cls)
    for name in (audit.created, audit.updated):
        if name is None:
            continue
        kind = mapper.columns[name].type if name in mapper.columns else None
        if not (isinstance(kind, sa.DateTime) and kind.timezone):
            msg = (
                f"{cls.__name__}.{name} is an audit timestamp: map it to one "
                f"sa.DateTime(timezone=True) column, not {kind!r}"
            )
            raise MappingError(msg)
    if audit.deleted is not None:
        column = mapper.columns.get(audit.deleted)
        if not (
            column is not None
            and isinstance(column.type, sa.DateTime)
            and column.type.timezone
            and column.nullable
        ):
            msg = (
                f"{cls.__name__}.{audit.deleted} marks soft deletes: map it to one nullable "
                f"sa.DateTime(timezone=True) column, not {column!r}"
            )
            raise MappingError(msg)


def _register_storage(
    cls: type,
    mapper: Mapper[Any],
    table: sa.Table,
    checked: list[tuple[str, tuple[Child, list[sa.ForeignKey]]]],
    links: list[Link],
) -> None:
    """Check the columns of the aggregate and its children, then tell every adapter about them.

    Nothing is registered unless every table agrees with its class (MappingError otherwise).
    """
    stored: list[tuple[type, Mapper[Any], sa.Table]] = [(cls, mapper, table)]
    stored += [(c.entity_type, sa.inspect(c.entity_type), c.table) for _, (c, _) in checked]
    registrations = [_storage_of(*each) for each in stored]
    for (owner, _, _), (facts, unique) in zip(stored, registrations, strict=True):
        register_storage(owner, facts, unique=unique, links=links if owner is cls else ())


def _links(
    cls: type,
    table: sa.Table,
    checked: list[tuple[str, tuple[Child, list[sa.ForeignKey]]]],
    props: dict[str, Any],
) -> list[Link]:
    """Child fields that are also the join column: each must hold its root's key."""
    found: list[Link] = []
    for key, (child, foreign_keys) in checked:
        own = set(aggregate_fields(child.entity_type))
        for fk in foreign_keys:
            if fk.parent.key not in own:
                continue
            root_field = _field_of_column(cls, table, fk.column, props)
            if root_field is None:
                msg = (
                    f"{child.entity_type.__name__}.{fk.parent.key} stores the join column to "
                    f"{table.name}.{fk.column.name}, which no field of {cls.__name__} stores: "
                    "point the foreign key at a mapped column (the id)"
                )
                raise MappingError(msg)
            found.append(Link(key, fk.parent.key, root_field))
    return found


def _field_of_column(
    cls: type, table: sa.Table, column: sa.ColumnElement[Any], props: dict[str, Any]
) -> str | None:
    for name, value in props.items():
        if column in _referenced_columns(value):
            return name
    key = getattr(column, "key", None)
    if key in aggregate_fields(cls) and key not in props and table.columns.get(key) is column:
        return str(key)
    return None


def _storage_of(
    owner: type, mapper: Mapper[Any], table: sa.Table
) -> tuple[dict[str, ColumnFacts], list[tuple[str, ...]]]:
    """What the columns of ``owner``'s table add to its domain's rules; MappingError if a column
    would change a value of its field's type or allows less than the domain declares."""
    kinds = storage_rules(owner).by_name  # the domain's bare field types
    markers = field_markers(owner)
    fields = set(aggregate_fields(owner))
    facts: dict[str, ColumnFacts] = {}
    fields_of: dict[sa.ColumnElement[Any], str] = {}
    for prop in mapper.column_attrs:
        if len(prop.columns) != 1 or prop.key not in fields:
            continue
        column = prop.columns[0]
        fields_of[column] = prop.key
        if prop.key not in ("id", "version"):  # the id's column is the primary key's business
            check_column_type(owner, prop.key, kinds[prop.key].kind, column)
            check_agreement(owner, prop.key, markers.get(prop.key, ()), column)
        facts[prop.key] = column_facts(column)
    for composite in mapper.composites:
        value_type = composite.composite_class
        if not (isinstance(value_type, type) and dataclasses.is_dataclass(value_type)):
            continue
        inner_kinds = storage_rules(value_type).by_name
        inner_markers = field_markers(value_type)
        for each, column in zip(dataclasses.fields(value_type), composite.columns, strict=False):
            check_column_type(value_type, each.name, inner_kinds[each.name].kind, column)
            check_agreement(value_type, each.name, inner_markers.get(each.name, ()), column)
            path = f"{composite.key}.{each.name}"
            fields_of[column] = path
            facts[path] = column_facts(column)
    unique, computed = unique_groups(table, fields_of)
    live = 0
    for name, declared in markers.items():
        for marker in declared:
            if not isinstance(marker, Unique):
                continue
            if marker.live_only:
                live += 1
            elif (name,) not in unique:
                msg = (
                    f"{owner.__name__}.{name} is declared Unique(), but its column in table "
                    f"{table.name!r} is not: add unique=True (or a sa.UniqueConstraint)"
                )
                raise MappingError(msg)
    if computed != live:
        msg = (
            f"table {table.name!r} has {computed} unique index(es) over computed columns and "
            f"{owner.__name__} declares {live} Unique(live_only=True) field(s): the in-memory "
            "adapter cannot evaluate a computed column, so declare on the field it derives from "
            "what it means (Unique(live_only=True): unique among aggregates not soft-deleted)"
        )
        raise MappingError(msg)
    return facts, unique
