"""The databases Andamios can open, found by their URL: a registry of entry points.

::

    async with open_database("postgresql+asyncpg://app@db.internal/shop", schema="shop") as db:
        async with db.engine.connect() as connection: ...

The backend of a URL (``duckdb`` in ``duckdb+async:///shop.duckdb``, ``postgresql`` in
``postgresql+asyncpg://...``) names an entry point of the group ``andamios.databases``, whose
object is the adapter's ``Database`` class. Andamios declares its own (``duckdb``,
``postgresql``) in its ``pyproject.toml``; a third-party adapter registers its database the
same way, and ``andamios db ...`` then migrates it::

    [project.entry-points."andamios.databases"]
    cockroachdb = "andamios_cockroach:Database"

Nothing here imports an adapter until a URL asks for it, so code that only needs *a* database
(the migrations, the command line) depends on none of them. A ``Database`` class is what
:class:`SqlDatabase` describes.
"""

from __future__ import annotations

import inspect
import re
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, cast

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine

from andamios.ports.errors import ConfigurationError

__all__ = ["ENTRY_POINT_GROUP", "SqlDatabase", "backend_name", "database_class", "open_database"]

#: The entry-point group naming each database's ``Database`` class, by backend name.
ENTRY_POINT_GROUP = "andamios.databases"

# SQLAlchemy's former name of the postgresql backend, which hosting platforms still hand out
# (postgres://...); the PostgreSQL adapter accepts it.
_ALIASES = {"postgres": "postgresql"}


class SqlDatabase(Protocol):
    """What a registered ``Database`` class is: an async context manager over an ``AsyncEngine``.

    ``Database(url, **settings)`` makes one (the settings are the adapter's keywords); entering
    it opens the database, leaving it disposes the engine.
    """

    def __init__(self, url: str, **settings: Any) -> None: ...

    @classmethod
    def resolve_url(cls, url: str, base: Path, **settings: Any) -> str:
        """``url`` checked (a :class:`ConfigurationError` if the adapter refuses it, with the
        ``settings`` it is opened with) and made independent of the current directory: a
        relative file path is taken from ``base``."""
        ...

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy ``AsyncEngine`` over the database, once it is open."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


_PASSWORD = re.compile(r"(?P<user>://[^:/@]*):[^@/]*@")


def _shown(url: str) -> str:
    """``url`` with its password hidden, also when it cannot be parsed."""
    return _PASSWORD.sub(r"\g<user>:***@", url)


def backend_name(url: str) -> str:
    """The backend a URL names (``duckdb``, ``postgresql``...); a :class:`ConfigurationError` if
    ``url`` is not a database URL."""
    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError) as error:
        # ValueError: a port that is not a number.
        raise ConfigurationError(
            f"{_shown(url)!r} is not a database URL ({error}); expected e.g. "
            "duckdb+async:///app.duckdb or postgresql+asyncpg://user@host/database"
        ) from error
    return _ALIASES.get(backend, backend)


def _registered() -> dict[str, EntryPoint]:
    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}


def database_class(url: str) -> type[SqlDatabase]:
    """The ``Database`` class of the adapter for ``url``'s backend (imported now).

    An unknown backend, or an adapter that cannot be imported (its driver is not installed),
    raises :class:`ConfigurationError` saying which databases are known.
    """
    backend = backend_name(url)
    registered = _registered()
    point = registered.get(backend)
    if point is None:
        known = ", ".join(sorted(registered)) or "none"
        raise ConfigurationError(
            f"{_shown(url)!r}: Andamios has no database for {backend!r} URLs; known: {known} "
            f"(an adapter registers its own as an entry point of group {ENTRY_POINT_GROUP!r})"
        )
    try:
        found = point.load()
    except ImportError as error:
        raise ConfigurationError(
            f"the {backend} database ({point.value}) cannot be imported: {error}; is its "
            "driver installed?"
        ) from error
    if not isinstance(found, type):
        raise ConfigurationError(
            f"the entry point {backend!r} of group {ENTRY_POINT_GROUP!r} ({point.value}) is a "
            f"{type(found).__name__}, not a Database class"
        )
    return cast("type[SqlDatabase]", found)


def open_database(url: str, **settings: Any) -> SqlDatabase:
    """The database ``url`` names, made with ``settings`` (not opened yet: ``async with`` it).

    Settings its ``Database`` does not take raise :class:`ConfigurationError` naming them.
    """
    cls = database_class(url)
    try:
        inspect.signature(cls).bind(url, **settings)
    except TypeError as error:
        raise ConfigurationError(
            f"a {backend_name(url)} database does not take the settings given "
            f"({', '.join(sorted(settings))}): {error}"
        ) from error
    return cls(url, **settings)
