"""Alembic's commands for a project (what ``andamios db`` runs), and plain ``alembic`` too."""

from __future__ import annotations

import dataclasses
import io
import textwrap

import pytest
from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from tests.integration.migrations._project import Project

from andamios.adapters.migrations import Migrations
from andamios.ports.errors import ConfigurationError

TABLE = """\
sa.Table("notes", mapping.metadata, sa.Column("id", sa.Uuid, primary_key=True))
"""


def _printed(project: Project, run: str, **kw: object) -> str:
    output = io.StringIO()
    getattr(Migrations(project.settings(), stdout=output), run)(**kw)
    return output.getvalue()


def test_commands_print_what_alembic_prints(project: Project) -> None:
    project.write_mapping(TABLE)
    migrations = project.migrations()
    assert migrations.init() == project.root / "migrations"
    assert sorted(p.name for p in (project.root / "migrations").iterdir()) == [
        "README",
        "env.py",
        "script.py.mako",
        "versions",
    ]
    migrations.revision("create notes", autogenerate=True, rev_id="n1")
    migrations.revision("nothing", rev_id="n2")

    assert migrations.current_revisions() == ()
    assert migrations.head_revisions() == ("n2",)
    migrations.stamp("n1")
    assert _printed(project, "current") == "n1\n"
    assert "n1 -> n2 (head), nothing" in _printed(project, "history")
    assert "Rev: n1" in _printed(project, "history", rev_range="base:n1", verbose=True)
    assert "(current)" in _printed(project, "history", indicate_current=True)
    assert _printed(project, "heads") == "n2 (head)\n"
    assert "Revision ID: n2" in _printed(project, "heads", verbose=True)
    # Stamped, not run: the table was never created, and check says so.
    result = migrations.check()
    assert not result.up_to_date
    assert (result.current, result.heads) == (("n1",), ("n2",))
    migrations.stamp("base")
    migrations.upgrade()
    assert migrations.check().ok
    migrations.downgrade("base")
    assert project.tables() == ["alembic_version"]


def test_commands_need_the_migrations_folder_and_settings(project: Project) -> None:
    migrations = project.migrations()
    with pytest.raises(ConfigurationError, match="run 'andamios db init' first"):
        migrations.upgrade()
    migrations.init()
    with pytest.raises(ConfigurationError, match="already exists and is not empty"):
        migrations.init()
    no_mapping = Migrations(dataclasses.replace(project.settings(), mapping=None))
    with pytest.raises(ConfigurationError, match="no mapping"):
        no_mapping.revision("x", autogenerate=True)
    with pytest.raises(ConfigurationError, match="no mapping"):
        no_mapping.check()
    project.write_mapping(TABLE)
    with pytest.raises(CommandError, match="Can't locate revision"):
        migrations.upgrade("nope")


def test_reset_deletes_the_file_and_migrates_a_new_one(project: Project) -> None:
    project.write_mapping(TABLE)
    migrations = project.migrations()
    migrations.init()
    migrations.revision("create notes", autogenerate=True)
    migrations.upgrade()
    project.query("INSERT INTO notes VALUES (uuid())")
    migrations.reset()
    assert project.query("SELECT count(*) FROM notes") == [(0,)]
    assert migrations.check().ok
    memory = project.migrations(database_url="duckdb+async:///:memory:")
    with pytest.raises(ConfigurationError, match="in memory"):
        memory.reset()


def test_plain_alembic_uses_the_same_environment(project: Project) -> None:
    project.write_mapping(TABLE)
    project.migrations().init()
    ini = project.root / "alembic.ini"
    ini.write_text(
        textwrap.dedent(
            """\
            [alembic]
            script_location = %(here)s/migrations
            path_separator = os
            """
        )
    )
    config = Config(str(ini), stdout=io.StringIO())
    command.revision(config, "create notes", autogenerate=True, rev_id="p1")
    command.upgrade(config, "head")
    assert project.tables() == ["alembic_version", "notes"]
    # sqlalchemy.url of alembic.ini wins over [tool.andamios].
    other = project.root / "other.duckdb"
    config.set_main_option("sqlalchemy.url", f"duckdb:///{other}")
    command.upgrade(config, "head")
    assert other.exists()
