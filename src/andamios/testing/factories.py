"""factory-boy factories for aggregates, their child entities and value objects.

Declare a factory per class as factory-boy users do (sequences, lazy attributes, sub-factories,
``factory.Faker``); ``build`` makes pure objects and the async ``create`` stores aggregates
through the unit of work you pass::

    import factory
    from andamios.testing.factories import AggregateFactory, EntityFactory


    class OrderLineFactory(EntityFactory[OrderLine]):
        class Meta:
            model = OrderLine

        position = 1
        sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
        quantity = factory.Faker("pyint", min_value=1, max_value=9)


    class OrderFactory(AggregateFactory[Order]):
        class Meta:
            model = Order

        customer = factory.Faker("name")
        lines = factory.List([factory.SubFactory(OrderLineFactory, position=p) for p in (1, 2)])


    order = OrderFactory.build()  # pure: nothing is stored, nothing needs a unit of work
    async with new_uow() as uow:
        order = await OrderFactory.create(uow=uow, customer="Ada")  # uow.orders.add(order)
        more = await OrderFactory.create_batch(50, uow=uow)  # one uow.orders.add_many(more)
        await uow.commit()  # the caller commits: a factory never does

The rules:

- ``build()``, ``build_batch()`` and ``OrderFactory()`` are factory-boy's, synchronous and pure
  (``build()`` is typed: ``OrderFactory.build()`` is an ``Order`` for mypy).
- ``await create(uow=uow, **overrides)`` builds the aggregate and adds it to the repository that
  the unit of work's shape declares for its type (``orders: Repository[Order, UUID]``);
  ``await create_batch(size, uow=uow, **overrides)`` adds all of them with one ``add_many``.
  The unit of work must be open (``async with uow:``) and is never committed or rolled back
  here: what is created is visible to that unit of work's queries at once and stored when the
  caller commits, exactly as if the test had called ``add`` itself. Any adapter works.
- Child entities and value objects are stored with their aggregate: declare them with
  ``factory.SubFactory`` or ``factory.List`` on :class:`EntityFactory` and
  :class:`ValueObjectFactory` factories, whose ``create`` is ``build``.
- An aggregate another one refers to by id can come from a sub-factory too (``customer =
  factory.SubFactory(CustomerFactory)`` excluded with ``class Meta: exclude = ("customer",)``,
  ``customer_id = factory.SelfAttribute("customer.id")``): ``create`` stores it through its own
  repository first (``RelatedFactory`` works the same way), ``build`` only builds it.
- Post-generation hooks see ``create=True`` under ``create`` (they run before anything is
  added, so what they change is stored).
- Ids: a factory leaves ``id`` to the aggregate's default (a new UUIDv7) unless you pass one
  (``create(uow=uow, id=known)``) or declare one (``id = factory.Sequence(lambda n: n)`` for an
  integer id); ``version`` is likewise left at 0 until the commit stores it.

factory-boy (and faker, which it brings) comes with the ``testing`` extra
(``pip install 'andamios[testing]'``); without it this import says so.
"""

from __future__ import annotations

import contextvars
from typing import Any, ClassVar, cast

try:
    import factory
    from factory.base import FactoryOptions
except ModuleNotFoundError as missing:
    _msg = (
        f"andamios.testing.factories builds on factory-boy, and {missing.name} is not installed: "
        "install andamios[testing] (pip install 'andamios[testing]')"
    )
    raise ModuleNotFoundError(_msg, name=missing.name) from missing

from andamios.domain import AggregateRoot, Entity, ValueObject
from andamios.ports import (
    Repository,
    UnitOfWork,
    UnitOfWorkState,
    id_type_of,
    repository_slots,
)
from andamios.ports.errors import MappingError, UnitOfWorkError

__all__ = ["AggregateFactory", "EntityFactory", "ValueObjectFactory"]

#: The aggregates built with the create strategy by the ``create`` call running in this context,
#: in the order they were built (those of sub-factories first); None outside such a call.
_created: contextvars.ContextVar[list[AggregateRoot[Any]] | None] = contextvars.ContextVar(
    "andamios_factories_created", default=None
)


