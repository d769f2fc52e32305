"""``PostgreSQLSettings``: URLs, options that may not loosen the keywords, and validation.

No server is needed: settings are checked when they are made.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from andamios.adapters.postgresql import PostgreSQLSettings
from andamios.ports.errors import ConfigurationError

URL = "postgresql+asyncpg://shop:s3cret@db.internal:6543/shop"


def _settings(url: str = URL, **keywords: object) -> PostgreSQLSettings:
    return PostgreSQLSettings(url=url, **keywords)  # type: ignore[arg-type]


# -- URLs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (URL, URL),
        (
            "postgresql://shop:s3cret@db.internal:6543/shop",
            "postgresql+asyncpg://shop:s3cret@db.internal:6543/shop",
        ),
        (
            "postgres://shop:s3cret@db.internal:6543/shop",
            "postgresql+asyncpg://shop:s3cret@db.internal:6543/shop",
        ),
        ("postgresql://db.internal/shop", "postgresql+asyncpg://db.internal/shop"),
        ("postgresql://[::1]:5433/shop", "postgresql+asyncpg://[::1]:5433/shop"),
    ],
)
def test_accepted_urls_are_rewritten_to_asyncpg(url: str, expected: str) -> None:
    settings = _settings(url)
    assert settings.async_url == expected
    assert settings.sqlalchemy_url.drivername == "postgresql+asyncpg"


def test_host_port_and_database() -> None:
    settings = _settings()
    assert (settings.host, settings.port, settings.database) == ("db.internal", 6543, "shop")
    assert _settings("postgresql://db.internal/shop").port == 5432


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("sqlite:///shop.db", "is not a PostgreSQL URL"),
        ("duckdb+async:///shop.duckdb", "is not a PostgreSQL URL"),
        ("postgresql+psycopg://shop:s3cret@db/shop", "is not a PostgreSQL URL"),
        ("mysql://shop:s3cret@db/shop", "is not a PostgreSQL URL"),
        ("postgresql://shop:s3cret@/shop", "must name the server's host and the database"),
        ("postgresql://shop:s3cret@db.internal", "must name the server's host and the database"),
        ("postgresql://shop:s3cret@db.internal:port/shop", "is not a database URL"),
        ("shop:s3cret at db.internal", "is not a database URL"),
    ],
)
def test_refused_urls_are_named_without_their_password(url: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint) as refused:
        _settings(url)
    assert "s3cret" not in str(refused.value)
    assert "expected postgresql+asyncpg://user:password@host:5432/database" in str(refused.value)


def test_the_url_named_by_a_refusal_is_the_given_one_with_its_password_hidden() -> None:
    with pytest.raises(ConfigurationError) as refused:
        _settings("mysql://shop:s3cret@db/shop")
    assert str(refused.value).startswith("'mysql://shop:***@db/shop' is not a PostgreSQL URL")


# -- URL options ----------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["ssl", "sslmode"])
@pytest.mark.parametrize(
    "mode", ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
)
def test_ssl_options_are_accepted_as_asyncpg_ssl(option: str, mode: str) -> None:
    settings = _settings(f"{URL}?{option}={mode}")
    assert dict(settings.sqlalchemy_url.query) == {"ssl": mode}
    assert settings.async_url == f"{URL}?ssl={mode}"


@pytest.mark.parametrize(
    ("option", "advice"),
    [
        ("max_overflow=50", "pass the setting as a keyword instead: max_overflow"),
        ("statement_timeout=0", "pass the setting as a keyword instead: statement_timeout"),
        ("search_path=public", "pass the setting as a keyword instead: schema"),
        (
            "options=-c%20statement_timeout%3D0",
            "instead: schema, statement_timeout or lock_timeout",
        ),
        (
            "prepared_statement_cache_size=0",
            "instead: one of pool_size, max_overflow, pool_timeout, statement_timeout, "
            "lock_timeout, isolation_level, schema, echo",
        ),
        ("host=/var/run/postgresql", "the URL option 'host' is not accepted"),
    ],
)
def test_other_url_options_are_refused_naming_them(option: str, advice: str) -> None:
    with pytest.raises(
        ConfigurationError, match="only ssl, sslmode, pool_size and pool_timeout are"
    ) as refused:
        _settings(f"{URL}?{option}")
    name = option.split("=", 1)[0]
    assert f"the URL option {name!r} is not accepted" in str(refused.value)
    assert advice in str(refused.value)
    assert "s3cret" not in str(refused.value)


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("ssl=require&sslmode=require", "give one of ssl and sslmode, not both"),
        ("ssl=require&ssl=disable", "ssl must be one of disable, allow, prefer"),
        ("sslmode=on", "sslmode must be one of disable, allow, prefer, require, verify-ca"),
        ("ssl=true", "got 'true'"),
    ],
)
def test_ssl_options_must_be_one_mode(query: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        _settings(f"{URL}?{query}")


# -- keywords -------------------------------------------------------------------------------------


def test_defaults() -> None:
    settings = _settings()
    assert (settings.pool_size, settings.max_overflow, settings.pool_timeout) == (5, 0, 30.0)
    assert settings.statement_timeout is None
    assert settings.isolation_level == "REPEATABLE READ"
    assert (settings.schema, settings.replica_url, settings.echo) == (None, None, False)
    assert settings.replica_sqlalchemy_url is None


@pytest.mark.parametrize(
    ("keywords", "complaint"),
    [
        ({"pool_size": 0}, "pool_size must be at least 1, got 0"),
        ({"max_overflow": -1}, "max_overflow must be at least 0, got -1"),
        ({"pool_timeout": 0}, "pool_timeout must be a number of seconds above 0, got 0"),
        ({"pool_timeout": -1.5}, "pool_timeout must be a number of seconds above 0"),
        ({"pool_timeout": math.nan}, "pool_timeout must be a number of seconds above 0, got nan"),
        ({"pool_timeout": math.inf}, "pool_timeout must be a number of seconds above 0, got inf"),
        ({"statement_timeout": 0}, "statement_timeout must be a number of seconds above 0"),
        ({"statement_timeout": math.nan}, "statement_timeout must be a number of seconds"),
        ({"isolation_level": "AUTOCOMMIT"}, "isolation_level must be one of 'READ COMMITTED'"),
        ({"isolation_level": "repeatable read"}, "got 'repeatable read'"),
    ],
)
def test_numbers_and_isolation_level_are_checked(
    keywords: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        _settings(URL, **keywords)


@pytest.mark.parametrize("level", ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"])
def test_isolation_levels(level: str) -> None:
    assert _settings(isolation_level=level).engine_kwargs()["isolation_level"] == level


@pytest.mark.parametrize("schema", ["shop", "_x", "shop_2", "a" * 63])
def test_plain_schemas_are_accepted(schema: str) -> None:
    assert _settings(schema=schema).schema == schema


@pytest.mark.parametrize(
    "schema", ["Shop", "2shop", "a" * 64, "pg_shop", 'shop"; DROP TABLE x; --', "", "shop.x"]
)
def test_other_schemas_are_refused(schema: str) -> None:
    with pytest.raises(ConfigurationError, match="schema must be a plain lowercase identifier"):
        _settings(schema=schema)


def test_the_replica_url_is_checked_and_rewritten_as_the_url_is() -> None:
    settings = _settings(replica_url="postgres://shop:s3cret@replica.internal/shop?sslmode=require")
    assert settings.replica_url == "postgres://shop:s3cret@replica.internal/shop?sslmode=require"
    replica = settings.replica_sqlalchemy_url
    assert replica is not None
    assert replica.render_as_string(hide_password=False) == (
        "postgresql+asyncpg://shop:s3cret@replica.internal/shop?ssl=require"
    )
    with pytest.raises(ConfigurationError, match="replica_url: the URL option pool_size is not"):
        _settings(replica_url="postgresql://replica.internal/shop?pool_size=9")
    with pytest.raises(ConfigurationError, match="is not a PostgreSQL URL"):
        _settings(replica_url="sqlite:///replica.db")


# -- what the engine is given ---------------------------------------------------------------------


def test_no_lock_timeout_keeps_the_servers() -> None:
    settings = _settings(lock_timeout=None)
    assert "lock_timeout" not in settings.server_settings()


def test_engine_kwargs_by_default() -> None:
    assert _settings().engine_kwargs() == {
        "pool_size": 5,
        "max_overflow": 0,
        "pool_timeout": 30.0,
        "pool_pre_ping": True,
        "isolation_level": "REPEATABLE READ",
        "echo": False,
        "connect_args": {
            "server_settings": {"application_name": "andamios", "lock_timeout": "5000"},
            "timeout": 30.0,
        },
    }


def test_engine_kwargs_carry_every_setting() -> None:
    settings = _settings(
        pool_size=2,
        max_overflow=3,
        pool_timeout=1.5,
        statement_timeout=2.5,
        isolation_level="SERIALIZABLE",
        schema="shop",
        echo=True,
    )
    assert settings.engine_kwargs() == {
        "pool_size": 2,
        "max_overflow": 3,
        "pool_timeout": 1.5,
        "pool_pre_ping": True,
        "isolation_level": "SERIALIZABLE",
        "echo": True,
        "connect_args": {
            "server_settings": {
                "application_name": "andamios",
                "search_path": "shop",
                "statement_timeout": "2500",
                "lock_timeout": "5000",
            },
            "timeout": 1.5,
        },
    }


@pytest.mark.parametrize(("seconds", "sent"), [(0.0001, "1"), (0.0016, "2"), (30, "30000")])
def test_statement_timeout_is_sent_in_whole_milliseconds_never_zero(
    seconds: float, sent: str
) -> None:
    assert _settings(statement_timeout=seconds).server_settings()["statement_timeout"] == sent


# -- the value itself -----------------------------------------------------------------------------


def test_the_repr_hides_both_passwords() -> None:
    settings = _settings(replica_url="postgresql://shop:r3plica@replica.internal/shop")
    shown = repr(settings)
    assert "s3cret" not in shown
    assert "r3plica" not in shown
    assert shown == (
        "PostgreSQLSettings(url='postgresql+asyncpg://shop:***@db.internal:6543/shop', "
        "pool_size=5, max_overflow=0, pool_timeout=30.0, statement_timeout=None, "
        "lock_timeout=5.0, isolation_level='REPEATABLE READ', schema=None, "
        "replica_url='postgresql+asyncpg://shop:***@replica.internal/shop', echo=False)"
    )


def test_settings_are_frozen_and_compare_by_value() -> None:
    settings = _settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.pool_size = 9  # type: ignore[misc]
    assert settings == _settings()
    assert settings != _settings(pool_size=6)


def test_settings_take_keywords_only() -> None:
    with pytest.raises(TypeError):
        PostgreSQLSettings(URL)  # type: ignore[call-arg]
