"""A single thread that runs every call made on one DuckDB connection.

A DuckDB connection must never be used from two threads at once (``ResourceInUseException``), and
calling it on the event loop blocks the loop for the whole query. Each pooled connection therefore
owns one :class:`Worker`: a plain thread draining a queue of jobs. A job is one Python callable
(for a statement: execute *and* fetch), so a statement costs exactly one hop to the thread and one
back to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any

__all__ = ["THREAD_NAME_PREFIX", "Worker"]

#: Every worker thread's name starts with this, so tests and operators can count them.
THREAD_NAME_PREFIX = "andamios-duckdb"

_counter = iter(range(1, 2**63))
_counter_lock = threading.Lock()


def _next_name() -> str:
    with _counter_lock:
        return f"{THREAD_NAME_PREFIX}-{next(_counter)}"


def _serve(queue: SimpleQueue[Callable[[], None] | None]) -> None:
    # A module-level function, not a bound method: the thread must not keep its Worker alive.
    while (job := queue.get()) is not None:
        job()
        # An idle thread must hold nothing of its last job (a DuckDB connection, its results):
        # a daemon thread's frame outlives the interpreter's exit, and DuckDB objects still
        # alive then are reported as leaked ("nanobind: leaked N instances").
        del job


def _resolve(future: asyncio.Future[Any], result: object) -> None:
    # The awaiting task may have been cancelled meanwhile; its result then has no reader.
    if not future.cancelled():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(error)


def _notify(
    loop: asyncio.AbstractEventLoop,
    settle: Callable[[asyncio.Future[Any], Any], None],
    future: asyncio.Future[Any],
    value: object,
) -> None:
    # The loop may be closed by the time a late job finishes; nobody is left to tell.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(settle, future, value)


class Worker:
    """One daemon thread that runs submitted callables in order, one at a time."""

    __slots__ = ("_queue", "_thread")

    def __init__(self) -> None:
        self._queue: SimpleQueue[Callable[[], None] | None] = SimpleQueue()
        # Daemon: a connection leaked without close must not keep the interpreter from exiting.
        self._thread = threading.Thread(
            target=_serve, args=(self._queue,), name=_next_name(), daemon=True
        )
        self._thread.start()

    def __del__(self) -> None:
        # A Worker dropped without stop() (its connection was garbage collected unclosed, e.g.
        # returned to a pool that had been disposed): the thread ends after the queued jobs
        # instead of idling, with whatever it holds, until the interpreter exits.
        self._queue.put(None)

    @property
    def name(self) -> str:
        """The thread's name (``andamios-duckdb-<n>``)."""
        return self._thread.name

    def submit[**P, T](
        self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> asyncio.Future[T]:
        """Queue ``fn(*args, **kwargs)`` on the thread; the future resolves on the running loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def job() -> None:
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:  # every outcome goes back to the awaiting task
                _notify(loop, _fail, future, error)
            else:
                _notify(loop, _resolve, future, result)

        self._queue.put(job)
        return future

    def post(self, fn: Callable[[], None]) -> None:
        """Queue ``fn()`` with no one waiting for it; ``fn`` must not raise."""
        self._queue.put(fn)

    def stop(self, *, join: bool) -> None:
        """Let the thread finish the queued jobs and exit; with ``join``, wait until it has."""
        self._queue.put(None)
        if join:
            self._thread.join()
