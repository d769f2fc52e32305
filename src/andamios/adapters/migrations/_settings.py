"""Where the ``andamios`` command and the migration environment find their settings.

Four settings, each from the first place that sets it:

1. a command-line flag (``--database-url``, ``--database-schema``, ``--mapping``,
   ``--migrations``), or the value a program passes to :func:`load_settings`;
2. an environment variable: ``ANDAMIOS_DATABASE__URL`` and ``ANDAMIOS_DATABASE__SCHEMA`` (the
   variables an application's container reads too), ``ANDAMIOS_MAPPING``,
   ``ANDAMIOS_MIGRATIONS``;
3. ``[tool.andamios]`` in the project's ``pyproject.toml`` (the nearest one above the current
   directory)::

       [tool.andamios]
       mapping = "shop.adapters.orm:mapping"   # module:attribute of a Mapping (or a MetaData)
       migrations = "migrations"               # the migrations folder (this is the default)
       database.url = "duckdb+async:///shop.duckdb"
       # or: database.url = "postgresql+asyncpg://shop@db.internal/shop"
       #     database.schema = "shop"          # PostgreSQL: the schema the tables live in

The URL names the adapter that opens the database (:mod:`andamios.adapters.databases`), which
checks it. Relative paths in ``pyproject.toml`` (a DuckDB file's too) are relative to its folder;
relative paths from flags and variables are relative to the current directory. A wrong setting
raises :class:`~andamios.ports.errors.ConfigurationError` with one line naming it and how to fix
it.
"""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from andamios.adapters.databases import database_class
from andamios.ports.errors import ConfigurationError

__all__ = [
    "ENV_DATABASE_SCHEMA",
    "ENV_DATABASE_URL",
    "ENV_MAPPING",
    "ENV_MIGRATIONS",
    "ProjectSettings",
    "load_settings",
]

ENV_DATABASE_URL = "ANDAMIOS_DATABASE__URL"
ENV_DATABASE_SCHEMA = "ANDAMIOS_DATABASE__SCHEMA"
ENV_MAPPING = "ANDAMIOS_MAPPING"
ENV_MIGRATIONS = "ANDAMIOS_MIGRATIONS"

_TOOL = "[tool.andamios]"
_KEYS = {"mapping": str, "migrations": str, "database": dict}
_DATABASE_KEYS = {"url", "schema"}
_DEFAULT_MIGRATIONS = "migrations"


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    """The resolved settings, and where each came from (for ``andamios info``)."""

    #: The project's folder: where ``pyproject.toml`` is, else the current directory.
    root: Path
    #: The ``pyproject.toml`` read, if one was found.
    pyproject: Path | None
    #: The migrations folder (absolute).
    migrations: Path
    #: The database URL (``duckdb+async:///...``, file paths absolute), if set.
    database_url: str | None = None
    #: The schema the tables live in (a setting of PostgreSQL databases), if set.
    database_schema: str | None = None
    #: The mapping's import path (``package.module:attribute``), if set.
    mapping: str | None = None
    #: Where each setting came from: a flag, a variable, ``pyproject.toml`` or the default.
    sources: Mapping[str, str] = field(default_factory=dict)

    def require_database_url(self) -> str:
        """The database URL; a :class:`ConfigurationError` saying how to set it if unset."""
        if self.database_url is None:
            raise ConfigurationError(
                "no database URL: set database.url in [tool.andamios] of pyproject.toml, "
                f"{ENV_DATABASE_URL}, or --database-url (e.g. duckdb+async:///app.duckdb)"
            )
        return self.database_url

    def database_settings(self) -> dict[str, str]:
        """The keywords the database is opened with besides its URL (``schema``, if set)."""
        return {} if self.database_schema is None else {"schema": self.database_schema}

    def require_mapping(self) -> str:
        """The mapping's import path; a :class:`ConfigurationError` saying how to set it."""
        if self.mapping is None:
            raise ConfigurationError(
                'no mapping: set mapping = "package.module:attribute" in [tool.andamios] of '
                f"pyproject.toml, {ENV_MAPPING}, or --mapping (the Mapping whose tables "
                "migrations follow)"
            )
        return self.mapping

    def require_migrations(self) -> Path:
        """The migrations folder; a :class:`ConfigurationError` if it was never initialised."""
        if not (self.migrations / "env.py").is_file():
            raise ConfigurationError(
                f"no migrations folder at {self.migrations}: run 'andamios db init' first, or "
                f"set migrations in [tool.andamios], {ENV_MIGRATIONS} or --migrations"
            )
        return self.migrations

    def load_metadata(self) -> sa.MetaData:
        """Import the mapping and return its ``MetaData``."""
        return load_metadata(self.require_mapping(), self.root, self.sources.get("mapping", ""))


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _read_tool_table(pyproject: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"cannot read {pyproject}: {error}") from error
    table = document.get("tool", {}).get("andamios", {})
    if not isinstance(table, dict):
        raise ConfigurationError(f"{_TOOL} in {pyproject} must be a table")
    for key, value in table.items():
        expected = _KEYS.get(key)
        if expected is None:
            raise ConfigurationError(
                f"unknown setting {key!r} in {_TOOL} of {pyproject}; known: "
                "mapping, migrations, database.url"
            )
        if not isinstance(value, expected):
            kind = "a table" if expected is dict else "a string"
            raise ConfigurationError(f"{key} in {_TOOL} of {pyproject} must be {kind}")
    database = table.get("database", {})
    for key, value in database.items():
        if key not in _DATABASE_KEYS or not isinstance(value, str):
            raise ConfigurationError(
                f"database.{key} in {_TOOL} of {pyproject} is not a setting; the database "
                'is set with database.url = "duckdb+async:///app.duckdb" (and, for '
                'PostgreSQL, database.schema = "name"), each a string'
            )
    return table


