"""The settings of an Andamios application, read from the environment by pydantic-settings.

::

    ANDAMIOS_ADAPTER=duckdb                               # or memory
    ANDAMIOS_DATABASE__URL=duckdb+async:///var/lib/shop/shop.duckdb
    ANDAMIOS_DATABASE__THREADS=4
    ANDAMIOS_DATABASE__MEMORY_LIMIT=2GB
    ANDAMIOS_DATABASE__READ_ONLY=false
    ANDAMIOS_DATABASE__EXTERNAL_ACCESS=true
    ANDAMIOS_DATABASE__POOL_SIZE=5
    ANDAMIOS_DATABASE__ECHO=false
    ANDAMIOS_DATABASE__CREATE_TABLES=false               # create missing tables at startup

:class:`~andamios.containers.PersistenceContainer` loads :class:`AndamiosSettings` into its
``config`` when it is made; later ``config.from_dict``/``from_value`` calls override it. A
``.env`` file is read with ``AndamiosSettings(_env_file=".env")``. Wrong values raise
:class:`~andamios.ports.errors.ConfigurationError` naming the setting and its variable.

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

type AdapterName = Literal["memory", "duckdb"]
"""The adapters a container can choose with ``adapter``."""

ADAPTERS: tuple[AdapterName, ...] = ("memory", "duckdb")


def env_name(setting: str) -> str:
    """The variable of a dotted setting: ``database.url`` -> ``ANDAMIOS_DATABASE__URL``."""
    return ENV_PREFIX + setting.replace(".", _NESTED).upper()


class DatabaseSettings(BaseModel):
    """The DuckDB database the ``duckdb`` adapter opens (``ANDAMIOS_DATABASE__*``).

    The fields are those of :class:`~andamios.adapters.duckdb.DuckDBSettings`, plus
    ``create_tables``: create the mapping's missing tables at startup (for development, demos
    and tests; production databases are migrated).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    threads: int | None = Field(default=None, ge=1)
    memory_limit: str | None = None
    read_only: bool = False
    external_access: bool = True
    pool_size: int = Field(default=5, ge=1)
    echo: bool = False
    create_tables: bool = False


class AndamiosSettings(BaseSettings):
    """Which adapter to use and how to open its database.

    ``adapter`` is ``duckdb`` unless set: a production process that forgets to configure its
    database fails at startup instead of keeping its data in memory (ADR 0007). Tests choose
    ``memory``. Unknown top-level keys are ignored, so an application can keep its own settings
    in the same container ``config``; unknown ``database`` keys are refused.
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

    Raises :class:`ConfigurationError` naming the setting for a wrong value, and for the
    ``duckdb`` adapter without ``database.url``. Variables of the environment fill in settings
    that ``config`` lacks.
    """
    settings = AndamiosSettings(**config)
    if settings.adapter == "duckdb" and not settings.database.url:
        msg = (
            f"database.url ({env_name('database.url')}) is not set: the duckdb adapter needs "
            "a database URL such as duckdb+async:///app.duckdb "
            "(or choose the memory adapter with adapter=memory)"
        )
        raise ConfigurationError(msg)
    return settings
