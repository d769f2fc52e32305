"""andamios.run: uvloop, the container's resources around main, and a graceful Ctrl-C."""

from __future__ import annotations

import asyncio
import inspect
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvloop
from dependency_injector import containers, providers

import andamios
from andamios._run import run


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _async_resource(log: list[str], name: str) -> AsyncIterator[str]:
    log.append(f"open {name}")
    try:
        yield name
    finally:
        log.append(f"close {name}")


def _sync_resource(log: list[str]) -> Iterator[str]:
    log.append("open file")
    yield "file"
    log.append("close file")


async def _broken(fail: bool = True) -> AsyncIterator[None]:
    if fail:
        raise ConnectionError("cannot start")
    yield None


class Journal(containers.DeclarativeContainer):
    """Resources that write what happens to them into ``log``."""

    log: providers.Singleton[list[str]] = providers.Singleton(list)
    connection = providers.Resource(_async_resource, log, "connection")


class SyncJournal(containers.DeclarativeContainer):
    log: providers.Singleton[list[str]] = providers.Singleton(list)
    file = providers.Resource(_sync_resource, log)


class FailingStart(containers.DeclarativeContainer):
    log: providers.Singleton[list[str]] = providers.Singleton(list)
    first = providers.Resource(_async_resource, log, "first")
    broken = providers.Resource(_broken)


# -- in this process -----------------------------------------------------------------------------


async def loop_type() -> type[asyncio.AbstractEventLoop]:
    return type(asyncio.get_running_loop())


def test_runs_a_coroutine_on_uvloop() -> None:
    assert run(loop_type()) is uvloop.Loop


def test_runs_an_async_function() -> None:
    assert run(loop_type) is uvloop.Loop


def test_is_exported_lazily_from_the_package() -> None:
    assert andamios.run is run
    assert "run" in andamios.__all__
    with pytest.raises(AttributeError, match="has no attribute 'walk'"):
        _ = andamios.walk


def test_refuses_what_is_not_a_coroutine() -> None:
    with pytest.raises(TypeError, match="takes a coroutine or an async function, got 42"):
        run(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes a coroutine or an async function"):
        run(lambda: 1)  # type: ignore[arg-type, return-value]


def test_starts_and_stops_the_resources_around_main() -> None:
    container = Journal()
    log: list[str] = container.log()

    async def main() -> str:
        log.append("main")
        return "done"

    assert run(main(), container=container) == "done"
    assert log == ["open connection", "main", "close connection"]


def test_sync_resources_too() -> None:
    container = SyncJournal()
    log: list[str] = container.log()

    async def main() -> None:
        log.append("main")

    run(main, container=container)
    assert log == ["open file", "main", "close file"]


def test_stops_the_resources_when_main_fails() -> None:
    container = Journal()
    log: list[str] = container.log()

    async def main() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run(main(), container=container)
    assert log == ["open connection", "close connection"]


def test_a_failed_start_closes_main_and_what_did_start() -> None:
    container = FailingStart()
    log: list[str] = container.log()
    main = loop_type()
    with pytest.raises(ConnectionError, match="cannot start"):
        run(main, container=container)
    assert inspect.getcoroutinestate(main) == inspect.CORO_CLOSED  # never awaited, no warning
    assert log == ["open first", "close first"]


# -- as a user runs it ---------------------------------------------------------------------------


@pytest.mark.subprocess
def test_a_program_runs_on_uvloop() -> None:
    result = run_python(
        """
        import asyncio, andamios

        async def main():
            return type(asyncio.get_running_loop()).__module__

        print(andamios.run(main()))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "uvloop"


CTRL_C = """
import asyncio, sys
from dependency_injector import containers, providers
import andamios

async def database():
    print("database opened", flush=True)
    try:
        yield "db"
    finally:
        await asyncio.sleep(0.01)  # an async close still runs
        print("database closed", flush=True)

class Container(containers.DeclarativeContainer):
    database = providers.Resource(database)

async def main():
    print("ready", flush=True)
    try:
        await asyncio.sleep(60)
    finally:
        print("main cancelled", flush=True)

try:
    andamios.run(main(), container=Container())
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


@pytest.mark.subprocess
def test_ctrl_c_shuts_the_resources_down() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", CTRL_C], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "database opened"
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert out.splitlines() == ["main cancelled", "database closed", "interrupted"], err
    assert process.returncode == 130
    assert "Traceback" not in err


@pytest.mark.subprocess
def test_import_andamios_stays_light() -> None:
    result = run_python(
        """
        import sys, andamios
        loaded = [m for m in ("andamios._run", "uvloop", "asyncio", "pydantic") if m in sys.modules]
        print(loaded)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.subprocess
def test_memory_adapter_loads_no_database_driver() -> None:
    result = run_python(
        """
        import sys
        from dataclasses import dataclass
        from uuid import UUID
        import andamios
        from andamios.containers import PersistenceContainer
        from andamios.domain import AggregateRoot
        from andamios.ports import Repository, UnitOfWork

        @dataclass(eq=False, kw_only=True)
        class Note(AggregateRoot[UUID]):
            text: str

        class Notebook(UnitOfWork):
            notes: Repository[Note, UUID]

        async def main():
            async with container.uow() as uow:
                await uow.notes.add(Note(text="hi"))
                await uow.commit()
            async with container.uow() as uow:
                return await uow.notes.count()

        container = PersistenceContainer(unit_of_work=Notebook)
        container.config.adapter.from_value("memory")
        print(andamios.run(main(), container=container))
        drivers = ("duckdb", "sqlalchemy", "duckdb_engine", "asyncpg")
        print([m for m in (*drivers, "andamios.adapters.postgresql") if m in sys.modules])
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["1", "[]"]


@pytest.mark.subprocess
@pytest.mark.slow  # a fresh interpreter loads SQLAlchemy and DuckDB
def test_duckdb_adapter_loads_no_postgresql_driver(tmp_path: Path) -> None:
    url = f"duckdb+async:///{tmp_path / 'notes.duckdb'}"
    result = run_python(
        f"""
        import sys
        import andamios
        from andamios.containers import PersistenceContainer
        from tests.unit.composition._app import Note, Notebook, mapping

        async def main():
            async with container.uow() as uow:
                await uow.notes.add(Note(text="hi"))
                await uow.commit()
            async with container.uow() as uow:
                return await uow.notes.count()

        container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
        container.config.from_dict(
            {{"database": {{"url": {url!r}, "create_tables": True}}}}
        )
        print(andamios.run(main(), container=container))
        print([m for m in ("asyncpg", "andamios.adapters.postgresql") if m in sys.modules])
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["1", "[]"]
