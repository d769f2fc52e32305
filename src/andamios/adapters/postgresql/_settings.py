"""The settings of a PostgreSQL database: server URL, pool, timeouts, isolation and schema."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from andamios.adapters.sql_spi import url_option
from andamios.ports.errors import ConfigurationError

__all__ = [
    "APPLICATION_NAME",
    "DEFAULT_PORT",
    "ISOLATION_LEVELS",
    "PostgreSQLSettings",
    "describe_server",
    "normalize_url",
]

#: The ``application_name`` every connection reports (``pg_stat_activity`` shows it).
APPLICATION_NAME = "andamios"
#: The port of a URL that names none.
DEFAULT_PORT = 5432
#: The isolation levels a unit of work may run at (PostgreSQL's names).
ISOLATION_LEVELS = ("READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE")

_DRIVER = "postgresql+asyncpg"
# "postgres://" is what Heroku-style platforms hand out; SQLAlchemy itself no longer accepts it.
_SCHEMES = ("postgresql", _DRIVER, "postgres")
_EXPECTED = "postgresql+asyncpg://user:password@host:5432/database"
# asyncpg takes "ssl"; libpq's "sslmode" is what most URLs carry (asyncpg's connect() would
# refuse it as an unknown keyword, so it is renamed). Both take libpq's modes.
_SSL = "ssl"
_SSL_MODE = "sslmode"
_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# The pool's settings, which a URL may give as it may on every database (ADR 0012), and how to
# read each.
_POOL_OPTIONS: dict[str, Callable[[str], Any]] = {"pool_size": int, "pool_timeout": float}
# Names of URL options that are settings here under another name.
# (libpq's "options" carries "-c name=value" server settings.)
_KEYWORD_OF_OPTION = {
    "search_path": "schema",
    "options": "schema, statement_timeout or lock_timeout",
}
# An unquoted PostgreSQL identifier, lowercase: PostgreSQL folds an unquoted name to lowercase,
# so "Shop" in search_path would silently mean "shop".
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_MAX_IDENTIFIER = 63  # NAMEDATALEN - 1: PostgreSQL truncates longer names
_CREDENTIALS = re.compile(r"(?P<user>://[^:/@]*):[^@/]*@")


def _unparsed(url: str) -> str:
    """How to name a URL that cannot be parsed: quoted, its password replaced by ``***``."""
    if "://" not in url:
        # Without a scheme, nothing tells where a password would be: show none of it.
        return "the URL given"
    return repr(_CREDENTIALS.sub(r"\g<user>:***@", url))


def normalize_url(url: str | URL) -> URL:
    """Parse a PostgreSQL URL into a ``postgresql+asyncpg`` URL.

    ``postgresql+asyncpg://``, ``postgresql://`` and ``postgres://`` are accepted (the last two
    are rewritten to the asyncpg driver); the URL must name a host and a database. The only query
    options accepted are ``ssl`` and ``sslmode`` (renamed to ``ssl``), with libpq's modes, and the
    pool's ``pool_size`` and ``pool_timeout`` (kept here, read by :class:`PostgreSQLSettings`,
    never sent to the server): every other setting is a keyword, so that a URL cannot loosen what
    the keywords say. Anything else raises :class:`ConfigurationError` naming the URL, its
    password hidden.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as error:
        # ValueError: a port that is not a number. The message repeats no part of the URL.
        raise ConfigurationError(
            f"{_unparsed(str(url))} is not a database URL ({error}); expected {_EXPECTED}"
        ) from error
    shown = parsed.render_as_string(hide_password=True)
    if parsed.drivername not in _SCHEMES:
        raise ConfigurationError(f"{shown!r} is not a PostgreSQL URL; expected {_EXPECTED}")
    if not parsed.host or not parsed.database:
        raise ConfigurationError(
            f"{shown!r} must name the server's host and the database; expected {_EXPECTED}"
        )
    return parsed.set(drivername=_DRIVER, query=_ssl_query(shown, dict(parsed.query)))


