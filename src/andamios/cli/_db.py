"""``andamios db``: Alembic's migration commands, configured from the project."""

from __future__ import annotations

import re
import sys
from typing import Annotated

import typer
from typer.core import TyperCommand

from andamios.cli._context import migrations, options, settings
from andamios.cli._output import EXIT_FAILED, EXIT_USAGE, alembic_messages, fail, handled

__all__ = ["RevisionCommand", "db"]

db = typer.Typer(
    name="db",
    help="Migrate the database with Alembic: init, revision, upgrade, check...",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Revision = Annotated[
    str,
    typer.Argument(
        help="A revision id (or a unique prefix), 'head', 'base', '+1', '-1'...",
        metavar="REVISION",
    ),
]
_RELATIVE_REVISION = re.compile(r"-[0-9]+")


class RevisionCommand(TyperCommand):
    """A command whose REVISION may be relative (``-1``), as with ``alembic downgrade -1``.

    Click would take ``-1`` for an unknown option: such arguments are passed after ``--``, so
    they reach REVISION while an option the command does not have (``--wrong``) is still Click's
    usage error naming it (exit 2), never a revision to look for.
    """

    # Typer's Context, a subclass of the (vendored, private) Click Context the base names.
    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        """Move relative revisions after ``--``, then parse as Click does."""
        end = args.index("--") if "--" in args else len(args)
        relative = [arg for arg in args[:end] if _RELATIVE_REVISION.fullmatch(arg)]
        if relative:
            rest = [arg for arg in args[:end] if not _RELATIVE_REVISION.fullmatch(arg)]
            args = [*rest, "--", *relative, *args[end + 1 :]]
        return super().parse_args(ctx, args)


Sql = Annotated[bool, typer.Option("--sql", help="Print the SQL instead of running it.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show more of each revision.")]


@db.command()
def init(ctx: typer.Context) -> None:
    """Create the migrations folder (env.py, script.py.mako, versions/)."""
    with handled(traceback=options(ctx).traceback):
        project = migrations(ctx)
        folder = project.init()
    typer.secho(f"Created {folder}", fg=typer.colors.GREEN)
    if project.settings.mapping is None or project.settings.database_url is None:
        typer.echo(
            "Then tell Andamios your mapping and database, in pyproject.toml:\n"
            "  [tool.andamios]\n"
            '  mapping = "package.module:mapping"\n'
            '  database.url = "duckdb+async:///app.duckdb"'
        )
    typer.echo(
        "Next: andamios db revision -m 'create tables' --autogenerate, then andamios db upgrade"
    )


@db.command()
def revision(
    ctx: typer.Context,
    message: Annotated[str, typer.Option("--message", "-m", help="What the revision does.")],
    autogenerate: Annotated[
        bool,
        typer.Option(
            "--autogenerate", help="Write the changes that bring the database to the mapping."
        ),
    ] = False,
    rev_id: Annotated[str | None, typer.Option("--rev-id", help="The revision id to use.")] = None,
) -> None:
    """Write a new revision (compared with the mapping with --autogenerate)."""
    with handled(traceback=options(ctx).traceback), alembic_messages():
        path = migrations(ctx).revision(message, autogenerate=autogenerate, rev_id=rev_id)
    typer.secho(f"Created {path}", fg=typer.colors.GREEN)


@db.command(cls=RevisionCommand)
def upgrade(ctx: typer.Context, target: Revision = "head", sql: Sql = False) -> None:
    """Upgrade the database to a revision (default: head), in one transaction."""
    with handled(traceback=options(ctx).traceback), alembic_messages():
        migrations(ctx).upgrade(target, sql=sql)


@db.command(cls=RevisionCommand)
def downgrade(ctx: typer.Context, target: Revision, sql: Sql = False) -> None:
    """Downgrade the database to a revision ('base': before the first), in one transaction."""
    with handled(traceback=options(ctx).traceback), alembic_messages():
        migrations(ctx).downgrade(target, sql=sql)


@db.command()
def current(ctx: typer.Context, verbose: Verbose = False) -> None:
    """Show the revision the database is at."""
    with handled(traceback=options(ctx).traceback):
        migrations(ctx).current(verbose=verbose)


@db.command()
def history(
    ctx: typer.Context,
    rev_range: Annotated[
        str | None, typer.Option("--rev-range", "-r", help="A range such as 'base:head'.")
    ] = None,
    verbose: Verbose = False,
    indicate_current: Annotated[
        bool, typer.Option("--indicate-current", "-i", help="Mark the database's revision.")
    ] = False,
) -> None:
    """List the revisions, newest first."""
    with handled(traceback=options(ctx).traceback):
        migrations(ctx).history(rev_range, verbose=verbose, indicate_current=indicate_current)


@db.command()
def heads(ctx: typer.Context, verbose: Verbose = False) -> None:
    """Show the newest revision(s)."""
    with handled(traceback=options(ctx).traceback):
        migrations(ctx).heads(verbose=verbose)


@db.command(cls=RevisionCommand)
def stamp(ctx: typer.Context, target: Revision) -> None:
    """Record a revision as the database's, without running migrations."""
    with handled(traceback=options(ctx).traceback), alembic_messages():
        migrations(ctx).stamp(target)


@db.command()
def check(ctx: typer.Context) -> None:
    """Exit 1 if the database is not at head or its schema differs from the mapping."""
    with handled(traceback=options(ctx).traceback):
        result = migrations(ctx).check()
    if result.ok:
        at = ", ".join(result.current) or "base (no revisions)"
        typer.secho(f"OK: the database is at {at} and matches the mapping", fg=typer.colors.GREEN)
        return
    if not result.up_to_date:
        at = ", ".join(result.current) or "base"
        typer.secho(
            f"The database is at {at}, not at head ({', '.join(result.heads)}): "
            "run andamios db upgrade",
            err=True,
            fg=typer.colors.RED,
        )
    else:
        typer.secho("The database schema and the mapping differ:", err=True, fg=typer.colors.RED)
        for difference in result.differences:
            typer.secho(f"  {difference}", err=True, fg=typer.colors.YELLOW)
        typer.echo(
            "Write a revision for them: andamios db revision -m '...' --autogenerate", err=True
        )
    raise typer.Exit(EXIT_FAILED)


@db.command()
def reset(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Drop every table of the database and migrate it anew to head (development only)."""
    with handled(traceback=options(ctx).traceback):
        url = settings(ctx).require_database_url()
    if not yes:
        if not _interactive():
            fail(
                f"db reset drops every table of {url} and asks first, on a terminal: this input "
                "is not one; pass --yes to reset without asking",
                EXIT_USAGE,
            )
        typer.confirm(f"Drop every table of {url} and re-create them at head?", abort=True)
    with handled(traceback=options(ctx).traceback), alembic_messages():
        migrations(ctx).reset()
    typer.secho("Database re-created at head", fg=typer.colors.GREEN)


def _interactive() -> bool:
    """Whether the command can ask a question: its input is a terminal."""
    return sys.stdin.isatty()
