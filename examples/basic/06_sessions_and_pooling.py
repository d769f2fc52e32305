"""Sessions and pooling: a unit of work is the session, and a pool bounds how many run at once.

- A **unit of work is the session**: ``new_uow()`` makes a fresh one per block. Inside it, an
  aggregate read twice is the same object (an identity map); what it changes is invisible to
  other units of work until it commits; a block left without ``commit()`` saves nothing.
- A unit of work holds a **pooled connection** from its first operation to its commit or
  rollback, as a SQLAlchemy session holds one for its transaction. ``pool_size`` bounds how many
  do at once; another waits up to ``pool_timeout`` seconds for one to end, then gets an
  ``OperationalError`` naming both settings, so a leak or an undersized pool says what to change.
  A crowd of tasks larger than the pool queues for it: within the timeout, nothing fails.
- The in-memory adapter has the same bound with the same defaults (5 and 30 s) and the same
  error, so a test on memory fails where production would.

Run it with ``uv run python examples/basic/06_sessions_and_pooling.py`` (an in-memory DuckDB);
``--memory`` runs the same code on the in-memory adapter. It prints::

    the same object on a second get: True
    another unit of work before the commit: 10 in stock
    after the commit: 9 in stock; a block without commit saved nothing: 9
    two units of work hold both connections; a third waits 0.2 s:
      OperationalError, names pool_size=2: True, names pool_timeout=0.2: True
    once one ends, the next gets its connection: 9 in stock
    50 concurrent units of work through a pool of 2: 50 sold, 0 errors, 50 left
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, OperationalError

POOL_SIZE, POOL_TIMEOUT = 2, 0.2


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[str]):
    stock: int


class Shop(UnitOfWork):
    products: Repository[Product, str]


mapping = Mapping()
mapping.map(
    Product,
    sa.Table(
        "products",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
)


async def sessions(new_uow: UnitOfWorkFactory[Shop]) -> None:
    async with new_uow() as uow:
        await uow.products.add(Product(id="TEA-01", stock=10))
        await uow.commit()

    async with new_uow() as uow:
        tea = await uow.products.get("TEA-01")
        print(f"the same object on a second get: {tea is await uow.products.get('TEA-01')}")
        tea.stock -= 1
        async with new_uow() as other:  # its own session: it sees what was committed
            seen = (await other.products.get("TEA-01")).stock
            print(f"another unit of work before the commit: {seen} in stock")
        await uow.commit()

    async with new_uow() as uow:
        (await uow.products.get("TEA-01")).stock = 0  # no commit(): rolled back on exit
    async with new_uow() as uow:
        stock = (await uow.products.get("TEA-01")).stock
        print(f"after the commit: {stock} in stock; a block without commit saved nothing: {stock}")


async def hold(
    new_uow: UnitOfWorkFactory[Shop], holding: asyncio.Event, release: asyncio.Event
) -> None:
    async with new_uow() as uow:
        await uow.products.get("TEA-01")  # the first operation takes a connection
        holding.set()
        await release.wait()


async def pooling(new_uow: UnitOfWorkFactory[Shop]) -> None:
    release = asyncio.Event()
    held = [asyncio.Event() for _ in range(POOL_SIZE)]
    holders = [asyncio.create_task(hold(new_uow, event, release)) for event in held]
    await asyncio.gather(*(event.wait() for event in held))
    print(f"two units of work hold both connections; a third waits {POOL_TIMEOUT} s:")
    try:
        async with new_uow() as uow:
            await uow.products.count()
    except OperationalError as error:
        size, timeout = f"pool_size={POOL_SIZE}", f"pool_timeout={POOL_TIMEOUT}"
        said = str(error)
        print(
            f"  {type(error).__name__}, names {size}: {size in said}, "
            f"names {timeout}: {timeout in said}"
        )
    release.set()
    await asyncio.gather(*holders)
    async with new_uow() as uow:
        stock = (await uow.products.get("TEA-01")).stock
        print(f"once one ends, the next gets its connection: {stock} in stock")


async def crowd(new_uow: UnitOfWorkFactory[Shop]) -> None:
    """Many more tasks than connections: they queue for the pool (within its timeout) and retry
    the optimistic conflicts they meet on the one row they all change."""
    async with new_uow() as uow:
        await uow.products.add(Product(id="MUG-01", stock=100))
        await uow.commit()

    async def sell() -> None:
        for _ in range(100):
            try:
                async with new_uow() as uow:
                    (await uow.products.get("MUG-01")).stock -= 1
                    await uow.commit()
                    return
            except ConcurrencyError:
                await asyncio.sleep(0)
        raise RuntimeError("no sale after 100 attempts")

    outcomes = await asyncio.gather(*(sell() for _ in range(50)), return_exceptions=True)
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    async with new_uow() as uow:
        stock = (await uow.products.get("MUG-01")).stock
    print(
        f"50 concurrent units of work through a pool of {POOL_SIZE}: "
        f"{len(outcomes) - len(errors)} sold, {len(errors)} errors, {stock} left"
    )


async def on_memory() -> None:
    store = InMemoryStore(pool_size=POOL_SIZE, pool_timeout=POOL_TIMEOUT)
    new_uow = InMemoryUnitOfWork.factory(Shop, store=store)
    await sessions(new_uow)
    await pooling(new_uow)
    # The same pool size, the default timeout (30 s): a crowd queues instead of timing out.
    await crowd(InMemoryUnitOfWork.factory(Shop, store=InMemoryStore(pool_size=POOL_SIZE)))


async def on_duckdb() -> None:
    for timeout, scenes in ((POOL_TIMEOUT, (sessions, pooling)), (30.0, (crowd,))):
        async with Database(
            "duckdb+async:///:memory:", pool_size=POOL_SIZE, pool_timeout=timeout
        ) as db:
            await db.create_all(mapping.metadata)
            for scene in scenes:
                await scene(SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping))


if __name__ == "__main__":
    asyncio.run(on_memory() if "--memory" in sys.argv else on_duckdb())
