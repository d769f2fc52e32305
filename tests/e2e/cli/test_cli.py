"""The ``andamios`` command, run in this process: every command, its output and exit code."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.util.exc import CommandError
from tests._runpy import run_module
from tests.integration.migrations._project import Project
from tests.integration.migrations._revisions import write_revision
from typer.testing import CliRunner, Result

from andamios._benchmarks import suite as benchmark_suite
from andamios.adapters.migrations import MigrationError, UnsupportedMigration
from andamios.adapters.migrations._impl import serial_refusal
from andamios.cli import app, main
from andamios.cli._output import EXIT_FAILED, EXIT_USAGE, exit_code
from andamios.ports.errors import (
    ConfigurationError,
    CorruptDatabase,
    DatabaseLocked,
    DatabaseUnavailable,
    OperationalError,
)

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


def test_database_problems_exit_1_and_usage_errors_exit_2(
    project: Project, runner: CliRunner
) -> None:
    database_problems = [
        CorruptDatabase("x"),
        DatabaseLocked("x"),
        DatabaseUnavailable("x"),
        OperationalError("x"),
        MigrationError("x"),
        UnsupportedMigration("x"),
        ValueError("a migration's own error"),
    ]
    assert {exit_code(error) for error in database_problems} == {EXIT_FAILED}
    assert {exit_code(error) for error in (ConfigurationError("x"), CommandError("x"))} == {
        EXIT_USAGE
    }
    project.write_mapping(NOTES)
    run(runner, "db", "init")
    project.database.write_bytes(random.Random(11).randbytes(64 * 1024))  # not a database
    damaged = run(runner, "db", "current", code=1)
    assert damaged.stderr.startswith("error: ")
    assert str(project.database) in damaged.stderr
    assert len(damaged.stderr.splitlines()) == 1


def test_a_missing_database_is_not_created(project: Project, runner: CliRunner) -> None:
    project.write_mapping(NOTES)
    run(runner, "db", "init")
    run(runner, "db", "revision", "-m", "create notes", "--rev-id", "n1")
    commands = [
        ["current"],
        ["check"],
        ["history", "--indicate-current"],
        ["downgrade", "base"],
        ["stamp", "n1"],
    ]
    for command in commands:
        missing = run(runner, "db", *command, code=1)
        assert missing.stderr == (
            f"error: the database {project.database} does not exist (andamios db upgrade "
            "creates it); check database.url if it should\n"
        )
    assert not project.database.exists()
    assert "<base> -> n1 (head), create notes" in run(runner, "db", "history").stdout
    run(runner, "db", "upgrade")
    assert project.database.exists()


def test_an_in_memory_database_is_refused_where_it_would_keep_nothing(
    project: Project, runner: CliRunner
) -> None:
    project.write_mapping(NOTES)
    memory = ["--database-url", "duckdb+async:///:memory:"]
    run(runner, "db", "init")
    # Autogenerate compares the mapping with the (empty) database: that revision is kept.
    run(runner, *memory, "db", "revision", "-m", "create notes", "--autogenerate", "--rev-id", "n1")
    commands = [
        ["upgrade"],
        ["downgrade", "base"],
        ["stamp", "n1"],
        ["current"],
        ["check"],
        ["history", "-i"],
        ["reset", "--yes"],
    ]
    for command in commands:
        refused = run(runner, *memory, "db", *command, code=2)
        assert refused.stderr.startswith(
            "error: the database duckdb+async:///:memory: is in memory: it lives only while "
            f"'andamios db {command[0]}"
        ), refused.stderr
    offline = run(runner, *memory, "db", "upgrade", "--sql").stdout
    assert "CREATE TABLE notes" in offline
    assert not project.database.exists()


def test_downgrades_below_base_say_where_the_database_is(
    migrated: Project, runner: CliRunner
) -> None:
    write_revision(migrated.migrations(), "n2", "pass")
    run(runner, "db", "upgrade")
    too_far = run(runner, "db", "downgrade", "-3", code=1)
    assert too_far.stderr == (
        "error: cannot downgrade 3 revisions: the database is at n2, 2 revisions above base "
        "(andamios db downgrade base undoes them all)\n"
    )
    run(runner, "db", "downgrade", "-2")
    nothing = run(runner, "db", "downgrade", "-1", code=1)
    assert nothing.stderr == (
        "error: nothing to downgrade: the database is at base (no revision applied)\n"
    )
    assert run(runner, "db", "downgrade", "base").stderr == ""  # already there: nothing to do


def test_unknown_options_are_usage_errors_and_relative_revisions_are_not(
    migrated: Project, runner: CliRunner
) -> None:
    wrong = run(runner, "db", "upgrade", "--wrong", code=2)
    assert "No such option: --wrong" in wrong.stderr
    assert "revision" not in wrong.stderr.lower().replace("[revision]", "")
    close = run(runner, "db", "downgrade", "-1", "--sq", code=2)
    assert "No such option: --sq" in close.stderr
    assert "--sql" in close.stderr
    # -1 is REVISION wherever it stands; --sql is still the option.
    offline = run(runner, "db", "downgrade", "-1", "--sql", code=2)
    assert offline.stderr == "error: downgrade with --sql requires <fromrev>:<torev>\n"
    run(runner, "db", "downgrade", "--", "-1")
    assert run(runner, "db", "current").stdout == ""
    run(runner, "db", "stamp", "n1")
    assert run(runner, "db", "current").stdout == "n1 (head)\n"


def test_an_integer_key_is_refused_when_the_revision_is_written(
    project: Project, runner: CliRunner
) -> None:
    project.write_mapping(
        'tags = sa.Table("tags", mapping.metadata, sa.Column("id", sa.Integer, primary_key=True))'
    )
    run(runner, "db", "init")
    refused = run(runner, "db", "revision", "-m", "tags", "--autogenerate", code=1)
    # The very message an upgrade of a hand-written create_table gives.
    table = sa.Table("tags", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    assert refused.stderr.endswith(f"error: {serial_refusal(table)}\n")
    assert "DuckDB has no SERIAL" in refused.stderr
    assert list(project.versions.glob("*.py")) == []


WITH_STARS = NOTES.replace(
    '    sa.Column("text", sa.String, nullable=False),\n',
    '    sa.Column("text", sa.String, nullable=False),\n'
    '    sa.Column("stars", sa.Integer, nullable=False),\n'
    '    sa.Column("rank", sa.Integer, nullable=False, server_default="0"),\n',
)


def test_a_not_null_column_without_a_default_stops_the_upgrade_until_edited(
    migrated: Project, runner: CliRunner
) -> None:
    migrated.query("INSERT INTO notes VALUES (uuid(), 'kept')")
    migrated.write_mapping(WITH_STARS)
    checked = run(runner, "db", "check", code=1)
    assert "! notes.stars: NOT NULL without a server_default" in checked.stderr

    created = run(runner, "db", "revision", "-m", "stars", "--autogenerate", "--rev-id", "n2")
    assert "warning: notes.stars: NOT NULL without a server_default" in created.stderr
    path = migrated.revision_file("stars")
    script = path.read_text()
    stop = (
        "    raise MigrationError("
        "'notes.stars is NOT NULL without a server_default: edit this revision')\n"
    )
    assert stop in script
    assert "# notes.stars is NOT NULL and has no server_default:" in script
    assert "from andamios.adapters.migrations import MigrationError" in script
    # The column that has a server_default takes it.
    assert "sa.Column('rank', sa.Integer(), server_default='0', nullable=False)" in script

    stopped = run(runner, "db", "upgrade", code=1)
    assert stopped.stderr.endswith(
        "error: notes.stars is NOT NULL without a server_default: edit this revision\n"
    )
    assert migrated.columns("notes") == ["id", "text"]
    assert run(runner, "db", "current").stdout == "n1\n"

    # Edited as the comment says: a server_default, and no raise.
    path.write_text(
        script.replace(stop, "").replace(
            "sa.Column('stars', sa.Integer(), nullable=False)",
            "sa.Column('stars', sa.Integer(), nullable=False, server_default='3')",
        )
    )
    run(runner, "db", "upgrade")
    assert migrated.query("SELECT text, stars, rank FROM notes") == [("kept", 3, 0)]


def test_reset_asks_first(
    migrated: Project, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated.query("INSERT INTO notes VALUES (uuid(), 'keep me?')")
    no_terminal = run(runner, "db", "reset", stdin="y\n", code=2)
    assert "asks first, on a terminal: this input is not one; pass --yes" in no_terminal.stderr
    assert migrated.query("SELECT count(*) FROM notes") == [(1,)]
    # The runner's input stands for a terminal from here on.
    monkeypatch.setattr("andamios.cli._db._interactive", lambda: True)
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
    assert f"{'pyproject':<30}{project.root / 'pyproject.toml'}" in shown
    assert f"{'mapping':<30}flag.orm:mapping  [from --mapping]" in shown
    assert "(not created: andamios db init)  [from default]" in shown
    (project.root / "pyproject.toml").write_text("[tool.andamios]\nmapings = 1\n")
    wrong = run(runner, "info", code=2)
    assert "unknown setting 'mapings'" in wrong.stderr
    assert "Andamios 0.1.0" in wrong.stdout


def test_the_demo_runs_the_shop_on_migrations(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Any folder: the shop ships in the package, nothing comes from the current directory.
    monkeypatch.chdir(tmp_path)
    kept = tmp_path / "demo.duckdb"
    shown = run(runner, "demo", "--database", str(kept)).stdout
    assert "1. The schema, made by migrations" in shown
    assert "autogenerated " in shown
    assert "2 tables (orders, products)" in shown
    assert "check: the database matches the mapping" in shown
    assert "2. The shop at work" in shown
    assert "order of bob: rejected, not enough POT-01: 1 left, 2 wanted" in shown
    assert "3. Report" in shown
    assert "rows: alembic_version 1, orders 3, products 2" in shown
    assert kept.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["demo.duckdb"]
    again = run(runner, "demo", "--database", str(kept), code=1)
    assert "exists: the demo creates a new database" in again.stderr


def test_the_demo_ignores_the_current_projects_migrations(
    project: Project, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user's own project, with a migrations folder the demo's database knows nothing of.
    run(runner, "db", "init")
    project.write_mapping(NOTES)
    run(runner, "db", "revision", "-m", "notes", "--autogenerate")
    monkeypatch.chdir(project.root)
    shown = run(runner, "demo").stdout
    assert "rows: alembic_version 1, orders 3, products 2" in shown


def test_bench_runs_the_shipped_suite_and_exits_with_its_code(
    project: Project, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A benchmarks/run.py of the current project is never what `andamios bench` runs.
    suite = project.root / "benchmarks"
    suite.mkdir()
    (suite / "__init__.py").write_text("")
    (suite / "run.py").write_text("raise SystemExit('the project's own module ran')\n")
    calls: list[list[str]] = []

    def fake(argv: list[str]) -> int:
        calls.append(argv)
        print("[1/2] inserts")
        print("  .. one", flush=True)
        print("[2/2] reads")
        print("suite", argv, end="" if "--quick" in argv else "\n")
        return 3 if "fail" in argv else 0

    monkeypatch.setattr(benchmark_suite, "main", fake)
    quick = run(runner, "bench", "--quick").stdout
    assert [line for line in quick.splitlines() if line] == [
        "[1/2] inserts",
        "  .. one",
        "[2/2] reads",
        "suite ['--quick']",
    ]
    assert "suite ['fail']" in run(runner, "bench", "fail", code=3).stdout
    assert calls == [["--quick"], ["fail"]]


def test_bench_names_the_libraries_it_lacks(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name in {"pyarrow", "duckdb_engine"} else real(name, *args),
    )
    result = run(runner, "bench", "--quick", code=EXIT_USAGE)
    assert result.stderr.startswith("error: andamios bench needs libraries that are not installed")
    assert "duckdb-engine is not installed (pip install " in result.stderr
    # Without pyarrow the suite runs and skips the bulk rows: it is never a reason to refuse.
    assert "pyarrow" not in result.stderr
    assert result.stdout == ""


def test_the_module_and_the_console_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["andamios", "--version"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0
    with pytest.raises(SystemExit) as exited:
        run_module(monkeypatch, "andamios.cli")
    assert exited.value.code == 0
