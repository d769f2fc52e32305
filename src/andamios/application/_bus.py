"""The message bus: commands to their one handler, domain events to all of theirs.

One call to :meth:`MessageBus.handle` runs the command's handler with a fresh unit of work, then
dispatches the events that unit of work committed, breadth-first: each event handler gets its own
fresh unit of work, and the events *it* commits join the end of the queue. Every handler run
goes through the bus's middleware (see :data:`~andamios.application.Middleware`), if it has any.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Concatenate, Literal, cast

from andamios.application._errors import DuplicateHandler, HandlerNotFound
from andamios.application._messages import Command, Message, MessageType, Query
from andamios.application._middleware import HandlerCall, Middleware, check_middleware, run_chain
from andamios.application._retry import RetryPolicy
from andamios.domain import DomainEvent
from andamios.ports import UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, UnitOfWorkError

__all__ = ["MessageBus", "Sleep"]

logger = logging.getLogger("andamios.application")
"""The logger of the message bus: retries at INFO, failed event handlers at ERROR."""

type Sleep = Callable[[float], Awaitable[None]]
"""An awaitable pause of some seconds, such as :func:`asyncio.sleep` (the default)."""


@dataclass(frozen=True, slots=True)
class _Registration:
    """A handler and the dependencies bound to it when it was registered."""

    handler: Callable[..., Awaitable[object]]
    args: tuple[object, ...] = ()
    kwargs: Mapping[str, object] = field(default_factory=dict)

    @property
    def name(self) -> str:
        handler = self.handler
        return getattr(handler, "__qualname__", None) or repr(handler)

    def __call__(self, message: object, uow: UnitOfWork) -> Awaitable[object]:
        return self.handler(message, uow, *self.args, **self.kwargs)


def _forbid_commit(uow: UnitOfWork, query: Query[Any]) -> None:
    """Make ``uow.commit()`` raise: a query's unit of work only reads."""

    async def commit() -> None:
        msg = (
            f"{type(query).__name__} is a query: its handler reads and may not commit "
            "(send a Command to change state)"
        )
        raise UnitOfWorkError(msg)

    # The instance attribute shadows the method for this one unit of work only.
    vars(uow)["commit"] = commit


