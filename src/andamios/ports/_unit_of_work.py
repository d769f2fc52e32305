"""The unit-of-work port: one transaction, its repositories, and the events it collected."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, ClassVar, Self

from andamios.domain import AggregateRoot, DomainEvent
from andamios.ports._hooks import Observer, RollbackReason, now
from andamios.ports._introspection import callers_namespace, check_aggregate_type
from andamios.ports._reads import Reads
from andamios.ports._repository import Repository
from andamios.ports._tracker import Tracker, UnitOfWorkState
from andamios.ports.errors import (
    DatabaseClosed,
    MappingError,
    PersistenceError,
    UnitOfWorkError,
)

__all__ = ["RepositorySlot", "UnitOfWork", "compose_repository", "repository_slots"]


class RepositorySlot(typing.NamedTuple):
    """A repository declared on a unit-of-work shape: attribute name, aggregate and id types,
    and the repository class the user declared (a specialized one, or :class:`Repository`)."""

    name: str
    aggregate_type: type[AggregateRoot[Any]]
    id_type: object
    # The (abstract) port itself stands for "not specialized": the adapter's own repository.
    repository_type: type[Repository[Any, Any]] = Repository  # type: ignore[type-abstract]


def _private(name: str) -> bool:
    """A protected name of a repository class (not a dunder, nor ``abc``'s own bookkeeping)."""
    return name.startswith("_") and not name.startswith("__") and name != "_abc_impl"


def _names_of(klass: type) -> set[str]:
    """The protected names a class defines: its attributes and those its methods assign
    (``self._context = ...``, which Python 3.13 lists in ``__static_attributes__``)."""
    names = set(vars(klass)) | set(getattr(klass, "__static_attributes__", ()))
    return {name for name in names if _private(name)}


def _protected(classes: typing.Iterable[type]) -> set[str]:
    return set().union(*(_names_of(klass) for klass in classes))


# What the port's template methods and an adapter's hooks are made of: a specialized repository
# that defined one would replace the adapter's implementation, or the shared argument checks.
_PORT_NAMES = frozenset(_names_of(Repository))


def _own_names(repository_type: type) -> set[str]:
    """The protected names a specialized repository class (and its own bases) define."""
    return _protected(k for k in repository_type.__mro__ if k not in Repository.__mro__)


def _own_init(repository_type: type) -> Callable[..., None] | None:
    """The ``__init__`` a specialized repository (or one of its own bases) defines, if any."""
    own = (k for k in repository_type.__mro__ if k not in Repository.__mro__)
    return next((vars(k)["__init__"] for k in own if "__init__" in vars(k)), None)


def _refuse_collisions(repository_type: type, taken: typing.Iterable[str], owner: str) -> None:
    own = _own_names(repository_type)
    clash = sorted(name for name in taken if name in own)
    if clash:
        msg = (
            f"{repository_type.__name__} defines {', '.join(clash)}, which {owner} implements: "
            "a specialized repository adds domain queries built on the public methods "
            "(find, first, count, exists, page, stream, ...); give yours another name"
        )
        raise MappingError(msg)


def _check_init(repository_type: type) -> None:
    """An adapter builds the repository with its own arguments: an ``__init__`` must pass them."""
    init = _own_init(repository_type)
    if init is None:
        return
    parameters = list(inspect.signature(init).parameters.values())[1:]
    kinds = {parameter.kind for parameter in parameters}
    required = [
        p.name
        for p in parameters
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    forwards = {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD} <= kinds
    if required or not forwards:
        msg = (
            f"{repository_type.__name__}.__init__ must take what the adapter passes and hand it "
            "on: def __init__(self, *args: Any, **kwargs: Any) -> None: "
            "super().__init__(*args, **kwargs); a repository takes no arguments of its own"
        )
        raise MappingError(msg)


def _specialized_types(shape: type, name: str, repository_type: type) -> tuple[Any, Any]:
    """The aggregate and id types a ``class Products(Repository[Product, str])`` binds."""
    for klass in repository_type.__mro__:
        for base in vars(klass).get("__orig_bases__", ()):
            origin = typing.get_origin(base)
            if not (isinstance(origin, type) and issubclass(origin, Repository)):
                continue
            args = typing.get_args(base)
            if len(args) == 2 and not any(isinstance(a, typing.TypeVar) for a in args):
                return args[0], args[1]
    msg = (
        f"{shape.__name__}.{name} is a {repository_type.__name__}, which names no aggregate and "
        f"id types: declare it as class {repository_type.__name__}(Repository[Aggregate, IdType])"
    )
    raise MappingError(msg)


def _read_slot(shape: type, name: str, hint: object) -> RepositorySlot | None:
    origin = typing.get_origin(hint) or hint
    if not (isinstance(origin, type) and issubclass(origin, Repository)):
        return None
    args = typing.get_args(hint)
    if origin is Repository:
        if len(args) != 2:
            msg = f"{shape.__name__}.{name} must name its types: Repository[Aggregate, IdType]"
            raise MappingError(msg)
        return RepositorySlot(name, check_aggregate_type(args[0]), args[1])
    if args:
        msg = (
            f"{shape.__name__}.{name}: declare a specialized repository by its class alone "
            f"({name}: {origin.__name__}); it names its types in its base, "
            f"class {origin.__name__}(Repository[Aggregate, IdType])"
        )
        raise MappingError(msg)
    aggregate_type, id_type = _specialized_types(shape, name, origin)
    _refuse_collisions(origin, _PORT_NAMES, "the Repository port")
    _check_init(origin)
    return RepositorySlot(name, check_aggregate_type(aggregate_type), id_type, origin)


_repositories: dict[tuple[type, type], type] = {}


def compose_repository[R: Repository[Any, Any]](adapter: type[R], repository_type: type) -> type[R]:
    """The class that is both the user's ``repository_type`` and ``adapter`` (cached).

    An adapter instantiates it with its own arguments in ``_create_repository``: the user's
    domain queries (``get_by_batchref``) call the adapter's implementation. Returns ``adapter``
    itself for the plain :class:`Repository`; MappingError when the user's class defines a name
    the adapter's repository implements, or leaves an abstract method without a body.
    """
    if repository_type is Repository or issubclass(adapter, repository_type):
        return adapter
    key = (adapter, repository_type)
    combined = _repositories.get(key)
    if combined is None:
        adapter_names = _protected(k for k in adapter.__mro__ if k not in Repository.__mro__)
        _refuse_collisions(repository_type, adapter_names, adapter.__name__)
        name = f"{adapter.__name__}[{repository_type.__name__}]"
        combined = type(
            name, (repository_type, adapter), {"__module__": repository_type.__module__}
        )
        abstract = sorted(getattr(combined, "__abstractmethods__", ()))
        if abstract:
            msg = (
                f"{repository_type.__name__} declares abstract methods ({', '.join(abstract)}) "
                "that no adapter implements: give them a body built on the public methods"
            )
            raise MappingError(msg)
        _repositories[key] = combined
    return typing.cast("type[R]", combined)


_slots: dict[type, tuple[RepositorySlot, ...]] = {}


def repository_slots(shape: type[UnitOfWork]) -> tuple[RepositorySlot, ...]:
    """Read the ``name: Repository[Aggregate, Id]`` annotations of a unit-of-work shape.

    A specialized repository (``products: Products``, ``class Products(Repository[Product,
    str])``) names its types in its base. It may not define a name the port implements
    (``_find``, ``_check_spec``, ...) nor an ``__init__`` that does not hand the adapter's
    arguments on: a :class:`MappingError` says so, for every adapter alike.
    """
    cached = _slots.get(shape)
    if cached is None:
        cached = _slots[shape] = _read_slots(shape)
    return cached


def _read_slots(shape: type[UnitOfWork]) -> tuple[RepositorySlot, ...]:
    try:
        hints = typing.get_type_hints(shape)
    except NameError:
        try:
            hints = typing.get_type_hints(shape, localns=callers_namespace())
        except NameError as error:
            msg = f"cannot resolve the annotations of {shape.__name__}: {error}"
            raise MappingError(msg) from error
    slots = (_read_slot(shape, name, hint) for name, hint in hints.items())
    return tuple(slot for slot in slots if slot is not None)


class UnitOfWork(Reads):
    """One business transaction: ``async with uow:`` begins it, ``await uow.commit()`` ends it.

    Declare your shape once, for every adapter::

        class Shop(UnitOfWork):
            products: Repository[Product, UUID]

    Leaving the block without ``commit()``, or with an exception, rolls back. ``commit()`` saves
    every change to the aggregates the repositories handed out or accepted (checking versions),
    and may be called more than once; each call ends one transaction and begins the next. After
    a commit, :meth:`collect_events` yields the events those aggregates recorded. A unit of work
    is used once: entering it twice, or using it after the block, raises
    :class:`UnitOfWorkError` (DuckDB has no savepoints, so there is nothing to nest).

    Snapshot rule, the same in every adapter: a transaction's snapshot is taken by its first
    read (``get`` of an id the unit of work does not hold, ``find``, ``count``, ``exists``, ...),
    not by ``async with``, ``commit()`` or ``rollback()``. It sees every commit made before that
    read and none made after it until it ends; ``add``, ``remove`` and changing a held aggregate
    read nothing. Aggregates stay held across ``commit()`` (see ADR 0002).
    """

    adapter_name: ClassVar[str] = "unit of work"
    # The user's shape (``Shop``), set on the class :func:`compose` makes.
    _shape_name: ClassVar[str | None] = None

    def __init__(self, *, observer: Observer | None = None) -> None:
        # Not an ABC on purpose: a user's shape (``class Shop(UnitOfWork)``) must stay concrete
        # for type checkers, so that ``factory(Shop)`` type-checks; adapters are checked here.
        if type(self)._create_repository is UnitOfWork._create_repository:
            name = type(self).__name__
            msg = (
                f"{name} declares a unit-of-work shape; make units of work with an adapter's "
                f"factory, e.g. InMemoryUnitOfWork.factory({name})"
            )
            raise TypeError(msg)
        self._tracker = Tracker(f"{type(self).__name__}", observer)
        if observer is not None:
            observer.attach(self, self._shape_name or type(self).__name__)
        self._repositories: dict[type[AggregateRoot[Any]], Repository[Any, Any]] = {}
        for slot in repository_slots(type(self)):
            repository = self._slot_repository(slot)
            self._repositories[slot.aggregate_type] = repository
            setattr(self, slot.name, repository)

    def _slot_repository(self, slot: RepositorySlot) -> Repository[Any, Any]:
        if slot.repository_type is Repository:
            return self._create_repository(slot.aggregate_type, slot.id_type)
        # Only for a specialized repository: an adapter written before them keeps working.
        repository = self._create_repository(
            slot.aggregate_type, slot.id_type, repository_type=slot.repository_type
        )
        if not isinstance(repository, slot.repository_type):
            msg = (
                f"{type(self).__name__} built a {type(repository).__name__} for {slot.name}, "
                f"not a {slot.repository_type.__name__}: its _create_repository must build "
                "compose_repository(<its repository class>, repository_type)"
            )
            raise MappingError(msg)
        return repository

    def repository[T: AggregateRoot[Any]](self, aggregate_type: type[T]) -> Repository[T, Any]:
        """The repository of ``aggregate_type``, declared on the shape or made on demand.

        For a specialized repository declared on the shape, that instance.
        """
        found = self._repositories.get(aggregate_type)
        if found is None:
            found = self._create_repository(check_aggregate_type(aggregate_type), None)
            self._repositories[aggregate_type] = found
        return found

    @property
    def read_only(self) -> bool:
        """Whether this unit of work only reads (its factory was made with ``read_only=True``).

        A read-only unit of work refuses ``add``, ``add_many``, ``remove`` and ``restore`` at
        once, and a ``commit()`` while it holds a changed aggregate (rolling back: nothing is
        saved). On the SQL adapter it reads from the database's replica when there is one.
        """
        return self._tracker.read_only

    @property
    def state(self) -> UnitOfWorkState:
        """``NEW`` before the block, ``ACTIVE`` inside it, ``ENDED`` after it."""
        return self._tracker.state

    async def __aenter__(self) -> Self:
        if self._tracker.state is not UnitOfWorkState.NEW:
            msg = (
                f"{type(self).__name__} was already entered; a unit of work is used once and "
                "cannot be nested (make a new one from the factory)"
            )
            raise UnitOfWorkError(msg)
        await self._begin()
        self._tracker.state = UnitOfWorkState.ACTIVE
        observer = self._tracker.observer
        if observer is not None:
            await observer.began(read_only=self._tracker.read_only)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        error = exc
        try:
            try:
                self._tracker.ensure_active()
                self._tracker.leaving = True
                reason = RollbackReason.EXITED if exc is None else RollbackReason.ERROR
                await self._rolled_back(reason, exc)
            finally:
                self._tracker.state = UnitOfWorkState.ENDED
                await self._close()
        except BaseException as failure:
            error = failure  # what leaves the block now
            raise
        finally:
            observer = self._tracker.observer
            if observer is not None:
                await observer.ended(error)

    async def commit(self) -> None:
        """Save every change and end the transaction; the next statement begins a new one.

        Raises :class:`ConcurrencyError` when another unit of work changed the same aggregate
        first (for many aggregates at once: naming how many), :class:`DuplicateError` for an id
        already stored, :class:`DataError` for a value that does not fit, and
        :class:`UnitOfWorkError`
        when an earlier statement of this transaction failed (the transaction was rolled back).
        A failed commit saves nothing.
        """
        self._tracker.ensure_active()
        failure = self._tracker.failure
        if failure is not None:
            if isinstance(failure, DatabaseClosed):
                refusal: PersistenceError = DatabaseClosed(str(failure))
            else:
                msg = (
                    "cannot commit: an earlier statement in this unit of work failed "
                    f"({type(failure).__name__}: {failure}); nothing was saved"
                )
                refusal = UnitOfWorkError(msg)
            refusal.__cause__ = failure
            await self._rolled_back(RollbackReason.COMMIT_FAILED, refusal)
            raise refusal
        if self._tracker.read_only and self._holds_changes():
            msg = (
                f"{self._tracker.name} is read-only and holds changed aggregates; nothing was "
                "saved (make a unit of work without read_only=True to change data)"
            )
            refusal = UnitOfWorkError(msg)
            await self._rolled_back(RollbackReason.COMMIT_FAILED, refusal)
            raise refusal
        observer = self._tracker.observer
        if observer is not None:
            await observer.before_commit()  # may veto: nothing has been sent
        started = now()
        try:
            await self._commit()
        except BaseException as error:
            self._tracker.fail(error)
            if observer is not None:
                await observer.rolled_back(RollbackReason.COMMIT_FAILED, error, started)
            raise
        self._tracker.harvest()
        if observer is not None:
            await observer.committed(started)

    async def rollback(self) -> None:
        """Discard every change since the last commit; the unit of work stays usable."""
        self._tracker.ensure_active()
        await self._rolled_back(RollbackReason.REQUESTED, None)

    async def _rolled_back(self, reason: RollbackReason, error: BaseException | None) -> None:
        """Roll back, forget the failure and the events, and tell the hooks why."""
        started = now()
        await self._rollback()
        self._tracker.discard_events()
        self._tracker.reset()  # rolled back: the next transaction starts clean
        observer = self._tracker.observer
        if observer is not None:
            await observer.rolled_back(reason, error, started)

    def collect_events(self) -> Iterator[DomainEvent]:
        """Yield, and forget, the events recorded by every aggregate this unit of work saw.

        Only committed events are yielded, oldest first, also after the ``async with`` block;
        events of rolled-back changes are dropped.
        """
        return self._tracker.collect_events()

    def seen(self) -> list[AggregateRoot[Any]]:
        """Every aggregate this unit of work handed out or accepted, in the order first seen."""
        return self._tracker.seen()

    # -- what an adapter implements -------------------------------------------------------------

    def _create_repository(
        self,
        aggregate_type: type[AggregateRoot[Any]],
        id_type: object,
        repository_type: type[Repository[Any, Any]] = Repository,
    ) -> Repository[Any, Any]:
        """Build this adapter's repository for one aggregate type.

        ``repository_type`` is the user's specialized repository class: build an instance of
        ``compose_repository(<the adapter's repository>, repository_type)``.
        """
        raise NotImplementedError

    async def _begin(self) -> None:
        """Start the transaction (called on ``async with``)."""
        raise NotImplementedError

    async def _commit(self) -> None:
        """Save every change; raise a translated error and save nothing on failure."""
        raise NotImplementedError

    async def _rollback(self) -> None:
        """Discard every change since the last commit."""
        raise NotImplementedError

    def _holds_changes(self) -> bool:
        """Whether an aggregate this unit of work holds was changed since it was loaded (asked
        of read-only units of work before they commit)."""
        raise NotImplementedError

    async def _close(self) -> None:
        """Release resources when the block ends (after the final rollback)."""


_shapes: dict[tuple[type[UnitOfWork], type[UnitOfWork]], type[UnitOfWork]] = {}


def compose[U: UnitOfWork](adapter: type[UnitOfWork], shape: type[U]) -> type[U]:
    """The class that is both ``adapter`` and the user's ``shape`` (cached).

    ``InMemoryUnitOfWork.factory(Shop)`` instantiates ``compose(InMemoryUnitOfWork, Shop)``, so a
    unit of work is an instance of ``Shop`` with the adapter's behaviour.
    """
    candidate: object = shape
    if not (isinstance(candidate, type) and issubclass(candidate, UnitOfWork)):
        msg = f"a unit-of-work shape must subclass UnitOfWork, got {shape!r}"
        raise MappingError(msg)
    if issubclass(shape, adapter):
        return shape
    key = (adapter, shape)
    combined = _shapes.get(key)
    if combined is None:
        repository_slots(shape)  # fail on a bad shape now, not at the first unit of work
        name = f"{adapter.__name__}[{shape.__name__}]"
        namespace = {"__module__": shape.__module__, "_shape_name": shape.__name__}
        combined = type(name, (adapter, shape), namespace)
        _shapes[key] = combined
    return typing.cast("type[U]", combined)


type UnitOfWorkFactory[U: UnitOfWork] = Callable[[], U]
"""A callable that returns a fresh unit of work each time it is called."""
