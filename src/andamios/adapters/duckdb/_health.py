"""How long DuckDB jobs wait, run and take to reach the event loop: the async promise, measured.

Every statement of the DuckDB adapter is a job run on its connection's worker thread (see
:mod:`._worker`). Three intervals of each job tell whether the adapter keeps its promise:

- **queue wait**, from ``submit()`` to the thread starting the job: time spent behind the other
  jobs of the same connection;
- **run**, the job itself on the thread;
- **loop lag**, from the thread handing the result to the loop (``call_soon_threadsafe``) to the
  loop running that callback: how long the event loop was busy elsewhere, the stall it observed.

One :class:`WorkerStats` is shared by every worker of one database. It keeps the last
:data:`WINDOW` samples of each interval (for percentiles) and, since it was created or reset,
the number of jobs and the longest of each interval. :meth:`WorkerStats.snapshot` turns them into
a :class:`WorkerHealth` of three :class:`Timing` values, in seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["WINDOW", "Timing", "WorkerHealth", "WorkerStats"]

#: How many recent samples of each interval the percentiles are computed from.
WINDOW = 4096

_NS_PER_SECOND = 1e9


@dataclass(frozen=True, slots=True)
class Timing:
    """One interval of the jobs (queue wait, run or loop lag), in seconds.

    ``p50`` and ``p99`` are nearest-rank percentiles of the last ``window`` samples; ``count``
    and ``max`` cover every job since the statistics were started or reset. Every field is zero
    when no job was measured.
    """

    #: The number of jobs measured since the statistics were started or reset.
    count: int
    #: The median of the recent samples.
    p50: float
    #: The 99th percentile of the recent samples.
    p99: float
    #: The longest interval since the statistics were started or reset.
    max: float
    #: How many recent samples ``p50`` and ``p99`` were computed from (at most :data:`WINDOW`).
    window: int


def _timing(samples: Iterable[int], *, count: int, longest: int) -> Timing:
    """The timing of ``samples`` (nanoseconds), with the totals ``count`` and ``longest``."""
    ordered = sorted(samples)
    if not ordered:
        return Timing(count=count, p50=0.0, p99=0.0, max=longest / _NS_PER_SECOND, window=0)
    return Timing(
        count=count,
        p50=_nearest_rank(ordered, 50) / _NS_PER_SECOND,
        p99=_nearest_rank(ordered, 99) / _NS_PER_SECOND,
        max=longest / _NS_PER_SECOND,
        window=len(ordered),
    )


def _nearest_rank(ordered: list[int], percent: int) -> int:
    # Nearest rank (the ceil(percent * n / 100)-th smallest, in integers): a sample that was
    # actually observed, never an interpolation between two.
    return ordered[(percent * len(ordered) + 99) // 100 - 1]


@dataclass(frozen=True, slots=True)
class WorkerHealth:
    """What the worker threads of one DuckDB database observed (``Database.worker_health()``)."""

    #: The number of jobs measured (statements, commits, rollbacks, opens and closes).
    jobs: int
    #: From ``submit()`` to the worker thread starting the job.
    queue_wait: Timing
    #: The job itself on the worker thread.
    run: Timing
    #: From the worker thread handing over the result to the event loop running its callback.
    loop_lag: Timing


class WorkerStats:
    """The intervals of the jobs of every worker of one database (see the module's docstring).

    :meth:`record` is called on the event loop, in the callback that settles the job's future,
    so one loop's jobs never race each other; a snapshot taken from another thread copies each
    window atomically first. Good enough for health, not an accounting ledger.
    """

    __slots__ = (
        "_jobs",
        "_loop_lags",
        "_max_loop_lag",
        "_max_queue_wait",
        "_max_run",
        "_queue_waits",
        "_runs",
    )

    def __init__(self) -> None:
        self._jobs = 0
        self._queue_waits: deque[int] = deque(maxlen=WINDOW)
        self._runs: deque[int] = deque(maxlen=WINDOW)
        self._loop_lags: deque[int] = deque(maxlen=WINDOW)
        self._max_queue_wait = 0
        self._max_run = 0
        self._max_loop_lag = 0

    def record(self, queue_wait: int, run: int, loop_lag: int) -> None:
        """Add one job's intervals, in nanoseconds."""
        # Inline, and comparisons rather than max() calls: this runs on the loop for every
        # statement, and a call of max() costs more than the rest of a line here.
        self._jobs += 1
        self._queue_waits.append(queue_wait)
        self._runs.append(run)
        self._loop_lags.append(loop_lag)
        if queue_wait > self._max_queue_wait:  # noqa: PLR1730
            self._max_queue_wait = queue_wait
        if run > self._max_run:  # noqa: PLR1730
            self._max_run = run
        if loop_lag > self._max_loop_lag:  # noqa: PLR1730
            self._max_loop_lag = loop_lag

    def reset(self) -> None:
        """Forget every sample and total (before a benchmark, say)."""
        self._jobs = 0
        self._queue_waits.clear()
        self._runs.clear()
        self._loop_lags.clear()
        self._max_queue_wait = self._max_run = self._max_loop_lag = 0

    def snapshot(self) -> WorkerHealth:
        """The statistics now, in seconds."""
        jobs = self._jobs
        # copy() holds the deque while it copies; iterating it could meet a concurrent append.
        return WorkerHealth(
            jobs=jobs,
            queue_wait=_timing(self._queue_waits.copy(), count=jobs, longest=self._max_queue_wait),
            run=_timing(self._runs.copy(), count=jobs, longest=self._max_run),
            loop_lag=_timing(self._loop_lags.copy(), count=jobs, longest=self._max_loop_lag),
        )
