"""A single thread that runs every call made on one DuckDB connection.

A DuckDB connection must never be used from two threads at once (``ResourceInUseException``), and
calling it on the event loop blocks the loop for the whole query. Each pooled connection therefore
owns one :class:`Worker`: a plain thread draining a queue of jobs. A job is one Python callable
(for a statement: execute *and* fetch), so a statement costs exactly one hop to the thread and one
back to the loop.

Each job submitted with :meth:`Worker.submit` is timed (see :mod:`._health`): its wait in the
queue, its run on the thread and the event loop's lag in taking the result, in a
:class:`~._health.WorkerStats` shared by the workers of one database.
"""

from __future__ import annotations

import asyncio
import threading

# queue.SimpleQueue is this C class; the queue module would be imported for it alone (40 KiB).
from _queue import SimpleQueue
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any

from andamios.adapters.duckdb._health import WorkerStats

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


# The settling callbacks run on the loop, so the job's intervals are recorded there: one loop's
# jobs never race each other for the totals, and the loop's lag is known only there. The
# intervals travel as plain ints among call_soon_threadsafe's arguments, which are positional
# only: no object of their own per job.
def _resolve(  # noqa: PLR0917 - call_soon_threadsafe's positional arguments
    future: asyncio.Future[Any],
    result: object,
    stats: WorkerStats,
    queue_wait: int,
    run: int,
    handed: int,
) -> None:
    stats.record(queue_wait, run, perf_counter_ns() - handed)
    # The awaiting task may have been cancelled meanwhile; its result then has no reader.
    if not future.cancelled():
        future.set_result(result)


def _fail(  # noqa: PLR0917 - call_soon_threadsafe's positional arguments
    future: asyncio.Future[Any],
    error: BaseException,
    stats: WorkerStats,
    queue_wait: int,
    run: int,
    handed: int,
) -> None:
    stats.record(queue_wait, run, perf_counter_ns() - handed)
    if not future.cancelled():
        future.set_exception(error)


def _notify(  # noqa: PLR0917 - the job's own state, passed on as it is
    loop: asyncio.AbstractEventLoop,
    settle: Callable[[asyncio.Future[Any], Any, WorkerStats, int, int, int], None],
    future: asyncio.Future[Any],
    value: object,
    stats: WorkerStats,
    submitted: int,
    started: int,
) -> None:
    handed = perf_counter_ns()
    # try/except, not contextlib.suppress(): entering and leaving that costs ~0.4 µs per job,
    # as much as all of the timing.
    try:  # noqa: SIM105
        loop.call_soon_threadsafe(
            settle, future, value, stats, started - submitted, handed - started, handed
        )
    except RuntimeError:  # the loop was closed before a late job finished: nobody to tell
        pass


class Worker:
    """One daemon thread that runs submitted callables in order, one at a time.

    Jobs from :meth:`submit` are timed into ``stats`` (shared by the workers of one database);
    without it, into statistics of this worker's own.
    """

    __slots__ = ("_queue", "_stats", "_thread")

    def __init__(self, stats: WorkerStats | None = None) -> None:
        self._stats = WorkerStats() if stats is None else stats
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
        """Queue ``fn(*args, **kwargs)`` on the thread; the future resolves on the running loop.

        The job's queue wait, run and the loop's lag in settling the future are recorded in the
        worker's statistics once the loop has settled it.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        stats = self._stats
        submitted = perf_counter_ns()

        def job() -> None:
            started = perf_counter_ns()
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:  # every outcome goes back to the awaiting task
                # Handed over inside the except: a local holding the error would make a cycle
                # through its traceback, keeping the job's arguments (DuckDB objects) alive.
                _notify(loop, _fail, future, error, stats, submitted, started)
            else:
                _notify(loop, _resolve, future, result, stats, submitted, started)

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