def _database_url(url: str, base: Path, source: str) -> str:
    """The URL checked by its adapter, a relative file path taken from ``base``."""
    try:
        return database_class(url).resolve_url(url, base)
    except ConfigurationError as error:
        raise ConfigurationError(f"database URL from {source}: {error}") from error


def load_settings(
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    database_url: str | None = None,
    database_schema: str | None = None,
    mapping: str | None = None,
    migrations: str | Path | None = None,
) -> ProjectSettings:
    """Resolve the settings: arguments first, then the environment, then ``pyproject.toml``."""
    here = (cwd or Path.cwd()).absolute()
    env = os.environ if environ is None else environ
    pyproject = find_pyproject(here)
    root = pyproject.parent if pyproject is not None else here
    tool = _read_tool_table(pyproject) if pyproject is not None else {}
    file_source = f"{pyproject} {_TOOL}"
    sources: dict[str, str] = {}

    def pick(
        key: str, flag: str, given: str | None, variable: str, from_file: str | None
    ) -> tuple[str | None, Path]:
        if given is not None:
            sources[key] = flag
            return given, here
        if env.get(variable):
            sources[key] = variable
            return env[variable], here
        if from_file is not None:
            sources[key] = file_source
            return from_file, root
        return None, root

    url, url_base = pick(
        "database_url",
        "--database-url",
        database_url,
        ENV_DATABASE_URL,
        tool.get("database", {}).get("url"),
    )
    schema, _ = pick(
        "database_schema",
        "--database-schema",
        database_schema,
        ENV_DATABASE_SCHEMA,
        tool.get("database", {}).get("schema"),
    )
    map_path, _ = pick("mapping", "--mapping", mapping, ENV_MAPPING, tool.get("mapping"))
    folder, folder_base = pick(
        "migrations",
        "--migrations",
        None if migrations is None else str(migrations),
        ENV_MIGRATIONS,
        tool.get("migrations"),
    )
    if folder is None:
        folder = _DEFAULT_MIGRATIONS
        sources["migrations"] = "default"
    if map_path is not None and ":" not in map_path:
        raise ConfigurationError(
            f"mapping {map_path!r} (from {sources['mapping']}) must be "
            '"package.module:attribute", e.g. "shop.adapters.orm:mapping"'
        )
    return ProjectSettings(
        root=root,
        pyproject=pyproject,
        migrations=(folder_base / folder).resolve(),
        database_url=None if url is None else _database_url(url, url_base, sources["database_url"]),
        database_schema=schema,
        mapping=map_path,
        sources=sources,
    )


def load_metadata(import_path: str, root: Path, source: str = "") -> sa.MetaData:
    """Import ``package.module:attribute`` (a ``Mapping`` or a ``MetaData``) from ``root``."""
    module_name, _, attribute = import_path.partition(":")
    origin = f" (from {source})" if source else ""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(
            f"mapping {import_path!r}{origin}: cannot import {module_name!r} ({error}); "
            f"it is imported from {root}"
        ) from error
    except Exception as error:  # the module itself is broken
        raise ConfigurationError(
            f"mapping {import_path!r}{origin}: importing {module_name!r} failed: "
            f"{type(error).__name__}: {error}"
        ) from error
    found = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ConfigurationError(
                f"mapping {import_path!r}{origin}: module {module_name!r} has no {attribute!r}"
            )
        found = getattr(found, part)
    metadata = getattr(found, "metadata", found)
    if not isinstance(metadata, sa.MetaData):
        raise ConfigurationError(
            f"mapping {import_path!r}{origin} is a {type(found).__name__}, not an "
            "andamios Mapping (or a SQLAlchemy MetaData)"
        )
    return metadata
