"""Hooks: what a unit of work did and how long it took, told to code you plug in.

Subclass :class:`Hooks`, override the methods you need (each may be ``def`` or ``async def``)
and give instances to a factory (``InMemoryUnitOfWork.factory(Shop, hooks=[MyHooks()])``,
``SqlAlchemyUnitOfWork.factory(..., hooks=...)``) or to the container
(``PersistenceContainer(..., hooks=[...])``). Every adapter calls them at the same moments with
the same events (statements aside: only SQL adapters run any):

- :meth:`Hooks.began` when ``async with uow:`` enters;
- :meth:`Hooks.operation` after each repository call, read-model query and raw SQL statement;
- :meth:`Hooks.statement` for each SQL statement, delivered just before the operation (or the
  commit or rollback) it ran in;
- :meth:`Hooks.before_commit` when ``commit()`` is about to write: the one hook that may veto;
- :meth:`Hooks.committed` after a commit, :meth:`Hooks.rolled_back` after a transaction that
  did something was discarded (with the reason), :meth:`Hooks.ended` when the block ends.

An exception raised by a hook other than ``before_commit`` is logged (logger
``andamios.hooks``) and swallowed: a hook never breaks a unit of work nor turns a failure into
a success. One raised by ``before_commit`` propagates from ``commit()`` as it is: nothing was
sent, the unit of work keeps its changes and stays usable (fix and commit again, or roll back).
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from andamios.ports._unit_of_work import UnitOfWork

__all__ = [
    "BeforeCommit",
    "Began",
    "Committed",
    "Ended",
    "HookSet",
    "Hooks",
    "Observer",
    "Operation",
    "RollbackReason",
    "RolledBack",
    "Statement",
    "UnitOfWorkEvent",
    "hook_set",
    "now",
]

logger = logging.getLogger("andamios.hooks")
"""Where a failing hook is reported (ERROR, with its traceback)."""


class RollbackReason(enum.Enum):
    """Why a transaction was discarded."""

    #: ``await uow.rollback()``.
    REQUESTED = "requested"
    #: The ``async with`` block ended without committing what it did.
    EXITED = "exited"
    #: The block was left by an exception (``RolledBack.error``).
    ERROR = "error"
    #: ``commit()`` failed (``RolledBack.error``: what it raised); nothing was saved.
    COMMIT_FAILED = "commit_failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitOfWorkEvent:
    """What every event says: which unit of work, on which database system."""

    #: The unit of work (an instance of your shape).
    unit_of_work: UnitOfWork
    #: ``"memory"``, ``"duckdb"``, ``"postgresql"``: the database system (OpenTelemetry's
    #: ``db.system.name``): the SQL dialect's name, else the adapter's ``adapter_name``.
    system: str
    #: The name of the unit of work's shape (``Shop``).
    shape: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Began(UnitOfWorkEvent):
    """``async with uow:`` entered."""

    read_only: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class BeforeCommit(UnitOfWorkEvent):
    """``commit()`` is about to write (``unit_of_work.seen()`` lists what it holds)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Committed(UnitOfWorkEvent):
    """A commit succeeded."""

    #: When ``commit()`` was called, in nanoseconds since the epoch.
    started_at: int
    #: Seconds the ``commit()`` call took (the flush and the COMMIT).
    duration: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RolledBack(UnitOfWorkEvent):
    """A transaction that did something was discarded; nothing of it was saved."""

    reason: RollbackReason
    #: The exception that ended the block, or that the failed commit raised.
    error: BaseException | None
    #: When the rollback (for ``COMMIT_FAILED``: the commit) began, in ns since the epoch.
    started_at: int
    #: Seconds the rollback (or the failed commit) took.
    duration: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Ended(UnitOfWorkEvent):
    """The ``async with`` block ended; the unit of work is closed."""

    #: Seconds from ``async with`` to the end of the block.
    duration: float
    #: The exception that left the block, if any.
    error: BaseException | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation(UnitOfWorkEvent):
    """One repository call, read-model query or raw SQL statement, done or failed.

    ``kind`` is the method: ``add``, ``add_many``, ``get`` (also ``get_or_none``), ``find``
    (also ``first``), ``count``, ``exists``, ``remove``, ``restore``, ``page``, ``stream``
    (one per batch), ``query``, ``query_page``, ``query_arrow``, ``sql.rows``, ``sql.execute``,
    ``sql.arrow``.
    """

    kind: str
    #: The repository's aggregate class (the query's first source for ``query*``; None for SQL).
    aggregate_type: type | None
    #: Aggregates or rows handed out or accepted (``None`` for ``count``/``exists``, or after a
    #: failure); for ``sql.execute``, the rows it changed.
    rows: int | None
    #: When it started, in nanoseconds since the epoch (``time.time_ns()``).
    started_at: int
    duration: float
    #: What it raised (``NotFound`` is not a failure: ``get`` reports ``rows=0``).
    error: BaseException | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement(UnitOfWorkEvent):
    """One SQL statement a SQL adapter ran (never on the in-memory adapter)."""

    #: The SQL text with placeholders; literal strings in it are replaced by ``?`` unless the
    #: hook asks for parameters (:attr:`Hooks.statement_parameters`).
    statement: str
    #: The bound parameters, only for hooks with ``statement_parameters = True``.
    parameters: object | None
    #: Rows an ``INSERT``/``UPDATE``/``DELETE`` changed, where the driver counts them.
    rows: int | None
    started_at: int
    duration: float
    #: What the statement raised, as the Andamios error the unit of work raises for it (a
    #: version conflict on DuckDB is a failed ``UPDATE``: a ``ConcurrencyError``).
    error: BaseException | None
    #: The operation kind it ran in, ``"commit"``, ``"rollback"``, or None (outside both).
    operation: str | None


