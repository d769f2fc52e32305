"""andamios.observability on DuckDB (a file and an in-memory database): statements included."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from tests.integration.duckdb._contract_mapping import contract_mapping, open_database
from tests.unit.observability._spans import Traced, assert_nested

from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.observability import Metrics, SlowOperationLog
from andamios.ports import Hooks, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, OperationalError
from andamios.testing.models import ContractUnitOfWork, Gadget

type Factory = UnitOfWorkFactory[ContractUnitOfWork]

_UOW = "unit_of_work ContractUnitOfWork"


@pytest.fixture(params=["memory", "file"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def traced() -> Traced:
    return Traced()


@pytest.fixture
async def new_uow(
    kind: str, tmp_path: Path, metrics: Metrics, traced: Traced
) -> AsyncIterator[Factory]:
    hooks: list[Hooks] = [metrics, traced.hooks, SlowOperationLog(0)]
    with contract_mapping() as mapping:
        async with open_database(kind, tmp_path, mapping) as database:
            yield SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping, hooks=hooks
            )


def _gadget(sku: str = "D-1") -> Gadget:
    return Gadget(sku=sku, name="observed", price=Decimal("5.00"))


async def _workload(new_uow: Factory) -> Gadget:
    """A commit, a read and rename committed, a conflict, a failed raw statement."""
    stored = _gadget()
    async with new_uow() as uow:
        await uow.gadgets.add(stored)
        await uow.commit()
    async with new_uow() as uow:
        (await uow.gadgets.get(stored.id)).rename("renamed")
        await uow.commit()
    with pytest.raises(ConcurrencyError):  # noqa: PT012 - the block is under test
        async with new_uow() as first, new_uow() as second:
            mine = await first.gadgets.get(stored.id)
            theirs = await second.gadgets.get(stored.id)
            mine.rename("mine")
            theirs.rename("theirs")
            await first.commit()
            await second.commit()
    async with new_uow() as uow:
        with pytest.raises(OperationalError):
            await uow.sql.rows("SELECT * FROM no_such_table")
    return stored


async def test_metrics_count_statements(new_uow: Factory, metrics: Metrics) -> None:
    await _workload(new_uow)
    snapshot = metrics.snapshot()
    assert snapshot.units_of_work == 5
    assert snapshot.committed == 3
    assert snapshot.conflicted == 1
    assert snapshot.rolled_back == 2  # the conflict, the failed statement's block
    assert snapshot.failed_operations == 1
    # INSERT; SELECT + UPDATE; 2 SELECT + 2 UPDATE; the failed SELECT.
    assert snapshot.statements == 8
    # The conflicting UPDATE (DuckDB refuses it: another transaction wrote the row), the SELECT.
    assert snapshot.failed_statements == 2
    assert {"add", "get", "sql.rows", "commit", "unit_of_work"} <= set(snapshot.operations)
    assert snapshot.operation("commit").count == 3


async def test_spans_place_each_statement_under_what_it_ran_in(
    new_uow: Factory, traced: Traced
) -> None:
    await _workload(new_uow)
    spans = traced.spans
    by_id = {span.context.span_id: span for span in spans if span.context is not None}
    statements = [span for span in spans if span.kind is SpanKind.CLIENT]
    assert statements
    # An operation that ran one statement is one CLIENT span, named for the operation; the
    # statements of a commit are CLIENT spans named by their keyword, under the commit's span.
    assert {span.name for span in statements} == {"INSERT", "UPDATE", "get Gadget", "sql.rows"}
    parents: dict[str, set[str]] = {}
    for span in statements:
        assert span.parent is not None
        parent = by_id[span.parent.span_id]
        parents.setdefault(span.name, set()).add(parent.name)
        attributes = dict(span.attributes or {})
        assert attributes["db.system.name"] == "duckdb"
        keyword = str(attributes["db.operation.name"])
        assert str(attributes["db.query.text"]).upper().lstrip().startswith(keyword)
        if span.name in {"get Gadget", "sql.rows"}:
            assert keyword == "SELECT"
            assert attributes["andamios.operation"] == span.name.split()[0]
        else:
            assert keyword == span.name
    assert parents == {
        "INSERT": {"commit"},  # the ORM flushes at the commit
        "UPDATE": {"commit"},
        "get Gadget": {"unit_of_work ContractUnitOfWork"},
        "sql.rows": {"unit_of_work ContractUnitOfWork"},
    }
    conflicting, failed = [s for s in statements if s.status.status_code is StatusCode.ERROR]
    assert conflicting.name == "UPDATE"
    assert conflicting.parent is not None
    assert by_id[conflicting.parent.span_id].status.status_code is StatusCode.ERROR  # its commit
    assert "no_such_table" in str((failed.attributes or {})["db.query.text"])
    assert "error.type" in (failed.attributes or {})
    assert failed.name == "sql.rows"
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "andamios.ports.errors.OperationalError"
    blocks = traced.named(_UOW)
    assert len(blocks) == 5
    assert {(block.attributes or {})["db.system.name"] for block in blocks} == {"duckdb"}
    failed_commit = [c for c in traced.named("commit") if c.status.status_code is StatusCode.ERROR]
    assert len(failed_commit) == 1
    assert_nested(spans)


async def test_the_slow_log_quotes_each_statement(
    new_uow: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="andamios.slow"):
        stored = _gadget()
        async with new_uow() as uow:
            await uow.gadgets.add(stored)
            await uow.commit()
        async with new_uow() as uow:
            await uow.gadgets.get(stored.id)
    lines = [r.getMessage() for r in caplog.records if r.name == "andamios.slow"]
    shape = "(ContractUnitOfWork on duckdb)"
    assert [line.split(":")[0] for line in lines] == [
        "slow add of Gadget",
        "slow statement in commit",
        "slow commit",
        "slow statement in get",
        "slow get of Gadget",
    ]
    assert all(shape in line for line in lines)
    assert f"{shape}: INSERT INTO gadgets " in lines[1]
    assert f"{shape}: SELECT id, sku, " in lines[3]
    assert all(len(line.split(f"{shape}: ", 1)[-1]) <= 200 for line in lines)
