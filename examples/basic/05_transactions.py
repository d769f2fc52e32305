"""Transactions: rollback by default, optimistic concurrency, retries and domain events.

Run it with ``uv run python examples/basic/05_transactions.py`` (``...`` stands for the rest
of a long line).

It prints::

    after a block without commit: 100
    rolled back: insufficient funds: 100 < 500
    conflict: Account 'acc-1' was changed by another unit of work (loaded version 1, ...)
    balance after the conflict: 90
    after 20 concurrent withdrawals: 70
    events: ['Withdrawn(5)']
    reuse refused: InMemoryUnitOfWork[Bank] was already entered; a unit of work is used once ...
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.domain import AggregateRoot, DomainEvent
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, UnitOfWorkError


# --8<-- [start:domain]
@dataclass(frozen=True, kw_only=True)
class Withdrawn(DomainEvent):
    account: str
    amount: int


@dataclass(eq=False, kw_only=True)
class Account(AggregateRoot[str]):
    balance: int = 0

    def withdraw(self, amount: int) -> None:
        if amount > self.balance:
            raise ValueError(f"insufficient funds: {self.balance} < {amount}")
        self.balance -= amount
        self.record(Withdrawn(account=self.id, amount=amount))


class Bank(UnitOfWork):
    accounts: Repository[Account, str]
    # --8<-- [end:domain]


async def balance(new_uow: UnitOfWorkFactory[Bank]) -> int:
    async with new_uow() as uow:
        return (await uow.accounts.get("acc-1")).balance


async def main(new_uow: UnitOfWorkFactory[Bank]) -> None:
    async with new_uow() as uow:
        await uow.accounts.add(Account(id="acc-1", balance=100))
        await uow.commit()

    # --8<-- [start:rollback]
    # Leaving the block without commit() rolls back.
    async with new_uow() as uow:
        (await uow.accounts.get("acc-1")).withdraw(30)
    print("after a block without commit:", await balance(new_uow))

    # An exception rolls back too, and propagates.
    try:
        async with new_uow() as uow:
            (await uow.accounts.get("acc-1")).withdraw(500)
            await uow.commit()
    except ValueError as error:
        print("rolled back:", error)
    # --8<-- [end:rollback]

    # --8<-- [start:conflict]
    # Two units of work change the same aggregate: the second commit loses.
    async with new_uow() as first, new_uow() as second:
        (await first.accounts.get("acc-1")).withdraw(10)
        (await second.accounts.get("acc-1")).withdraw(20)
        await first.commit()
        try:
            await second.commit()
        except ConcurrencyError as error:
            print("conflict:", error)
    print("balance after the conflict:", await balance(new_uow))
    # --8<-- [end:conflict]

    # --8<-- [start:retry]
    # The remedy is to retry the whole unit of work; concurrent tasks lose no update.
    async def withdraw_one() -> None:
        while True:
            try:
                async with new_uow() as uow:
                    (await uow.accounts.get("acc-1")).withdraw(1)
                    await uow.commit()
                return
            except ConcurrencyError:
                continue

    await asyncio.gather(*(withdraw_one() for _ in range(20)))
    print("after 20 concurrent withdrawals:", await balance(new_uow))
    # --8<-- [end:retry]

    # --8<-- [start:events]
    # Events are collected after commit, from every aggregate the unit of work saw.
    async with new_uow() as uow:
        (await uow.accounts.get("acc-1")).withdraw(5)
        await uow.commit()
    print("events:", [f"{type(e).__name__}({e.amount})" for e in uow.collect_events()])  # type: ignore[attr-defined]
    # --8<-- [end:events]

    # --8<-- [start:reuse]
    # A unit of work is used once.
    try:
        async with uow:
            pass
    except UnitOfWorkError as error:
        print("reuse refused:", error)
    # --8<-- [end:reuse]


if __name__ == "__main__":
    asyncio.run(main(InMemoryUnitOfWork.factory(Bank)))
