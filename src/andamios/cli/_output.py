"""Output and errors of the ``andamios`` command: one clear line, and exit codes to rely on."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Final, NoReturn

import typer

from andamios.ports.errors import AndamiosError, ConfigurationError

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "alembic_messages",
    "exit_code",
    "fail",
    "handled",
]

#: Everything went as asked.
EXIT_OK: Final = 0
#: The command ran and failed: ``check`` found differences, a migration failed (and was rolled
#: back), the database refused an operation or is damaged, locked, missing or unreachable.
EXIT_FAILED: Final = 1
#: The command was used wrongly or is misconfigured: a bad flag or argument, a missing or wrong
#: setting, an unknown revision.
EXIT_USAGE: Final = 2


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print ``error: message`` to stderr (red where supported) and exit with ``code``."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def exit_code(error: BaseException) -> int:
    """The exit code of an error that ended a command, by its class.

    :data:`EXIT_USAGE` for what the user must change in the command or the settings
    (``ConfigurationError``, Alembic's ``CommandError``: an unknown revision, a folder that
    exists); :data:`EXIT_FAILED` for everything else, every other ``DatabaseError``
    (``CorruptDatabase``, ``DatabaseLocked``, ``DatabaseUnavailable``, ``OperationalError``)
    and a migration's failure among them.
    """
    from alembic.util.exc import CommandError  # noqa: PLC0415 - the command starts without it

    if isinstance(error, ConfigurationError | CommandError):
        return EXIT_USAGE
    return EXIT_FAILED


@contextlib.contextmanager
def handled(*, traceback: bool = False) -> Iterator[None]:
    """Turn errors into one line and their :func:`exit_code` (with ``traceback``, re-raise
    those that are not the user's to fix)."""
    try:
        yield
    except ConfigurationError as error:
        fail(str(error), EXIT_USAGE)
    except Exception as error:
        if traceback:
            raise
        # Imported here: the command line starts without loading Alembic or a driver.
        import duckdb  # noqa: PLC0415
        from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

        from andamios.adapters.duckdb import translate_error  # noqa: PLC0415

        if isinstance(error, SQLAlchemyError | duckdb.Error):
            error = translate_error(error)
        if isinstance(error, AndamiosError):
            fail(str(error), exit_code(error))
        code = exit_code(error)
        if code == EXIT_USAGE:  # an unknown revision, a folder that exists...
            fail(_first_line(error), code)
        # A migration script's own error.
        fail(f"{type(error).__name__}: {_first_line(error)} (--traceback shows where)", code)


class _Echo(logging.Handler):
    """Alembic's progress lines ("Running upgrade a -> b, message") on stderr, and the
    migrations adapter's warnings (``warning: ...``)."""

    _QUIET = ("Context impl", "Will assume", "setup plugin", "setting up autogenerate plugin")

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            typer.secho(f"warning: {message}", err=True, fg=typer.colors.YELLOW)
        elif not message.startswith(self._QUIET):
            typer.secho(message, err=True, fg=typer.colors.BRIGHT_BLACK)


#: The loggers whose messages a migration command shows: Alembic's, and the migrations
#: adapter's (a revision that will stop until it is edited, say).
_LOGGERS = ("alembic", "andamios.adapters.migrations")


@contextlib.contextmanager
def alembic_messages() -> Iterator[None]:
    """Show Alembic's INFO messages while the block runs (as ``alembic`` does), and the
    migrations adapter's warnings."""
    handler = _Echo(logging.INFO)
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