type _Result = Awaitable[None] | None

# What an adapter recorded of a statement: text, parameters, rows, start (epoch ns), seconds,
# error.
type _Recorded = tuple[str, object, int | None, int, float, BaseException | None]


class Hooks:
    """Override the methods you need; each may be ``def`` or ``async def``.

    Only overridden methods are called, so a hook costs nothing where it is silent. Set
    ``statement_parameters = True`` on the class to receive statements' bound parameters
    (off by default: they may hold personal data).
    """

    #: Whether :meth:`statement` receives the statement's parameters and unredacted text.
    statement_parameters: ClassVar[bool] = False

    def began(self, event: Began) -> _Result:
        """``async with uow:`` entered."""

    def operation(self, event: Operation) -> _Result:
        """A repository call, read-model query or raw SQL call finished (or failed)."""

    def statement(self, event: Statement) -> _Result:
        """A SQL statement ran (SQL adapters)."""

    def before_commit(self, event: BeforeCommit) -> _Result:
        """``commit()`` is about to write. Raise to veto: ``commit()`` raises your exception,
        nothing is sent, and the unit of work keeps its changes."""

    def committed(self, event: Committed) -> _Result:
        """A commit succeeded."""

    def rolled_back(self, event: RolledBack) -> _Result:
        """A transaction that did something was discarded."""

    def ended(self, event: Ended) -> _Result:
        """The ``async with`` block ended."""


_METHODS = ("began", "operation", "statement", "before_commit", "committed", "rolled_back", "ended")
_LITERAL = re.compile(r"'(?:[^']|'')*'")


def _overrides(hooks: Hooks, name: str) -> bool:
    return getattr(type(hooks), name) is not getattr(Hooks, name)


