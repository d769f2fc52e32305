"""The settings of an Andamios application: one model for its container, the ``andamios``
command, the migration environment and tests.

Each setting comes from the first of a keyword (a flag, ``config.from_*``), an ``ANDAMIOS_*``
environment variable, ``[tool.andamios]`` of the nearest ``pyproject.toml``, the default;
relative paths are relative to that ``pyproject.toml``'s folder (:mod:`andamios.project`)::

    ANDAMIOS_ADAPTER=duckdb                               # or postgresql, or memory
    ANDAMIOS_DATABASE__URL=duckdb+async:///var/lib/shop/shop.duckdb
    ANDAMIOS_DATABASE__POOL_SIZE=5                        # duckdb and postgresql
    ANDAMIOS_DATABASE__POOL_TIMEOUT=30                    # seconds a unit of work waits
    ANDAMIOS_DATABASE__ECHO=false
    ANDAMIOS_DATABASE__CREATE_TABLES=false               # create missing tables at startup
    ANDAMIOS_DATABASE__THREADS=4                          # duckdb only
    ANDAMIOS_DATABASE__MEMORY_LIMIT=2GB
    ANDAMIOS_DATABASE__READ_ONLY=false
    ANDAMIOS_DATABASE__EXTERNAL_ACCESS=false             # statements reading/writing files
    ANDAMIOS_DATABASE__EXTENSIONS='["spatial"]'          # loaded at open, never downloaded

    ANDAMIOS_ADAPTER=postgresql
    ANDAMIOS_DATABASE__URL=postgresql+asyncpg://shop:secret@db.internal:5432/shop
    ANDAMIOS_DATABASE__MAX_OVERFLOW=10                    # postgresql only
    ANDAMIOS_DATABASE__STATEMENT_TIMEOUT=15
    ANDAMIOS_DATABASE__ISOLATION_LEVEL="REPEATABLE READ"
    ANDAMIOS_DATABASE__SCHEMA=shop
    ANDAMIOS_DATABASE__REPLICA_URL=postgresql+asyncpg://shop:secret@replica.internal/shop

    ANDAMIOS_MAPPING=shop.adapters.orm:mapping            # what andamios db migrates
    ANDAMIOS_MIGRATIONS=migrations                        # the migrations folder
    ANDAMIOS_SCHEMA_CHECK=error                           # or warn, off: database not at head

:class:`~andamios.containers.PersistenceContainer` loads :class:`AndamiosSettings` into its
``config`` when it is made; later ``config.from_dict``/``from_value`` calls override it. A
``.env`` file is read with ``AndamiosSettings(_env_file=".env")``. Wrong values raise
:class:`~andamios.ports.errors.ConfigurationError` naming the setting and its variable, and so
do (in :func:`check_settings`) a setting of one adapter given to the other and a URL of the
other adapter's database.

This module imports pydantic and the standard library only, so a command line can read
settings without loading a database driver.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from andamios.ports.errors import ConfigurationError
from andamios.project import PYPROJECT_TABLE, Project

__all__ = [
    "ADAPTERS",
    "ENV_PREFIX",
    "AdapterName",
    "AndamiosSettings",
    "DatabaseSettings",
    "ObservabilitySettings",
    "SchemaCheck",
    "adapter_of_url",
    "check_settings",
    "env_name",
    "load_project_settings",
    "setting_sources",
]

ENV_PREFIX = "ANDAMIOS_"
"""The prefix of every environment variable Andamios reads."""

_NESTED = "__"

type AdapterName = Literal["memory", "duckdb", "postgresql"]
"""The adapters a container can choose with ``adapter``."""

ADAPTERS: tuple[AdapterName, ...] = ("memory", "duckdb", "postgresql")

type SchemaCheck = Literal["error", "warn", "off"]
"""What a container does when its database's schema is not migrated to head (``schema_check``)."""

