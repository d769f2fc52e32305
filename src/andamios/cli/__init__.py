"""The ``andamios`` command (a Typer application).

::

    andamios db init                                  # a migrations folder
    andamios db revision -m "create tables" --autogenerate
    andamios db upgrade                               # ... downgrade, current, history, check
    andamios demo                                     # the sample shop, end to end
    andamios info                                     # versions and resolved settings

Exit codes: 0 ok, 1 failed (``check`` found differences, a migration failed and was rolled
back, any database error but a setting's: damaged, locked, missing, unreachable), 2 a usage or
settings error (a bad flag or argument, a wrong setting, an unknown revision).
``andamios --install-completion`` sets up shell completion.
"""

from __future__ import annotations

from andamios.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Run the command line (the ``andamios`` console script)."""
    app()
