"""The slow-operation log on the in-memory adapter: what crosses the threshold, one line each."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from tests.unit.observability import _events as events

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.observability import SlowOperationLog
from andamios.ports import Committed, Operation, Statement, UnitOfWork
from andamios.ports.errors import DuplicateError
from andamios.testing.models import ContractUnitOfWork, Gadget

_SHAPE = "ContractUnitOfWork"


def _gadget(sku: str = "S-1") -> Gadget:
    return Gadget(sku=sku, name="slow", price=Decimal("3.00"))


def _slow(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "andamios.slow"]


def _statement(uow: UnitOfWork, sql: str, **fields: Any) -> Statement:
    """A statement of half a second, in a ``find`` unless told otherwise."""
    return events.statement(uow, sql, **{"duration": 0.5, **fields})


async def test_a_zero_threshold_logs_every_operation_and_commit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[SlowOperationLog(0)])
    third = _gadget("S-3")
    with caplog.at_level(logging.WARNING, logger="andamios.slow"):
        async with new_uow() as uow:
            await uow.gadgets.add_many([_gadget("S-1"), _gadget("S-2")])
            await uow.gadgets.add(third)
            await uow.commit()
        async with new_uow() as uow:
            await uow.gadgets.count()
            with pytest.raises(DuplicateError):
                await uow.gadgets.add_many([third])  # a bulk insert fails at once
    records = _slow(caplog)
    messages = [record.getMessage() for record in records]
    assert [m.split(":")[0] for m in messages] == [
        "slow add_many of Gadget",
        "slow add of Gadget",
        "slow commit",
        "slow count of Gadget",
        "slow add_many of Gadget",
    ]
    assert messages[0].endswith(f" ms, 2 rows ({_SHAPE} on memory)")
    assert messages[1].endswith(f" ms, 1 row ({_SHAPE} on memory)")
    assert messages[2].endswith(f" ms ({_SHAPE} on memory)")
    assert messages[3].endswith(f" ms ({_SHAPE} on memory)")  # count counts no rows
    assert messages[4].endswith(f" ms, failed with DuplicateError ({_SHAPE} on memory)")
    assert {record.levelno for record in records} == {logging.WARNING}
    events = [getattr(record, "andamios_event") for record in records]  # noqa: B009
    assert [type(event) for event in events] == [
        Operation,
        Operation,
        Committed,
        Operation,
        Operation,
    ]
    first = events[0]
    assert isinstance(first, Operation)
    assert f"{first.duration * 1000:.1f} ms" in messages[0]


async def test_a_huge_threshold_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[SlowOperationLog(3600)])
    with caplog.at_level(logging.DEBUG, logger="andamios.slow"):
        async with new_uow() as uow:
            await uow.gadgets.add(_gadget())
            await uow.commit()
    assert _slow(caplog) == []


async def test_its_logger_and_level_are_chosen_and_respected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mine = logging.getLogger("shop.slow")
    log = SlowOperationLog(0, logger=mine, level=logging.INFO)
    assert (log.threshold, log.logger, log.level) == (0.0, mine, logging.INFO)
    assert SlowOperationLog().logger is logging.getLogger("andamios.slow")
    assert SlowOperationLog().threshold == 0.1
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[log])
    with caplog.at_level(logging.WARNING, logger="shop.slow"):  # INFO is not enabled
        async with new_uow() as uow:
            await uow.gadgets.add(_gadget())
            await uow.commit()
    assert [r for r in caplog.records if r.name == "shop.slow"] == []
    with caplog.at_level(logging.INFO, logger="shop.slow"):
        async with new_uow() as uow:
            await uow.gadgets.count()
    [record] = [r for r in caplog.records if r.name == "shop.slow"]
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("slow count of Gadget: ")


def test_a_statement_line_quotes_its_sql_on_one_line_cut_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)()
    log = SlowOperationLog(0.25)
    long_sql = "SELECT gadgets.id,\n       gadgets.name\nFROM gadgets WHERE " + "x = ? AND " * 40
    with caplog.at_level(logging.WARNING, logger="andamios.slow"):
        log.statement(_statement(uow, long_sql, rows=None))
        log.statement(_statement(uow, "UPDATE gadgets SET name = ?", rows=1, operation="commit"))
        log.statement(
            _statement(uow, "SELECT 1", operation=None, error=RuntimeError("gone"), rows=3)
        )
        log.statement(_statement(uow, "SELECT 2", duration=0.2))  # under the threshold
    messages = [record.getMessage() for record in _slow(caplog)]
    assert len(messages) == 3
    head, sql = messages[0].split(f"({_SHAPE} on duckdb): ")
    assert head == "slow statement in find: 500.0 ms "
    assert "\n" not in sql
    assert sql.startswith("SELECT gadgets.id, gadgets.name FROM gadgets WHERE x = ? AND")
    assert len(sql) == 200
    assert sql.endswith("…")
    assert messages[1] == (
        f"slow statement in commit: 500.0 ms, 1 row ({_SHAPE} on duckdb): "
        "UPDATE gadgets SET name = ?"
    )
    assert messages[2] == (
        f"slow statement: 500.0 ms, 3 rows, failed with RuntimeError ({_SHAPE} on duckdb): SELECT 1"
    )


def test_raw_sql_operations_name_no_aggregate(caplog: pytest.LogCaptureFixture) -> None:
    uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)()
    operation = events.operation(uow, "sql.rows", rows=0, duration=1.25)
    with caplog.at_level(logging.WARNING, logger="andamios.slow"):
        SlowOperationLog(1.25).operation(operation)  # exactly the threshold: logged
    [record] = _slow(caplog)
    assert record.getMessage() == f"slow sql.rows: 1250.0 ms, 0 rows ({_SHAPE} on duckdb)"


@pytest.mark.parametrize("threshold", [-0.001, -1, float("nan"), "0.1", None, True])
def test_a_threshold_is_a_number_of_seconds_not_below_zero(threshold: object) -> None:
    with pytest.raises(ValueError, match=r"threshold is the duration in seconds .* got "):
        SlowOperationLog(threshold)  # type: ignore[arg-type]


def test_an_infinite_threshold_is_accepted() -> None:
    assert SlowOperationLog(float("inf")).threshold == float("inf")
