"""Shut down and cancel safely: what a unit of work in flight learns, and what is saved.

- ``Database.close()`` (or leaving ``async with Database(...)``) with units of work still open
  lets a COMMIT already sent finish, rolls the others back (they raise ``DatabaseClosed``), joins
  every worker thread and releases the file: another process can open it at once.
- A ``commit()`` whose task is cancelled (a timeout, a shutdown) after the COMMIT was sent runs to
  its end and returns: the caller is told the truth, so a retry never applies the work twice.
- A database belongs to the event loop that started it; used from another, it says so at once.

Run it with ``uv run python examples/intermediate/12_shutdown_and_cancellation.py``.
``...`` stands for the rest of a long line; the warning ``close()`` logs goes to stderr.

It prints::

    cancelled deposits: 60, told saved == stored balance: True
    commit: DatabaseClosed, its transaction was rolled back and nothing of it was saved
    after close: 0 worker threads
    a new unit of work: DatabaseClosed ('is closed' in str(error)=True)
    reopened: the balance is unchanged: True
    another event loop: DatabaseError, a database, its pool and its connections belong to the ...
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from andamios.adapters.duckdb import THREAD_NAME_PREFIX, Database
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import DatabaseClosed, DatabaseError


@dataclass(eq=False, kw_only=True)
class Account(AggregateRoot[str]):
    balance: int = 0


class Bank(UnitOfWork):
    accounts: Repository[Account, str]


mapping = Mapping()
accounts = sa.Table(
    "accounts",
    mapping.metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("balance", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
mapping.map(Account, accounts)


async def deposit(new_uow: UnitOfWorkFactory[Bank], amount: int) -> None:
    async with new_uow() as uow:
        account = await uow.accounts.get("alice")
        account.balance += amount
        await uow.commit()


async def balance(new_uow: UnitOfWorkFactory[Bank]) -> int:
    async with new_uow() as uow:
        return (await uow.accounts.get("alice")).balance


# --8<-- [start:cancelled-deposits]
async def cancelled_deposits(new_uow: UnitOfWorkFactory[Bank]) -> None:
    """Deposits cancelled at every moment: each caller knows whether its deposit was saved."""
    told_saved = 0
    for attempt in range(60):
        task = asyncio.create_task(deposit(new_uow, 1))
        await asyncio.sleep(attempt / 20_000)  # 0 to 3 ms: before, during, after the COMMIT
        task.cancel()
        try:
            await task
            told_saved += 1
        except asyncio.CancelledError:
            pass  # nothing of this deposit was saved: retrying it is safe
    stored = await balance(new_uow)
    # How many were saved depends on timing; that each caller was told the truth does not.
    print(f"cancelled deposits: 60, told saved == stored balance: {told_saved == stored}")


# --8<-- [end:cancelled-deposits]


# --8<-- [start:close-while-in-flight]
async def close_while_in_flight(db: Database, new_uow: UnitOfWorkFactory[Bank]) -> None:
    """Close the database under a unit of work: it is rolled back and told so."""
    before = await balance(new_uow)
    async with new_uow() as uow:
        account = await uow.accounts.get("alice")
        account.balance += 1_000
        await db.close()
        try:
            await uow.commit()
        except DatabaseClosed as error:
            print(f"commit: DatabaseClosed, {str(error).split(': ', 1)[1]}")
    workers = [t for t in threading.enumerate() if t.name.startswith(THREAD_NAME_PREFIX)]
    print(f"after close: {len(workers)} worker threads")
    try:
        async with new_uow():
            pass
    except DatabaseClosed as error:
        print(f"a new unit of work: DatabaseClosed ({'is closed' in str(error)=})")
    await db.start()
    print(f"reopened: the balance is unchanged: {await balance(new_uow) == before}")


# --8<-- [end:close-while-in-flight]


def from_another_loop(new_uow: UnitOfWorkFactory[Bank]) -> None:
    try:
        asyncio.run(balance(new_uow))
    except DatabaseError as error:
        print(f"another event loop: {type(error).__name__}, {str(error).split(': ', 1)[1]}")


async def main() -> None:
    logging.basicConfig(format="log: %(levelname)s %(message)s")
    with tempfile.TemporaryDirectory() as directory:
        url = f"duckdb+async:///{Path(directory) / 'bank.duckdb'}"
        async with Database(url) as db:
            await db.create_all(mapping.metadata)
            new_uow = SqlAlchemyUnitOfWork.factory(Bank, database=db, mapping=mapping)
            async with new_uow() as uow:
                await uow.accounts.add(Account(id="alice"))
                await uow.commit()
            await cancelled_deposits(new_uow)
            await close_while_in_flight(db, new_uow)
            thread = threading.Thread(target=from_another_loop, args=(new_uow,))
            thread.start()
            await asyncio.to_thread(thread.join)


if __name__ == "__main__":
    asyncio.run(main())
