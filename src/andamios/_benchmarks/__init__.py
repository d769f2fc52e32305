"""The benchmark suite ``andamios bench`` runs, shipped in the package (not part of the API).

:mod:`andamios._benchmarks.suite` measures every operation of Andamios beside raw duckdb and
the plain SQLAlchemy ORM, and beside raw asyncpg on PostgreSQL. This module imports nothing
but the standard library: :func:`missing` says which of the libraries the suite needs are not
installed, and how to install them, before the suite is imported. Without one of :data:`BULK`
(the ``bulk`` extra) the suite still runs, and skips the rows that measure the Arrow bulk path,
saying so.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re

__all__ = ["BULK", "REQUIRED", "missing"]

#: The modules without which no section runs, and the distribution each comes from (all in the
#: base install). asyncpg is not here: without it the PostgreSQL section is skipped, saying why.
REQUIRED = {
    "duckdb": "duckdb",
    "duckdb_engine": "duckdb-engine",
    "sqlalchemy": "sqlalchemy",
}

#: The modules of the DuckDB bulk rows (the raw peers stage through Arrow, and Andamios' bulk
#: path is Arrow's): without them those rows are skipped, saying why, and the rest runs.
BULK = {
    "pyarrow": "pyarrow",
}

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _extra_of(distribution: str) -> str | None:
    """The extra of Andamios that installs ``distribution``, if one does."""
    try:
        requirements = importlib.metadata.requires("andamios") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for requirement in requirements:
        name, extra = _NAME.match(requirement), _EXTRA.search(requirement)
        if name and extra and _normal(name[1]) == _normal(distribution):
            return extra[1]
    return None


def missing(modules: dict[str, str] = REQUIRED) -> list[str]:
    """One line per library of ``modules`` (module: distribution) that is not installed, saying
    how to install it (the extra of Andamios that brings it, else the distribution)."""
    lines = []
    for module, distribution in modules.items():
        if importlib.util.find_spec(module) is None:
            extra = _extra_of(distribution)
            install = f"'andamios[{extra}]'" if extra else distribution
            lines.append(f"{distribution} is not installed (pip install {install})")
    return lines
