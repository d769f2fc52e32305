"""Statement hooks on SQL adapters: each statement, where it ran, and no cost where none listen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.integration.duckdb._contract_mapping import (
    DATABASE_KINDS,
    contract_mapping,
    open_database,
)

from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.adapters.sqlalchemy._statements import _before
from andamios.domain import F, ReadQuery
from andamios.ports import Hooks, Statement
from andamios.ports.errors import DataError, DuplicateError, PersistenceError
from andamios.testing import RecordingHooks
from andamios.testing.models import ContractUnitOfWork, Gadget, make_gadgets

pytestmark = pytest.mark.asyncio


class _WithParameters(RecordingHooks):
    statement_parameters = True


@pytest.fixture(params=DATABASE_KINDS)
async def opened(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Any, Mapping]]:
    with contract_mapping() as mapping:
        async with open_database(request.param, tmp_path, mapping) as database:
            yield database, mapping


def _factory(opened: tuple[Any, Mapping], *hooks: Hooks) -> Any:
    database, mapping = opened
    return SqlAlchemyUnitOfWork.factory(
        ContractUnitOfWork, database=database, mapping=mapping, hooks=hooks
    )


def _first_word(event: Statement) -> str:
    return event.statement.split(None, 1)[0].upper()


async def test_each_statement_is_told_before_the_operation_it_ran_in(
    opened: tuple[Any, Mapping],
) -> None:
    hooks = RecordingHooks(statements=True)
    new_uow = _factory(opened, hooks)
    gadget = Gadget(sku="S-1", name="one", price=Decimal("2.50"))
    async with new_uow() as uow:
        await uow.gadgets.add(gadget)
        await uow.commit()
        loaded = await uow.gadgets.get(gadget.id)  # held: the identity map answers
        assert loaded is gadget
        assert await uow.gadgets.count(F("sku") == "S-1") == 1
    told = [
        (type(e).__name__, getattr(e, "operation", None) or getattr(e, "kind", None))
        for e in hooks.events
    ]
    assert told == [
        ("Began", None),
        ("Operation", "add"),
        ("BeforeCommit", None),
        ("Statement", "commit"),
        ("Committed", None),
        ("Operation", "get"),
        ("Statement", "count"),
        ("Operation", "count"),
        ("RolledBack", None),
        ("Ended", None),
    ]
    insert, count = hooks.statements()
    system = opened[0].engine.dialect.name
    assert (_first_word(insert), _first_word(count)) == ("INSERT", "SELECT")
    assert {insert.system, count.system} == {system}
    assert insert.parameters is None  # redacted unless a hook asks
    assert count.rows is None  # a read's rows are not counted by the driver
    assert insert.error is None
    assert insert.duration >= 0
    committed = next(e for e in hooks.events if type(e).__name__ == "Committed")
    assert insert.duration <= committed.duration  # type: ignore[attr-defined]


async def test_a_hook_may_ask_for_the_parameters(opened: tuple[Any, Mapping]) -> None:
    raw, redacted = _WithParameters(statements=True), RecordingHooks(statements=True)
    new_uow = _factory(opened, raw, redacted)
    async with new_uow() as uow:
        await uow.gadgets.count(F("sku") == "secret-sku")
    (with_values,) = raw.statements()
    (without,) = redacted.statements()
    assert "secret-sku" in repr(with_values.parameters)
    assert without.parameters is None
    assert "secret-sku" not in without.statement
    assert with_values.statement == without.statement  # bound, so never in the text


async def test_bulk_writes_arrow_reads_and_raw_sql_are_told(opened: tuple[Any, Mapping]) -> None:
    hooks = RecordingHooks(statements=True)
    new_uow = _factory(opened, hooks)
    many = [Gadget(sku=f"B-{n:03}", name="bulk", price=Decimal(1)) for n in range(300)]
    async with new_uow() as uow:
        await uow.gadgets.add_many(many)  # the bulk path: staged on the driver
        await uow.commit()
    bulk = [e for e in hooks.statements() if e.operation in {"add_many", "commit"}]
    assert any(_first_word(e) == "INSERT" for e in bulk)
    hooks.clear()
    async with new_uow() as uow:
        table = await uow.query_arrow(ReadQuery(Gadget).select("sku"))
        changed = await uow.sql.execute(
            "UPDATE gadgets SET name = :name WHERE sku = :sku", {"name": "x", "sku": "B-001"}
        )
        await uow.commit()
    assert table.num_rows == 300
    assert changed == 1
    by_operation = {e.operation: e for e in hooks.statements()}
    assert _first_word(by_operation["query_arrow"]) == "SELECT"
    update = by_operation["sql.execute"]
    assert _first_word(update) == "UPDATE"
    # PostgreSQL's driver counts a text UPDATE's rows; DuckDB's answers with a row instead.
    assert update.rows in {1, None}


async def test_a_failed_statement_is_told_with_its_error(opened: tuple[Any, Mapping]) -> None:
    hooks = RecordingHooks(statements=True)
    new_uow = _factory(opened, hooks)
    gadget = make_gadgets()[0]
    async with new_uow() as uow:
        await uow.gadgets.add(gadget)
        await uow.commit()
    hooks.clear()
    async with new_uow() as uow:
        await uow.gadgets.add(Gadget(id=gadget.id, sku="dup", name="dup", price=Decimal(1)))
        with pytest.raises((DuplicateError, DataError)):
            await uow.commit()
    (failed,) = [e for e in hooks.statements() if e.error is not None]
    assert failed.operation == "commit"
    assert isinstance(failed.error, DuplicateError)  # never a driver's exception
    assert ("rolled_back", "commit_failed", "DuplicateError") in hooks.outline()


async def test_a_failed_arrow_read_is_told_with_its_error(opened: tuple[Any, Mapping]) -> None:
    hooks = RecordingHooks(statements=True)
    async with _factory(opened, hooks)() as uow:
        with pytest.raises(PersistenceError):
            await uow.sql.arrow("SELECT * FROM no_such_table")
    (failed,) = hooks.statements()
    assert (failed.operation, _first_word(failed)) == ("sql.arrow", "SELECT")
    assert isinstance(failed.error, PersistenceError)
    assert ("operation", "sql.arrow", None, None, type(failed.error).__name__) in hooks.outline()


async def test_without_hooks_no_statement_listener_is_installed(tmp_path: Path) -> None:
    with contract_mapping() as mapping:
        async with open_database("memory", tmp_path, mapping) as database:
            new_uow = SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping
            )
            async with new_uow() as uow:
                await uow.gadgets.count()
            engine = database.engine.sync_engine
            assert not sa.event.contains(engine, "before_cursor_execute", _before)
            assert uow.session.bind is database.engine  # type: ignore[attr-defined]
            hooked = _factory((database, mapping), RecordingHooks())()
            assert sa.event.contains(engine, "before_cursor_execute", _before)
            assert hooked.session.bind is database.engine
            async with new_uow() as uow:  # still none told for a unit of work without hooks
                with pytest.raises(PersistenceError):
                    await uow.sql.rows("SELECT * FROM no_such_table")
