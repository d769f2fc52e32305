"""Concurrent read-modify-write on the memory adapter and on a DuckDB file, side by side (issue 15).

::

    uv run --frozen python scripts/concurrency.py                      # 1,000 tasks, 3 runs each
    uv run --frozen python scripts/concurrency.py --tasks 2000 --runs 5
    uv run --frozen python scripts/concurrency.py --adapter memory --profile

The program is the ``concurrency`` attack's (``scripts/attack.py``): ``--tasks`` units of work
started at once on 4 counters, each ``get`` a counter, sleep 0-1 ms, increment, commit, retried
on ``ConcurrencyError`` with a random backoff. It prints, per adapter and run, the p50 and p99
latency of one increment (from its first attempt to its commit returned, retries included), the
ConcurrencyErrors retried, the wall time, and whether every increment was stored. Both adapters
run with the same pool settings (``pool_size=5``, ``pool_timeout=120``), the memory adapter through
its store. ``--profile`` prints the 25 costliest functions (cProfile, cumulative) of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from andamios.adapters.duckdb import Database as DuckDB
from andamios.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError

_COUNTERS = 4
_POOL_SIZE = 5
_POOL_TIMEOUT = 120.0


@dataclass(eq=False, kw_only=True)
class Tally(AggregateRoot[str]):
    """A counter."""

    value: int = 0


class Counters(UnitOfWork):
    """The unit of work of the program."""

    tallies: Repository[Tally, str]


type Factory = UnitOfWorkFactory[Counters]


@dataclass
class Run:
    """What one run measured."""

    adapter: str
    latencies: list[float]
    retries: int
    wall: float
    lost: int

    def line(self) -> str:
        """One line of the report."""
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        return (
            f"{self.adapter:7} p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  retries {self.retries:7,}  "
            f"wall {self.wall:6.2f} s  lost {self.lost}"
        )


async def _increment(
    factory: Factory, counter: str, rng: random.Random, retries: list[int]
) -> float:
    began = time.perf_counter()
    for attempt in range(200):
        try:
            async with factory() as uow:
                tally = await uow.tallies.get(counter)
                await asyncio.sleep(rng.uniform(0, 0.001))  # widen the read-modify-write race
                tally.value += 1
                await uow.commit()
            return time.perf_counter() - began
        except ConcurrencyError:
            retries.append(1)
            await asyncio.sleep(rng.uniform(0, 0.002 * min(attempt + 1, 20)))
    raise RuntimeError(f"gave up after 200 ConcurrencyErrors on {counter}")


async def _race(factory: Factory, adapter: str, tasks: int, seed: int) -> Run:
    rng = random.Random(seed)
    async with factory() as uow:
        await uow.tallies.add_many([Tally(id=f"c{i}", value=0) for i in range(_COUNTERS)])
        await uow.commit()
    retries: list[int] = []
    started = time.perf_counter()
    latencies = await asyncio.gather(
        *(_increment(factory, f"c{rng.randrange(_COUNTERS)}", rng, retries) for _ in range(tasks))
    )
    wall = time.perf_counter() - started
    async with factory() as uow:
        stored = sum(t.value for t in await uow.tallies.find())
    return Run(adapter, list(latencies), len(retries), wall, tasks - stored)


def _memory_store() -> InMemoryStore:
    try:
        return InMemoryStore(pool_size=_POOL_SIZE, pool_timeout=_POOL_TIMEOUT)
    except TypeError:  # a memory adapter without a pool (before issue 15)
        return InMemoryStore()


async def run_memory(tasks: int, seed: int) -> Run:
    """One run on the memory adapter."""
    factory = InMemoryUnitOfWork.factory(Counters, store=_memory_store())
    return await _race(factory, "memory", tasks, seed)


async def run_duckdb(tasks: int, seed: int) -> Run:
    """One run on a new DuckDB file in a temporary folder."""
    mapping = Mapping()
    table = sa.Table(
        "tallies",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Tally, table)
    try:
        with tempfile.TemporaryDirectory(prefix="andamios-concurrency-") as folder:
            url = f"duckdb+async:///{Path(folder) / 'counters.duckdb'}"
            database = DuckDB(url, pool_size=_POOL_SIZE, pool_timeout=_POOL_TIMEOUT)
            async with database:
                async with database.engine.begin() as connection:
                    await connection.run_sync(mapping.metadata.create_all)
                factory = SqlAlchemyUnitOfWork.factory(Counters, database=database, mapping=mapping)
                return await _race(factory, "duckdb", tasks, seed)
    finally:
        mapping.clear()


_RUNNERS: dict[str, Callable[[int, int], object]] = {"memory": run_memory, "duckdb": run_duckdb}


def main(argv: list[str] | None = None) -> int:
    """Run the program; 1 if an increment was lost."""
    parser = argparse.ArgumentParser(prog="scripts/concurrency.py", description=__doc__)
    parser.add_argument("--tasks", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--adapter", choices=[*_RUNNERS, "both"], default="both")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--profile", action="store_true", help="profile one run instead")
    args = parser.parse_args(argv)
    adapters = list(_RUNNERS) if args.adapter == "both" else [args.adapter]
    lost = 0
    for number in range(args.runs):
        for adapter in adapters:
            runner = _RUNNERS[adapter]
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
            run: Run = asyncio.run(runner(args.tasks, args.seed + number))  # type: ignore[arg-type]
            if args.profile:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            print(f"run {number + 1}  {run.line()}", flush=True)
            lost += run.lost
        if args.profile:
            break
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
