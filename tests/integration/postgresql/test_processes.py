"""What a server serves and DuckDB cannot: writers in several OS processes, and writers that wait.

- Several processes, each with its own ``Database`` (and pool), increment the same aggregates
  through the message bus, each increment a unit of work run again on ``ConcurrencyError`` as
  the bus's ``RetryPolicy`` allows. No update is lost: the counts, the versions and the child
  rows all agree. The processes are forked from one ``forkserver``, a fresh interpreter that
  has imported this module and never connected: four interpreters starting at once, as with
  ``spawn``, take several times longer on a small machine.
- In one process, a unit of work whose write meets a row (or a key) another open transaction
  holds waits on the server, then fails as the port says (``ConcurrencyError``,
  ``DuplicateError``) once the other commits, or goes through if the other rolls back.

The in-process races the port contract already runs on PostgreSQL (8 tasks x 50 increments, a
remove or change after another's commit, the same id added twice) are not repeated here:
``andamios.testing.UnitOfWorkContract``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import time
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from multiprocessing.synchronize import Barrier
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from tests._postgresql import POSTGRESQL_URL, schema_database

from andamios.adapters.postgresql import Database
from andamios.adapters.sqlalchemy import Child, Mapping, SqlAlchemyUnitOfWork
from andamios.application import Command, MessageBus, RetryPolicy
from andamios.domain import AggregateRoot, Entity
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, DuplicateError

PROCESSES = 4
INCREMENTS = 25  # per process, each one unit of work
#: The aggregates the increments of every process change, in turn.
TALLIES = ("left", "right")
#: Constant, jittered waits: backing off exponentially would stretch a loser's tail for nothing.
RETRY = RetryPolicy(attempts=200, backoff=0.002, multiplier=1.0, jitter=0.01)
#: How long anything here may wait for the others (a process to start, a lock to be waited on).
PATIENCE = 60.0


# -- the domain: a tally whose ticks say which process made them ----------------------------------


@dataclass(eq=False, kw_only=True)
class Tick(Entity[UUID]):
    process: int


@dataclass(eq=False, kw_only=True)
class Tally(AggregateRoot[str]):
    count: int = 0
    ticks: list[Tick] = field(default_factory=list)

    def tick(self, process: int) -> None:
        self.count += 1
        self.ticks.append(Tick(process=process))


class Tallies(UnitOfWork):
    tallies: Repository[Tally, str]


class Increment(Command):
    tally: str
    process: int


@functools.cache
def _mapping() -> Mapping:
    """The mapping of the tallies (made once per process: the classes are this module's)."""
    mapping = Mapping()
    tallies = sa.Table(
        "tallies",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    ticks = sa.Table(
        "ticks",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tally_id", sa.String, sa.ForeignKey("tallies.id"), nullable=False),
        sa.Column("process", sa.Integer, nullable=False),
    )
    mapping.map(Tally, tallies, children={"ticks": Child(Tick, ticks, order_by="id")})
    return mapping


def _factory(database: Database) -> UnitOfWorkFactory[Tallies]:
    return SqlAlchemyUnitOfWork.factory(Tallies, database=database, mapping=_mapping())


@contextlib.asynccontextmanager
async def _tallies(
    *ids: str, **settings: Any
) -> AsyncIterator[tuple[Database, UnitOfWorkFactory[Tallies]]]:
    """A database (``settings``) in a new schema with the tallies ``ids`` stored (count 0, v1)."""
    async with schema_database(_mapping().metadata, **settings) as database:
        new_uow = _factory(database)
        async with new_uow() as uow:
            await uow.tallies.add_many([Tally(id=tally_id) for tally_id in ids])
            await uow.commit()
        yield database, new_uow


# -- several processes -----------------------------------------------------------------------------


async def _increment(command: Increment, uow: Tallies, runs: list[int]) -> None:
    runs.append(command.process)  # every run, the ones that lost a race included
    async with uow:
        tally = await uow.tallies.get(command.tally)
        tally.tick(command.process)
        await uow.commit()


async def _write(process: int, schema: str, start: Barrier) -> int:
    """Run ``INCREMENTS`` increments once every process is connected; returns the runs made."""
    async with Database(POSTGRESQL_URL, schema=schema, pool_size=1) as database:
        bus = MessageBus(_factory(database), retry=RETRY)
        runs: list[int] = []
        bus.register(Increment, _increment, runs)
        start.wait(PATIENCE)  # so that the processes race from their first increment
        for n in range(INCREMENTS):
            await bus.handle(Increment(tally=TALLIES[n % len(TALLIES)], process=process))
        return len(runs)


def _writer(process: int, schema: str, start: Barrier, results: Any) -> None:
    """The body of a writer process: put (process, runs, failure or None) on ``results``."""
    try:
        results.put((process, asyncio.run(_write(process, schema, start)), None))
    except BaseException:
        start.abort()  # the others must not wait for this one
        results.put((process, 0, traceback.format_exc()))


def _run_writers(schema: str) -> dict[int, int]:
    """Run the writer processes to their end; returns the runs each made."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    start = context.Barrier(PROCESSES)
    results = context.Queue()
    writers = [
        context.Process(target=_writer, args=(n, schema, start, results), name=f"writer-{n}")
        for n in range(PROCESSES)
    ]
    for writer in writers:
        writer.start()
    try:
        outcomes = [results.get(timeout=PATIENCE) for _ in writers]
    finally:
        for writer in writers:
            writer.join(5)  # it has put its outcome, or is stuck
            if writer.is_alive():
                writer.kill()
                writer.join()
    failures = [f"writer-{n}:\n{failure}" for n, _, failure in outcomes if failure is not None]
    assert not failures, "\n".join(failures)
    assert [writer.exitcode for writer in writers] == [0] * PROCESSES
    return {n: runs for n, runs, _ in outcomes}


@pytest.mark.subprocess
@pytest.mark.slow
async def test_writers_in_several_processes_lose_no_update() -> None:
    async with _tallies(*TALLIES) as (database, new_uow):
        schema = database.settings.schema
        assert schema is not None
        began = time.perf_counter()
        runs = await asyncio.to_thread(_run_writers, schema)
        elapsed = time.perf_counter() - began
        async with new_uow() as uow:
            stored = {tally_id: await uow.tallies.get(tally_id) for tally_id in TALLIES}
    for turn, tally in enumerate(stored.values()):
        each = len(range(turn, INCREMENTS, len(TALLIES)))  # what each process added to it
        total = PROCESSES * each
        assert (tally.count, tally.version, len(tally.ticks)) == (total, total + 1, total)
        by_process = [sum(t.process == n for t in tally.ticks) for n in range(PROCESSES)]
        assert by_process == [each] * PROCESSES  # and no tick of a run that lost was kept
    retries = sum(runs.values()) - PROCESSES * INCREMENTS
    assert retries > 0, f"the processes did not race ({elapsed:.1f} s, {runs})"


# -- one process: a writer that waits for another's transaction ------------------------------------


async def _backend_pid(uow: Tallies) -> int:
    assert isinstance(uow, SqlAlchemyUnitOfWork)
    pid = await uow.session.scalar(sa.text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


async def _wait_until_blocked_by(database: Database, pid: int) -> None:
    """Return once a backend waits for a lock the backend ``pid`` holds."""
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    async with asyncio.timeout(PATIENCE), database.engine.connect() as connection:
        while True:
            if await connection.scalar(query, {"pid": pid}):
                return
            await asyncio.sleep(0.01)  # the other task is on its way to the server


@pytest.mark.parametrize(
    ("first_writer", "first_ends", "isolation_level"),
    [
        ("update", "commit", "REPEATABLE READ"),
        ("remove", "commit", "REPEATABLE READ"),
        ("update", "rollback", "REPEATABLE READ"),
        ("remove", "rollback", "REPEATABLE READ"),
        # No snapshot to refuse the stale write: the version in its WHERE clause does.
        ("update", "commit", "READ COMMITTED"),
        ("remove", "commit", "READ COMMITTED"),
    ],
)
async def test_an_update_and_a_remove_racing_the_one_that_waits_fails_if_the_other_commits(
    first_writer: str, first_ends: str, isolation_level: str
) -> None:
    async def change(uow: Tallies, how: str) -> None:
        tally = await uow.tallies.get("t")
        if how == "update":
            tally.tick(process=0)
        else:
            await uow.tallies.remove(tally)

    second_writer = "remove" if first_writer == "update" else "update"
    async with (
        _tallies("t", isolation_level=isolation_level) as (database, new_uow),
        new_uow() as first,
        new_uow() as second,
    ):
        async with new_uow() as uow:
            (await uow.tallies.get("t")).tick(process=0)  # a child for the remove to take along
            await uow.commit()
        await second.tallies.get("t")  # version 2, as first reads it
        await change(first, first_writer)
        await first.tallies.count()  # the autoflush writes: the row is now locked
        await change(second, second_writer)
        waiting = asyncio.create_task(second.commit())
        await _wait_until_blocked_by(database, await _backend_pid(first))
        if first_ends == "commit":
            await first.commit()
            with pytest.raises(ConcurrencyError) as caught:
                await waiting
            assert "changed or removed by another unit of work" in str(caught.value)
            assert "confirm_deleted_rows" not in str(caught.value)  # SQLAlchemy's, not ours
            winner = first_writer
        else:
            await first.rollback()
            await waiting
            winner = second_writer

        async with new_uow() as uow:
            stored = await uow.tallies.get_or_none("t")
        async with database.engine.connect() as connection:
            ticks = await connection.scalar(sa.text("SELECT count(*) FROM ticks"))
    if winner == "update":
        assert stored is not None
        assert (stored.count, stored.version, len(stored.ticks), ticks) == (2, 3, 2, 2)
    else:
        assert (stored, ticks) == (None, 0)  # no orphan tick either


@pytest.mark.parametrize("first_ends", ["commit", "rollback"])
async def test_the_same_new_id_waits_for_the_first_adder_then_fails_or_is_stored(
    first_ends: str,
) -> None:
    async with _tallies() as (database, new_uow), new_uow() as first, new_uow() as second:
        await first.tallies.add(Tally(id="new", count=1))
        await first.tallies.count()  # the autoflush inserts: the key is taken, not committed
        await second.tallies.add(Tally(id="new", count=2))
        waiting = asyncio.create_task(second.commit())
        await _wait_until_blocked_by(database, await _backend_pid(first))
        if first_ends == "commit":
            await first.commit()
            with pytest.raises(DuplicateError):
                await waiting
        else:
            await first.rollback()
            await waiting

        async with new_uow() as uow:
            stored = await uow.tallies.get("new")
    assert (stored.count, stored.version) == ((1, 1) if first_ends == "commit" else (2, 1))
