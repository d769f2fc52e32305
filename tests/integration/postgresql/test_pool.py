"""The pool's settings of a PostgreSQL database from every source, as DuckDB takes them.

``pool_size`` and ``pool_timeout`` may be keywords, URL options (removed from the URL the server
sees), ``ANDAMIOS_DATABASE__*`` variables or container configuration (ADR 0012, section 5). The
unit-of-work wait itself is tested on every database in ``tests/integration/duckdb/test_pool.py``.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from tests.unit.composition._app import Notebook, mapping

from andamios.adapters.postgresql import Database, PostgreSQLSettings
from andamios.containers import PersistenceContainer
from andamios.ports.errors import ConfigurationError, OperationalError

_WAIT = 0.2


async def test_the_url_gives_the_pool_settings(postgresql_url: str) -> None:
    async with Database(f"{postgresql_url}?pool_size=1&pool_timeout={_WAIT}") as db:
        assert (db.settings.pool_size, db.settings.pool_timeout) == (1, _WAIT)
        # The server never sees them (asyncpg would refuse them as connection arguments).
        assert dict(db.settings.sqlalchemy_url.query) == {}
        assert "pool_" not in db.url
        async with db.engine.connect():
            started = time.perf_counter()
            with pytest.raises(sa.exc.TimeoutError) as waited:
                async with db.engine.connect():
                    pass  # pragma: no cover - the pool has no connection to give
            elapsed = time.perf_counter() - started
        error = db.translate_error(waited.value)
    assert type(error) is OperationalError
    assert str(error).startswith(
        f"no database connection became free within pool_timeout={_WAIT} s, with all "
        "pool_size=1 (+ max_overflow=0) connections in use; raise pool_size or pool_timeout"
    )
    assert _WAIT <= elapsed < _WAIT + 1.5


def test_a_pool_setting_given_twice_must_agree(postgresql_url: str) -> None:
    url = f"{postgresql_url}?pool_size=3&pool_timeout=2"
    settings = PostgreSQLSettings(url=url, pool_size=3)  # the same value, and a default
    assert (settings.pool_size, settings.pool_timeout) == (3, 2.0)
    with pytest.raises(ConfigurationError) as refused:
        PostgreSQLSettings(url=url, pool_timeout=5)
    assert str(refused.value).endswith(
        "the URL option pool_timeout=2 and the setting pool_timeout=5 disagree; give "
        "pool_timeout once, in the URL or as a setting"
    )


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("pool_size=few", "the URL option pool_size=few is not a valid pool_size"),
        ("pool_size=0", "pool_size must be at least 1, got 0"),
        ("pool_timeout=-1", "pool_timeout must be a number of seconds above 0, got -1.0"),
        ("pool_timeout=1&pool_timeout=2", "the URL option pool_timeout is given 2 times"),
    ],
)
def test_wrong_pool_options_are_refused(postgresql_url: str, query: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        PostgreSQLSettings(url=f"{postgresql_url}?{query}")


def test_the_password_is_hidden_in_the_messages() -> None:
    with pytest.raises(ConfigurationError) as refused:
        PostgreSQLSettings(url="postgresql://shop:s3cret@db/shop?pool_size=2", pool_size=3)
    assert "s3cret" not in str(refused.value)
    assert "'postgresql+asyncpg://shop:***@db/shop?pool_size=2'" in str(refused.value)


async def test_the_environment_gives_the_pool_timeout(
    postgresql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANDAMIOS_ADAPTER", "postgresql")
    monkeypatch.setenv("ANDAMIOS_DATABASE__URL", postgresql_url)
    monkeypatch.setenv("ANDAMIOS_DATABASE__POOL_SIZE", "1")
    monkeypatch.setenv("ANDAMIOS_DATABASE__POOL_TIMEOUT", "2.5")
    monkeypatch.setenv("ANDAMIOS_SCHEMA_CHECK", "off")  # an empty schema, on purpose
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
    await container.init_resources()
    try:
        settings = container.started_database().settings
        assert isinstance(settings, PostgreSQLSettings)
        assert (settings.pool_size, settings.pool_timeout) == (1, 2.5)
    finally:
        await container.shutdown_resources()
