"""Settings: flags, then ANDAMIOS_* variables, then [tool.andamios]; one clear line when wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.integration.migrations._project import Project

from andamios.adapters.migrations import ProjectSettings, load_settings
from andamios.ports.errors import ConfigurationError


def _pyproject(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pyproject.toml"
    path.write_text(body)
    return path


def test_pyproject_settings_are_relative_to_its_folder(project: Project) -> None:
    below = project.root / "src" / "deep"
    below.mkdir(parents=True)
    settings = load_settings(cwd=below)
    assert settings.root == project.root
    assert settings.pyproject == project.root / "pyproject.toml"
    assert settings.database_url == f"duckdb+async:///{project.root / 'app.duckdb'}"
    assert settings.mapping == f"{project.package}.orm:mapping"
    assert settings.migrations == project.root / "migrations"
    origin = f"{project.root / 'pyproject.toml'} [tool.andamios]"
    assert settings.sources == {
        "database.url": origin,
        "mapping": origin,
        "migrations": "default",
    }


def test_variables_override_pyproject_and_flags_override_variables(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = project.root / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("ANDAMIOS_DATABASE__URL", "duckdb:///env.duckdb")
    monkeypatch.setenv("ANDAMIOS_MAPPING", "env.orm:mapping")
    monkeypatch.setenv("ANDAMIOS_MIGRATIONS", "env_migrations")
    from_env = load_settings(cwd=elsewhere)
    # Relative to the project's folder, whoever set them: the application reads them so too.
    assert from_env.database_url == f"duckdb+async:///{project.root / 'env.duckdb'}"
    assert from_env.mapping == "env.orm:mapping"
    assert from_env.migrations == project.root / "env_migrations"
    assert from_env.sources == {
        "database.url": "ANDAMIOS_DATABASE__URL",
        "mapping": "ANDAMIOS_MAPPING",
        "migrations": "ANDAMIOS_MIGRATIONS",
    }
    from_flags = load_settings(
        cwd=elsewhere,
        database_url="duckdb+async:////tmp/flag.duckdb",
        mapping="flag.orm:mapping",
        migrations=project.root / "flag_migrations",
    )
    assert from_flags.database_url == "duckdb+async:////tmp/flag.duckdb"
    assert from_flags.mapping == "flag.orm:mapping"
    assert from_flags.migrations == project.root / "flag_migrations"
    assert set(from_flags.sources.values()) == {"--database-url", "--mapping", "--migrations"}


def test_a_postgresql_database_and_its_schema(tmp_path: Path) -> None:
    _pyproject(
        tmp_path,
        '[tool.andamios]\ndatabase.url = "postgres://shop@db/shop"\ndatabase.schema = "sales"\n',
    )
    from_file = load_settings(cwd=tmp_path)
    assert from_file.database_url == "postgresql+asyncpg://shop@db/shop"
    assert from_file.database_schema == "sales"
    assert from_file.database_settings() == {"schema": "sales"}
    assert from_file.sources["database.schema"] == f"{tmp_path / 'pyproject.toml'} [tool.andamios]"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ANDAMIOS_DATABASE__SCHEMA", "billing")
        from_env = load_settings(cwd=tmp_path)
    assert (from_env.database_schema, from_env.sources["database.schema"]) == (
        "billing",
        "ANDAMIOS_DATABASE__SCHEMA",
    )
    from_flag = load_settings(cwd=tmp_path, database_schema="audit")
    assert (from_flag.database_schema, from_flag.sources["database.schema"]) == (
        "audit",
        "--database-schema",
    )
    assert load_settings(cwd=Path("/")).database_settings() == {}
    with pytest.raises(ConfigurationError, match="must name the server's host and the database"):
        load_settings(cwd=tmp_path, database_url="postgresql:///x")


def test_in_memory_urls_are_kept(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path, database_url="duckdb+async:///:memory:")
    assert settings.database_url == "duckdb+async:///:memory:"
    assert settings.pyproject is None or settings.pyproject.parent != tmp_path


def test_without_a_pyproject_the_current_folder_is_the_project(tmp_path: Path) -> None:
    settings = load_settings(cwd=Path("/"))
    assert settings.pyproject is None
    assert settings.root == Path("/")
    assert settings.database_url is None
    assert settings.mapping is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[tool.andamios\n", "cannot read"),
        ("[tool]\nandamios = 3\n", "[tool.andamios] in"),
        ('[tool.andamios]\nmapings = "x:y"\n', "unknown setting 'mapings' in [tool.andamios]"),
        ("[tool.andamios]\nmapping = 3\n", "mapping (ANDAMIOS_MAPPING): Input should be a valid"),
        ('[tool.andamios]\ndatabase = "x"\n', "database in [tool.andamios] of"),
        ('[tool.andamios]\ndatabase.path = "x"\n', "database.path (ANDAMIOS_DATABASE__PATH): "),
        ("[tool.andamios]\ndatabase.schema = 3\n", "database.schema (ANDAMIOS_DATABASE__SCHEMA): "),
        ('[tool.andamios]\ndatabase.url = "sqlite:///x"\n', "no database for 'sqlite' URLs"),
        ('[tool.andamios]\ndatabase.url = "duckdb://host/x"\n', "takes no host"),
        ('[tool.andamios]\nmapping = "shop.orm"\n', 'must be "package.module:attribute"'),
    ],
)
def test_wrong_settings_say_which_and_how_to_fix_them(
    tmp_path: Path, body: str, message: str
) -> None:
    _pyproject(tmp_path, body)
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        load_settings(cwd=tmp_path)


def test_missing_settings_say_how_to_set_them(tmp_path: Path) -> None:
    settings = ProjectSettings(root=tmp_path, pyproject=None, migrations=tmp_path / "m")
    with pytest.raises(ConfigurationError, match=r"no database URL: set database\.url"):
        settings.require_database_url()
    with pytest.raises(ConfigurationError, match="no mapping: set mapping ="):
        settings.require_mapping()
    with pytest.raises(ConfigurationError, match="run 'andamios db init' first"):
        settings.require_migrations()


def test_the_mapping_is_imported_from_the_project(project: Project) -> None:
    project.write_mapping('sa.Table("t", mapping.metadata, sa.Column("a", sa.Integer))\n')
    metadata = project.settings().load_metadata()
    assert list(metadata.tables) == ["t"]
    (project.root / project.package / "meta.py").write_text(
        "import sqlalchemy as sa\nclass Holder:\n    metadata = sa.MetaData()\n"
    )
    holder = project.settings(mapping=f"{project.package}.meta:Holder")
    assert isinstance(holder.load_metadata(), sa.MetaData)


@pytest.mark.parametrize(
    ("mapping", "body", "message"),
    [
        ("nowhere.orm:mapping", None, "cannot import 'nowhere.orm'"),
        ("{package}.orm:mapping", "raise RuntimeError('boom')", "failed: RuntimeError: boom"),
        ("{package}.orm:missing", "", "has no 'missing'"),
        ("{package}.orm:value", "value = 3", "is a int, not an andamios Mapping"),
    ],
)
def test_a_wrong_mapping_says_what_is_wrong(
    project: Project, mapping: str, body: str | None, message: str
) -> None:
    if body is not None:
        (project.root / project.package / "orm.py").write_text(body)
    settings = project.settings(mapping=mapping.format(package=project.package))
    with pytest.raises(ConfigurationError, match=message) as wrong:
        settings.load_metadata()
    assert "(from --mapping)" in str(wrong.value)
