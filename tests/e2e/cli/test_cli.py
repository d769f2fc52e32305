"""The ``andamios`` command, run in this process: every command, its output and exit code."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
from tests.integration.migrations._project import Project
from tests.integration.migrations._revisions import write_revision
from typer.testing import CliRunner, Result

from andamios.cli import app, main

NOTES = """\
notes = sa.Table(
    "notes",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("text", sa.String, nullable=False),
)
"""


def run(runner: CliRunner, *args: str, code: int = 0, stdin: str | None = None) -> Result:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, (result.output, result.exception)
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def migrated(project: Project, runner: CliRunner) -> Project:
    project.write_mapping(NOTES)
    run(runner, "db", "init")
    run(runner, "db", "revision", "-m", "create notes", "--autogenerate", "--rev-id", "n1")
    run(runner, "db", "upgrade")
    return project


def test_every_command_has_help(runner: CliRunner) -> None:
    commands = [
        [],
        ["db"],
        *(["db", name] for name in ("init", "revision", "upgrade", "downgrade", "current")),
        *(["db", name] for name in ("history", "heads", "stamp", "check", "reset")),
        ["demo"],
        ["bench"],
        ["info"],
    ]
    for command in commands:
        result = run(runner, *command, "--help")
        assert "Usage: " in result.output
        assert len(result.output.splitlines()) > 3
    assert "Exit codes: 0 ok, 1 failed" in run(runner, "--help").output
    assert "--install-completion" in run(runner, "--help").output


def test_version(runner: CliRunner) -> None:
    assert run(runner, "--version").output == "andamios 0.1.0\n"


def test_the_migration_commands(migrated: Project, runner: CliRunner) -> None:
    assert "OK: the database is at n1 and matches the mapping" in run(runner, "db", "check").output
    assert run(runner, "db", "current").stdout == "n1 (head)\n"
    assert run(runner, "db", "heads").stdout == "n1 (head)\n"
    assert (
        "<base> -> n1 (head) (current), create notes" in run(runner, "db", "history", "-i").stdout
    )

    migrated.write_mapping(NOTES.replace("nullable=False", "nullable=False, unique=True"))
    failed = run(runner, "db", "check", code=1)
    assert "The database schema and the mapping differ:" in failed.stderr
    assert "+ unique constraint on notes (text)" in failed.stderr

    created = run(runner, "db", "revision", "-m", "unique text", "--autogenerate", "--rev-id", "n2")
    assert "Detected added unique constraint" in created.stderr
    assert "Created " in created.stdout
    run(runner, "db", "stamp", "n1")
    behind = run(runner, "db", "check", code=1)
    assert "The database is at n1, not at head" in behind.stderr
    upgraded = run(runner, "db", "upgrade")
    assert "Running upgrade n1 -> n2, unique text" in upgraded.stderr
    run(runner, "db", "check")
    offline = run(runner, "db", "upgrade", "n1:n2", "--sql").stdout
    assert "ALTER TABLE notes ADD CONSTRAINT notes_text_key UNIQUE (text);" in offline
    run(runner, "db", "downgrade", "-1")  # a rebuild: DuckDB drops no constraint
    assert run(runner, "db", "current").stdout == "n1\n"
    run(runner, "db", "downgrade", "base")
    assert migrated.tables() == ["alembic_version"]
    assert "OK" not in run(runner, "db", "current").stdout


def test_settings_errors_exit_2_with_one_line(project: Project, runner: CliRunner) -> None:
    no_folder = run(runner, "db", "upgrade", code=2)
    assert no_folder.stderr.startswith("error: no migrations folder at ")
    assert len(no_folder.stderr.strip().splitlines()) == 1
    wrong_url = run(runner, "--database-url", "sqlite:///x", "db", "current", code=2)
    assert "Andamios has no database for 'sqlite' URLs; known: duckdb" in wrong_url.stderr
    run(runner, "db", "init")
    again = run(runner, "db", "init", code=2)
    assert "already exists and is not empty" in again.stderr
    no_mapping = run(runner, "--mapping", "nowhere.orm:mapping", "db", "check", code=2)
    assert "cannot import 'nowhere.orm'" in no_mapping.stderr
    project.write_mapping(NOTES)
    unknown = run(runner, "db", "upgrade", "nope", code=2)
    assert unknown.stderr.startswith("error: Can't locate revision identified by 'nope'")
    with pytest.raises(Exception, match="Can't locate revision"):
        runner.invoke(app, ["--traceback", "db", "upgrade", "nope"], catch_exceptions=False)
    assert run(runner, "db", "bogus", code=2).exit_code == 2  # usage errors are click's


def test_failing_migrations_exit_1_and_roll_back(migrated: Project, runner: CliRunner) -> None:
    migrations = migrated.migrations()
    write_revision(
        migrations,
        "n2",
        """
        op.add_column("notes", sa.Column("stars", sa.Integer))
        op.execute("SELECT error('the migration broke')")
        """,
    )
    broke = run(runner, "db", "upgrade", code=1)
    assert "error: Invalid Input Error: the migration broke" in broke.stderr
    assert migrated.columns("notes") == ["id", "text"]
    assert run(runner, "db", "current").stdout == "n1\n"

    write_revision(migrations, "n3", "raise ValueError('not like this')")
    run(runner, "db", "stamp", "n2")
    crashed = run(runner, "db", "upgrade", code=1)
    assert "error: ValueError: not like this (--traceback shows where)" in crashed.stderr
    with pytest.raises(ValueError, match="not like this"):
        runner.invoke(app, ["--traceback", "db", "upgrade"], catch_exceptions=False)

    write_revision(migrations, "n4", 'op.drop_constraint("notes_pkey", "notes", type_="primary")')
    run(runner, "db", "stamp", "n3")
    refused = run(runner, "db", "upgrade", code=1)
    assert "error: DuckDB cannot drop a constraint of notes in place" in refused.stderr


def test_reset_asks_first(migrated: Project, runner: CliRunner) -> None:
    migrated.query("INSERT INTO notes VALUES (uuid(), 'keep me?')")
    declined = run(runner, "db", "reset", stdin="n\n", code=1)
    assert "Drop every table of duckdb+async:///" in declined.output
    assert migrated.query("SELECT count(*) FROM notes") == [(1,)]
    run(runner, "db", "reset", stdin="y\n")
    assert migrated.query("SELECT count(*) FROM notes") == [(0,)]
    migrated.query("INSERT INTO notes VALUES (uuid(), 'gone')")
    assert "Database re-created at head" in run(runner, "db", "reset", "--yes").stdout
    assert migrated.query("SELECT count(*) FROM notes") == [(0,)]
    run(runner, "--database-url", "duckdb+async:///:memory:", "db", "reset", "-y", code=2)


def test_reset_needs_a_database(project: Project, runner: CliRunner) -> None:
    (project.root / "pyproject.toml").write_text("[tool.andamios]\n")
    assert "no database URL" in run(runner, "db", "reset", code=2).stderr
    assert '  mapping = "package.module:mapping"' in run(runner, "db", "init").stdout


def test_info_shows_versions_and_settings(project: Project, runner: CliRunner) -> None:
    shown = run(runner, "--mapping", "flag.orm:mapping", "info").stdout
    assert "Andamios 0.1.0" in shown
    for name in ("Python", "DuckDB", "SQLAlchemy", "Alembic", "duckdb-engine"):
        assert f"  {name}" in shown
    assert f"pyproject     {project.root / 'pyproject.toml'}" in shown
    assert "mapping       flag.orm:mapping  [from --mapping]" in shown
    assert "(not created: andamios db init)  [from default]" in shown
    (project.root / "pyproject.toml").write_text("[tool.andamios]\nmapings = 1\n")
    wrong = run(runner, "info", code=2)
    assert "unknown setting 'mapings'" in wrong.stderr
    assert "Andamios 0.1.0" in wrong.stdout


def test_the_demo_runs_the_shop_on_migrations(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[3])
    kept = tmp_path / "demo.duckdb"
    shown = run(runner, "demo", "--database", str(kept)).stdout
    assert "1. The schema, made by migrations" in shown
    assert "autogenerated " in shown
    assert "2 tables (orders, products)" in shown
    assert "check: the database matches the mapping" in shown
    assert "2. The shop at work" in shown
    assert "3. Report" in shown
    assert "rows: alembic_version 1, orders 3, products 2" in shown
    assert kept.exists()
    again = run(runner, "demo", "--database", str(kept), code=1)
    assert "exists: the demo creates a new database" in again.stderr


@pytest.mark.usefixtures("fresh_modules")
def test_demo_and_bench_need_a_source_checkout(project: Project, runner: CliRunner) -> None:
    (project.root / "examples").mkdir()
    (project.root / "examples" / "__init__.py").write_text("")
    (project.root / "benchmarks").mkdir()
    (project.root / "benchmarks" / "__init__.py").write_text("")
    demo = run(runner, "demo", code=2)
    assert "the sample shop is not available here (examples.shop.__main__ not found" in demo.stderr
    assert "run 'andamios demo' from the checkout's folder" in demo.stderr
    bench = run(runner, "bench", code=2)
    assert "the benchmark suite is not available here" in bench.stderr


@pytest.mark.usefixtures("fresh_modules")
def test_bench_runs_the_suite_and_exits_with_its_code(project: Project, runner: CliRunner) -> None:
    suite = project.root / "benchmarks"
    suite.mkdir()
    (suite / "__init__.py").write_text("")
    (suite / "run.py").write_text(
        "def main(argv):\n"
        "    print('[1/2] inserts')\n"
        "    print('  .. one', flush=True)\n"
        "    print('[2/2] reads')\n"
        "    print('suite', argv, end='' if '--quick' in argv else '\\n')\n"
        "    return 3 if 'fail' in argv else 0\n"
    )
    quick = run(runner, "bench", "--quick").stdout
    assert [line for line in quick.splitlines() if line] == [
        "[1/2] inserts",
        "  .. one",
        "[2/2] reads",
        "suite ['--quick']",
    ]
    assert "suite ['fail']" in run(runner, "bench", "fail", code=3).stdout


@pytest.mark.usefixtures("fresh_modules")
def test_a_broken_checkout_module_is_not_hidden(project: Project, runner: CliRunner) -> None:
    suite = project.root / "benchmarks"
    suite.mkdir()
    (suite / "__init__.py").write_text("")
    (suite / "run.py").write_text("import no_such_dependency\n")
    result = runner.invoke(app, ["bench"])
    assert isinstance(result.exception, ModuleNotFoundError)


def test_the_module_and_the_console_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["andamios", "--version"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("andamios.cli", run_name="__main__")
    assert exited.value.code == 0
