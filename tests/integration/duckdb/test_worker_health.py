"""``Database.worker_health()``: queue wait, run time and event-loop lag of the worker threads."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from andamios.adapters.duckdb import Database, Timing, WorkerHealth
from andamios.adapters.duckdb._health import WINDOW, WorkerStats
from andamios.adapters.duckdb._worker import Worker

MS = 1_000_000  # nanoseconds
SLEEP = 0.05
# A blocking sleep is never shorter than asked; the margin is for the hop around it.
AT_LEAST = 0.04

ZERO = Timing(count=0, p50=0.0, p99=0.0, max=0.0, window=0)
NOTHING = WorkerHealth(jobs=0, queue_wait=ZERO, run=ZERO, loop_lag=ZERO)


async def _select(db: Database, n: int) -> None:
    async with db.engine.connect() as conn:
        for i in range(n):
            assert await conn.scalar(sa.text(f"SELECT {i}")) == i


# -- the aggregation ------------------------------------------------------------------------------


def test_no_samples_are_zeros() -> None:
    assert WorkerStats().snapshot() == NOTHING


def test_percentiles_of_known_samples() -> None:
    stats = WorkerStats()
    samples = list(range(1, 101))  # 1 ms .. 100 ms, recorded out of order
    random.Random(17).shuffle(samples)
    for ms in samples:
        stats.record(ms * MS, 2 * ms * MS, 3 * ms * MS)
    health = stats.snapshot()
    assert health.jobs == 100
    # Nearest rank: the 50th and the 99th smallest of 100 samples.
    assert health.queue_wait == Timing(count=100, p50=0.050, p99=0.099, max=0.100, window=100)
    assert health.run == Timing(count=100, p50=0.100, p99=0.198, max=0.200, window=100)
    assert health.loop_lag == Timing(count=100, p50=0.150, p99=0.297, max=0.300, window=100)


@pytest.mark.parametrize(
    ("samples", "p50", "p99"),
    [([7], 7, 7), ([1, 2], 1, 2), ([3, 1, 2], 2, 3), ([5, 1, 4, 2, 3], 3, 5)],
)
def test_percentiles_of_few_samples(samples: list[int], p50: int, p99: int) -> None:
    stats = WorkerStats()
    for sample in samples:
        stats.record(sample * MS, 0, 0)
    timing = stats.snapshot().queue_wait
    assert (timing.p50, timing.p99, timing.max) == (p50 / 1000, p99 / 1000, max(samples) / 1000)
    assert timing.count == timing.window == len(samples)


def test_the_window_keeps_recent_samples_and_totals_keep_everything() -> None:
    stats = WorkerStats()
    stats.record(1000 * MS, 1000 * MS, 1000 * MS)  # an old stall, soon out of the window
    for _ in range(WINDOW):
        stats.record(1 * MS, 1 * MS, 1 * MS)
    for timing in (stats.snapshot().queue_wait, stats.snapshot().loop_lag):
        assert timing.count == WINDOW + 1
        assert timing.window == WINDOW
        assert timing.p99 == 0.001
        assert timing.max == 1.0


def test_reset_forgets_everything() -> None:
    stats = WorkerStats()
    stats.record(5 * MS, 6 * MS, 7 * MS)
    assert stats.snapshot().jobs == 1
    stats.reset()
    assert stats.snapshot() == NOTHING
    stats.record(1 * MS, 1 * MS, 1 * MS)
    assert stats.snapshot().queue_wait == Timing(count=1, p50=0.001, p99=0.001, max=0.001, window=1)


# -- one worker -----------------------------------------------------------------------------------


async def test_a_job_queued_behind_a_slow_one_waits_for_it() -> None:
    stats = WorkerStats()
    worker = Worker(stats)
    try:
        slow = worker.submit(time.sleep, SLEEP)
        fast = worker.submit(int, "1")
        assert await fast == 1
        await slow
    finally:
        worker.stop(join=True)
    health = stats.snapshot()
    assert health.jobs == 2
    assert health.queue_wait.max >= AT_LEAST
    assert health.run.max >= SLEEP
    # The slow job started at once; the fast one ran in no time: the two are told apart.
    assert health.queue_wait.p50 < AT_LEAST
    assert health.run.p50 < AT_LEAST


async def test_a_blocked_loop_shows_as_loop_lag() -> None:
    stats = WorkerStats()
    worker = Worker(stats)
    done = threading.Event()
    try:
        future = worker.submit(done.set)
        # The job has finished and handed its result over, but the loop is busy: a stall.
        assert done.wait(5)
        time.sleep(SLEEP)  # noqa: ASYNC251 - blocking the loop is the point
        await future
    finally:
        worker.stop(join=True)
    health = stats.snapshot()
    assert health.jobs == 1
    assert health.loop_lag.max >= AT_LEAST
    assert health.loop_lag.p50 == health.loop_lag.max
    assert health.run.max < AT_LEAST


async def test_a_failed_job_is_measured_too() -> None:
    stats = WorkerStats()
    worker = Worker(stats)
    try:
        with pytest.raises(ValueError, match="invalid literal"):
            await worker.submit(int, "x")
    finally:
        worker.stop(join=True)
    assert stats.snapshot().jobs == 1


@pytest.mark.parametrize("outcome", ["1", "x"])
async def test_a_job_whose_caller_gave_up_is_measured_too(outcome: str) -> None:
    stats = WorkerStats()
    worker = Worker(stats)
    gate = threading.Event()
    try:
        worker.submit(gate.wait, 5)
        abandoned = worker.submit(int, outcome)
        abandoned.cancel()
        gate.set()
        await worker.submit(int, "2")  # after it: the abandoned job has been settled
    finally:
        worker.stop(join=True)
    assert abandoned.cancelled()
    assert stats.snapshot().jobs == 3


def test_a_job_finishing_after_its_loop_closed_is_not_measured() -> None:
    stats = WorkerStats()
    worker = Worker(stats)
    gate = threading.Event()
    loop = asyncio.new_event_loop()

    async def submit() -> asyncio.Future[bool]:
        return worker.submit(gate.wait, 5)

    loop.run_until_complete(submit())
    loop.close()
    gate.set()
    worker.stop(join=True)
    assert stats.snapshot() == NOTHING


async def test_a_worker_of_its_own_still_runs_jobs() -> None:
    worker = Worker()
    try:
        assert await worker.submit(int, "3") == 3
    finally:
        worker.stop(join=True)


# -- a database -----------------------------------------------------------------------------------


async def test_a_database_never_started_reports_zeros() -> None:
    db = Database("duckdb+async:///:memory:")
    db.reset_worker_health()  # nothing to forget: no error
    assert db.worker_health() == NOTHING


async def test_statements_count_as_jobs_of_the_database() -> None:
    async with Database("duckdb+async:///:memory:") as db:
        opened = db.worker_health()
        assert opened.jobs > 0  # opening the database ran jobs already
        await _select(db, 20)
        health = db.worker_health()
        assert health.jobs >= opened.jobs + 20
        assert health.run.count == health.loop_lag.count == health.jobs
        assert health.run.window == min(health.jobs, WINDOW)
        assert 0 < health.run.p50 <= health.run.p99 <= health.run.max
    assert db.worker_health().jobs >= health.jobs  # a closed database keeps what it measured


async def test_every_connection_shares_the_database_statistics() -> None:
    async with Database("duckdb+async:///:memory:", pool_size=2) as db:
        db.reset_worker_health()
        async with db.engine.connect() as one, db.engine.connect() as two:
            one_driver = (await one.get_raw_connection()).driver_connection
            two_driver = (await two.get_raw_connection()).driver_connection
            assert one_driver is not two_driver
            await one.scalar(sa.text("SELECT 1"))
            await two.scalar(sa.text("SELECT 2"))
        assert db.worker_health().jobs >= 2


async def test_reset_starts_the_database_statistics_over() -> None:
    async with Database("duckdb+async:///:memory:") as db:
        await _select(db, 5)
        assert db.worker_health().jobs >= 5
        db.reset_worker_health()
        assert db.worker_health() == NOTHING
        await _select(db, 3)
        assert db.worker_health().jobs >= 3


async def test_a_restarted_database_measures_afresh() -> None:
    db = Database("duckdb+async:///:memory:")
    async with db:
        await _select(db, 50)
    measured = db.worker_health().jobs
    async with db:
        assert db.worker_health().jobs < measured


async def test_a_connection_returned_after_its_commit_costs_no_reset_hop(tmp_path: Path) -> None:
    """A unit of work is its statements and its COMMIT or ROLLBACK: the pool's reset of the
    returned connection (a ROLLBACK DuckDB would refuse: no transaction is open) is no job."""
    async with Database(f"duckdb+async:///{tmp_path / 'hops.duckdb'}") as db:
        async with db.engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))
        db.reset_worker_health()
        async with db.engine.begin() as conn:  # the INSERT (with its BEGIN) and the COMMIT
            await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        assert db.worker_health().jobs == 2
        db.reset_worker_health()
        async with db.engine.connect() as conn:  # the SELECT, and the ROLLBACK of its end
            assert (await conn.execute(sa.text("SELECT count(*) FROM t"))).scalar() == 1
        assert db.worker_health().jobs == 2
        db.reset_worker_health()
        async with db.engine.connect() as conn:
            await conn.execute(sa.text("INSERT INTO t VALUES (2)"))
            await conn.rollback()  # undone: a transaction was open
            assert (await conn.execute(sa.text("SELECT count(*) FROM t"))).scalar() == 1
        assert db.worker_health().jobs == 4