# The database settings of every adapter that opens one, and those of each adapter alone. The
# memory adapter opens no database: it ignores them all but the pool's (``pool_size``,
# ``pool_timeout``: as many units of work hold a transaction at once as a pool has
# connections), so that the same configuration can be switched to memory for a test with one
# line (ADR 0007).
_SHARED_SETTINGS = ("url", "pool_size", "pool_timeout", "echo")
_OWN_SETTINGS: dict[AdapterName, tuple[str, ...]] = {
    "memory": (),
    "duckdb": ("threads", "memory_limit", "read_only", "external_access", "extensions"),
    "postgresql": (
        "max_overflow",
        "statement_timeout",
        "lock_timeout",
        "isolation_level",
        "schema",
        "replica_url",
    ),
}
# An example URL of each database, for the messages that ask for one.
_EXAMPLE_URLS: dict[AdapterName, str] = {
    "duckdb": "duckdb+async:///app.duckdb",
    "postgresql": "postgresql+asyncpg://user:password@host:5432/database",
}
# The adapter a URL's backend (the part of its scheme before "+") belongs to. "postgres" is
# what Heroku-style platforms hand out, and the PostgreSQL adapter takes it.
_ADAPTER_OF_BACKEND: dict[str, AdapterName] = {
    "duckdb": "duckdb",
    "postgresql": "postgresql",
    "postgres": "postgresql",
}


def env_name(setting: str) -> str:
    """The variable of a dotted setting: ``database.url`` -> ``ANDAMIOS_DATABASE__URL``."""
    return ENV_PREFIX + setting.replace(".", _NESTED).upper()


def adapter_of_url(url: str) -> AdapterName | None:
    """The adapter whose database ``url`` names (``postgres://`` is PostgreSQL's), if any."""
    scheme, separator, _ = url.partition("://")
    backend = scheme.partition("+")[0].lower() if separator else ""
    return _ADAPTER_OF_BACKEND.get(backend)


class DatabaseSettings(BaseModel):
    """The database the ``duckdb`` or ``postgresql`` adapter opens (``ANDAMIOS_DATABASE__*``).

    - ``url``, ``pool_size``, ``pool_timeout`` (the seconds a unit of work waits for a pooled
      connection) and ``echo`` are settings of both.
    - ``threads``, ``memory_limit``, ``read_only``, ``external_access`` and ``extensions`` are
      those of :class:`~andamios.adapters.duckdb.DuckDBSettings` alone.
    - ``max_overflow``, ``statement_timeout``, ``lock_timeout``, ``isolation_level``,
      ``schema`` and ``replica_url`` are those of
      :class:`~andamios.adapters.postgresql.PostgreSQLSettings` alone. ``schema`` is read as
      ``settings.schema_`` (pydantic's models have a ``schema`` method); everywhere else
      (keywords, configuration, environment) it is ``schema``.
    - ``create_tables``: create the mapping's missing tables at startup (for development, demos
      and tests; production databases are migrated).

    The settings of one adapter are ``None`` unless set, meaning the adapter's default, so that
    :func:`check_settings` can refuse one that was set for the other adapter. The adapter's own
    settings class checks the values (this module imports no adapter).
    """

    # serialize_by_alias: the container's config holds the dump of these settings, under the
    # keys that users write (schema, not schema_).
    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    url: str | None = None
    pool_size: int = Field(default=5, ge=1)
    pool_timeout: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    echo: bool = False
    create_tables: bool = False
    threads: int | None = Field(default=None, ge=1)
    memory_limit: str | None = None
    read_only: bool | None = None
    external_access: bool | None = None
    extensions: tuple[str, ...] | None = None
    max_overflow: int | None = Field(default=None, ge=0)
    statement_timeout: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    lock_timeout: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    isolation_level: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    replica_url: str | None = None

    def options(self, adapter: AdapterName) -> dict[str, Any]:
        """The keyword arguments of ``adapter``'s settings class: the shared settings, and its
        own that are set (the others keep the adapter's defaults). Empty for ``memory``."""
        if adapter == "memory":
            return {}
        values = self.model_dump()
        shared = {name: values[name] for name in _SHARED_SETTINGS}
        own = {name: values[name] for name in _OWN_SETTINGS[adapter] if values[name] is not None}
        return shared | own