class MessageBus[U: UnitOfWork]:
    """Routes commands and queries to their handler and domain events to their subscribers.

    Build it with a unit-of-work factory, then register handlers (in the composition root)::

        bus = MessageBus(InMemoryUnitOfWork.factory(Shop))
        bus.register(SellProduct, sell_product)
        bus.subscribe(StockLow, place_reorder, batch=20)    # batch= is injected on every call
        left = await bus.handle(SellProduct(sku="TEA-01", quantity=3))

    A handler is a plain ``async def handler(message, uow, **dependencies)``. For every run the
    bus makes a fresh unit of work with the factory and passes it, not yet entered: the handler
    opens it (``async with uow:``) and commits, so the transaction stays visible in its code.
    Dependencies are bound at registration, as with :func:`functools.partial`, and mypy checks
    them against the handler's parameters.

    - **Commands** have exactly one handler. :meth:`handle` validates the command again, runs
      the handler (again, with a fresh unit of work, after a ``ConcurrencyError``, as
      ``retry`` allows), then dispatches the committed events and returns the handler's result.
    - **Events** have any number of handlers, run one after the other in registration order;
      a handler subscribed to a base class (even :class:`DomainEvent`) receives its subclasses.
      Events are dispatched only after the unit of work that recorded them has committed, and
      in order, breadth-first. A failing event handler is logged with its event and skipped: the
      commit that raised the event stands, and the other handlers and later events still run.
    - **Queries** have exactly one handler, run by :meth:`ask` with a unit of work whose
      ``commit()`` raises :class:`UnitOfWorkError`.

    **Middleware** wraps every handler run: each attempt of a command's handler, each query,
    each attempt of each event handler. A middleware is ``async def mw(call, call_next)``
    (:data:`~andamios.application.Middleware`) that gets the :class:`HandlerCall` and returns
    ``await call_next()``, or short-circuits, changes the result or raises; what it raises counts
    as the handler's error (a ``ConcurrencyError`` is retried, an event handler's is logged). The
    first of ``middleware`` is the outermost; :meth:`add_middleware` adds an innermost one::

        bus = MessageBus(new_uow, middleware=[log_runs, idempotent])

    ``sleep`` waits between retries (inject a no-op in tests).
    """

    def __init__(
        self,
        new_uow: UnitOfWorkFactory[U],
        *,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        middleware: Iterable[Middleware] = (),
    ) -> None:
        self._new_uow = new_uow
        self._retry = retry if retry is not None else RetryPolicy()
        self._sleep = sleep
        self._handlers: dict[type[Message[Any]], _Registration] = {}
        self._subscribers: dict[type, list[_Registration]] = {}
        candidate: object = middleware
        if callable(candidate):
            msg = (
                f"middleware= takes a list of middleware, got a single one ({candidate!r}): "
                "pass middleware=[it]"
            )
            raise TypeError(msg)
        self._middleware: tuple[Middleware, ...] = tuple(map(check_middleware, middleware))

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy applied to every handler run."""
        return self._retry

    @property
    def middleware(self) -> tuple[Middleware, ...]:
        """The middleware every handler run goes through, the outermost first."""
        return self._middleware

    def add_middleware(self, middleware: Middleware, /) -> None:
        """Add ``middleware`` inside the others: it runs last, just around the handler."""
        self._middleware = (*self._middleware, check_middleware(middleware))

    def __repr__(self) -> str:
        return (
            f"<MessageBus: {len(self._handlers)} command/query handlers, "
            f"{sum(map(len, self._subscribers.values()))} event handlers>"
        )

    # -- registration ---------------------------------------------------------------------------

    def register[M, R, **P](
        self,
        message: MessageType[M, R],
        handler: Callable[Concatenate[M, U, P], Awaitable[R]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> None:
        """Make ``handler`` the one handler of a :class:`Command` or :class:`Query` class.

        Extra arguments are the handler's dependencies, passed after the unit of work on every
        call: ``bus.register(SellProduct, sell_product, clock=clock)``. A second handler for the
        same class raises :class:`DuplicateHandler`.
        """
        message_type = _message_class(message)
        _check_callable(handler)
        existing = self._handlers.get(message_type)
        if existing is not None:
            msg = (
                f"{message_type.__name__} is already handled by {existing.name}; a command or "
                "query has exactly one handler"
            )
            raise DuplicateHandler(msg)
        self._handlers[message_type] = _Registration(handler, args, kwargs)

    def subscribe[E: DomainEvent, **P](
        self,
        event: type[E],
        handler: Callable[Concatenate[E, U, P], Awaitable[None]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> None:
        """Add ``handler`` to the handlers of an event class (and of its subclasses).

        Extra arguments are dependencies, as for :meth:`register`. Subscribing the same handler
        with the same dependencies twice raises :class:`DuplicateHandler`.
        """
        candidate: object = event
        if not (isinstance(candidate, type) and issubclass(candidate, DomainEvent)):
            msg = f"subscribe() takes a DomainEvent subclass, got {event!r}"
            raise TypeError(msg)
        _check_callable(handler)
        registration = _Registration(handler, args, kwargs)
        subscribers = self._subscribers.setdefault(event, [])
        if registration in subscribers:
            msg = f"{registration.name} is already subscribed to {event.__name__}"
            raise DuplicateHandler(msg)
        subscribers.append(registration)

    # -- sending --------------------------------------------------------------------------------

    async def handle[R](self, command: Command[R]) -> R:
        """Run the command's handler, dispatch the events it committed, return its result.

        Raises :class:`HandlerNotFound` for an unregistered command and pydantic's
        ``ValidationError`` for invalid data, both before a unit of work is made; a
        ``ConcurrencyError`` still there after the last attempt propagates, as does any error
        of the handler (after the events of anything it did commit have been dispatched).
        """
        registration = self._handler_of(command, Command, "handle")
        checked = type(command).model_validate(command)
        queue: deque[DomainEvent] = deque()
        try:
            result = await self._run(registration, checked, queue, "command")
        except Exception:
            await self._dispatch(queue)  # what was committed before the failure did happen
            raise
        await self._dispatch(queue)
        return cast("R", result)

    async def ask[R](self, query: Query[R]) -> R:
        """Run the query's handler with a unit of work that cannot commit; return its result.

        Raises :class:`HandlerNotFound` and ``ValidationError`` as :meth:`handle` does; a
        handler that calls ``commit()`` gets :class:`UnitOfWorkError` and nothing is saved.
        """
        registration = self._handler_of(query, Query, "ask")
        checked = type(query).model_validate(query)
        uow = self._new_uow()
        _forbid_commit(uow, checked)
        if not self._middleware:
            return cast("R", await registration(checked, uow))
        call = HandlerCall(checked, registration.name, "query", 1, uow)
        return cast(
            "R",
            await run_chain(self._middleware, call, functools.partial(registration, checked, uow)),
        )

    async def publish(self, *events: DomainEvent) -> None:
        """Dispatch events to their handlers as if a unit of work had just committed them."""
        for event in events:
            if not isinstance(cast("object", event), DomainEvent):
                msg = f"publish() takes DomainEvent instances, got {type(event).__name__}"
                raise TypeError(msg)
        await self._dispatch(deque(events))

    # -- internals ------------------------------------------------------------------------------

    def _handler_of(self, message: object, kind: type[Message[Any]], method: str) -> _Registration:
        if not isinstance(message, kind):
            msg = f"{method}() takes a {kind.__name__}, got {type(message).__name__}"
            if isinstance(message, Message):
                msg += "; send queries with ask() and commands with handle()"
            raise TypeError(msg)
        registration = self._handlers.get(type(message))
        if registration is None:
            raise HandlerNotFound(type(message))
        return registration

    async def _run(
        self,
        registration: _Registration,
        message: object,
        queue: deque[DomainEvent],
        kind: Literal["command", "event"],
    ) -> object:
        """Run a handler with a fresh unit of work, again after a conflict, as policy allows.

        Each run goes through the middleware, if there is any. The events each run committed are
        appended to ``queue``, also when the run (or a middleware) failed.
        """
        attempt = 1
        while True:
            uow = self._new_uow()
            try:
                if not self._middleware:
                    return await registration(message, uow)
                call = HandlerCall(message, registration.name, kind, attempt, uow)
                return await run_chain(
                    self._middleware, call, functools.partial(registration, message, uow)
                )
            except ConcurrencyError as error:
                if attempt >= self._retry.attempts:
                    raise
                delay = self._retry.delay(attempt)
                logger.info(
                    "%s lost a concurrent update (attempt %d of %d); retrying in %.3fs: %s",
                    registration.name,
                    attempt,
                    self._retry.attempts,
                    delay,
                    error,
                )
            finally:
                queue.extend(uow.collect_events())
            await self._sleep(delay)
            attempt += 1

    async def _dispatch(self, queue: deque[DomainEvent]) -> None:
        """Run every handler of every queued event, oldest first, until the queue is empty."""
        while queue:
            event = queue.popleft()
            for registration in self._subscribers_of(type(event)):
                try:
                    await self._run(registration, event, queue, "event")
                except Exception:
                    logger.exception(
                        "event handler %s failed on %s (the commit that raised it stands and "
                        "the other handlers still run): %r",
                        registration.name,
                        event.event_name,
                        event,
                        extra={"event": event, "handler": registration.name},
                    )

    def _subscribers_of(self, event_type: type[DomainEvent]) -> list[_Registration]:
        """The handlers of an event class and of its base classes, most specific first."""
        return [
            registration
            for cls in event_type.__mro__
            for registration in self._subscribers.get(cls, ())
        ]


def _message_class(message: object) -> type[Message[Any]]:
    if not (isinstance(message, type) and issubclass(message, Command | Query)):
        msg = f"register() takes a Command or Query subclass, got {message!r}"
        raise TypeError(msg)
    if dataclasses.is_dataclass(message):
        # pydantic would only fail at the first handle(), with its own AttributeError.
        msg = (
            f"{message.__name__} is a dataclass, but commands and queries are pydantic models: "
            f"remove @dataclass and declare its fields on the class (class {message.__name__}"
            "(Command[...]): field: type)"
        )
        raise TypeError(msg)
    return message


def _check_callable(handler: object) -> None:
    if not callable(handler):
        msg = f"a handler must be an async function, got {handler!r}"
        raise TypeError(msg)
