"""The application and the ``andamios`` command read one configuration, and a container refuses a
database its migrations have not brought to head.

A project folder with ``[tool.andamios]`` in its ``pyproject.toml``: the command migrates it from
one subfolder, the application's container starts from another, and both open the same file.
"""

from __future__ import annotations

import asyncio
import logging
import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.unit.composition._app import Note, Notebook, mapping
from typer.testing import CliRunner

from andamios.adapters.duckdb import Database
from andamios.adapters.migrations import Migrations, load_settings
from andamios.cli import app
from andamios.containers import PersistenceContainer
from andamios.ports.errors import ConfigurationError, DatabaseError, SchemaNotMigrated
from andamios.project import Project
from andamios.settings import AndamiosSettings, load_project_settings

MAPPING = "tests.unit.composition._app:mapping"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder whose settings live in its pyproject.toml; the current directory is a
    folder below it."""
    root = tmp_path / "notes"
    (root / "deep" / "below").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [project]
            name = "notes"

            [tool.andamios]
            mapping = "{MAPPING}"
            migrations = "db/migrations"
            database.url = "duckdb+async:///data/notes.duckdb"
            database.threads = 2
            database.memory_limit = "512MB"
            """
        )
    )
    (root / "data").mkdir()
    monkeypatch.chdir(root / "deep")
    return root


def _run(root: Path, *steps: str) -> Migrations:
    """``andamios db`` steps on the project (``init``, ``autogenerate``, ``upgrade``, ``later``:
    an empty newer revision), on a thread: Alembic runs its own event loop."""
    migrations = Migrations(load_settings(cwd=root))
    for step in steps:
        if step == "init":
            migrations.init()
        elif step == "autogenerate":
            migrations.revision("notes", autogenerate=True)
        elif step == "later":
            migrations.revision("a later one")
        else:
            migrations.upgrade()
    return migrations


async def _migrate(root: Path, *steps: str) -> Migrations:
    return await asyncio.to_thread(_run, root, *(steps or ("init", "autogenerate", "upgrade")))


async def _stored_notes(container: PersistenceContainer) -> list[str]:
    async with container.uow() as uow:
        return [note.text for note in await uow.notes.find()]