def _ssl_query(
    shown: str, query: dict[str, str | tuple[str, ...]]
) -> dict[str, str | tuple[str, ...]]:
    """The URL's query with ``sslmode`` renamed ``ssl``, and the pool's options as they are; any
    other option is refused."""
    pool = {option: query.pop(option) for option in _POOL_OPTIONS if option in query}
    for option in query:
        if option not in (_SSL, _SSL_MODE):
            keyword = _KEYWORD_OF_OPTION.get(option)
            if keyword is None:
                keyword = option if option in _KEYWORDS else f"one of {', '.join(_KEYWORDS)}"
            raise ConfigurationError(
                f"{shown!r}: the URL option {option!r} is not accepted (only ssl, sslmode, "
                f"pool_size and pool_timeout are); pass the setting as a keyword instead: "
                f"{keyword}"
            )
    if len(query) > 1:
        raise ConfigurationError(f"{shown!r}: give one of ssl and sslmode, not both")
    if not query:
        return pool
    [(option, mode)] = query.items()
    if not isinstance(mode, str) or mode not in _SSL_MODES:
        raise ConfigurationError(
            f"{shown!r}: {option} must be one of {', '.join(_SSL_MODES)}, got {mode!r}"
        )
    return {_SSL: mode, **pool}


def describe_server(url: URL) -> str:
    """``host:port, database 'name'`` of a normalized URL (never its user or password)."""
    host = f"[{url.host}]" if ":" in str(url.host) else url.host  # an IPv6 address
    return f"{host}:{url.port or DEFAULT_PORT}, database {url.database!r}"


@dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class PostgreSQLSettings:
    """Everything needed to open a PostgreSQL database over asyncpg.

    - ``url``: ``postgresql+asyncpg://user:password@host:5432/database`` (``postgresql://`` and
      ``postgres://`` are rewritten to asyncpg); only ``ssl``/``sslmode``, ``pool_size`` and
      ``pool_timeout`` may follow in the query, every other setting is one of these keywords.
    - ``pool_size`` connections are kept open, and up to ``max_overflow`` more are opened when
      they are all in use; a unit of work waits at most ``pool_timeout`` seconds for one. A
      pool setting given both in the URL and as a keyword must have one value, unless the
      keyword is left at its default: then the URL's is taken.
    - ``statement_timeout`` (seconds): the server cancels any statement that runs longer (sent
      as PostgreSQL's ``statement_timeout`` setting, in milliseconds); ``None`` keeps the
      server's.
    - ``lock_timeout`` (seconds, default 5): how long a statement waits for a row another
      unit of work has written and not yet committed, before it fails as a
      :class:`~andamios.ports.errors.ConcurrencyError` (DuckDB fails such a write at once). At
      ``REPEATABLE READ`` waiting longer rarely helps: if the other commits, this write fails
      anyway; and two units of work interleaved in one task would otherwise wait forever.
      ``None`` keeps the server's (by default: wait forever).
    - ``isolation_level``: ``"REPEATABLE READ"`` by default, because it is the snapshot that
      DuckDB and the in-memory adapter give: a unit of work sees one snapshot of the database,
      taken at its first statement, and a write to a row another transaction changed since then
      fails as a :class:`~andamios.ports.errors.ConcurrencyError`. ``"READ COMMITTED"`` (each
      statement sees what is committed when it starts) and ``"SERIALIZABLE"`` are accepted.
    - ``schema``: the schema the tables live in (PostgreSQL's ``search_path`` is set to it
      alone, so unqualified names never fall through to ``public``); a lowercase unquoted
      identifier. ``None`` keeps the server's ``search_path``.
    - ``replica_url``: a read replica, checked as ``url`` is, and opened with the same settings.
    - ``echo`` logs every statement (SQLAlchemy's ``echo``).

    The repr hides the passwords of both URLs.
    """

    url: str
    pool_size: int = 5
    max_overflow: int = 0
    pool_timeout: float = 30.0
    statement_timeout: float | None = None
    lock_timeout: float | None = 5.0
    isolation_level: str = "REPEATABLE READ"
    schema: str | None = None
    replica_url: str | None = None
    echo: bool = False

    def __post_init__(self) -> None:
        self._take_pool_options(normalize_url(self.url))
        if self.replica_url is not None:
            replica = normalize_url(self.replica_url)
            for option in _POOL_OPTIONS:
                if option in replica.query:
                    raise ConfigurationError(
                        f"replica_url: the URL option {option} is not accepted there (the "
                        "replica is opened with the settings of url); give it in url or as "
                        "a keyword"
                    )
        if self.pool_size < 1:
            raise ConfigurationError(f"pool_size must be at least 1, got {self.pool_size}")
        if self.max_overflow < 0:
            raise ConfigurationError(f"max_overflow must be at least 0, got {self.max_overflow}")
        _check_seconds("pool_timeout", self.pool_timeout)
        if self.statement_timeout is not None:
            _check_seconds("statement_timeout", self.statement_timeout)
        if self.lock_timeout is not None:
            _check_seconds("lock_timeout", self.lock_timeout)
        if self.isolation_level not in ISOLATION_LEVELS:
            raise ConfigurationError(
                f"isolation_level must be one of {', '.join(map(repr, ISOLATION_LEVELS))}, "
                f"got {self.isolation_level!r}"
            )
        if self.schema is not None:
            _check_schema(self.schema)

    def _take_pool_options(self, url: URL) -> None:
        """Take the pool settings the URL's query gives."""
        shown = url.render_as_string(hide_password=True)
        for option, parse in _POOL_OPTIONS.items():
            raw = url.query.get(option)
            if raw is not None:
                given = getattr(self, option)
                value = url_option(
                    shown, option, raw, parse, keyword=option, given=given,
                    default=_POOL_DEFAULTS[option],
                )  # fmt: skip
                # A frozen dataclass: the URL's value becomes the setting's, while it is made.
                object.__setattr__(self, option, value)

    def __repr__(self) -> str:
        shown = []
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name in ("url", "replica_url") and value is not None:
                value = normalize_url(value).render_as_string(hide_password=True)
            shown.append(f"{field.name}={value!r}")
        return f"PostgreSQLSettings({', '.join(shown)})"

    @property
    def sqlalchemy_url(self) -> URL:
        """The URL with the ``postgresql+asyncpg`` driver (``sslmode`` renamed ``ssl``), without
        the pool's options (they are the engine's, not the server's)."""
        return normalize_url(self.url).difference_update_query(_POOL_OPTIONS)

    @property
    def async_url(self) -> str:
        """:attr:`sqlalchemy_url` as a string, password included (reprs hide it)."""
        return self.sqlalchemy_url.render_as_string(hide_password=False)

    @property
    def replica_sqlalchemy_url(self) -> URL | None:
        """The replica's URL with the ``postgresql+asyncpg`` driver, ``None`` without one."""
        return None if self.replica_url is None else normalize_url(self.replica_url)

    @property
    def host(self) -> str:
        """The server's host name or address."""
        return str(self.sqlalchemy_url.host)

    @property
    def port(self) -> int:
        """The server's port (5432 when the URL names none)."""
        return self.sqlalchemy_url.port or DEFAULT_PORT

    @property
    def database(self) -> str:
        """The name of the database on the server."""
        return str(self.sqlalchemy_url.database)

    def server_settings(self) -> dict[str, str]:
        """The PostgreSQL settings each connection starts with (names and values as sent)."""
        settings = {"application_name": APPLICATION_NAME}
        if self.schema is not None:
            settings["search_path"] = self.schema
        if self.statement_timeout is not None:
            # In milliseconds; at least 1, since 0 would mean "no timeout" to PostgreSQL.
            settings["statement_timeout"] = str(max(1, round(self.statement_timeout * 1000)))
        if self.lock_timeout is not None:
            settings["lock_timeout"] = str(max(1, round(self.lock_timeout * 1000)))
        return settings

    def engine_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``create_async_engine`` for these settings."""
        return {
            "pool_size": self.pool_size,
            "max_overflow": self.max_overflow,
            "pool_timeout": self.pool_timeout,
            # A connection the server dropped (restart, failover, idle timeout) is replaced at
            # checkout rather than failing the unit of work's first statement.
            "pool_pre_ping": True,
            "isolation_level": self.isolation_level,
            "echo": self.echo,
            # asyncpg waits 60 s for a server that never answers: give up as a pool wait does.
            "connect_args": {
                "server_settings": self.server_settings(),
                "timeout": self.pool_timeout,
            },
        }


# The settings a URL option could mean (every field but the URLs themselves).
_KEYWORDS = tuple(f.name for f in fields(PostgreSQLSettings) if not f.name.endswith("url"))
_POOL_DEFAULTS = {f.name: f.default for f in fields(PostgreSQLSettings) if f.name in _POOL_OPTIONS}


def _check_seconds(name: str, seconds: float) -> None:
    # "not > 0" also refuses NaN; an infinite wait is not a timeout.
    if not seconds > 0 or not math.isfinite(seconds):
        raise ConfigurationError(f"{name} must be a number of seconds above 0, got {seconds}")


def _check_schema(schema: str) -> None:
    if (
        not _IDENTIFIER.fullmatch(schema)
        or len(schema) > _MAX_IDENTIFIER
        or schema.startswith("pg_")
    ):
        raise ConfigurationError(
            "schema must be a plain lowercase identifier (a-z, 0-9 and _, not starting with a "
            f"digit or pg_, at most {_MAX_IDENTIFIER} characters), got {schema!r}"
        )
