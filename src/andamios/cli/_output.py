"""Output and errors of the ``andamios`` command: one clear line, and exit codes to rely on."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Final, NoReturn

import typer

from andamios.ports.errors import AndamiosError, ConfigurationError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "alembic_messages", "fail", "handled"]

#: Everything went as asked.
EXIT_OK: Final = 0
#: The command ran and failed: ``check`` found differences, a migration failed (and was rolled
#: back), the database refused an operation.
EXIT_FAILED: Final = 1
#: The command was used wrongly or is misconfigured: a bad flag, a missing or wrong setting.
EXIT_USAGE: Final = 2


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print ``error: message`` to stderr (red where supported) and exit with ``code``."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextlib.contextmanager
def handled(*, traceback: bool = False) -> Iterator[None]:
    """Turn errors into one line and an exit code (with ``traceback``, re-raise them).

    Settings and usage errors exit 2; database and migration failures exit 1.
    """
    try:
        yield
    except ConfigurationError as error:
        fail(str(error), EXIT_USAGE)
    except Exception as error:
        if traceback:
            raise
        # Imported here: the command line starts without loading Alembic or a driver.
        import duckdb  # noqa: PLC0415
        from alembic.util.exc import CommandError  # noqa: PLC0415
        from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

        from andamios.adapters.duckdb import translate_error  # noqa: PLC0415

        if isinstance(error, CommandError):  # an unknown revision, a folder that exists...
            fail(_first_line(error), EXIT_USAGE)
        if isinstance(error, SQLAlchemyError | duckdb.Error):
            error = translate_error(error)
        if isinstance(error, AndamiosError):
            fail(str(error))
        # A migration script's own error.
        fail(f"{type(error).__name__}: {_first_line(error)} (--traceback shows where)")


class _Echo(logging.Handler):
    """Alembic's progress lines ("Running upgrade a -> b, message") on stderr."""

    _QUIET = ("Context impl", "Will assume", "setup plugin", "setting up autogenerate plugin")

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(self._QUIET):
            typer.secho(message, err=True, fg=typer.colors.BRIGHT_BLACK)


@contextlib.contextmanager
def alembic_messages() -> Iterator[None]:
    """Show Alembic's INFO messages while the block runs (as ``alembic`` does)."""
    logger = logging.getLogger("alembic")
    handler = _Echo(logging.INFO)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