class _Options(FactoryOptions):
    """factory-boy's options, refusing a ``Meta.model`` of the wrong kind when declared."""

    #: The base class ``Meta.model`` must subclass, and ones it must not.
    kind: ClassVar[type] = object
    refused: ClassVar[tuple[type, ...]] = ()
    #: What to use instead, said when the model is of the wrong kind.
    advice: ClassVar[str] = ""

    def _build_default_options(self) -> list[Any]:
        options: list[Any] = super()._build_default_options()  # type: ignore[no-untyped-call]
        for option in options:
            if option.name == "model":
                option.checker = self._check_model
        return options

    def _check_model(self, meta: object, model: object) -> None:
        if model is None:  # an abstract base of the user's own (Meta: abstract = True)
            return
        if (
            isinstance(model, type)
            and issubclass(model, self.kind)
            and not issubclass(model, self.refused)
        ):
            return
        name = cast("type", self.factory).__name__  # set before the options are read
        shown = model.__name__ if isinstance(model, type) else repr(model)
        msg = f"{name}.Meta.model must be {self.advice}, got {shown}"
        raise TypeError(msg)


class _AggregateOptions(_Options):
    kind = AggregateRoot
    advice = (
        "an AggregateRoot subclass (use EntityFactory for child entities, ValueObjectFactory "
        "for value objects)"
    )


class _EntityOptions(_Options):
    kind = Entity
    refused = (AggregateRoot,)
    advice = "an Entity subclass that is not an aggregate (use AggregateFactory for aggregates)"


class _ValueObjectOptions(_Options):
    kind = ValueObject
    advice = (
        "a ValueObject subclass (a plain factory.Factory builds any other class; "
        "AggregateFactory and EntityFactory build aggregates and entities)"
    )


class _Factory[T](factory.Factory[T]):
    """factory-boy's factory with typed ``build``, ``build_batch`` and ``reset_sequence``, whose
    call builds (factory-boy's default strategy creates)."""

    class Meta:
        """Abstract; calling a factory builds (creating an aggregate needs a unit of work)."""

        abstract = True
        strategy = factory.BUILD_STRATEGY

    @classmethod
    def build(cls, **kwargs: Any) -> T:
        """A new object, not stored anywhere (factory-boy's ``build``)."""
        built: T = super().build(**kwargs)
        return built

    @classmethod
    def build_batch(cls, size: int, **kwargs: Any) -> list[T]:
        """``size`` new objects, not stored anywhere (factory-boy's ``build_batch``)."""
        built: list[T] = super().build_batch(size, **kwargs)
        return built

    @classmethod
    def reset_sequence(cls, value: int | None = None, force: bool = False) -> None:
        """Start this factory's ``factory.Sequence`` values again (at ``value``, default 0)."""
        super().reset_sequence(value, force)  # type: ignore[no-untyped-call]


class AggregateFactory[A: AggregateRoot[Any]](_Factory[A]):
    """A factory-boy factory of one aggregate type (``Meta.model``), stored through a unit of
    work by the async :meth:`create` and :meth:`create_batch`.

    ``build``, ``build_batch`` and calling the factory make pure aggregates. Nothing here
    commits: the unit of work passed as ``uow=`` stores what was created when its owner commits,
    and drops it when it rolls back.
    """

    _options_class = _AggregateOptions

    @classmethod
    async def create(cls, *, uow: UnitOfWork, **kwargs: Any) -> A:  # type: ignore[override]
        """Build an aggregate and add it to ``uow`` (open, not committed here).

        Keyword arguments override the declarations as in ``build``. The aggregate goes to the
        repository ``uow``'s shape declares for the model; aggregates of sub-factories and
        related factories go to theirs, first.
        """
        (created,) = await cls._store(uow, 1, kwargs, batch=False)
        return created

    @classmethod
    async def create_batch(  # type: ignore[override]
        cls, size: int, *, uow: UnitOfWork, **kwargs: Any
    ) -> list[A]:
        """Build ``size`` aggregates and add them to ``uow`` with one ``add_many`` (not committed
        here)."""
        return await cls._store(uow, size, kwargs, batch=True)

    @classmethod
    def _create(cls, model_class: type[A], *args: Any, **kwargs: Any) -> A:
        """Build the aggregate for the running :meth:`create`, which adds it afterwards."""
        created = _created.get()
        if created is None:
            msg = (
                f"{cls.__name__} creates {model_class.__name__} aggregates through a unit of work "
                f"and asynchronously: 'await {cls.__name__}.create(uow=uow)' inside "
                f"'async with uow:', or {cls.__name__}.build() for one that is not stored"
            )
            raise TypeError(msg)
        instance: A = cls._build(model_class, *args, **kwargs)  # type: ignore[no-untyped-call]
        created.append(instance)
        return instance

    @classmethod
    async def _store(
        cls, uow: UnitOfWork, size: int, overrides: dict[str, Any], *, batch: bool
    ) -> list[A]:
        _check_open(cls, uow)
        _repository_for(uow, cls._meta.model, cls)  # fail before anything is built
        created: list[AggregateRoot[Any]] = []
        token = _created.set(created)
        try:
            made: list[A] = [
                cls._generate(factory.CREATE_STRATEGY, dict(overrides))  # type: ignore[no-untyped-call]
                for _ in range(size)
            ]
        finally:
            _created.reset(token)
        groups: dict[Repository[Any, Any], list[AggregateRoot[Any]]] = {}
        for aggregate in created:
            groups.setdefault(_repository_for(uow, type(aggregate), cls), []).append(aggregate)
        for repository, aggregates in groups.items():
            if batch or len(aggregates) > 1:
                await repository.add_many(aggregates)
            else:
                await repository.add(aggregates[0])
        return made


