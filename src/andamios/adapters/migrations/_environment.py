"""What a migration environment (``env.py``) needs: settings, metadata, options, a connection."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from andamios.adapters.databases import open_database
from andamios.adapters.migrations._autogenerate import (
    include_object,
    process_revision_directives,
    render_item,
)
from andamios.adapters.migrations._settings import ProjectSettings, load_settings

__all__ = ["SETTINGS_ATTRIBUTE", "MigrationEnvironment"]

#: The key of Alembic's ``Config.attributes`` under which ``andamios db`` passes its settings.
SETTINGS_ATTRIBUTE = "andamios.settings"


class MigrationEnvironment:
    """The database, the target metadata and Alembic's options, for one ``env.py``.

    ::

        environment = MigrationEnvironment.from_config(context.config)
        context.configure(connection=connection, **environment.options())

    Run by ``andamios db``, it uses the command's settings; run by plain ``alembic``, it reads
    them as the command does (``[tool.andamios]``, ``ANDAMIOS_*``), and ``sqlalchemy.url`` of
    ``alembic.ini``, if set, names the database. The database is opened by the adapter its URL
    names (:mod:`andamios.adapters.databases`): DuckDB, PostgreSQL, or a registered one.
    """

    def __init__(self, settings: ProjectSettings) -> None:
        self.settings = settings
        self._dialect: sa.Dialect | None = None

    @classmethod
    def from_config(cls, config: Config) -> Self:
        """The environment of the running Alembic command."""
        settings = config.attributes.get(SETTINGS_ATTRIBUTE)
        if not isinstance(settings, ProjectSettings):
            here = Path(config.config_file_name).parent if config.config_file_name else None
            settings = load_settings(
                cwd=here, database_url=config.get_main_option("sqlalchemy.url")
            )
        return cls(settings)

    @property
    def url(self) -> str:
        """The URL of the database to migrate."""
        return self.settings.require_database_url()

    @property
    def dialect(self) -> sa.Dialect:
        """The database's SQLAlchemy dialect: the one :meth:`connect` opened, else the URL's."""
        if self._dialect is None:
            self._dialect = make_url(self.url).get_dialect()()
        return self._dialect

    @functools.cached_property
    def metadata(self) -> sa.MetaData | None:
        """The mapping's tables (what autogenerate compares with); ``None`` without a mapping."""
        return None if self.settings.mapping is None else self.settings.load_metadata()

    def options(self, **overrides: Any) -> dict[str, Any]:
        """The keywords of ``context.configure`` (``overrides`` win)."""
        options: dict[str, Any] = {
            "target_metadata": self.metadata,
            "compare_type": True,
            "render_item": render_item,
            "include_object": self.include_object,
            "process_revision_directives": process_revision_directives,
        }
        options.update(overrides)
        return options

    def include_object(
        self, obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        """Alembic's ``include_object`` hook: :func:`~._autogenerate.include_object` on the
        database's :attr:`dialect` (asked when autogenerate compares, once connected)."""
        return include_object(obj, name, type_, reflected, compare_to, dialect=self.dialect)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """Open the database and yield one connection to migrate it with."""
        async with open_database(self.url, **self.settings.database_settings()) as database:
            engine = database.engine
            self._dialect = engine.dialect
            async with engine.connect() as connection:
                yield connection
