"""The bookkeeping every unit of work shares with its repositories (for adapter authors)."""

from __future__ import annotations

import collections
import enum
import operator
import weakref
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from types import TracebackType
from typing import Any

from andamios.domain import AggregateRoot, DomainEvent, InvalidSpecification
from andamios.domain._model import (  # the aggregate's own event list, and who hears of it
    _EVENTS_ATTRIBUTE,
    _RECORDED_ATTRIBUTE,
)
from andamios.ports._hooks import Observer, now
from andamios.ports.errors import DatabaseClosed, NotFound, UnitOfWorkError

__all__ = ["ObservedOperation", "Tracker", "UnitOfWorkState"]


#: An aggregate's ``__dict__``: read by ``attrgetter``, 1.7x faster than ``map(vars, ...)``.
_DICT = operator.attrgetter("__dict__")
_FORGET_WATCH = operator.methodcaller("pop", _RECORDED_ATTRIBUTE, None)


def _with_events(aggregates: Iterable[AggregateRoot[Any]]) -> list[AggregateRoot[Any]]:
    """Those of ``aggregates`` holding events, in order.

    A look in each one's ``__dict__`` instead of a method call per aggregate: a unit of work
    that added 100,000 aggregates looks at every one when it commits and when it ends. Python
    3.13 runs this comprehension 2.6x faster than the ``compress``/``methodcaller`` C loops it
    replaced (0.56 against 1.47 ms for 10,000, measured).
    """
    return [aggregate for aggregate in aggregates if aggregate.__dict__.get(_EVENTS_ATTRIBUTE)]


#: How many streamed aggregates are remembered before the dead among them are first dropped.
_FIRST_PRUNE = 1024


class UnitOfWorkState(enum.Enum):
    """Where a unit of work is in its life: it is used once, front to back."""

    NEW = "new"
    ACTIVE = "active"
    ENDED = "ended"