def _check_open(owner: type, uow: object) -> None:
    if not isinstance(uow, UnitOfWork):
        msg = f"{owner.__name__}.create takes a unit of work as uow=, got {type(uow).__name__}"
        raise TypeError(msg)
    state = uow.state
    if state is UnitOfWorkState.ACTIVE:
        return
    name = type(uow).__name__
    if state is UnitOfWorkState.NEW:
        msg = f"{name} is not open: call {owner.__name__}.create inside 'async with uow:'"
    else:
        msg = f"{name} has ended: create {owner.__name__} aggregates in a new unit of work"
    raise UnitOfWorkError(msg)


def _repository_for(
    uow: UnitOfWork, aggregate_type: type[AggregateRoot[Any]], owner: type
) -> Repository[Any, Any]:
    """The repository ``uow``'s shape declares for ``aggregate_type`` or one of its bases."""
    slots = repository_slots(type(uow))
    for cls in aggregate_type.__mro__:
        for slot in slots:
            if slot.aggregate_type is cls:
                return uow.repository(slot.aggregate_type)
    name = aggregate_type.__name__
    declared = ", ".join(f"{slot.name}: {slot.aggregate_type.__name__}" for slot in slots)
    id_name = getattr(id_type_of(aggregate_type), "__name__", "IdType")
    msg = (
        f"{type(uow).__name__} has no repository for {name} ({declared or 'none declared'}), "
        f"so {owner.__name__}.create cannot store it: declare one on the unit-of-work shape, "
        f"e.g. '{name.lower()}s: Repository[{name}, {id_name}]'"
    )
    raise MappingError(msg)


class _PartFactory[P](_Factory[P]):
    """A factory of something stored with its aggregate: ``create`` is ``build``."""

    @classmethod
    def _adjust_kwargs(cls, **kwargs: Any) -> dict[str, Any]:
        if "uow" in kwargs:
            model = cls._meta.model.__name__
            msg = (
                f"{model} is stored with its aggregate, not through a unit of work: build it "
                f"with {cls.__name__}.build() or declare it on the aggregate's factory "
                f"(factory.SubFactory({cls.__name__}) or factory.List([...]))"
            )
            raise TypeError(msg)
        return kwargs

    @classmethod
    def _create(cls, model_class: type[P], *args: Any, **kwargs: Any) -> P:
        built: P = cls._build(model_class, *args, **kwargs)  # type: ignore[no-untyped-call]
        return built


class EntityFactory[E: Entity[Any]](_PartFactory[E]):
    """A factory-boy factory of a child entity (``Meta.model``, an ``Entity`` that is not an
    aggregate), stored with the aggregate that holds it: give it to the aggregate's factory with
    ``factory.SubFactory`` or ``factory.List``. ``create`` is ``build``."""

    _options_class = _EntityOptions

    class Meta:
        """Abstract: a subclass names its entity as ``model``."""

        abstract = True


class ValueObjectFactory[V: ValueObject](_PartFactory[V]):
    """A factory-boy factory of a value object (``Meta.model``, a ``ValueObject``), stored with
    the aggregate that holds it (``factory.SubFactory``). ``create`` is ``build``."""

    _options_class = _ValueObjectOptions

    class Meta:
        """Abstract: a subclass names its value object as ``model``."""

        abstract = True