class ObservabilitySettings(BaseModel):
    """What a container tells about its units of work (``ANDAMIOS_OBSERVABILITY__*``).

    - ``slow_threshold``: log every operation, statement and commit that takes at least this
      many seconds (:class:`~andamios.observability.SlowOperationLog`, logger
      ``andamios.slow``); ``None`` (the default) logs none.
    - ``metrics``: count and time units of work, operations, statements and bus retries in
      process (:class:`~andamios.observability.Metrics`, ``container.metrics()``).
    - ``opentelemetry``: a span per unit of work, operation and statement
      (:class:`~andamios.observability.OpenTelemetryHooks`; the ``opentelemetry`` extra), on
      the global tracer provider.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    slow_threshold: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    metrics: bool = False
    opentelemetry: bool = False


# The project whose [tool.andamios] table settings read (load_project_settings sets it); None:
# the project of the current directory.
_PROJECT: ContextVar[Project | None] = ContextVar("andamios_project", default=None)


class _ProjectTable(PydanticBaseSettingsSource):
    """``[tool.andamios]`` of the nearest ``pyproject.toml``: below the environment, above the
    defaults."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: :meth:`__call__` gives the whole table at once."""
        raise NotImplementedError  # pydantic-settings calls __call__ only

    def __call__(self) -> dict[str, Any]:
        project = _PROJECT.get() or Project.find()
        return dict(project.table)


class AndamiosSettings(BaseSettings):
    """Which adapter to use, how to open its database, and where the project's mapping and
    migrations are.

    Each setting comes from the first place that sets it: a keyword (a command-line flag, a
    container's ``config.from_*``), an ``ANDAMIOS_*`` environment variable, ``[tool.andamios]``
    in the nearest ``pyproject.toml`` above the current directory, the default. Relative paths
    (a DuckDB file's, the migrations folder) are relative to the project's folder: the folder of
    that ``pyproject.toml`` (the current directory without one), whoever set them.

    ``adapter`` is ``duckdb`` unless set: a production process that forgets to configure its
    database fails at startup instead of keeping its data in memory (ADR 0007). ``postgresql``
    opens a PostgreSQL server (the ``postgresql`` extra); tests choose ``memory``. ``mapping``
    (``package.module:attribute``) and ``migrations`` (a folder) are what ``andamios db``
    migrates; ``schema_check`` is what a container does when the database it opens is not
    migrated to head (``error``, ``warn`` or ``off``); ``unit_of_work``
    (``package.module:Shape``) is the shape the pytest plugin (:mod:`andamios.testing.plugin`)
    makes units of work of; ``observability`` turns the shipped hooks on
    (:class:`ObservabilitySettings`). Unknown top-level keys are ignored, so an
    application can keep its own settings in the same container ``config``; unknown
    ``database`` keys are refused.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=_NESTED,
        extra="ignore",
        frozen=True,
    )

    adapter: AdapterName = "duckdb"
    database: DatabaseSettings = DatabaseSettings()
    mapping: str | None = None
    migrations: str = "migrations"
    schema_check: SchemaCheck = "error"
    unit_of_work: str | None = None
    observability: ObservabilitySettings = ObservabilitySettings()

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ConfigurationError(_describe(error)) from error

    @field_validator("mapping", "unit_of_work")
    @classmethod
    def _import_path(cls, value: str | None) -> str | None:
        if value is not None and ":" not in value:
            msg = 'must be "package.module:attribute", e.g. "shop.adapters.orm:mapping"'
            raise ValueError(msg)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keywords, the environment, a ``.env`` file, then ``[tool.andamios]``."""
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            _ProjectTable(settings_cls),
            file_secret_settings,
        )


@contextlib.contextmanager
def _reading(project: Project) -> Iterator[None]:
    token = _PROJECT.set(project)
    try:
        yield
    finally:
        _PROJECT.reset(token)


def load_project_settings(
    project: Project | None = None, **given: Any
) -> tuple[AndamiosSettings, dict[str, str]]:
    """The settings of ``project`` (default: the current directory's), ``given`` first, and
    where each came from (:func:`setting_sources`)."""
    project = project or Project.find()
    with _reading(project):
        settings = AndamiosSettings(**given)
    return settings, setting_sources(project, given)


