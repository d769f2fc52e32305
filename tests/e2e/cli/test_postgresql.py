"""``andamios db ...`` against a PostgreSQL server, in a schema of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.e2e.cli.test_cli import NOTES, run
from tests.integration.migrations._postgresql import fresh_schema, query, server_url
from tests.integration.migrations._project import Project
from typer.testing import CliRunner


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """(The server's URL, a fresh schema), given to the command by its variables."""
    url = server_url()
    with fresh_schema(url) as schema:
        monkeypatch.setenv("ANDAMIOS_DATABASE__URL", url)
        monkeypatch.setenv("ANDAMIOS_DATABASE__SCHEMA", schema)
        yield url, schema


def test_the_migration_commands_run_on_postgresql(
    project: Project, runner: CliRunner, database: tuple[str, str]
) -> None:
    url, schema = database
    project.write_mapping(NOTES)
    info = run(runner, "info").stdout
    assert f"{'database.schema':<30}{schema}  [from ANDAMIOS_DATABASE__SCHEMA]" in info
    run(runner, "db", "init")
    run(runner, "db", "revision", "-m", "create notes", "--autogenerate", "--rev-id", "n1")
    upgraded = run(runner, "db", "upgrade")
    assert "Running upgrade  -> n1, create notes" in upgraded.stderr
    assert "n1 (head)" in run(runner, "db", "current").stdout
    assert "OK: the database is at n1 and matches the mapping" in run(runner, "db", "check").stdout
    tables = f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}'"
    assert sorted(query(url, tables)) == [("alembic_version",), ("notes",)]

    project.write_mapping(NOTES.replace("nullable=False", "nullable=True"))
    differs = run(runner, "db", "check", code=1)
    assert "~ notes.text: NOT NULL -> NULL" in differs.stderr
    run(runner, "db", "downgrade", "base")
    assert query(url, tables) == [("alembic_version",)]
    # The flag wins over the variable: a schema that does not exist is a setting to fix.
    missing = run(runner, "--database-schema", "nowhere", "db", "current", code=2)
    assert "nowhere" in missing.stderr
