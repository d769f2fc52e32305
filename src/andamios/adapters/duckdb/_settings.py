"""The settings of a DuckDB database: URL, DuckDB configuration, security, extensions and pool.

A URL's query may carry DuckDB's own options (``?threads=4``) and the pool's (``?pool_size=3&
pool_timeout=2``), but it can never loosen what Andamios fixes for security: external access
(``external_access``), read-only mode (``read_only``), and where and whether extensions are
installed and loaded (:data:`EXTENSION_POLICY`). See ``docs/adr/0012-robustness.md``, section 3.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from andamios.adapters.sql_spi import url_option
from andamios.ports.errors import ConfigurationError

__all__ = ["EXTENSION_POLICY", "DuckDBSettings", "normalize_url"]

_ASYNC_DRIVER = "duckdb+async"
_MEMORY = ":memory:"

#: What Andamios fixes about DuckDB's extensions, whatever a URL says: DuckDB never installs or
#: loads one by itself (by default it downloads a known extension that a query or a file needs,
#: over plain HTTP), and only signed core extensions load. Those to load at open are named by
#: ``extensions``, and come from the local extension directory.
EXTENSION_POLICY: Mapping[str, bool] = MappingProxyType(
    {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "allow_unsigned_extensions": False,
    }
)

# The texts DuckDB reads as booleans (it refuses any other).
_TRUE = frozenset(("true", "t", "1", "yes", "y"))
_FALSE = frozenset(("false", "f", "0", "no", "n"))

# URL options that are settings of DuckDBSettings, DuckDB's aliases included.
_KEYWORD_OF_OPTION = {
    "pool_size": "pool_size",
    "pool_timeout": "pool_timeout",
    "threads": "threads",
    "worker_threads": "threads",
    "memory_limit": "memory_limit",
    "max_memory": "memory_limit",
    "enable_external_access": "external_access",
    "access_mode": "read_only",
}
# Of those, the security settings a URL may tighten but never loosen, and their looser value.
_LOOSER = {"external_access": True, "read_only": False}
# Security options without a keyword: the values a URL may give (Andamios's, or stricter ones),
# and what another value would do.
_EXTENSIONS_BY_ITSELF = (
    "would let DuckDB install or load extensions by itself, which Andamios never lets it do; "
    "install an extension beforehand and load it with extensions=(...)"
)
_REPOSITORIES = (
    "would change where DuckDB takes extensions from, which Andamios never lets a URL do"
)
_STRICT_VALUES: dict[str, tuple[frozenset[str], str]] = {
    **dict.fromkeys(EXTENSION_POLICY, (_FALSE, _EXTENSIONS_BY_ITSELF)),
    "allow_extensions_metadata_mismatch": (_FALSE, _EXTENSIONS_BY_ITSELF),
    "allow_unredacted_secrets": (_FALSE, "would show secrets unredacted"),
    "custom_extension_repository": (frozenset(("",)), _REPOSITORIES),
    "autoinstall_extension_repository": (frozenset(("",)), _REPOSITORIES),
    "extension_repository_directory": (frozenset(("",)), _REPOSITORIES),
    "allow_extension_repositories": (frozenset(("undecided", "forbidden")), _REPOSITORIES),
}
# Files and directories that statements may reach even with external access off.
_ACCESS_EXCEPTIONS = dict.fromkeys(
    ("allowed_directories", "allowed_paths"),
    (
        frozenset(("", "[]")),
        "would let statements reach files that external_access=False forbids; pass "
        "external_access=True to allow them",
    ),
)
# An extension's name, as LOAD takes it from the extension directory (never a path).
_EXTENSION_NAME = re.compile(r"[a-z][a-z0-9_]*")


def normalize_url(url: str | URL) -> URL:
    """Parse a DuckDB URL into a ``duckdb+async`` URL.

    ``duckdb+async:///path``, ``duckdb:///path`` (rewritten to the async driver) and
    ``duckdb+async://`` / ``duckdb+async:///:memory:`` are accepted; anything else raises
    :class:`ConfigurationError` naming the URL.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ConfigurationError(f"{str(url)!r} is not a database URL: {error}") from error
    if parsed.drivername not in ("duckdb", _ASYNC_DRIVER):
        raise ConfigurationError(
            f"{parsed.render_as_string(hide_password=True)!r} is not a DuckDB URL; expected "
            "duckdb+async:///path/to/file.duckdb or duckdb+async:///:memory:"
        )
    if parsed.host or parsed.username or parsed.port:
        raise ConfigurationError(
            f"{parsed.render_as_string(hide_password=True)!r}: DuckDB is embedded and takes no "
            "host, user or port; for a file use three slashes: duckdb+async:///path/to/file.duckdb"
        )
    return parsed.set(drivername=_ASYNC_DRIVER)