async def test_the_container_reads_the_project_settings_the_command_reads(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _migrate(project)
    monkeypatch.chdir(project / "deep" / "below")  # the application starts elsewhere
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
    await container.init_resources()
    try:
        database = container.started_database()
        assert isinstance(database, Database)
        assert database.settings.path == project / "data" / "notes.duckdb"
        assert (database.settings.threads, database.settings.memory_limit) == (2, "512MB")
        async with container.uow() as uow:
            await uow.notes.add(Note(text="from the application"))
            await uow.commit()
        assert await _stored_notes(container) == ["from the application"]
    finally:
        await container.shutdown_resources()
    # The command, from yet another folder, sees the same database at head.
    monkeypatch.chdir(project)
    assert (await asyncio.to_thread(Migrations(load_settings()).check)).ok


def test_info_shows_every_setting_and_where_it_came_from(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANDAMIOS_DATABASE__POOL_SIZE", "3")
    said = CliRunner().invoke(app, ["--mapping", MAPPING, "info"])
    assert said.exit_code == 0, said.output
    lines = {line.split()[0]: line for line in said.output.splitlines() if line.startswith("  ")}
    origin = f"[from {project / 'pyproject.toml'} [tool.andamios]]"
    assert lines["database.url"].split()[1] == f"duckdb+async:///{project}/data/notes.duckdb"
    assert lines["database.url"].endswith(origin)
    assert lines["database.threads"].endswith(origin)
    assert lines["database.pool_size"].endswith("[from ANDAMIOS_DATABASE__POOL_SIZE]")
    assert lines["mapping"].endswith("[from --mapping]")
    assert lines["migrations"].split()[1] == str(project / "db" / "migrations")
    assert lines["adapter"].endswith("[from default]")
    assert lines["schema_check"].split()[1:] == ["error", "[from", "default]"]


@pytest.mark.parametrize(
    ("replica", "shown"),
    [("postgresql+asyncpg://shop:secret@replica/shop", "shop:***@replica"), ("x", "(not a URL)")],
)
def test_info_never_shows_a_password(
    project: Path, monkeypatch: pytest.MonkeyPatch, replica: str, shown: str
) -> None:
    monkeypatch.setenv("ANDAMIOS_DATABASE__REPLICA_URL", replica)
    said = CliRunner().invoke(app, ["info"])
    assert said.exit_code == 0, said.output
    assert "secret" not in said.output
    assert shown in said.output


def test_precedence_keyword_variable_file_default(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = Project.find()
    assert found.root == project
    settings, sources = load_project_settings(found)
    assert settings.database.threads == 2
    monkeypatch.setenv("ANDAMIOS_DATABASE__THREADS", "3")
    settings, sources = load_project_settings(found)
    assert (settings.database.threads, sources["database.threads"]) == (
        3,
        "ANDAMIOS_DATABASE__THREADS",
    )
    settings, sources = load_project_settings(found, database={"threads": 4})
    assert (settings.database.threads, sources["database.threads"]) == (4, "keyword")
    assert "database.pool_size" not in sources  # the default
    # A container's settings are read the same way, from the current directory's project.
    assert AndamiosSettings().database.threads == 3


def test_a_wrong_setting_in_the_project_names_it_and_the_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'schema_check = "sometimes"\n')
    with pytest.raises(ConfigurationError, match=r"schema_check \(ANDAMIOS_SCHEMA_CHECK\)"):
        PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
    with pytest.raises(ConfigurationError, match=str(pyproject)):
        load_settings()
    pyproject.write_text("[tool.andamios]\nmapings = 'x:y'\n")
    with pytest.raises(ConfigurationError, match="unknown setting 'mapings'"):
        AndamiosSettings()


# -- the schema check at start ------------------------------------------------------------------


async def _start(**config: Any) -> PersistenceContainer:
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
    container.config.from_dict(config)
    await container.init_resources()
    return container


async def test_a_database_never_migrated_is_refused_naming_the_command(project: Path) -> None:
    await _migrate(project, "init", "autogenerate")  # written, never applied
    with pytest.raises(SchemaNotMigrated, match=r"never migrated.*run 'andamios db upgrade'"):
        await _start()
    await _migrate(project, "upgrade")
    container = await _start()
    assert await _stored_notes(container) == []
    await container.shutdown_resources()


async def test_a_database_behind_the_head_is_refused(project: Path) -> None:
    migrations = await _migrate(project, "init", "autogenerate", "upgrade", "later")
    head = migrations.head_revisions()[0]  # the empty later one
    with pytest.raises(SchemaNotMigrated, match=f"migrations in .* are at {head}"):
        await _start()


async def test_the_check_can_warn_or_be_off(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await _migrate(project, "init", "autogenerate")  # no revision applied
    with caplog.at_level(logging.WARNING, logger="andamios.containers"):
        container = await _start(schema_check="warn")
    await container.shutdown_resources()
    assert "run 'andamios db upgrade'" in caplog.text
    caplog.clear()
    container = await _start(schema_check="off")
    await container.shutdown_resources()
    assert caplog.text == ""


async def test_create_tables_is_not_checked(project: Path) -> None:
    await _migrate(project, "init", "autogenerate", "upgrade", "later")
    container = await _start(database={"create_tables": True})
    assert await _stored_notes(container) == []
    await container.shutdown_resources()


async def test_without_migrations_the_mapping_tables_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject, no migrations folder
    url = f"duckdb+async:///{tmp_path / 'empty.duckdb'}"
    with pytest.raises(SchemaNotMigrated, match="lacks the mapping's tables composition_notes"):
        await _start(database={"url": url})
    async with Database(url) as database:
        await database.create_all(mapping.metadata)
    container = await _start(database={"url": url})
    assert await _stored_notes(container) == []
    await container.shutdown_resources()


async def test_a_check_the_database_fails_is_an_andamios_error(project: Path) -> None:
    await _migrate(project, "init", "autogenerate")
    # Not Alembic's table any more: reading its revision fails in the database.
    url = f"duckdb+async:///{project / 'data' / 'notes.duckdb'}"
    async with Database(url) as database, database.engine.begin() as connection:
        await connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        await connection.execute(sa.text("CREATE TABLE alembic_version (x INTEGER)"))
    with pytest.raises(DatabaseError, match="version_num") as failed:
        await _start()
    assert not isinstance(failed.value, SchemaNotMigrated)
    assert isinstance(failed.value.__cause__, sa.exc.SQLAlchemyError)


def test_observability_settings_come_from_the_project_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.andamios]\nobservability.metrics = true\nobservability.slow_threshold = 0.5\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANDAMIOS_OBSERVABILITY__OPENTELEMETRY", "true")
    settings, sources = load_project_settings()
    assert (settings.observability.metrics, settings.observability.slow_threshold) == (True, 0.5)
    assert settings.observability.opentelemetry is True
    origin = f"{tmp_path / 'pyproject.toml'} [tool.andamios]"
    assert sources["observability.metrics"] == sources["observability.slow_threshold"] == origin
    assert sources["observability.opentelemetry"] == "ANDAMIOS_OBSERVABILITY__OPENTELEMETRY"
    said = CliRunner().invoke(app, ["info"])
    assert said.exit_code == 0, said.output
    lines = {line.split()[0]: line for line in said.output.splitlines() if line.startswith("  ")}
    assert lines["observability.metrics"].endswith(f"[from {origin}]")


def test_observability_in_the_project_must_be_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.andamios]\nobservability = true\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match=r"observability in \[tool.andamios\] of .* must "):
        load_project_settings()
