"""The project an Andamios process belongs to: the nearest ``pyproject.toml`` and its table.

Every reader of settings (an application's container, the ``andamios`` command, the migration
environment) finds the project the same way: the nearest ``pyproject.toml`` at or above the
current directory. Its folder is the project's folder, the one base of every relative path in
the settings, wherever they were set; without a ``pyproject.toml`` the current directory is.
This module imports the standard library only.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from andamios.ports.errors import ConfigurationError

__all__ = ["PYPROJECT_TABLE", "SETTING_KEYS", "Project", "find_pyproject"]

PYPROJECT_TABLE = "[tool.andamios]"
"""The table of ``pyproject.toml`` that holds Andamios' settings."""

SETTING_KEYS = (
    "adapter",
    "database",
    "mapping",
    "migrations",
    "observability",
    "schema_check",
    "unit_of_work",
)
"""The keys ``[tool.andamios]`` may hold (``database`` and ``observability`` are tables)."""

_TABLES = {
    "database": 'database.url = "duckdb+async:///app.duckdb"',
    "observability": "observability.metrics = true",
}


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _read_table(pyproject: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"cannot read {pyproject}: {error}") from error
    table = document.get("tool", {}).get("andamios", {})
    if not isinstance(table, dict):
        raise ConfigurationError(f"{PYPROJECT_TABLE} in {pyproject} must be a table")
    for key in table:
        if key not in SETTING_KEYS:
            raise ConfigurationError(
                f"unknown setting {key!r} in {PYPROJECT_TABLE} of {pyproject}; known: "
                f"{', '.join(SETTING_KEYS)}"
            )
    for key, example in _TABLES.items():
        if not isinstance(table.get(key, {}), dict):
            raise ConfigurationError(
                f"{key} in {PYPROJECT_TABLE} of {pyproject} must be a table ({example})"
            )
    return table


@dataclass(frozen=True, slots=True)
class Project:
    """A project's folder, its ``pyproject.toml`` (if any) and its ``[tool.andamios]`` table."""

    #: The folder of ``pyproject``, else the directory the project was looked for from.
    root: Path
    #: The nearest ``pyproject.toml``, if one was found.
    pyproject: Path | None = None
    #: ``[tool.andamios]`` as read (empty without one).
    table: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        """The project of ``start`` (default: the current directory).

        Raises :class:`ConfigurationError` naming the file for an unreadable ``pyproject.toml``,
        a ``[tool.andamios]`` that is not a table, or an unknown key in it.
        """
        here = (start or Path.cwd()).absolute()
        pyproject = find_pyproject(here)
        if pyproject is None:
            return cls(root=here)
        return cls(
            root=pyproject.parent,
            pyproject=pyproject,
            table=MappingProxyType(_read_table(pyproject)),
        )

    def path(self, value: str | Path) -> Path:
        """``value`` as an absolute path: a relative one is taken from :attr:`root`."""
        return (self.root / value).resolve()
