"""``andamios.run``: run an application's main coroutine on uvloop, around its resources.

uvloop is the ``uvloop`` extra (``pip install 'andamios[uvloop]'``); without it the coroutine
runs on asyncio's own event loop, with the same behaviour (ADR 0013).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

__all__ = ["Resources", "run"]


class Resources(Protocol):
    """What :func:`run` needs of a container: start and stop its resources."""

    def init_resources(self) -> Awaitable[None] | None:
        """Start every resource (a dependency-injector container returns an awaitable)."""
        ...

    def shutdown_resources(self) -> Awaitable[None] | None:
        """Stop every started resource."""
        ...


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None (asyncio's own loop) where uvloop is not installed."""
    try:
        import uvloop  # noqa: PLC0415 - the uvloop extra, and import andamios stays light
    except ModuleNotFoundError:
        return None
    return uvloop.new_event_loop


async def _settle(result: Awaitable[None] | None) -> None:
    if inspect.isawaitable(result):
        await result


async def _around(coroutine: Coroutine[Any, Any, Any], container: Resources | None) -> Any:
    if container is None:
        return await coroutine
    try:
        await _settle(container.init_resources())
        return await coroutine
    finally:
        coroutine.close()  # never started when the resources failed to start: no warning then
        await _settle(container.shutdown_resources())


def run[T](
    main: Coroutine[Any, Any, T] | Callable[[], Coroutine[Any, Any, T]],
    /,
    *,
    container: Resources | None = None,
    debug: bool | None = None,
) -> T:
    """Run ``main`` (a coroutine, or an async function taking no argument) on a uvloop loop
    (asyncio's own loop where the ``uvloop`` extra is not installed).

    With ``container``, its resources are started before ``main`` and shut down after it,
    whether ``main`` returns, raises, or is interrupted::

        if __name__ == "__main__":
            andamios.run(main(), container=container)

    Ctrl-C cancels ``main`` (its ``finally`` blocks and ``async with`` exits run), shuts the
    resources down, closes the loop and then raises :class:`KeyboardInterrupt`, as
    :func:`asyncio.run` does. Returns what ``main`` returns.
    """
    coroutine: object = main() if callable(main) else main
    if not inspect.iscoroutine(coroutine):
        msg = f"run() takes a coroutine or an async function, got {main!r}"
        raise TypeError(msg)
    with asyncio.Runner(loop_factory=_loop_factory(), debug=debug) as runner:
        return runner.run(_around(coroutine, container))  # type: ignore[no-any-return]
