"""Middleware: code the message bus runs around every handler run (logging, metrics, idempotency).

A middleware is an ``async def middleware(call, call_next)``: ``call`` is the
:class:`HandlerCall` about to happen, and ``await call_next()`` runs the rest of the chain (the
next middleware, and in the end the handler) and returns the handler's result::

    async def log_runs(call: HandlerCall, call_next: Next) -> object:
        logger.info("%s %s (attempt %d)", call.kind, call.handler, call.attempt)
        return await call_next()

    bus = MessageBus(new_uow, middleware=[log_runs, idempotent])    # log_runs is the outermost

What the middleware returns is the result of the run, and what it raises is what the handler
raised: it may return without calling ``call_next`` (an idempotency check returning a stored
result), change the result, or raise. A ``ConcurrencyError`` out of the chain is retried by the
bus's :class:`~andamios.application.RetryPolicy` like one out of the handler, with a fresh unit of
work and the whole chain again (``call.attempt`` counts the runs); so ``call_next`` may be called
at most once per run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from andamios.application._errors import ApplicationError
from andamios.ports import UnitOfWork

__all__ = ["HandlerCall", "Middleware", "Next"]


@dataclass(frozen=True, slots=True)
class HandlerCall:
    """One run of one handler, as the middleware sees it before the handler runs.

    - ``message``: the :class:`~andamios.application.Command`, :class:`~andamios.application.Query`
      or :class:`~andamios.domain.DomainEvent` handled (validated again for commands and queries).
    - ``handler``: the handler's qualified name, such as ``"place_order"``.
    - ``kind``: ``"command"``, ``"query"`` or ``"event"``.
    - ``attempt``: 1 for the first run, 2 and on for the runs after a ``ConcurrencyError`` (the
      bus retries commands and event handlers as its retry policy allows; queries run once).
    - ``unit_of_work``: the fresh unit of work the handler gets, not yet entered.
    """

    message: object
    handler: str
    kind: Literal["command", "query", "event"]
    attempt: int
    unit_of_work: UnitOfWork


type Next = Callable[[], Awaitable[object]]
"""Runs the rest of the chain and returns the handler's result; call it at most once per run."""

type Middleware = Callable[[HandlerCall, Next], Awaitable[object]]
"""``async def middleware(call: HandlerCall, call_next: Next) -> object``, around a handler run."""


def _name(middleware: object) -> str:
    return getattr(middleware, "__qualname__", None) or repr(middleware)


class _CallNext:
    """The ``call_next`` handed to the middleware at ``index - 1``: runs the one at ``index``.

    Calling it returns that middleware's awaitable (or the handler's, past the last one) without
    a frame of its own in between, and refuses a second call.
    """

    __slots__ = ("_call", "_called", "_chain", "_handler", "_index")

    def __init__(
        self,
        chain: tuple[Middleware, ...],
        call: HandlerCall,
        handler: Callable[[], Awaitable[object]],
        index: int,
    ) -> None:
        self._chain = chain
        self._call = call
        self._handler = handler
        self._index = index
        self._called = False

    def __call__(self) -> Awaitable[object]:
        if self._called:
            msg = (
                f"middleware {_name(self._chain[self._index - 1])} called call_next twice for "
                f"{self._call.handler} ({self._call.kind} attempt {self._call.attempt}): the rest "
                "of the chain runs at most once per run (the bus's RetryPolicy retries conflicts)"
            )
            raise ApplicationError(msg)
        self._called = True
        if self._index == len(self._chain):
            return self._handler()
        return self._chain[self._index](
            self._call, _CallNext(self._chain, self._call, self._handler, self._index + 1)
        )


def run_chain(
    chain: tuple[Middleware, ...], call: HandlerCall, handler: Callable[[], Awaitable[object]]
) -> Awaitable[object]:
    """Run ``handler`` through ``chain``, the first middleware the outermost (the bus's hook)."""
    return chain[0](call, _CallNext(chain, call, handler, 1))


def check_middleware(middleware: Middleware) -> Middleware:
    """Return ``middleware`` if it can be one, else raise a ``TypeError`` saying what it takes."""
    candidate: object = middleware
    if not callable(candidate):
        msg = (
            "a middleware must be an async function taking (call: HandlerCall, call_next: Next), "
            f"got {middleware!r}"
        )
        raise TypeError(msg)
    return middleware
