"""Closing a database with units of work in flight, cancelled commits, and foreign event loops.

The same on a DuckDB file, in-memory DuckDB and PostgreSQL: ``close()`` lets a COMMIT already
sent finish, ends every other unit of work (rolled back, then :class:`DatabaseClosed`), joins
every worker thread and releases the file; a cancelled ``commit()`` always tells the truth.
"""

from __future__ import annotations

import asyncio
import logging
import random
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import duckdb
import pytest
import sqlalchemy as sa
from tests._postgresql import POSTGRESQL_URL, require_postgresql, schema_database
from tests.integration.duckdb._contract_mapping import (
    DATABASE_KINDS,
    contract_mapping,
    open_database,
)

from andamios.adapters.duckdb import THREAD_NAME_PREFIX, translate_error
from andamios.adapters.duckdb._connection import AsyncDuckDBConnection, SharedDatabase
from andamios.adapters.duckdb._errors import translate_open_error
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.postgresql._database import _connect_whole
from andamios.adapters.sql_lifecycle import (
    ConnectionsInUse,
    WorkInFlight,
    run_to_completion,
    settle,
)
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.ports import UnitOfWorkFactory
from andamios.ports.errors import CorruptDatabase, DatabaseClosed, DatabaseError, OperationalError
from andamios.testing.models import ContractUnitOfWork, Counter, Gadget

type Factory = UnitOfWorkFactory[ContractUnitOfWork]


def _gadget(sku: str) -> Gadget:
    return Gadget(sku=sku, name=sku.lower(), price=Decimal("1.00"), quantity=1)


def _worker_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(THREAD_NAME_PREFIX)}


async def _opened(kind: str, directory: Path) -> AsyncIterator[tuple[Any, Factory, str]]:
    with contract_mapping() as mapping:
        async with open_database(kind, directory, mapping) as database:
            factory = SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping
            )
            yield database, factory, kind


@pytest.fixture(params=DATABASE_KINDS)
async def opened(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Any, Factory, str]]:
    """A started database, a factory over it, and its kind."""
    async for each in _opened(request.param, tmp_path):
        yield each


@pytest.fixture(params=("file", "postgresql"))
async def reopenable(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Any, Factory, str]]:
    """As :func:`opened`, for a database that keeps its data once closed (not ``:memory:``)."""
    async for each in _opened(request.param, tmp_path):
        yield each


async def _count(database: Any, table: str) -> int:
    async with database.engine.connect() as connection:
        return int(await connection.scalar(sa.text(f"SELECT count(*) FROM {table}")))


async def test_close_ends_a_unit_of_work_in_flight_and_nothing_of_it_is_saved(
    opened: tuple[Any, Factory, str],
) -> None:
    database, factory, kind = opened
    before = _worker_threads()
    async with factory() as uow:
        await uow.gadgets.add(_gadget("A-1"))
        assert await uow.gadgets.count() == 1  # flushed: the transaction holds the row
        await database.close()
        assert _worker_threads() <= before
        with pytest.raises(DatabaseClosed, match="was closed while this unit of work was open"):
            await uow.commit()
        with pytest.raises(DatabaseClosed):
            await uow.gadgets.count()
        with pytest.raises(DatabaseClosed):
            await uow.commit()  # again: still the truth
    await database.close()  # twice: harmless
    if kind == "memory":
        return  # an in-memory database is gone once closed
    await database.start()
    try:
        assert await _count(database, "gadgets") == 0
    finally:
        await database.close()


def _sync_session(uow: ContractUnitOfWork) -> Any:
    return cast("SqlAlchemyUnitOfWork", uow).session.sync_session


async def test_a_driver_failing_its_own_way_after_close_is_database_closed(
    opened: tuple[Any, Factory, str],
) -> None:
    # A connection ended mid-statement can fail inside the driver, not as an SQLAlchemy error
    # (asyncpg: "'NoneType' object has no attribute 'bind_execute_many'", 2 in ~700 rounds of
    # the close attack). Raised from inside the flush, as the driver would.
    database, factory, _ = opened

    def driver_gone(*_: object) -> None:
        raise AttributeError("'NoneType' object has no attribute 'bind_execute_many'")

    async with factory() as uow:
        await uow.gadgets.add(_gadget("A-1"))
        sa.event.listen(_sync_session(uow), "before_flush", driver_gone)
        with pytest.raises(AttributeError):
            await uow.commit()  # the database is open: a stray error is not disguised
    async with factory() as uow:
        await uow.gadgets.add(_gadget("A-2"))
        sa.event.listen(_sync_session(uow), "before_flush", driver_gone)
        await database.close()
        with pytest.raises(DatabaseClosed, match="was closed while") as closed:
            await uow.commit()
        assert isinstance(closed.value.__cause__, AttributeError)