class Tracker:
    """State, seen aggregates and the first failure of one unit of work.

    Repositories report every aggregate they hand out or accept (so events can be collected from
    all of them) and run adapter calls inside :meth:`observe`, which remembers a failure: after
    a failed statement DuckDB aborts the transaction and a later COMMIT silently rolls back, so
    the unit of work must refuse to commit rather than pretend.
    """

    __slots__ = (
        "_committed",
        "_failure",
        "_prune_at",
        "_seen",
        "_streamed",
        "_watch",
        "_watched",
        "leaving",
        "name",
        "observer",
        "operations",
        "read_only",
        "state",
    )

    def __init__(self, name: str, observer: Observer | None = None) -> None:
        self.name = name
        #: The unit of work's hooks, or None when none listens (see ``andamios.ports.Hooks``).
        self.observer = observer
        #: A read-only unit of work refuses every write (see ``UnitOfWork.read_only``).
        self.read_only = False
        self.state = UnitOfWorkState.NEW
        #: Whether the unit of work is leaving its block (its last rollback, then it ends).
        self.leaving = False
        self._seen: dict[int, AggregateRoot[Any]] = {}
        #: Streamed aggregates, held weakly until they record an event (see_streamed); the
        #: dead are dropped whenever the list has doubled (``_prune_at``).
        self._streamed: list[weakref.ref[AggregateRoot[Any]]] = []
        self._prune_at = _FIRST_PRUNE
        self._watch = _RecordWatch(self)
        #: Whether an aggregate may hold ``_watch`` (one was streamed since the last discard).
        self._watched = False
        self._failure: BaseException | None = None
        #: How many operations have begun (a stream reading one result tells by it whether
        #: anything else ran in the unit of work meanwhile).
        self.operations = 0
        self._committed: list[DomainEvent] = []

    @property
    def failure(self) -> BaseException | None:
        """The first exception that aborted this unit of work's transaction, if any."""
        return self._failure

    def ensure_writable(self, what: str) -> None:
        """Raise UnitOfWorkError if the unit of work is read-only (``what``: the refused act)."""
        if self.read_only:
            msg = (
                f"{self.name} is read-only: {what} is refused (make a unit of work without "
                "read_only=True to change data)"
            )
            raise UnitOfWorkError(msg)

    def ensure_active(self) -> None:
        """Raise UnitOfWorkError unless the unit of work is inside its ``async with`` block."""
        if self.state is UnitOfWorkState.NEW:
            msg = f"{self.name} is not open: use it as 'async with uow:'"
            raise UnitOfWorkError(msg)
        if self.state is UnitOfWorkState.ENDED:
            msg = f"{self.name} has ended: make a new unit of work for more work"
            raise UnitOfWorkError(msg)

    def see(self, aggregate: AggregateRoot[Any]) -> None:
        """Remember an aggregate so its events are collected after commit."""
        self._seen.setdefault(id(aggregate), aggregate)

    def see_all(self, aggregates: Sequence[AggregateRoot[Any]]) -> None:
        """:meth:`see` each of ``aggregates``, in order."""
        # The same aggregate has the same id while it is held: update() keeps the first place.
        self._seen.update(zip(map(id, aggregates), aggregates, strict=True))

    def see_streamed(self, aggregates: Sequence[AggregateRoot[Any]]) -> None:
        """Remember a batch of streamed aggregates without keeping them alive.

        A stream of a million rows must not hold a million aggregates: the adapter keeps what
        it must save (a changed one), and an event recorded on one makes the tracker hold it
        (the aggregate tells it: ``AggregateRoot.record``), so its events are collected too. One
        holding events already is held at once. Done in C loops: a stream of 100,000 calls
        nothing per aggregate here.
        """
        eventful = _with_events(aggregates)
        if eventful:
            self.see_all(eventful)
            held = set(map(id, eventful))
            aggregates = [a for a in aggregates if id(a) not in held]
        streamed = self._streamed
        streamed.extend(map(weakref.ref, aggregates))
        watch = repeat(_RECORDED_ATTRIBUTE), repeat(self._watch)
        collections.deque(map(operator.setitem, map(_DICT, aggregates), *watch), maxlen=0)
        self._watched = True
        if len(streamed) > self._prune_at:
            self._streamed = streamed = [ref for ref in streamed if ref() is not None]
            self._prune_at = 2 * len(streamed) + _FIRST_PRUNE

    def _all_seen(self) -> list[AggregateRoot[Any]]:
        # Those held (in the order first seen), then the streamed ones still alive.
        if not self._streamed:
            return list(self._seen.values())
        found = dict(self._seen)
        for ref in self._streamed:
            aggregate = ref()
            if aggregate is not None:
                found.setdefault(id(aggregate), aggregate)
        return list(found.values())

    def fail(self, error: BaseException) -> None:
        """Remember the failure; operations and commits are refused until a rollback.

        It is the first one: once it is set, :meth:`observe` refuses before anything else can
        fail, and ``commit()`` refuses before it runs.
        """
        self._failure = error

    def reset(self) -> None:
        """Forget the failure after a rollback: the next transaction starts clean."""
        self._failure = None

    def ensure_usable(self) -> None:
        """Raise unless an operation may run: the unit of work is active and not poisoned."""
        self.ensure_active()
        failure = self._failure
        if isinstance(failure, DatabaseClosed):
            # Not the unit of work's fault, and nothing to roll back: say what happened.
            raise DatabaseClosed(str(failure)) from failure
        if failure is not None:
            msg = (
                f"an earlier statement in this unit of work failed ({type(failure).__name__}: "
                f"{failure}); roll back first (await uow.rollback()) or make a new unit of work"
            )
            raise UnitOfWorkError(msg) from failure

    def failed(self, error: BaseException) -> None:
        """An operation raised ``error``: anything but a clean miss poisons the transaction."""
        if not isinstance(error, (NotFound, InvalidSpecification)):
            self.fail(error)

    def observe(self, kind: str, aggregate_type: type | None) -> ObservedOperation:
        """Run an adapter call: ``async with tracker.observe("get", Product) as op:`` (set
        ``op.rows`` to what it handed out or accepted).

        It is refused once the transaction is poisoned, and a failure other than a clean miss
        poisons it: after one, every operation is refused until a rollback, on every adapter
        (DuckDB refuses any statement of an aborted transaction, so the in-memory adapter does
        too). The hooks are told the operation (``andamios.ports.Hooks.operation``).
        """
        return ObservedOperation(self, kind, aggregate_type)

    def discard_events(self) -> None:
        """Drop the events of every seen aggregate (their changes were rolled back)."""
        seen = self._all_seen()
        for aggregate in _with_events(seen):
            aggregate.pull_events()
        if self._watched:  # only a streamed aggregate holds this tracker's watch
            collections.deque(map(_FORGET_WATCH, map(_DICT, seen)), maxlen=0)
            self._watched = False
        self._seen.clear()
        self._streamed.clear()
        self._prune_at = _FIRST_PRUNE

    def harvest(self) -> None:
        """After a commit: move every seen aggregate's events to the committed queue."""
        for aggregate in _with_events(self._seen.values()):
            self._committed.extend(aggregate.pull_events())

    def collect_events(self) -> Iterator[DomainEvent]:
        """Yield and forget committed events, oldest first (a queue: safe to extend meanwhile)."""
        while self._committed:
            yield self._committed.pop(0)

    def seen(self) -> list[AggregateRoot[Any]]:
        """Every aggregate seen (a streamed one while it is alive), in the order first seen."""
        return self._all_seen()


class _RecordWatch:
    """Tells a tracker that a streamed aggregate recorded an event: the tracker then holds it.

    One per tracker, in the ``__dict__`` of each aggregate it streamed. A copy or a pickle of
    the aggregate leaves it out (``None``); a shallow ``copy.copy`` shares it, and its events
    are then collected too.
    """

    __slots__ = ("_tracker",)

    def __init__(self, tracker: Tracker) -> None:
        self._tracker = tracker

    def __call__(self, aggregate: AggregateRoot[Any]) -> None:
        self._tracker.see(aggregate)

    def __deepcopy__(self, memo: object) -> None:
        return None

    def __reduce__(self) -> tuple[type[None], tuple[()]]:
        return (type(None), ())


class ObservedOperation:
    """One operation of a unit of work, as :meth:`Tracker.observe` says; without hooks it only
    checks and remembers failures (no clock is read)."""

    __slots__ = ("_aggregate_type", "_kind", "_started", "_tracker", "rows")

    def __init__(self, tracker: Tracker, kind: str, aggregate_type: type | None) -> None:
        self._tracker = tracker
        self._kind = kind
        self._aggregate_type = aggregate_type
        self._started = (0, 0)
        #: What the operation handed out or accepted (see ``andamios.ports.Operation.rows``).
        self.rows: int | None = None

    async def __aenter__(self) -> ObservedOperation:
        self._tracker.ensure_usable()
        self._tracker.operations += 1
        if self._tracker.observer is not None:
            self._started = now()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self._tracker.failed(exc)
        observer = self._tracker.observer
        if observer is not None:
            await observer.operation(
                self._kind, self._aggregate_type, self.rows, self._started, exc
            )
