"""The settings every ``andamios`` command resolves from its flags (see ``load_settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from andamios.adapters.migrations import Migrations, ProjectSettings

__all__ = ["Options", "migrations", "options", "settings"]


@dataclass(frozen=True, slots=True)
class Options:
    """The global flags: overrides of the settings, and ``--traceback``."""

    database_url: str | None = None
    mapping: str | None = None
    migrations: str | None = None
    traceback: bool = False
    database_schema: str | None = None


def options(ctx: typer.Context) -> Options:
    """The global flags given to this invocation."""
    found = ctx.find_object(Options)
    return found if found is not None else Options()


def settings(ctx: typer.Context) -> ProjectSettings:
    """The project's settings: flags, then ``ANDAMIOS_*``, then ``[tool.andamios]``."""
    from andamios.adapters.migrations import load_settings  # noqa: PLC0415 - loads Alembic

    given = options(ctx)
    return load_settings(
        database_url=given.database_url,
        database_schema=given.database_schema,
        mapping=given.mapping,
        migrations=given.migrations,
    )


def migrations(ctx: typer.Context) -> Migrations:
    """The project's migrations."""
    from andamios.adapters.migrations import Migrations  # noqa: PLC0415 - loads Alembic

    return Migrations(settings(ctx))