async def test_a_unit_of_work_after_close_is_refused(opened: tuple[Any, Factory, str]) -> None:
    database, factory, _ = opened
    made_before = factory()
    await database.close()
    with pytest.raises(DatabaseClosed, match="is closed: no unit of work can begin"):
        async with made_before:
            pass
    with pytest.raises(DatabaseClosed, match="is closed: use 'async with Database"):
        factory()


async def test_close_interrupts_a_running_statement(opened: tuple[Any, Factory, str]) -> None:
    database, factory, kind = opened
    endless = (
        "SELECT count(*) FROM generate_series(1, 1000000000000)"
        if kind == "postgresql"
        else "SELECT count(*) FROM range(1000000000000) a, range(1000) b"
    )
    started = asyncio.Event()

    async def long_read() -> None:
        async with factory() as uow:
            await uow.gadgets.count()
            started.set()
            with pytest.raises(sa.exc.SQLAlchemyError):  # the session's own, untranslated
                await cast("SqlAlchemyUnitOfWork", uow).session.execute(sa.text(endless))
            await uow.gadgets.count()  # what the unit of work says next

    task = asyncio.create_task(long_read())
    await started.wait()
    await asyncio.sleep(0.2)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await database.close()
    assert loop.time() - began < 5
    with pytest.raises(DatabaseClosed):
        await task
    if kind == "postgresql":  # the server's backend was ended too, not left running the query
        await database.start()
        running = None
        # pg_terminate_backend signals; the backend ends a moment later (seconds, on a busy
        # machine: it first stops writing the series' spilled rows).
        for _ in range(200):
            async with database.engine.connect() as connection:
                running = await connection.scalar(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE query = :q "
                        "AND state = 'active' AND pid <> pg_backend_pid()"
                    ),
                    {"q": endless},
                )
            if running == 0:
                break
            await asyncio.sleep(0.05)
        assert running == 0


async def test_a_commit_in_flight_at_close_tells_the_truth(
    reopenable: tuple[Any, Factory, str],
) -> None:
    database, factory, _ = reopenable
    rng = random.Random(11)
    outcomes: list[bool] = []
    for round_ in range(6):
        if not database.is_started:
            await database.start()

        async def write(n: int) -> None:
            async with factory() as uow:
                await uow.gadgets.add_many([_gadget(f"R{n}-{i}") for i in range(2_000)])
                await uow.commit()

        task = asyncio.create_task(write(round_))
        await asyncio.sleep(rng.uniform(0, 0.08))
        await database.close()
        try:
            await task
        except DatabaseClosed:
            committed = False
        else:
            committed = True
        outcomes.append(committed)
        await database.start()
        stored = await _count(database, "gadgets")
        assert stored == 2_000 * sum(outcomes), (round_, outcomes)
    await database.close()


