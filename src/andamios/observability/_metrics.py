"""Metrics: in-process counters and timings of units of work and handler runs.

:class:`Metrics` is a :class:`~andamios.ports.Hooks` (give it to a factory's ``hooks=``) and
carries a bus :data:`~andamios.application.Middleware` (``metrics.middleware``, for a
``MessageBus``'s ``middleware=``). Read it at any time with :meth:`Metrics.snapshot`, for a
``/metrics`` endpoint, a periodic log line or a test.

Percentiles are computed over a bounded window of the most recent durations of each key
(:attr:`Metrics.window`, 10,000 by default); ``count``, ``total`` and ``max`` cover all time.
They are *nearest-rank* percentiles: the p-th of n sorted durations is the one at rank
``ceil(p / 100 * n)`` (1-based), always a duration that was measured, never an interpolation.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from andamios.application import HandlerCall, Next
from andamios.ports import Committed, Ended, Hooks, Operation, RollbackReason, RolledBack, Statement
from andamios.ports.errors import ConcurrencyError

__all__ = ["Metrics", "MetricsSnapshot", "Timing"]

_CONFLICTS = (RollbackReason.COMMIT_FAILED, RollbackReason.ERROR)


def _nearest_rank(ordered: list[float], percent: float) -> float:
    """The nearest-rank ``percent``-th percentile of ``ordered`` (sorted, not empty)."""
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Timing:
    """How many times something ran and how long it took, in seconds.

    ``count``, ``total`` and ``max`` cover every run since the metrics started (or were reset);
    ``p50`` and ``p99`` are nearest-rank percentiles of the most recent runs (the window).
    Every field is 0 for something that never ran.
    """

    count: int
    total: float
    p50: float
    p99: float
    max: float

    @property
    def mean(self) -> float:
        """The average duration (0 when it never ran)."""
        return self.total / self.count if self.count else 0.0

    @classmethod
    def of(cls, durations: Iterable[float]) -> Timing:
        """The timing of exactly these durations (all of them in the window).

        >>> Timing.of([0.1, 0.2, 0.3, 0.4])
        Timing(count=4, total=1.0, p50=0.2, p99=0.4, max=0.4)
        """
        ordered = sorted(durations)
        if not ordered:
            return _NEVER
        return cls(
            count=len(ordered),
            total=math.fsum(ordered),
            p50=_nearest_rank(ordered, 50),
            p99=_nearest_rank(ordered, 99),
            max=ordered[-1],
        )


_NEVER = Timing(count=0, total=0.0, p50=0.0, p99=0.0, max=0.0)


class _Series:
    """The durations of one key: all-time count, total and max, and a window of recent ones."""

    __slots__ = ("count", "max", "recent", "total")

    def __init__(self, window: int) -> None:
        self.count = 0
        self.total = 0.0
        self.max = 0.0
        self.recent: deque[float] = deque(maxlen=window)

    def add(self, duration: float) -> None:
        self.count += 1
        self.total += duration
        self.max = max(self.max, duration)
        self.recent.append(duration)

    def timing(self) -> Timing:
        ordered = sorted(self.recent)
        return Timing(
            count=self.count,
            total=self.total,
            p50=_nearest_rank(ordered, 50),
            p99=_nearest_rank(ordered, 99),
            max=self.max,
        )


def _timings(series: Mapping[str, _Series]) -> Mapping[str, Timing]:
    return MappingProxyType({key: each.timing() for key, each in sorted(series.items())})


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSnapshot:
    """What :class:`Metrics` counted, at the moment :meth:`Metrics.snapshot` was called."""

    #: Units of work whose ``async with`` block ended.
    units_of_work: int = 0
    #: Successful commits.
    committed: int = 0
    #: Transactions discarded (requested, exited without a commit, an error, a failed commit).
    rolled_back: int = 0
    #: Rollbacks caused by a :class:`~andamios.ports.errors.ConcurrencyError` (a failed commit,
    #: or a block left by one): another unit of work changed the same aggregate first.
    conflicted: int = 0
    #: Repository calls, read-model queries and raw SQL calls that failed.
    failed_operations: int = 0
    #: SQL statements run (0 on the in-memory adapter).
    statements: int = 0
    #: SQL statements that failed.
    failed_statements: int = 0
    #: Aggregates or rows the operations handed out or accepted (``Operation.rows``).
    rows: int = 0
    #: Handler runs through :attr:`Metrics.middleware` (every attempt).
    handled: int = 0
    #: Handler runs that were retries (attempt 2 and on, after a ``ConcurrencyError``).
    retries: int = 0
    #: Timings by operation kind (``"get"``, ``"find"``, ``"sql.rows"``...), plus ``"commit"``
    #: and ``"unit_of_work"`` (the whole ``async with`` block).
    operations: Mapping[str, Timing] = field(default_factory=lambda: MappingProxyType({}))
    #: Timings of handler runs by message class name (``"PlaceOrder"``).
    handlers: Mapping[str, Timing] = field(default_factory=lambda: MappingProxyType({}))

    def operation(self, key: str) -> Timing:
        """The timing of ``key`` (all zeros if it never ran)."""
        return self.operations.get(key, _NEVER)


class Metrics(Hooks):
    """Counters and timings of what units of work did, readable at any time.

    ::

        metrics = Metrics()
        new_uow = InMemoryUnitOfWork.factory(Shop, hooks=[metrics])
        bus = MessageBus(new_uow, middleware=[metrics.middleware])
        ...
        snapshot = metrics.snapshot()
        snapshot.committed, snapshot.conflicted, snapshot.operation("find").p99

    ``window`` bounds how many recent durations of each key the percentiles are computed from
    (nearest-rank, see the module). Recording costs a few additions and a ``deque.append``;
    the sorting happens in :meth:`snapshot`. Counters are plain integers updated on the event
    loop: share one instance between units of work of one loop (or accept approximate counts).
    """

    def __init__(self, *, window: int = 10_000) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            msg = f"window is how many recent durations to keep per key, at least 1; got {window!r}"
            raise ValueError(msg)
        #: How many recent durations of each key the percentiles are computed from.
        self.window = window
        self.reset()

    def reset(self) -> None:
        """Forget everything counted so far."""
        self._units_of_work = 0
        self._committed = 0
        self._rolled_back = 0
        self._conflicted = 0
        self._failed_operations = 0
        self._statements = 0
        self._failed_statements = 0
        self._rows = 0
        self._handled = 0
        self._retries = 0
        self._operations: dict[str, _Series] = {}
        self._handlers: dict[str, _Series] = {}

    def snapshot(self) -> MetricsSnapshot:
        """Everything counted so far, frozen (later events do not change it)."""
        return MetricsSnapshot(
            units_of_work=self._units_of_work,
            committed=self._committed,
            rolled_back=self._rolled_back,
            conflicted=self._conflicted,
            failed_operations=self._failed_operations,
            statements=self._statements,
            failed_statements=self._failed_statements,
            rows=self._rows,
            handled=self._handled,
            retries=self._retries,
            operations=_timings(self._operations),
            handlers=_timings(self._handlers),
        )

    def _series(self, table: dict[str, _Series], key: str) -> _Series:
        series = table.get(key)
        if series is None:
            series = table[key] = _Series(self.window)
        return series

    # -- hooks ------------------------------------------------------------------------------------

    def operation(self, event: Operation) -> None:
        """Count the rows, time the kind, count a failure."""
        self._series(self._operations, event.kind).add(event.duration)
        if event.rows is not None:
            self._rows += event.rows
        if event.error is not None:
            self._failed_operations += 1

    def statement(self, event: Statement) -> None:
        """Count the statement (and its failure)."""
        self._statements += 1
        if event.error is not None:
            self._failed_statements += 1

    def committed(self, event: Committed) -> None:
        """Count the commit and time it."""
        self._committed += 1
        self._series(self._operations, "commit").add(event.duration)

    def rolled_back(self, event: RolledBack) -> None:
        """Count the rollback, and a conflict if a ``ConcurrencyError`` caused it."""
        self._rolled_back += 1
        if event.reason in _CONFLICTS and isinstance(event.error, ConcurrencyError):
            self._conflicted += 1

    def ended(self, event: Ended) -> None:
        """Count the unit of work and time its block."""
        self._units_of_work += 1
        self._series(self._operations, "unit_of_work").add(event.duration)

    # -- bus middleware ---------------------------------------------------------------------------

    async def middleware(self, call: HandlerCall, call_next: Next) -> object:
        """A bus middleware counting handler runs and retries, timing runs by message class.

        Give it to the bus as it is: ``MessageBus(new_uow, middleware=[metrics.middleware])``.
        A run is timed whether it returns or raises.
        """
        self._handled += 1
        if call.attempt > 1:
            self._retries += 1
        started = time.perf_counter()
        try:
            return await call_next()
        finally:
            duration = time.perf_counter() - started
            self._series(self._handlers, type(call.message).__name__).add(duration)
