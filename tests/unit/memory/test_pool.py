"""The memory adapter's pool: at most ``pool_size`` open transactions, as a SQL database's pool.

A SQL unit of work holds a pooled connection from its transaction's first statement to its
commit or rollback; one that finds every connection in use waits ``pool_timeout`` seconds, then
fails with ``OperationalError`` naming both settings (``tests/integration/duckdb/test_pool.py``).
The memory adapter bounds its units of work alike (issue 15): same defaults, same error, the slot
taken and given back at the same moments. These tests pin that behaviour, not its timing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import threading
import time
from decimal import Decimal
from uuid import uuid4

import pytest

from andamios.adapters.duckdb import DuckDBSettings
from andamios.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from andamios.adapters.memory._pool import POOL_SIZE, POOL_TIMEOUT, TransactionPool
from andamios.adapters.postgresql import PostgreSQLSettings
from andamios.ports import UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, ConfigurationError, OperationalError
from andamios.settings import DatabaseSettings
from andamios.testing.models import ContractUnitOfWork, Counter, Gadget

_WAIT = 0.2
# How much longer than pool_timeout the error may take on a loaded machine (2 shared cores).
_SLACK = 1.5
# The words of the SQL adapters' error (andamios.adapters.sql_spi.pool_exhausted).
_EXHAUSTED = (
    "no database connection became free within pool_timeout=0.2 s, with all pool_size=1 "
    "connections in use; raise pool_size or pool_timeout, or hold units of work for less time ("
)

type Factory = UnitOfWorkFactory[ContractUnitOfWork]


def _factory(pool_size: int = 1, pool_timeout: float = _WAIT) -> tuple[Factory, TransactionPool]:
    store = InMemoryStore(pool_size=pool_size, pool_timeout=pool_timeout)
    return InMemoryUnitOfWork.factory(ContractUnitOfWork, store=store), store.pool


def _gadget() -> Gadget:
    return Gadget(id=uuid4(), sku=uuid4().hex[:8], name="g", price=Decimal("1.00"))


async def _starved(factory: Factory) -> tuple[OperationalError, float]:
    """The error of a read that waits while another unit of work holds the only slot."""
    started = time.perf_counter()
    with pytest.raises(OperationalError) as waited:
        async with factory() as waiter:
            await waiter.gadgets.count()
    return waited.value, time.perf_counter() - started


def test_the_defaults_are_those_of_the_sql_adapters() -> None:
    defaults = {f.name: f.default for f in dataclasses.fields(DuckDBSettings)}
    assert (defaults["pool_size"], defaults["pool_timeout"]) == (POOL_SIZE, POOL_TIMEOUT)
    defaults = {f.name: f.default for f in dataclasses.fields(PostgreSQLSettings)}
    assert (defaults["pool_size"], defaults["pool_timeout"]) == (POOL_SIZE, POOL_TIMEOUT)
    settings = DatabaseSettings()
    assert (settings.pool_size, settings.pool_timeout) == (POOL_SIZE, POOL_TIMEOUT)
    pool = InMemoryStore().pool
    assert (pool.size, pool.timeout, pool.in_use) == (POOL_SIZE, POOL_TIMEOUT, 0)


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"pool_size": 0}, "pool_size must be at least 1, got 0"),
        ({"pool_size": True}, "pool_size must be at least 1, got True"),
        ({"pool_size": 2.5}, "pool_size must be at least 1, got 2.5"),
        ({"pool_timeout": 0}, "pool_timeout must be a number of seconds above 0, got 0"),
        ({"pool_timeout": -1.0}, "pool_timeout must be a number of seconds above 0, got -1.0"),
        ({"pool_timeout": math.nan}, "pool_timeout must be a number of seconds above 0, got nan"),
        ({"pool_timeout": math.inf}, "pool_timeout must be a number of seconds above 0, got inf"),
    ],
)
def test_bad_pool_settings_are_refused_as_the_sql_adapters_refuse_them(
    settings: dict[str, float], said: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"^{said}$"):
        InMemoryStore(**settings)  # type: ignore[arg-type]


async def test_a_starved_unit_of_work_gets_the_sql_adapters_error() -> None:
    factory, pool = _factory()
    async with factory() as holder:
        await holder.gadgets.count()
        error, elapsed = await _starved(factory)
        # The holder is untouched, and its slot serves the next unit of work.
        assert await holder.gadgets.count() == 0
    async with factory() as after:
        assert await after.gadgets.count() == 0
    assert type(error) is OperationalError
    assert str(error) == _EXHAUSTED + (
        "in-memory pool limit of size 1 reached, timed out, timeout 0.20)"
    )
    assert type(error.__cause__) is TimeoutError
    assert _WAIT <= elapsed < _WAIT + _SLACK
    assert pool.in_use == 0


async def test_the_slot_is_taken_at_the_first_read_and_given_back_at_commit_or_rollback() -> None:
    factory, pool = _factory(pool_size=2)
    gadget = _gadget()
    async with factory() as uow:
        assert pool.in_use == 0  # entering sends nothing
        await uow.gadgets.add(gadget)
        assert pool.in_use == 0  # nor does an add
        assert await uow.gadgets.get(gadget.id) is gadget  # nor a read of what is held
        await uow.commit()
        assert pool.in_use == 0
        assert await uow.gadgets.get(gadget.id) is gadget  # the identity map answers
        assert pool.in_use == 0
        await uow.gadgets.find()
        assert pool.in_use == 1
        await uow.gadgets.count()
        assert pool.in_use == 1  # one slot per transaction
        await uow.commit()
        assert pool.in_use == 0
        assert await uow.gadgets.get_or_none(uuid4()) is None  # a miss reads the store
        assert pool.in_use == 1
        await uow.rollback()
        assert pool.in_use == 0
        await uow.gadgets.exists()
        assert pool.in_use == 1
    assert pool.in_use == 0  # the block's end rolls back


async def test_a_unit_of_work_that_only_adds_waits_for_a_slot_at_commit_only() -> None:
    factory, pool = _factory()
    async with factory() as holder:
        await holder.gadgets.count()
        async with factory() as adder:
            await adder.gadgets.add(_gadget())  # no slot needed yet
            started = time.perf_counter()
            with pytest.raises(OperationalError, match=r"pool_timeout=0\.2 s"):
                await adder.commit()  # the flush needs one
            assert _WAIT <= time.perf_counter() - started < _WAIT + _SLACK
        async with factory() as idle:
            await idle.commit()  # nothing to write: no slot needed, no wait
    assert pool.in_use == 0
    async with factory() as uow:
        assert await uow.gadgets.count() == 0  # the failed commit saved nothing


async def test_a_change_to_an_aggregate_of_an_earlier_transaction_commits_through_a_slot() -> None:
    factory, pool = _factory()
    async with factory() as uow:
        await uow.counters.add(Counter(id="c", value=0))
        await uow.commit()
        counter = await uow.counters.get("c")  # from the identity map: no slot
        counter.value = 1
        async with factory() as holder:
            await holder.counters.count()
            with pytest.raises(OperationalError, match="pool_timeout"):
                await uow.commit()
        await uow.rollback()
    assert pool.in_use == 0
    async with factory() as uow:
        counter = await uow.counters.get("c")
        assert counter.value == 0


async def test_a_failed_commit_keeps_its_slot_until_the_rollback() -> None:
    factory, pool = _factory(pool_size=2)
    async with factory() as uow:
        await uow.counters.add(Counter(id="c", value=0))
        await uow.commit()
    async with factory() as first, factory() as second:
        mine, theirs = await first.counters.get("c"), await second.counters.get("c")
        assert pool.in_use == 2
        mine.value, theirs.value = 1, 2
        await second.commit()
        assert pool.in_use == 1
        with pytest.raises(ConcurrencyError):
            await first.commit()
        assert pool.in_use == 1  # as a SQL transaction that failed holds its connection
        await first.rollback()
        assert pool.in_use == 0


async def test_waiters_are_served_first_come_first_served() -> None:
    factory, pool = _factory(pool_timeout=5.0)
    served: list[int] = []

    async def read(number: int) -> None:
        async with factory() as uow:
            await uow.gadgets.count()
            served.append(number)

    async with factory() as holder:
        await holder.gadgets.count()
        waiting = [asyncio.create_task(read(number)) for number in range(5)]
        for _ in range(3):
            await asyncio.sleep(0)
        assert served == []
    await asyncio.gather(*waiting)
    assert served == [0, 1, 2, 3, 4]
    assert pool.in_use == 0


async def test_a_cancelled_waiter_loses_no_slot() -> None:
    pool = TransactionPool(1, 5.0)
    await pool.acquire()
    first = asyncio.create_task(pool.acquire())
    second = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    first.cancel()  # while it waits: it leaves the queue
    with pytest.raises(asyncio.CancelledError):
        await first
    pool.release()
    await second  # the slot went to the next in line
    assert pool.in_use == 1
    third = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    pool.release()  # handed to third, which is cancelled before it wakes
    third.cancel()
    with pytest.raises(asyncio.CancelledError):
        await third
    assert pool.in_use == 0  # it passed the slot on
    await pool.acquire()
    assert pool.in_use == 1


async def test_a_waiter_that_times_out_as_its_slot_arrives_passes_it_on() -> None:
    pool = TransactionPool(1, 0.05)
    await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    # Handed over while the waiter's timeout expires: the wake-up comes after the timeout.
    time.sleep(0.1)  # noqa: ASYNC251 - blocks the loop so that both are due at once
    pool.release()
    with pytest.raises(OperationalError, match=r"pool_timeout=0\.05 s"):
        await waiter
    assert pool.in_use == 0


async def test_a_slot_freed_on_another_thread_wakes_a_waiter_on_this_loop() -> None:
    factory, pool = _factory(pool_timeout=5.0)
    held = threading.Event()
    free = threading.Event()

    async def hold() -> None:
        async with factory() as uow:
            await uow.gadgets.count()
            held.set()
            await asyncio.to_thread(free.wait)

    thread = threading.Thread(target=asyncio.run, args=(hold(),))
    thread.start()
    await asyncio.to_thread(held.wait)
    assert pool.in_use == 1
    async with factory() as uow:
        free.set()  # the other loop's unit of work ends while this one waits
        assert await uow.gadgets.count() == 0
    await asyncio.to_thread(thread.join)
    assert pool.in_use == 0


async def test_concurrent_increments_hold_at_most_pool_size_transactions_and_lose_none() -> None:
    factory, pool = _factory(pool_size=POOL_SIZE, pool_timeout=30.0)
    async with factory() as uow:
        await uow.counters.add_many([Counter(id=f"c{i}", value=0) for i in range(2)])
        await uow.commit()
    most: list[int] = []
    retries: list[int] = []

    async def increment(number: int) -> None:
        while True:
            try:
                async with factory() as uow:
                    counter = await uow.counters.get(f"c{number % 2}")
                    most.append(pool.in_use)
                    await asyncio.sleep(0)
                    counter.value += 1
                    await uow.commit()
                return
            except ConcurrencyError:
                retries.append(number)

    await asyncio.gather(*(increment(number) for number in range(200)))
    async with factory() as uow:
        assert sum(c.value for c in await uow.counters.find()) == 200
    assert max(most) == POOL_SIZE
    # Each conflict is with one of the other pool_size - 1 transactions open at once.
    assert len(retries) < 200 * (POOL_SIZE - 1)
    assert pool.in_use == 0
