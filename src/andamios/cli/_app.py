"""The ``andamios`` command: its root, ``info``, and the sub-commands."""

from __future__ import annotations

import platform
import sys
from importlib.metadata import version
from typing import Annotated, Any

import typer

import andamios
from andamios.cli._bench import bench
from andamios.cli._context import Options, settings
from andamios.cli._db import db
from andamios.cli._demo import demo
from andamios.cli._output import handled

__all__ = ["app"]

app = typer.Typer(
    name="andamios",
    help=(
        "Andamios: async persistence for domain-driven Python on DuckDB and PostgreSQL.\n\n"
        "Settings come from flags, then ANDAMIOS_* variables, then [tool.andamios] in "
        "pyproject.toml. Exit codes: 0 ok, 1 failed (check found differences, a migration "
        "failed and was rolled back, the database is damaged, locked, missing or unreachable), "
        "2 usage or settings error (a bad flag or argument, a wrong setting, an unknown "
        "revision)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(db)
app.command()(demo)
# Options the command does not know (--json PATH) are the suite's.
app.command(context_settings={"ignore_unknown_options": True})(bench)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"andamios {andamios.__version__}")
        raise typer.Exit


@app.callback()
def root(
    ctx: typer.Context,
    *,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="The database, e.g. duckdb+async:///app.duckdb [env: ANDAMIOS_DATABASE__URL].",
            show_default=False,
        ),
    ] = None,
    database_schema: Annotated[
        str | None,
        typer.Option(
            "--database-schema",
            help="The schema of the tables (PostgreSQL) [env: ANDAMIOS_DATABASE__SCHEMA].",
            show_default=False,
        ),
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping",
            help="The Mapping, as package.module:attribute [env: ANDAMIOS_MAPPING].",
            show_default=False,
        ),
    ] = None,
    migrations: Annotated[
        str | None,
        typer.Option(
            "--migrations",
            help="The migrations folder (default: migrations) [env: ANDAMIOS_MIGRATIONS].",
            show_default=False,
        ),
    ] = None,
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Show the traceback of unexpected errors.")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Andamios' command line."""
    ctx.obj = Options(database_url, mapping, migrations, traceback, database_schema)


@app.command()
def info(ctx: typer.Context) -> None:
    """Show the versions of Andamios and its stack, and the resolved settings."""
    import alembic  # noqa: PLC0415 - the command line starts without them
    import duckdb  # noqa: PLC0415
    import sqlalchemy  # noqa: PLC0415

    typer.secho(f"Andamios {andamios.__version__}", bold=True)
    versions = {
        "Python": f"{platform.python_version()} ({platform.python_implementation()}, "
        f"{sys.platform})",
        "DuckDB": duckdb.__version__,
        "SQLAlchemy": sqlalchemy.__version__,
        "Alembic": alembic.__version__,
        "duckdb-engine": version("duckdb-engine"),
    }
    for name, number in versions.items():
        typer.echo(f"  {name:<14}{number}")
    with handled():
        resolved = settings(ctx)
    typer.secho("Settings (flags > ANDAMIOS_* > [tool.andamios] > defaults)", bold=True)
    rows = _setting_rows(resolved.settings)
    width = max(len(name) for name, _ in rows) + 2
    typer.echo(f"  {'project':<{width}}{resolved.root}")
    typer.echo(f"  {'pyproject':<{width}}{resolved.pyproject or '(none found)'}")
    folder = resolved.migrations
    state = "" if (folder / "env.py").is_file() else " (not created: andamios db init)"
    for name, value in rows:
        shown = value
        if name == "database.url" and resolved.database_url is not None:
            shown = _shown_url(resolved.database_url)
        elif name == "migrations":
            shown = f"{folder}{state}"
        source = resolved.sources.get(name, "default")
        typer.echo(f"  {name:<{width}}{shown}  [from {source}]")


def _setting_rows(values: Any) -> list[tuple[str, str]]:
    """Each setting as ``(dotted name, shown value)``, unset ones ``(not set)``."""
    dumped = values.model_dump()
    database = dumped.pop("database")
    observability = dumped.pop("observability")
    rows = list(dumped.items())
    rows[1:1] = [(f"database.{name}", value) for name, value in database.items()]
    rows += [(f"observability.{name}", value) for name, value in observability.items()]
    return [
        (name, "(not set)" if value is None else _shown_url(value) if "url" in name else str(value))
        for name, value in rows
    ]


def _shown_url(url: str) -> str:
    """``url`` with its password masked (all of it, if it is not a URL)."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - the command line starts without it
    from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a URL)"