class HookSet:
    """The hooks of one factory, each method's overriders found once (not per unit of work)."""

    __slots__ = ("_calls", "_raw_statements", "_statement_calls", "hooks")

    def __init__(self, hooks: Iterable[Hooks] | Hooks = ()) -> None:
        listed = [hooks] if isinstance(hooks, Hooks) else list(hooks)
        for each in listed:
            candidate: object = each
            if not isinstance(candidate, Hooks):
                msg = (
                    f"hooks must be Hooks instances (class MyHooks(Hooks): ... with the methods "
                    f"you need), got {each!r}"
                )
                raise TypeError(msg)
        self._calls: dict[str, tuple[Callable[[Any], _Result], ...]] = {
            name: tuple(getattr(h, name) for h in listed if _overrides(h, name))
            for name in _METHODS
        }
        self._raw_statements = tuple(
            type(h).statement_parameters for h in listed if _overrides(h, "statement")
        )
        self._statement_calls = tuple(
            zip(self._calls["statement"], self._raw_statements, strict=True)
        )

        self.hooks = tuple(listed)

    def __bool__(self) -> bool:
        return any(self._calls.values())

    def __repr__(self) -> str:
        return f"<HookSet of {', '.join(type(h).__name__ for h in self.hooks) or 'no hooks'}>"

    @property
    def wants_parameters(self) -> bool:
        """Whether a statement hook asked for bound parameters."""
        return any(self._raw_statements)

    def observer(self, system: str) -> Observer | None:
        """A fresh observer for one unit of work on ``system``; None when no hook listens."""
        return Observer(self, system) if self else None

    def calls(self, name: str) -> tuple[Callable[[Any], _Result], ...]:
        """The bound methods that override ``name``, in registration order."""
        return self._calls[name]

    def statement_calls(self) -> tuple[tuple[Callable[[Any], _Result], bool], ...]:
        """Each statement hook with whether it takes parameters."""
        return self._statement_calls


def _failed(name: str, call: object, event: UnitOfWorkEvent) -> None:
    logger.exception(
        "hook %s failed on %s of %s (ignored: the unit of work goes on)",
        getattr(call, "__qualname__", repr(call)),
        name,
        event.shape,
        extra={"hook_event": event},
    )


async def _call(name: str, call: Callable[[Any], _Result], event: UnitOfWorkEvent) -> None:
    try:
        result = call(event)
        if result is not None and inspect.isawaitable(result):  # a sync hook returns None
            await result
    except Exception:
        _failed(name, call, event)


def _redacted(sql: str) -> str:
    return _LITERAL.sub("?", sql) if "'" in sql else sql


