"""The settings of an Andamios application, read from the environment by pydantic-settings.

::

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

:class:`~andamios.containers.PersistenceContainer` loads :class:`AndamiosSettings` into its
``config`` when it is made; later ``config.from_dict``/``from_value`` calls override it. A
``.env`` file is read with ``AndamiosSettings(_env_file=".env")``. Wrong values raise
:class:`~andamios.ports.errors.ConfigurationError` naming the setting and its variable, and so
do (in :func:`check_settings`) a setting of one adapter given to the other and a URL of the
other adapter's database.

This module imports pydantic only, so a command line can read settings without loading a
database driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from andamios.ports.errors import ConfigurationError

__all__ = [
    "ADAPTERS",
    "ENV_PREFIX",
    "AdapterName",
    "AndamiosSettings",
    "DatabaseSettings",
    "check_settings",
    "env_name",
]

ENV_PREFIX = "ANDAMIOS_"
"""The prefix of every environment variable Andamios reads."""

_NESTED = "__"

type AdapterName = Literal["memory", "duckdb", "postgresql"]
"""The adapters a container can choose with ``adapter``."""

ADAPTERS: tuple[AdapterName, ...] = ("memory", "duckdb", "postgresql")

# The database settings of every adapter that opens one, and those of each adapter alone. The
# memory adapter opens no database: it ignores them all, so that the same configuration can be
# switched to memory for a test with one line (ADR 0007).
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


class AndamiosSettings(BaseSettings):
    """Which adapter to use and how to open its database.

    ``adapter`` is ``duckdb`` unless set: a production process that forgets to configure its
    database fails at startup instead of keeping its data in memory (ADR 0007). ``postgresql``
    opens a PostgreSQL server (the ``postgresql`` extra); tests choose ``memory``. Unknown
    top-level keys are ignored, so an application can keep its own settings in the same
    container ``config``; unknown ``database`` keys are refused.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=_NESTED,
        extra="ignore",
        frozen=True,
    )

    adapter: AdapterName = "duckdb"
    database: DatabaseSettings = DatabaseSettings()

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ConfigurationError(_describe(error)) from error


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
    scheme, separator, _ = url.partition("://")
    # Only the scheme is shown: the rest of a URL may hold a password.
    backend = scheme.partition("+")[0].lower() if separator else ""
    owner = _ADAPTER_OF_BACKEND.get(backend)
    if owner is None or owner == adapter:
        # Not a URL, or not one of another adapter: the adapter's settings tell what is wrong.
        return
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