@pytest.mark.subprocess
async def test_close_releases_the_file_for_another_process(tmp_path: Path) -> None:
    with contract_mapping() as mapping:
        async with open_database("file", tmp_path, mapping) as database:
            factory = SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping
            )
            async with factory() as uow:
                await uow.gadgets.add(_gadget("A-1"))
                await uow.gadgets.count()
                await database.close()
                path = str(database.settings.path)
                reader = await asyncio.to_thread(
                    subprocess.run,
                    [
                        sys.executable,
                        "-c",
                        "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                        "print(c.execute('SELECT count(*) FROM gadgets').fetchone()[0]); c.close()",
                        path,
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
    assert reader.returncode == 0, reader.stderr
    assert reader.stdout.strip() == "0"


# -- cancellation -----------------------------------------------------------------------------


@pytest.fixture(params=("adapter-memory", *DATABASE_KINDS))
async def counters(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    """A factory whose store holds one counter ``"c"`` at 0."""
    factory: Factory
    if request.param == "adapter-memory":
        factory = InMemoryUnitOfWork.factory(ContractUnitOfWork)
        async with factory() as uow:
            await uow.counters.add(Counter(id="c", value=0))
            await uow.commit()
        yield factory
        return
    with contract_mapping() as mapping:
        async with open_database(request.param, tmp_path, mapping) as database:
            factory = SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping
            )
            async with factory() as uow:
                await uow.counters.add(Counter(id="c", value=0))
                await uow.commit()
            yield factory


async def _increment(factory: Factory, committed: Callable[[], None]) -> None:
    async with factory() as uow:
        counter = await uow.counters.get("c")
        counter.value += 1
        await uow.commit()
        committed()


async def test_a_cancelled_commit_always_tells_whether_it_committed(counters: Factory) -> None:
    # 120 increments cancelled at random points: each caller that was told "committed" (the
    # task ended normally) is counted; the stored value must be exactly that count.
    rng = random.Random(7)
    told_committed = 0
    reached_commit = 0

    def note() -> None:
        nonlocal reached_commit
        reached_commit += 1

    loop = asyncio.get_running_loop()
    for _ in range(120):
        began = loop.time()
        task = asyncio.create_task(_increment(counters, note))
        await asyncio.sleep(rng.uniform(0, 0.004))
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        else:
            told_committed += 1
        assert loop.time() - began < 5
    async with counters() as uow:
        stored = (await uow.counters.get("c")).value
    assert stored == told_committed == reached_commit


async def test_cancelling_a_unit_of_work_logs_no_sqlalchemy_noise(
    opened: tuple[Any, Factory, str], caplog: pytest.LogCaptureFixture
) -> None:
    _, factory, _ = opened
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    rng = random.Random(3)
    for n in range(40):

        async def work(n: int = n) -> None:
            async with factory() as uow:
                await uow.gadgets.add(_gadget(f"N-{n}"))
                await uow.gadgets.count()
                await asyncio.sleep(0)

        task = asyncio.create_task(work())
        await asyncio.sleep(rng.uniform(0, 0.003))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == []


# -- event loops --------------------------------------------------------------------------------


async def test_a_database_used_from_another_event_loop_fails_at_once(
    opened: tuple[Any, Factory, str],
) -> None:
    _, factory, _ = opened
    errors: list[BaseException] = []

    async def elsewhere() -> None:
        async with factory() as uow:
            await uow.gadgets.count()

    def run() -> None:
        try:
            asyncio.run(elsewhere())
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    await asyncio.to_thread(thread.join, 10)
    assert len(errors) == 1
    assert type(errors[0]) is DatabaseError
    assert "was started on another event loop" in str(errors[0])
    async with factory() as uow:  # the database's own loop still works
        assert await uow.gadgets.count() == 0


# -- the pieces ---------------------------------------------------------------------------------


async def test_settle_absorbs_the_callers_cancellation_and_returns_the_outcome() -> None:
    release = asyncio.Event()

    async def work() -> str:
        await release.wait()
        return "done"

    async def caller() -> tuple[str, int]:
        outcome = await settle(work())
        return outcome, cast("asyncio.Task[Any]", asyncio.current_task()).cancelling()

    task = asyncio.create_task(caller())
    await asyncio.sleep(0)
    task.cancel()
    task.cancel()  # twice: both are absorbed
    await asyncio.sleep(0)
    release.set()
    assert await task == ("done", 0)


async def test_settle_returns_work_that_ended_just_as_its_caller_was_cancelled() -> None:
    # The work ends, then the caller is cancelled before the shield hands the outcome over.
    release = asyncio.Event()

    async def work() -> str:
        await release.wait()
        return "done"

    task = asyncio.create_task(settle(work()))
    await asyncio.sleep(0)  # settle waits on the shielded work
    release.set()
    await asyncio.sleep(0)  # the work returns; the shield has not passed it on yet
    task.cancel()
    assert await task == "done"


async def test_run_to_completion_finishes_the_work_then_delivers_the_cancellation() -> None:
    finished: list[bool] = []
    release = asyncio.Event()

    async def cleanup() -> None:
        await release.wait()
        finished.append(True)

    task = asyncio.create_task(run_to_completion(cleanup()))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished == [True]


async def test_work_cancelled_itself_is_not_awaited_forever() -> None:
    async def cancelled_work() -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await settle(cancelled_work())


async def test_the_work_of_a_database_is_told_and_refused_when_closed() -> None:
    work = WorkInFlight("database x")
    assert repr(work) == "<WorkInFlight of database x: 0 open, 0 committing>"
    work.enter()
    assert (work.closed, work.ended) == (False, False)
    assert await work.close() == 1  # one unit of work left open
    assert (work.closed, work.ended) == (True, True)
    work.leave()
    with pytest.raises(DatabaseClosed, match="database x is closed: no unit of work can begin"):
        work.enter()


async def test_the_loop_is_not_asked_outside_any_loop(opened: tuple[Any, Factory, str]) -> None:
    database, _, _ = opened
    # Sync code on another thread (building a unit of work before asyncio.run) may reach it.
    engine = await asyncio.to_thread(lambda: database.engine)
    assert engine is database.engine


async def test_an_engine_kept_after_close_opens_no_connection(
    opened: tuple[Any, Factory, str],
) -> None:
    database, _, kind = opened
    engine = database.engine
    await database.close()
    with pytest.raises((DatabaseClosed, sa.exc.DBAPIError)) as refused:
        async with engine.connect():
            pass
    if kind == "postgresql":
        assert type(refused.value) is DatabaseClosed
    else:
        assert "was closed" in str(refused.value)


async def test_close_waits_for_a_commit_in_flight_and_refuses_the_next() -> None:
    work = WorkInFlight("database x")
    release = asyncio.Event()
    order: list[str] = []

    async def commit() -> None:
        await release.wait()
        order.append("committed")

    async def close() -> None:
        await work.close()
        order.append("closed")

    committing = asyncio.create_task(work.commit(commit()))
    await asyncio.sleep(0)
    closing = asyncio.create_task(close())
    await asyncio.sleep(0.01)
    assert order == []  # close() waits for the COMMIT in flight
    release.set()
    await asyncio.gather(committing, closing)
    assert order == ["committed", "closed"]
    late = commit()
    with pytest.raises(DatabaseClosed, match="was closed while this unit of work was open"):
        await work.commit(late)


class _Untracked:
    """A third party's SQL database: an engine, errors and bulk staging, but no ``work``."""

    def __init__(self, database: Any) -> None:
        self._database = database

    @property
    def engine(self) -> Any:
        return self._database.engine

    @property
    def bulk_stager(self) -> Any:
        return self._database.bulk_stager

    def translate_error(self, exc: BaseException) -> Any:
        return self._database.translate_error(exc)


async def test_a_database_that_tracks_no_work_still_commits(
    opened: tuple[Any, Factory, str],
) -> None:
    database, tracked, _ = opened
    factory: Factory = SqlAlchemyUnitOfWork.factory(
        ContractUnitOfWork,
        database=_Untracked(database),
        mapping=cast("Any", tracked).mapping,
    )
    async with factory() as uow:
        await uow.gadgets.add(_gadget("U-1"))
        await uow.commit()
    async with factory() as uow:
        assert await uow.gadgets.count() == 1


async def test_a_connection_refused_at_begin_leaves_nothing_open(tmp_path: Path) -> None:
    # PostgreSQL takes its connection when a unit of work begins: with the pool's only one
    # held, the next begin waits pool_timeout and fails, and gives back what it took.
    with contract_mapping() as mapping:
        async with schema_database(mapping.metadata, pool_size=1, pool_timeout=0.2) as database:
            factory = SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping
            )
            async with factory() as holder:
                await holder.gadgets.count()
                with pytest.raises(OperationalError, match=r"pool_timeout=0\.2 s"):
                    async with factory():
                        pass
                assert "1 open" in repr(database.work)
            async with factory() as uow:  # the connection came back
                assert await uow.gadgets.count() == 0


async def test_a_connection_ended_before_it_opened_or_after_it_closed() -> None:
    shared = SharedDatabase(":memory:")
    unopened = AsyncDuckDBConnection(shared)
    await unopened.abort()  # no DuckDB connection yet: only the thread to end
    closed = await AsyncDuckDBConnection.open(shared)
    await closed.close()
    await closed.abort()  # harmless
    assert (unopened.closed, closed.closed) == (True, True)
    shared.unpin()
    assert not shared.is_open


def test_a_pool_wait_without_settings_names_them() -> None:
    error = translate_error(sa.exc.TimeoutError("QueuePool limit of size 1 overflow 0 reached"))
    assert type(error) is OperationalError
    assert str(error).startswith(
        "no database connection became free within pool_timeout, with every connection of "
        "pool_size in use"
    )


def test_a_wal_that_cannot_be_decoded_is_a_damaged_file() -> None:
    failure = duckdb.IOException(
        'IO Error: Failure while replaying WAL file "/x/a.duckdb.wal": Failed to decode LEB128 '
        "integer: data may be corrupt"
    )
    error = translate_open_error(failure, path=Path("/x/a.duckdb"))
    assert type(error) is CorruptDatabase
    assert "Failure while replaying WAL file" in str(error)


async def test_a_connect_cancelled_halfway_closes_what_it_made() -> None:
    require_postgresql()
    url = sa.engine.make_url(POSTGRESQL_URL)
    task = asyncio.create_task(
        _connect_whole(host=url.host, port=url.port, user=url.username, database=url.database)
    )
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.5)  # the connect finishes in the background, and is terminated


async def test_a_connection_checked_out_while_closing_is_not_kept() -> None:
    # A connect in flight when close() ran comes back to the disposed pool: it is terminated
    # there, not left for the garbage collector.
    async with schema_database() as database:
        engine = database.engine
        in_use = ConnectionsInUse(engine, "database x")
        async with engine.connect():
            pass  # one idle connection in the pool
        in_use.end()
        async with engine.connect() as connection:  # from the pool: no new connect
            driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        assert driver.is_closed()