@dataclass(frozen=True, kw_only=True, slots=True)
class DuckDBSettings:
    """Everything needed to open a DuckDB database.

    - ``threads`` and ``memory_limit`` (e.g. ``"2GB"``) are DuckDB's settings of the same names;
      ``None`` keeps DuckDB's defaults.
    - ``read_only`` opens a file without taking its write lock (other read-only processes may
      open it too).
    - ``external_access`` (off by default) lets statements read and write files and URLs
      (``read_csv``, ``COPY ... TO``, ``ATTACH``); Andamios itself needs none.
    - ``extensions``: DuckDB extensions to load at open, by name (``("spatial",)``), from the
      local extension directory; DuckDB never downloads one (install it beforehand:
      ``INSTALL spatial`` once, where the network is reachable). ``json``, ``parquet`` and
      ``icu`` are built in and always loaded.
    - ``pool_size`` is the number of pooled connections, each with its own worker thread; a
      unit of work waits at most ``pool_timeout`` seconds for one to be free.
    - ``echo`` logs every statement (SQLAlchemy's ``echo``).

    The URL's query may give DuckDB's options (``?threads=4``, passed on to DuckDB) and the pool's
    (``?pool_size=3&pool_timeout=2``). A setting given both there and as a keyword must have one
    value, unless the keyword is left at its default: then the URL's is taken. A URL can tighten a
    security setting (``enable_external_access=false``, ``access_mode=read_only``) but never
    loosen one, nor change what :data:`EXTENSION_POLICY` fixes: that is a
    :class:`ConfigurationError` naming the option and the keyword that allows it, if any.
    """

    url: str
    threads: int | None = None
    memory_limit: str | None = None
    read_only: bool = False
    external_access: bool = False
    extensions: Sequence[str] = ()
    pool_size: int = 5
    pool_timeout: float = 30.0
    echo: bool = False

    def __post_init__(self) -> None:
        url = normalize_url(self.url)
        self._take_url_options(url)
        if self.threads is not None and self.threads < 1:
            raise ConfigurationError(f"threads must be at least 1, got {self.threads}")
        if self.pool_size < 1:
            raise ConfigurationError(f"pool_size must be at least 1, got {self.pool_size}")
        # "not > 0" also refuses NaN; an infinite wait is not a timeout.
        if not self.pool_timeout > 0 or not math.isfinite(self.pool_timeout):
            raise ConfigurationError(
                f"pool_timeout must be a number of seconds above 0, got {self.pool_timeout}"
            )
        if self.memory_limit is not None and not self.memory_limit.strip():
            raise ConfigurationError("memory_limit must be a size such as '2GB', got ''")
        self._check_extensions()
        if self.read_only and _is_memory(url):
            raise ConfigurationError(
                f"{self.url!r}: an in-memory database cannot be opened read-only"
            )

    def _take_url_options(self, url: URL) -> None:
        """Take the settings the URL's query gives; refuse what would loosen security."""
        shown = url.render_as_string(hide_password=True)
        for option, raw in _query(url).items():
            keyword = _KEYWORD_OF_OPTION.get(option)
            if keyword is None:
                _check_strict(shown, option, raw, external_access=self.external_access)
                continue
            given = getattr(self, keyword)
            value = url_option(
                shown, option, raw, _PARSERS[keyword], keyword=keyword, given=given,
                default=_DEFAULTS[keyword],
            )  # fmt: skip
            if keyword in _LOOSER and value == _LOOSER[keyword] and value != given:
                raise ConfigurationError(
                    f"{shown!r}: the URL option {option}={raw} would loosen {keyword}={given!r}, "
                    f"and a URL can only tighten a security setting; to allow it, pass "
                    f"{keyword}={value!r} (the keyword, or ANDAMIOS_DATABASE__{keyword.upper()})"
                )
            # A frozen dataclass: the URL's value becomes the setting's, once, while it is made.
            object.__setattr__(self, keyword, value)

    def _check_extensions(self) -> None:
        if isinstance(self.extensions, str):
            raise ConfigurationError(
                f"extensions must be a list of extension names, got the text {self.extensions!r}"
                f" (for one extension: ({self.extensions!r},))"
            )
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for name in self.extensions:
            if not isinstance(name, str) or not _EXTENSION_NAME.fullmatch(name):
                raise ConfigurationError(
                    f"extensions must name extensions (lowercase, such as 'spatial'), got "
                    f"{name!r}; an extension is loaded from DuckDB's extension directory, "
                    "never from a path"
                )

    @property
    def async_url(self) -> str:
        """The URL as given, with the ``duckdb+async`` driver."""
        if self.url.startswith(f"{_ASYNC_DRIVER}:"):
            return self.url
        return _ASYNC_DRIVER + self.url.removeprefix("duckdb")

    @property
    def sqlalchemy_url(self) -> URL:
        """The URL with the ``duckdb+async`` driver (and its query, as given)."""
        return normalize_url(self.url)

    @property
    def engine_url(self) -> URL:
        """The URL the engine opens: without a query, whose options are in :meth:`connect_args`
        (and the pool's, in the engine's arguments)."""
        return self.sqlalchemy_url.set(query={})

    @property
    def is_memory(self) -> bool:
        """Whether the database is in memory (``duckdb+async://`` or ``...:memory:``)."""
        return _is_memory(self.sqlalchemy_url)

    @property
    def path(self) -> Path | None:
        """The database file, ``None`` in memory."""
        database = self.sqlalchemy_url.database
        return None if self.is_memory or database is None else Path(database)

    def duckdb_config(self) -> dict[str, Any]:
        """The DuckDB configuration these settings ask for (DuckDB's names and values)."""
        # The URL's own DuckDB options first: what Andamios sets below is never overridden.
        config: dict[str, Any] = {
            option: raw
            for option, raw in _query(self.sqlalchemy_url).items()
            if option not in _KEYWORD_OF_OPTION and option not in EXTENSION_POLICY
        }
        # DuckDB 2.0.0's row group pruner drops rows from ORDER BY ... LIMIT after a DELETE and
        # new INSERTs (measured: 12 to 35 empty answers in 1,000 such rounds; upstream
        # duckdb/duckdb#22911): find(limit=...) and first() would come back short, silently.
        # Without it, the same rounds lose nothing and a top-20 of 100,000 rows costs the same.
        disabled = [name for name in str(config.get("disabled_optimizers", "")).split(",") if name]
        config["disabled_optimizers"] = ",".join([*disabled, "row_group_pruner"])
        config.update(EXTENSION_POLICY)
        config["enable_external_access"] = self.external_access
        if self.threads is not None:
            config["threads"] = self.threads
        if self.memory_limit is not None:
            config["memory_limit"] = self.memory_limit
        return config

    def connect_args(self) -> dict[str, Any]:
        """The ``connect_args`` of the engine."""
        args: dict[str, Any] = {"read_only": self.read_only, "config": self.duckdb_config()}
        if self.extensions:
            args["preload_extensions"] = self.extensions
        return args


