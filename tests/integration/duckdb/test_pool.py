"""A unit of work that waits for a pooled connection in vain: the same error on every database.

``pool_size`` and ``pool_timeout`` are settings of both SQL adapters, as keywords, URL options,
``ANDAMIOS_DATABASE__*`` variables and container configuration (ADR 0012, section 5). Each test
holds the only connection with one unit of work and lets a second one wait for it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests._postgresql import schema_database
from tests.integration.duckdb._contract_mapping import DATABASE_KINDS, contract_mapping

from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.containers import PersistenceContainer
from andamios.ports import UnitOfWorkFactory
from andamios.ports.errors import ConfigurationError, OperationalError
from andamios.testing.models import ContractUnitOfWork

_WAIT = 0.2
# How much longer than pool_timeout the error may take on a loaded machine (2 shared cores).
_SLACK = 1.5
_EXHAUSTED = "no database connection became free within pool_timeout"
_ADVICE = "raise pool_size or pool_timeout, or hold units of work for less time (QueuePool limit"


@contextlib.asynccontextmanager
async def _database(
    kind: str, directory: Path, mapping: Mapping, **settings: Any
) -> AsyncIterator[Any]:
    if kind == "postgresql":
        async with schema_database(mapping.metadata, **settings) as database:
            yield database
        return
    url = f"duckdb+async:///{directory / 'pool.duckdb'}" if kind == "file" else "duckdb+async://"
    async with Database(url, **settings) as database:
        await database.create_all(mapping.metadata)
        yield database


async def _starved(
    factory: UnitOfWorkFactory[ContractUnitOfWork],
) -> tuple[OperationalError, float]:
    """The error of a unit of work that waits while another holds the only connection, and how
    long it waited."""
    async with factory() as holder:
        await holder.gadgets.count()
        started = time.perf_counter()
        with pytest.raises(OperationalError) as waited:
            async with factory() as waiter:
                await waiter.gadgets.count()
        elapsed = time.perf_counter() - started
        # The holder is untouched, and its connection serves the next unit of work.
        assert await holder.gadgets.count() == 0
    async with factory() as after:
        assert await after.gadgets.count() == 0
    return waited.value, elapsed


@pytest.mark.parametrize("kind", DATABASE_KINDS)
async def test_a_starved_unit_of_work_names_the_pool_settings(tmp_path: Path, kind: str) -> None:
    with contract_mapping() as mapping:
        async with _database(kind, tmp_path, mapping, pool_size=1, pool_timeout=_WAIT) as db:
            factory = SqlAlchemyUnitOfWork.factory(ContractUnitOfWork, database=db, mapping=mapping)
            error, elapsed = await _starved(factory)
    assert type(error) is OperationalError
    message = str(error)
    assert message.startswith(_EXHAUSTED)
    assert "pool_size" in message
    assert _ADVICE in message
    assert "QueuePool limit of size 1 overflow 0 reached, connection timed out" in message
    assert type(error.__cause__).__name__ == "TimeoutError"
    assert _WAIT <= elapsed < _WAIT + _SLACK


async def test_the_url_gives_the_pool_settings(tmp_path: Path) -> None:
    with contract_mapping() as mapping:
        url = f"duckdb+async:///{tmp_path / 'pool.duckdb'}?pool_size=1&pool_timeout={_WAIT}"
        async with Database(url) as db:
            assert (db.settings.pool_size, db.settings.pool_timeout) == (1, _WAIT)
            await db.create_all(mapping.metadata)
            factory = SqlAlchemyUnitOfWork.factory(ContractUnitOfWork, database=db, mapping=mapping)
            error, elapsed = await _starved(factory)
    assert str(error).startswith(_EXHAUSTED)
    assert _WAIT <= elapsed < _WAIT + _SLACK


async def test_the_environment_gives_the_pool_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANDAMIOS_ADAPTER", "duckdb")
    monkeypatch.setenv("ANDAMIOS_DATABASE__URL", f"duckdb+async:///{tmp_path / 'pool.duckdb'}")
    monkeypatch.setenv("ANDAMIOS_DATABASE__POOL_SIZE", "1")
    monkeypatch.setenv("ANDAMIOS_DATABASE__POOL_TIMEOUT", str(_WAIT))
    monkeypatch.setenv("ANDAMIOS_DATABASE__CREATE_TABLES", "true")
    with contract_mapping() as mapping:
        container = PersistenceContainer(unit_of_work=ContractUnitOfWork, mapping=mapping)
        await container.init_resources()
        try:
            settings = container.started_database().settings
            assert (settings.pool_size, settings.pool_timeout) == (1, _WAIT)
            error, elapsed = await _starved(container.uow)
        finally:
            await container.shutdown_resources()
    assert str(error).startswith(_EXHAUSTED)
    assert _WAIT <= elapsed < _WAIT + _SLACK


async def test_the_url_and_the_environment_must_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"duckdb+async:///{tmp_path / 'pool.duckdb'}?pool_timeout=2"
    monkeypatch.setenv("ANDAMIOS_DATABASE__URL", url)
    monkeypatch.setenv("ANDAMIOS_DATABASE__POOL_TIMEOUT", "3")
    with contract_mapping() as mapping:
        container = PersistenceContainer(unit_of_work=ContractUnitOfWork, mapping=mapping)
        with pytest.raises(ConfigurationError, match="disagree") as refused:
            await container.init_resources()
    assert str(refused.value).startswith(
        "database.pool_timeout (ANDAMIOS_DATABASE__POOL_TIMEOUT): "
        f"{url!r}: the URL option pool_timeout=2 and the setting pool_timeout=3.0 disagree"
    )


def test_the_default_wait_is_sqlalchemys() -> None:
    assert Database("duckdb+async://").settings.pool_timeout == 30.0