def _leaves(values: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield prefix + key


def setting_sources(project: Project, given: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Where each dotted setting that is set came from: ``keyword`` (``given``), its
    ``ANDAMIOS_*`` variable, or ``<pyproject> [tool.andamios]``; the others keep their default."""
    given_keys = set(_leaves(given or {}))
    tables: dict[str, type[BaseModel]] = {
        "database": DatabaseSettings,
        "observability": ObservabilitySettings,
    }
    names = [name for name in AndamiosSettings.model_fields if name not in tables]
    names += [
        f"{table}.{field.alias or name}"
        for table, model in tables.items()
        for name, field in model.model_fields.items()
    ]
    table_keys = set(_leaves(project.table))
    sources: dict[str, str] = {}
    for name in names:
        if name in given_keys:
            sources[name] = "keyword"
        elif os.environ.get(env_name(name)):
            sources[name] = env_name(name)
        elif name in table_keys:
            sources[name] = f"{project.pyproject} {PYPROJECT_TABLE}"
    return sources


def _describe(error: ValidationError) -> str:
    """One line per wrong setting, naming it, its environment variable and the value given."""
    problems = []
    for each in error.errors():
        setting = ".".join(str(part) for part in each["loc"])
        problems.append(f"{setting} ({env_name(setting)}): {each['msg']}, got {each['input']!r}")
    return "invalid Andamios settings: " + "; ".join(problems)


def check_settings(config: Mapping[str, Any]) -> AndamiosSettings:
    """Validate a container's configuration as it stands, and check it is complete.

    Raises :class:`ConfigurationError` naming the setting for a wrong value; for the ``duckdb``
    and ``postgresql`` adapters also without ``database.url``, with the URL of the other one's
    database, and with a setting of the other one (``threads`` for ``postgresql``, ``schema``
    for ``duckdb``...), which would otherwise be ignored in silence. Variables of the environment
    fill in settings that ``config`` lacks.
    """
    settings = AndamiosSettings(**config)
    adapter = settings.adapter
    if adapter == "memory":
        return settings
    url = settings.database.url
    if not url:
        msg = (
            f"database.url ({env_name('database.url')}) is not set: the {adapter} adapter needs "
            f"a database URL such as {_EXAMPLE_URLS[adapter]} "
            "(or choose the memory adapter with adapter=memory)"
        )
        raise ConfigurationError(msg)
    _check_backend(adapter, url)
    _check_own_settings(adapter, settings.database)
    return settings


def _check_backend(adapter: AdapterName, url: str) -> None:
    """Refuse the URL of the other adapter's database, naming both settings and the fix."""
    owner = adapter_of_url(url)
    if owner is None or owner == adapter:
        # Not a URL, or not one of another adapter: the adapter's settings tell what is wrong.
        return
    scheme = url.partition("://")[0]  # only the scheme: the rest of a URL may hold a password
    msg = (
        f"database.url ({env_name('database.url')}): a {owner} URL ({scheme}://...) does not fit "
        f"adapter ({env_name('adapter')}) {adapter!r}: give a {adapter} URL such as "
        f"{_EXAMPLE_URLS[adapter]}, or choose adapter={owner}"
    )
    raise ConfigurationError(msg)


def _check_own_settings(adapter: AdapterName, database: DatabaseSettings) -> None:
    """Refuse every setting of another adapter that is set, one line each."""
    takes = {*_SHARED_SETTINGS, *_OWN_SETTINGS[adapter]}
    values = database.model_dump()
    problems = []
    for owner, names in _OWN_SETTINGS.items():
        for name in names:
            if name not in takes and values[name] is not None:
                setting = f"database.{name}"
                # No value shown: replica_url's may hold a password.
                problems.append(
                    f"{setting} ({env_name(setting)}) does not apply to the {adapter} adapter "
                    f"(only {owner} takes it): unset it, or choose adapter={owner}"
                )
    if problems:
        raise ConfigurationError("; ".join(problems))
