"""Where the ``andamios`` command and the migration environment find their settings.

The settings of :class:`andamios.settings.AndamiosSettings`, the ones an application's container
reads, each from the first place that sets it:

1. a command-line flag (``--database-url``, ``--database-schema``, ``--mapping``,
   ``--migrations``), or the value a program passes to :func:`load_settings`;
2. an environment variable: ``ANDAMIOS_DATABASE__URL``, ``ANDAMIOS_DATABASE__SCHEMA``,
   ``ANDAMIOS_MAPPING``, ``ANDAMIOS_MIGRATIONS`` and every other ``ANDAMIOS_*`` setting;
3. ``[tool.andamios]`` in the project's ``pyproject.toml`` (the nearest one above the current
   directory)::

       [tool.andamios]
       mapping = "shop.adapters.orm:mapping"   # module:attribute of a Mapping (or a MetaData)
       migrations = "migrations"               # the migrations folder (this is the default)
       database.url = "duckdb+async:///shop.duckdb"
       # or: database.url = "postgresql+asyncpg://shop@db.internal/shop"
       #     database.schema = "shop"          # PostgreSQL: the schema the tables live in

The URL names the adapter that opens the database (:mod:`andamios.adapters.databases`), which
checks it and is opened with the same database settings as the application's (``extensions``,
``memory_limit``...). Relative paths (a DuckDB file's, the migrations folder) are relative to the
project's folder, the folder of that ``pyproject.toml``, wherever they were set (ADR 0014). A
wrong setting raises :class:`~andamios.ports.errors.ConfigurationError` with one line naming it
and how to fix it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from andamios.adapters.databases import database_class
from andamios.ports.errors import ConfigurationError
from andamios.project import PYPROJECT_TABLE, Project
from andamios.settings import (
    AndamiosSettings,
    DatabaseSettings,
    adapter_of_url,
    env_name,
    load_project_settings,
)

__all__ = [
    "ENV_DATABASE_SCHEMA",
    "ENV_DATABASE_URL",
    "ENV_MAPPING",
    "ENV_MIGRATIONS",
    "ProjectSettings",
    "load_settings",
]

ENV_DATABASE_URL = env_name("database.url")
ENV_DATABASE_SCHEMA = env_name("database.schema")
ENV_MAPPING = env_name("mapping")
ENV_MIGRATIONS = env_name("migrations")

# The flag of each setting the command line sets, for the sources it reports.
_FLAGS = {
    "database.url": "--database-url",
    "database.schema": "--database-schema",
    "mapping": "--mapping",
    "migrations": "--migrations",
}


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
    #: Where each setting that is set came from (dotted names: ``database.url``...): a flag,
    #: a variable or ``pyproject.toml``; ``migrations`` says ``default`` when unset.
    sources: Mapping[str, str] = field(default_factory=dict)
    #: Every setting, as an application's container reads them.
    settings: AndamiosSettings = field(default_factory=AndamiosSettings)

    def require_database_url(self) -> str:
        """The database URL; a :class:`ConfigurationError` saying how to set it if unset."""
        if self.database_url is None:
            raise ConfigurationError(
                "no database URL: set database.url in [tool.andamios] of pyproject.toml, "
                f"{ENV_DATABASE_URL}, or --database-url (e.g. duckdb+async:///app.duckdb)"
            )
        return self.database_url

    def database_settings(self) -> dict[str, Any]:
        """The keywords the database is opened with besides its URL: the settings of the
        URL's adapter that are set (``schema``, ``extensions``, ``memory_limit``...)."""
        return _database_options(self.settings, self.database_url or "")

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


def _database_options(settings: AndamiosSettings, url: str) -> dict[str, Any]:
    """The database settings of ``url``'s adapter that are set, but the URL."""
    adapter = adapter_of_url(url)
    if adapter is None:
        return {}
    options = settings.database.options(adapter)
    defaults = DatabaseSettings().options(adapter)
    del options["url"]
    # Only what was set: a database class registered for another backend takes its own.
    return {name: value for name, value in options.items() if value != defaults.get(name)}


def resolve_database_url(
    url: str, base: Path, source: str = "", settings: Mapping[str, Any] | None = None
) -> str:
    """The URL checked by its adapter (with the database ``settings`` it is opened with), a
    relative file path taken from ``base``."""
    try:
        return database_class(url).resolve_url(url, base, **(settings or {}))
    except ConfigurationError as error:
        origin = f" from {source}" if source else ""
        raise ConfigurationError(f"database URL{origin}: {error}") from error


def load_settings(
    *,
    cwd: Path | None = None,
    database_url: str | None = None,
    database_schema: str | None = None,
    mapping: str | None = None,
    migrations: str | Path | None = None,
) -> ProjectSettings:
    """Resolve the settings of the project of ``cwd``: arguments first, then the environment,
    then ``pyproject.toml``."""
    project = Project.find(cwd)
    database: dict[str, Any] = {}
    if database_url is not None:
        database["url"] = database_url
    if database_schema is not None:
        database["schema"] = database_schema
    given: dict[str, Any] = {"database": database} if database else {}
    if mapping is not None:
        given["mapping"] = mapping
    if migrations is not None:
        given["migrations"] = str(migrations)
    try:
        settings, found = load_project_settings(project, **given)
    except ConfigurationError as error:
        origin = f" and {project.pyproject} {PYPROJECT_TABLE}" if project.pyproject else ""
        raise ConfigurationError(f"{error} (read from the flags, ANDAMIOS_*{origin})") from error
    sources = {
        name: _FLAGS[name] if source == "keyword" else source for name, source in found.items()
    }
    sources.setdefault("migrations", "default")
    url = settings.database.url
    return ProjectSettings(
        root=project.root,
        pyproject=project.pyproject,
        migrations=project.path(settings.migrations),
        database_url=None
        if url is None
        else resolve_database_url(
            url, project.root, sources["database.url"], _database_options(settings, url)
        ),
        database_schema=settings.database.schema_,
        mapping=settings.mapping,
        sources=sources,
        settings=settings,
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
