"""A throwaway Andamios project in a folder: pyproject.toml, a mapping module, a DuckDB file."""

from __future__ import annotations

import importlib
import itertools
import os
import shutil
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from andamios.adapters.migrations import Migrations, ProjectSettings, load_settings

_numbers = itertools.count()

HEADER = """\
import sqlalchemy as sa

from andamios.adapters.sqlalchemy import Mapping

mapping = Mapping()
"""


@dataclass
class Project:
    """A project folder whose mapping module can be rewritten between migrations."""

    root: Path
    package: str = field(default_factory=lambda: f"app_{os.getpid()}_{next(_numbers)}")

    def __post_init__(self) -> None:
        (self.root / self.package).mkdir(parents=True, exist_ok=True)
        (self.root / self.package / "__init__.py").write_text("")
        (self.root / "pyproject.toml").write_text(
            textwrap.dedent(
                f"""\
                [project]
                name = "{self.package}"
                version = "0"

                [tool.andamios]
                mapping = "{self.package}.orm:mapping"
                database.url = "duckdb+async:///app.duckdb"
                """
            )
        )

    @property
    def database(self) -> Path:
        """The project's DuckDB file."""
        return self.root / "app.duckdb"

    @property
    def versions(self) -> Path:
        """The folder of the revisions."""
        return self.root / "migrations" / "versions"

    def write_mapping(self, tables: str) -> None:
        """(Re)write ``<package>/orm.py``: the header, then ``tables`` (Python, dedented)."""
        folder = self.root / self.package
        (folder / "orm.py").write_text(HEADER + "\n" + textwrap.dedent(tables))
        # A rewrite within the same second keeps the size and mtime a cached .pyc checks.
        shutil.rmtree(folder / "__pycache__", ignore_errors=True)
        for name in [self.package, f"{self.package}.orm"]:
            sys.modules.pop(name, None)
        importlib.invalidate_caches()

    def settings(self, **overrides: Any) -> ProjectSettings:
        """The project's settings, read as the command reads them (no ANDAMIOS_* variables)."""
        return load_settings(cwd=self.root, **overrides)

    def migrations(self, **overrides: Any) -> Migrations:
        """The project's migrations."""
        return Migrations(self.settings(**overrides))

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run ``sql`` on the database file (opened and closed for it) and return the rows."""
        with duckdb.connect(str(self.database)) as conn:
            return conn.execute(sql).fetchall()

    def columns(self, table: str) -> list[str]:
        """The columns of ``table``, in order."""
        return [row[0] for row in self.query(f"SELECT column_name FROM (DESCRIBE {table})")]

    def tables(self) -> list[str]:
        """The tables of the database, sorted."""
        return sorted(row[0] for row in self.query("SELECT table_name FROM duckdb_tables()"))

    def revision_file(self, message: str) -> Path:
        """The revision file whose name ends with ``message`` (slugged)."""
        slug = message.replace(" ", "_")
        (found,) = self.versions.glob(f"*_{slug}.py")
        return found

    def cleanup(self) -> None:
        """Forget the project's modules and its folder on ``sys.path``."""
        for name in [self.package, f"{self.package}.orm"]:
            sys.modules.pop(name, None)
        while str(self.root) in sys.path:
            sys.path.remove(str(self.root))
