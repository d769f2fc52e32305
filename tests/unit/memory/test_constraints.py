"""Constraints declared in the domain (``Annotated``): what fits and what the in-memory adapter
refuses. The SQL adapter honours the same ones (tests/integration/duckdb/test_bulk.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.domain import AggregateRoot
from andamios.ports import (
    Aware,
    Digits,
    MaxLength,
    Naive,
    Repository,
    UnitOfWork,
    check_value,
    declared_constraints,
)
from andamios.ports._constraints import violation
from andamios.ports.errors import DataError, IntegrityError


@pytest.mark.parametrize(
    ("constraint", "value", "problem"),
    [
        (MaxLength(3), "abc", None),
        (MaxLength(3), "abcd", "is 4 long, more than MaxLength(3)"),
        (MaxLength(3), b"abcd", "is 4 long"),
        (MaxLength(3), 12345, None),  # not text: nothing to say
        (MaxLength(3), None, None),
        (Digits(4, 2), Decimal("99.99"), None),
        (Digits(4, 2), Decimal("-99.99"), None),
        (Digits(4, 2), Decimal("1.500"), None),  # trailing zeros lose nothing
        (Digits(4, 2), 12, None),
        (Digits(4, 2), 100, "out of range"),
        (Digits(4, 2), Decimal("100"), "out of range"),
        (Digits(4, 2), Decimal("1.005"), "more than 2 decimal places"),
        (Digits(4, 2), Decimal("1E+40"), "out of range"),
        (Digits(4, 2), Decimal("1E+100"), "out of range"),  # too many digits to quantize
        (Digits(38, 10), Decimal("1E+28"), "out of range"),
        (Digits(38, 10), Decimal("1E-11"), "more than 10 decimal places"),
        (Digits(4, 2), Decimal("NaN"), "which no Digits(4, 2) can hold"),
        (Digits(4, 2), Decimal("Infinity"), "which no Digits(4, 2) can hold"),
        (Digits(4, 2), True, None),  # a bool is not a number here
        (Digits(4, 2), 1.5, None),  # floats are not checked
        (Digits(4, 0), Decimal("9999"), None),
        (Aware(), datetime(2024, 1, 1, tzinfo=UTC), None),
        (Aware(), datetime(2024, 1, 1), "naive datetime"),
        (Aware(), date(2024, 1, 1), None),
        (Naive(), datetime(2024, 1, 1), None),
        (Naive(), datetime(2024, 1, 1, tzinfo=UTC), "timezone-aware datetime"),
    ],
    ids=repr,
)
def test_what_fits_a_constraint(constraint: object, value: object, problem: str | None) -> None:
    found = violation(constraint, value)  # type: ignore[arg-type]
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_constraints_reject_impossible_limits() -> None:
    with pytest.raises(ValueError, match="length >= 1"):
        MaxLength(0)
    with pytest.raises(ValueError, match="scale <= precision"):
        Digits(2, 3)
    with pytest.raises(ValueError, match="precision >= 1"):
        Digits(0, 0)


@dataclass(eq=False, kw_only=True)
class Account(AggregateRoot[UUID]):
    owner: Annotated[str, "a label, not a constraint", MaxLength(5)]
    balance: Annotated[Decimal, Digits(6, 2)] = Decimal(0)
    opened: Annotated[datetime, Aware()] | None = None
    note: str | None = None


class Bank(UnitOfWork):
    accounts: Repository[Account, UUID]


def test_declared_constraints_are_read_from_annotations() -> None:
    assert declared_constraints(Account) == {
        "owner": (MaxLength(5),),
        "balance": (Digits(6, 2),),
        "opened": (Aware(),),
    }
    assert declared_constraints(Account) is declared_constraints(Account)  # cached


def test_a_data_error_names_the_aggregate_and_the_field() -> None:
    account = Account(owner="Ada")
    with pytest.raises(DataError) as caught:
        check_value(account, "owner", (MaxLength(2),), "Ada")
    error = caught.value
    assert (error.aggregate_type, error.aggregate_id, error.field) == (Account, account.id, "owner")
    assert str(error) == f"Account {account.id!r}: owner = 'Ada' is 3 long, more than MaxLength(2)"
    assert isinstance(error, ValueError)
    assert not isinstance(error, IntegrityError)


async def test_the_memory_adapter_refuses_a_changed_value_at_commit() -> None:
    new_uow = InMemoryUnitOfWork.factory(Bank)
    account = Account(owner="Ada")
    async with new_uow() as uow:
        await uow.accounts.add(account)
        await uow.commit()
        account.balance = Decimal("10000.00")
        with pytest.raises(DataError, match="balance"):
            await uow.commit()
    async with new_uow() as uow:
        assert (await uow.accounts.get(account.id)).balance == Decimal(0)
