"""duckdb-engine, imported without the DuckDB database its import opens.

Defining ``duckdb_engine.Dialect`` calls ``duckdb_engine._supports.has_comment_support()``,
which opens an in-memory DuckDB database to try ``COMMENT ON`` (DuckDB 0.10 added it,
duckdb/duckdb#10372). That database is the first of the process: it costs ~35 MiB of resident
memory before any file is opened (measured, DuckDB 2.0). Every DuckDB Andamios accepts (2.0) has
comments, so this module loads duckdb-engine's ``_supports`` first, with that function answering
without a database, and only then duckdb-engine, which finds the module already loaded.

Its ``from sqlalchemy.dialects.postgresql import ...`` would run that package's ``__init__``,
which imports four PostgreSQL drivers' dialects; see :func:`_postgresql_without_its_drivers`.
The PostgreSQL classes the DuckDB dialect builds on are taken from here, for the same reason.

Andamios imports duckdb-engine only from here. If it was imported before Andamios, it is taken as
it is (its database is closed by then).
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator
from types import ModuleType

__all__ = [
    "Dialect",
    "DuckDBIdentifierPreparer",
    "PGDialect",
    "PGExecutionContext_psycopg2",
    "PGIdentifierPreparer",
    "apply_config",
    "load_duckdb_engine",
]

_PACKAGE = "duckdb_engine"
_SUPPORTS = f"{_PACKAGE}._supports"


def _has_comment_support() -> bool:
    """``COMMENT ON`` exists in every DuckDB Andamios accepts (2.0; it arrived in 0.10)."""
    return True


def _supports_module() -> ModuleType:
    """duckdb-engine's ``_supports``, loaded before its package, without its database check."""
    package = importlib.util.find_spec(_PACKAGE)
    locations = None if package is None else package.submodule_search_locations
    finder = importlib.machinery.PathFinder
    spec = None if locations is None else finder.find_spec(_SUPPORTS, locations)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {_SUPPORTS!r}", name=_SUPPORTS)
    module = importlib.util.module_from_spec(spec)
    # Its top level only reads duckdb's version; the check runs when the package is loaded.
    spec.loader.exec_module(module)
    vars(module)["has_comment_support"] = _has_comment_support
    return module


_POSTGRESQL = "sqlalchemy.dialects.postgresql"


@contextlib.contextmanager
def _postgresql_without_its_drivers() -> Iterator[None]:
    """``sqlalchemy.dialects.postgresql`` as duckdb-engine uses it, without the package's own
    ``__init__``, which imports the asyncpg, pg8000, psycopg and psycopg2cffi dialects (and
    SQLAlchemy's asyncio connector): ~1 MiB of code no DuckDB program runs.

    For the import only, the package is a bare module over the real directory holding the two
    names duckdb-engine takes from it; its submodules load from their own files. Then it is
    taken away again: a later ``import sqlalchemy.dialects.postgresql`` runs the real package,
    which finds the submodules loaded (the same modules, not copies).
    """
    if _POSTGRESQL in sys.modules:
        yield
        return
    spec = importlib.util.find_spec(_POSTGRESQL)
    locations = None if spec is None else spec.submodule_search_locations
    assert locations is not None  # a package of SQLAlchemy's own
    bare = ModuleType(_POSTGRESQL)
    bare.__path__ = list(locations)
    bare.__spec__ = spec
    sys.modules[_POSTGRESQL] = bare
    dialects = sys.modules["sqlalchemy.dialects"]
    try:
        # The package names its array module "arraylib" before base imports it by that name.
        vars(bare)["arraylib"] = importlib.import_module(f"{_POSTGRESQL}.array")
        base = importlib.import_module(f"{_POSTGRESQL}.base")
        dml = importlib.import_module(f"{_POSTGRESQL}.dml")
        vars(bare).update(UUID=base.UUID, insert=dml.insert)
        yield
    finally:
        del sys.modules[_POSTGRESQL]
        vars(dialects).pop("postgresql", None)


def load_duckdb_engine() -> ModuleType:
    """The ``duckdb_engine`` package, imported (once) without opening a DuckDB database."""
    loaded = sys.modules.get(_PACKAGE)
    if loaded is not None:
        return loaded
    supports = _supports_module()
    # The package's "from ._supports import has_comment_support" takes the module found here.
    sys.modules[_SUPPORTS] = supports
    with _postgresql_without_its_drivers():
        package = importlib.import_module(_PACKAGE)
    # The import system binds a submodule to its package only when it loads it itself.
    vars(package)["_supports"] = supports
    return package


load_duckdb_engine()

# Only now: the package's import finds its _supports module loaded, and opens no database.
from duckdb_engine import Dialect, DuckDBIdentifierPreparer  # noqa: E402
from duckdb_engine.config import apply_config  # noqa: E402
from sqlalchemy.dialects.postgresql.base import PGDialect, PGIdentifierPreparer  # noqa: E402
from sqlalchemy.dialects.postgresql.psycopg2 import PGExecutionContext_psycopg2  # noqa: E402
