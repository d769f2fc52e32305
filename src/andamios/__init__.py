"""Andamios: async-first persistence for domain-driven Python applications.

Pure aggregates in :mod:`andamios.domain`, repository and unit-of-work ports in
:mod:`andamios.ports`, and adapters (:mod:`andamios.adapters.memory`,
:mod:`andamios.adapters.sqlalchemy`, :mod:`andamios.adapters.duckdb`) that fulfil them;
:mod:`andamios.containers` wires them, and :func:`run` runs an application (on uvloop, the
``uvloop`` extra, where it is installed).

``import andamios`` loads nothing else: :func:`run` is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from andamios._run import run

__all__ = ["__version__", "run"]

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    if name == "run":
        from andamios._run import run  # noqa: PLC0415 - lazy: import andamios stays light

        globals()["run"] = run
        return run
    msg = f"module 'andamios' has no attribute {name!r}"
    raise AttributeError(msg)
