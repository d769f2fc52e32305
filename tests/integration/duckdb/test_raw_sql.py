"""Raw SQL in a unit of work (``uow.sql``): bound parameters only, on every SQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from tests.integration.duckdb._contract_mapping import (
    DATABASE_KINDS,
    contract_mapping,
    open_database,
)

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.domain import InvalidSpecification
from andamios.ports import UnitOfWorkFactory
from andamios.ports.errors import OperationalError, UnitOfWorkError, UnsupportedOperation
from andamios.testing._support import seed
from andamios.testing.models import ContractUnitOfWork, Gadget

pytestmark = pytest.mark.asyncio

type Factory = UnitOfWorkFactory[ContractUnitOfWork]


@dataclass(frozen=True)
class Priced:
    sku: str
    price: Decimal


@pytest.fixture(params=DATABASE_KINDS)
async def new_uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    with contract_mapping() as mapping:
        async with open_database(request.param, tmp_path, mapping) as database:
            yield SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping
            )


async def test_rows_come_back_as_dicts_or_typed_rows(new_uow: Factory) -> None:
    await seed(new_uow)
    statement = "SELECT sku, price FROM gadgets WHERE price > :low ORDER BY sku LIMIT :n"
    async with new_uow() as uow:
        rows = await uow.sql.rows(statement, {"low": Decimal(20), "n": 2})
        typed = await uow.sql.rows(statement, {"low": Decimal(20), "n": 2}, into=Priced)
    assert rows == [
        {"sku": "C-3", "price": Decimal("25.00")},
        {"sku": "D-4", "price": Decimal("99.99")},
    ]
    assert typed == [Priced("C-3", Decimal("25.00")), Priced("D-4", Decimal("99.99"))]


async def test_raw_sql_runs_in_the_unit_of_works_transaction(new_uow: Factory) -> None:
    await seed(new_uow)
    async with new_uow() as uow:
        await uow.gadgets.add(Gadget(sku="G-7", name="gear", price=Decimal("1.00")))
        # The pending add is flushed first: the statement sees it.
        counted = await uow.sql.rows(
            "SELECT count(*) AS n FROM gadgets WHERE sku = :s", {"s": "G-7"}
        )
        changed = await uow.sql.execute(
            "UPDATE gadgets SET quantity = quantity + :q WHERE sku IN (:a, :b)",
            {"q": 1, "a": "A-1", "b": "B-2"},
        )
        await uow.rollback()
        after = await uow.sql.rows("SELECT count(*) AS n FROM gadgets")
    assert counted == [{"n": 1}]
    assert changed == 2
    assert after == [{"n": 6}]


async def test_rows_are_read_from_statements_that_return_rows(new_uow: Factory) -> None:
    await seed(new_uow)
    update = "UPDATE gadgets SET quantity = :q WHERE sku = :s"
    async with new_uow() as uow:
        with pytest.raises(InvalidSpecification, match=r"returns no rows: run it with uow\.sql"):
            await uow.sql.rows(update, {"q": 1, "s": "A-1"})
        with pytest.raises(InvalidSpecification, match=r"returns rows: read them"):
            await uow.sql.execute("SELECT sku FROM gadgets")
        returned = await uow.sql.rows(f"{update} RETURNING sku, quantity", {"q": 1, "s": "A-1"})
        await uow.commit()
    assert returned == [{"sku": "A-1", "quantity": 1}]


async def test_arrow_tables_come_from_the_statement(new_uow: Factory) -> None:
    await seed(new_uow)
    async with new_uow() as uow:
        table = await uow.sql.arrow(
            "SELECT sku, quantity FROM gadgets WHERE quantity >= :q ORDER BY sku", {"q": 7}
        )
    assert table.to_pylist() == [{"sku": "B-2", "quantity": 100}, {"sku": "E-5", "quantity": 7}]


#: Statements an application could have formatted a value into, and what each is refused for.
FORMATTED = [
    ("SELECT * FROM gadgets WHERE sku = '{value}'", "a quoted string"),
    ("SELECT * FROM gadgets WHERE quantity = {value}", "the number"),
    ("SELECT * FROM gadgets WHERE active = {value}", "the literal"),
    ("SELECT * FROM gadgets WHERE sku = :s; DROP TABLE gadgets", "a second statement"),
    ("SELECT * FROM gadgets WHERE sku = :s -- {value}", "a comment"),
    ("SELECT * FROM gadgets WHERE sku = :s /* {value} */", "a comment"),
    ("SELECT * FROM gadgets WHERE sku = ?", "positional"),
    ("SELECT * FROM gadgets WHERE sku = $1", "positional"),
    ("SELECT * FROM gadgets WHERE sku = $$x$$", "dollar-quoted"),
    ("SELECT * FROM gadgets WHERE sku = :", "names no parameter"),
    ('SELECT * FROM "gadgets WHERE sku = :s', "unterminated"),
]


async def test_values_formatted_into_the_text_never_reach_the_database(new_uow: Factory) -> None:
    await seed(new_uow)
    values = {"active": True, "quantity": 3, "sku": "A-1' OR '1'='1"}
    async with new_uow() as uow:
        for statement, found in FORMATTED:
            value = next(v for field, v in values.items() if f"WHERE {field}" in statement)
            formatted = statement.replace("{value}", str(value))
            with pytest.raises(InvalidSpecification, match=found):
                await uow.sql.rows(formatted, {"s": "A-1"} if ":s" in formatted else None)
        # Refused before any ran: the transaction is still good.
        assert await uow.sql.rows("SELECT count(*) AS n FROM gadgets") == [{"n": 6}]


async def test_parameters_must_match_the_statement(new_uow: Factory) -> None:
    async with new_uow() as uow:
        with pytest.raises(InvalidSpecification, match="no value is given for it"):
            await uow.sql.rows("SELECT sku FROM gadgets WHERE sku = :sku")
        with pytest.raises(InvalidSpecification, match="not in the statement"):
            await uow.sql.rows("SELECT sku FROM gadgets", {"sku": "x"})
        with pytest.raises(InvalidSpecification, match="a mapping"):
            await uow.sql.rows("SELECT sku FROM gadgets WHERE sku = :sku", ["x"])  # type: ignore[arg-type]
        with pytest.raises(InvalidSpecification, match="one statement as a str"):
            await uow.sql.execute("   ")
        with pytest.raises(InvalidSpecification, match="not selected"):
            await uow.sql.rows("SELECT sku FROM gadgets", into=Priced)
        # A quoted identifier may hold anything, and "" is one quote inside it.
        assert await uow.sql.rows('SELECT count(*) AS "n ""; 1" FROM gadgets') == [{'n "; 1': 0}]


async def test_a_failed_statement_poisons_the_unit_of_work(new_uow: Factory) -> None:
    async with new_uow() as uow:
        with pytest.raises(OperationalError):
            await uow.sql.arrow("SELECT * FROM no_such_table")
        await uow.rollback()
        assert await uow.sql.rows("SELECT count(*)::BIGINT AS n FROM gadgets") == [{"n": 0}]
        with pytest.raises(OperationalError):
            await uow.sql.rows("SELECT * FROM no_such_table")
        with pytest.raises(UnitOfWorkError, match="earlier statement"):
            await uow.sql.execute("DELETE FROM gadgets")
        with pytest.raises(UnitOfWorkError, match="nothing was saved"):
            await uow.commit()


async def test_the_memory_adapter_names_the_portable_way() -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)
    async with new_uow() as uow:
        for call in (uow.sql.rows, uow.sql.execute, uow.sql.arrow):
            with pytest.raises(UnsupportedOperation, match=r"uow\.query\(ReadQuery"):
                await call("SELECT sku FROM gadgets")
        assert await uow.gadgets.count() == 0  # nothing was poisoned


@pytest.fixture(params=DATABASE_KINDS)
async def read_only_uow(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Factory, Factory]]:
    with contract_mapping() as mapping:
        async with open_database(request.param, tmp_path, mapping) as database:
            make = SqlAlchemyUnitOfWork.factory
            yield (
                make(ContractUnitOfWork, database=database, mapping=mapping),
                make(ContractUnitOfWork, database=database, mapping=mapping, read_only=True),
            )


async def test_a_read_only_unit_of_work_runs_queries_only(
    read_only_uow: tuple[Factory, Factory],
) -> None:
    writer, reader = read_only_uow
    await seed(writer)
    writes = [
        ("execute", "DELETE FROM gadgets"),
        ("execute", "CHECKPOINT"),
        ("rows", "UPDATE gadgets SET quantity = :q RETURNING sku"),
        ("rows", "WITH gone AS (DELETE FROM gadgets RETURNING sku) SELECT sku FROM gone"),
        ("rows", "EXPLAIN ANALYZE DELETE FROM gadgets"),
    ]
    async with reader() as uow:
        for method, statement in writes:
            params = {"q": 1} if ":q" in statement else None
            with pytest.raises(UnitOfWorkError, match="read-only unit of work runs queries only"):
                await getattr(uow.sql, method)(statement, params)
        assert await uow.sql.rows("SELECT count(*) AS n FROM gadgets") == [{"n": 6}]
        await uow.commit()
    async with writer() as uow:
        assert await uow.gadgets.count() == 6