_DEFAULTS: dict[str, Any] = {field.name: field.default for field in fields(DuckDBSettings)}


def _boolean(raw: str) -> bool:
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    msg = f"expected one of {', '.join(sorted(_TRUE | _FALSE))}"
    raise ValueError(msg)


def _read_only(raw: str) -> bool:
    text = raw.strip().lower()
    if text == "read_only":
        return True
    if text in ("read_write", "automatic"):
        return False
    msg = "expected read_only, read_write or automatic"
    raise ValueError(msg)


_PARSERS: dict[str, Callable[[str], Any]] = {
    "pool_size": int,
    "pool_timeout": float,
    "threads": int,
    "memory_limit": str,
    "external_access": _boolean,
    "read_only": _read_only,
}


def _query(url: URL) -> dict[str, str]:
    """The URL's options, by DuckDB's name (case-insensitive: ?Enable_External_Access is that
    option); one given twice is refused."""
    options: dict[str, str] = {}
    for option, raw in url.query.items():
        if not isinstance(raw, str):
            shown = url.render_as_string(hide_password=True)
            msg = f"{shown!r}: the URL option {option} is given {len(raw)} times; give it once"
            raise ConfigurationError(msg)
        options[option.lower()] = raw
    return options


def _check_strict(shown: str, option: str, raw: str, *, external_access: bool) -> None:
    """Refuse a URL option that would loosen a security setting that has no keyword."""
    rule = _STRICT_VALUES.get(option)
    if not external_access:
        rule = _ACCESS_EXCEPTIONS.get(option, rule)
    if rule is None:
        return
    values, why = rule
    if raw.strip().lower() not in values:
        raise ConfigurationError(
            f"{shown!r}: the URL option {option}={raw} {why} (docs/adr/0012-robustness.md)"
        )


def _is_memory(url: URL) -> bool:
    # A bare "duckdb+async://", ":memory:", and DuckDB's named in-memory databases ":memory:name".
    return not url.database or url.database.startswith(_MEMORY)