class Observer:
    """Runs one unit of work's hooks; the ports call it, a SQL adapter records statements.

    ``record_statement`` is the adapter's part (SPI): call it for every statement sent, from
    any code path (an engine listener, a bulk statement on the driver). Statements are told to
    the hooks, in order, when the operation they ran in ends.
    """

    __slots__ = ("_base", "_began", "_hooks", "_statements", "open", "system", "translate")

    def __init__(self, hooks: HookSet, system: str) -> None:
        self._hooks = hooks
        self.system = system
        self._base: dict[str, Any] = {}
        #: How the adapter translates a statement's error into the Andamios error tree (a SQL
        #: adapter sets it), so that hooks never see a driver's exception.
        self.translate: Callable[[BaseException], BaseException] | None = None
        #: Whether the current transaction did something (a rollback of it is told).
        self.open = False
        self._began = 0
        self._statements: list[_Recorded] = []

    @property
    def wants_parameters(self) -> bool:
        """Whether to pass bound parameters to :meth:`record_statement`."""
        return self._hooks.wants_parameters

    def record_statement(
        self,
        statement: str,
        parameters: object,
        *,
        rows: int | None,
        started_at: int,
        duration: float,
        error: BaseException | None = None,
    ) -> None:
        """Remember one statement the adapter ran (told with the operation it ran in)."""
        if error is not None and self.translate is not None:
            error = self.translate(error)
        self._statements.append((statement, parameters, rows, started_at, duration, error))

    def attach(self, unit_of_work: UnitOfWork, shape: str) -> None:
        """Bind the observer to its unit of work (done by ``UnitOfWork.__init__``)."""
        self._base = {"unit_of_work": unit_of_work, "system": self.system, "shape": shape}

    async def _tell(self, name: str, event: UnitOfWorkEvent) -> None:
        for call in self._hooks.calls(name):
            await _call(name, call, event)

    def _statement(self, recorded: _Recorded, context: str | None, *, raw: bool) -> Statement:
        sql, parameters, rows, started_at, duration, error = recorded
        return Statement(
            **self._base,
            statement=sql if raw else _redacted(sql),
            parameters=parameters if raw else None,
            rows=rows,
            started_at=started_at,
            duration=duration,
            error=error,
            operation=context,
        )

    async def _tell_statements(self, context: str | None) -> None:
        if not self._statements:
            return
        recorded, self._statements = self._statements, []
        calls = self._hooks.statement_calls()
        for each in recorded:
            # Each form made once, and only if a hook takes it.
            told: dict[bool, Statement] = {}
            for call, raw in calls:
                event = told.get(raw)
                if event is None:
                    event = told[raw] = self._statement(each, context, raw=raw)
                await _call("statement", call, event)

    # -- what the ports call ----------------------------------------------------------------------

    async def began(self, *, read_only: bool) -> None:
        """Tell ``began``; start the block's clock."""
        self._began = time.perf_counter_ns()
        await self._tell("began", Began(**self._base, read_only=read_only))

    async def operation(
        self,
        kind: str,
        aggregate_type: type | None,
        rows: int | None,
        started: tuple[int, int],
        error: BaseException | None,
    ) -> None:
        """Tell the statements an operation ran, then the operation (``started``: epoch ns and
        perf-counter ns at its start)."""
        self.open = True
        duration = (time.perf_counter_ns() - started[1]) / 1e9
        await self._tell_statements(kind)
        event = Operation(
            **self._base,
            kind=kind,
            aggregate_type=aggregate_type,
            rows=None if error is not None else rows,
            started_at=started[0],
            duration=duration,
            error=error,
        )
        await self._tell("operation", event)

    async def before_commit(self) -> None:
        """Tell ``before_commit``; what a hook raises propagates (a veto)."""
        for call in self._hooks.calls("before_commit"):
            result = call(BeforeCommit(**self._base))
            if inspect.isawaitable(result):
                await result

    async def committed(self, started: tuple[int, int]) -> None:
        """Tell the commit's statements and ``committed``.

        The commit stands whatever happens here: a cancellation that arrives while an async
        hook runs is delivered at the task's next suspension point, not as the commit's outcome.
        """
        self.open = False
        duration = (time.perf_counter_ns() - started[1]) / 1e9
        event = Committed(**self._base, started_at=started[0], duration=duration)
        cancelled = False
        try:
            await self._tell_statements("commit")
            await self._tell("committed", event)
        except asyncio.CancelledError:
            cancelled = True
        if cancelled:
            task = asyncio.current_task()
            if task is not None:  # pragma: no branch - a cancellation comes from a task
                task.uncancel()
                task.cancel()

    async def rolled_back(
        self, reason: RollbackReason, error: BaseException | None, started: tuple[int, int]
    ) -> None:
        """Tell the rollback's statements and ``rolled_back`` (if the transaction did anything)."""
        await self._tell_statements(
            "commit" if reason is RollbackReason.COMMIT_FAILED else "rollback"
        )
        if not self.open:
            return
        self.open = False
        duration = (time.perf_counter_ns() - started[1]) / 1e9
        event = RolledBack(
            **self._base, reason=reason, error=error, started_at=started[0], duration=duration
        )
        await self._tell("rolled_back", event)

    async def ended(self, error: BaseException | None) -> None:
        """Tell what statements are left, then ``ended``."""
        await self._tell_statements(None)
        duration = (time.perf_counter_ns() - self._began) / 1e9
        await self._tell("ended", Ended(**self._base, duration=duration, error=error))


def now() -> tuple[int, int]:
    """The start of something timed: epoch nanoseconds (for spans) and perf-counter ns."""
    return time.time_ns(), time.perf_counter_ns()


def hook_set(hooks: HookSet | Iterable[Hooks] | Hooks | None) -> HookSet:
    """``hooks`` as a :class:`HookSet` (a factory builds one and hands it to each unit of work)."""
    if isinstance(hooks, HookSet):
        return hooks
    return HookSet(() if hooks is None else hooks)
