"""AndamiosSettings: environment variables, defaults, and errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from andamios.ports.errors import ConfigurationError
from andamios.settings import ADAPTERS, AndamiosSettings, DatabaseSettings, check_settings, env_name


def test_defaults() -> None:
    settings = AndamiosSettings()
    assert settings.adapter == "duckdb"
    assert settings.database == DatabaseSettings()
    assert settings.database.url is None
    assert settings.database.pool_size == 5
    assert settings.database.pool_timeout == 30.0
    assert settings.database.create_tables is False
    assert ADAPTERS == ("memory", "duckdb", "postgresql")
    # The settings of one adapter are unset: each adapter keeps its own defaults.
    unset = (
        "threads", "memory_limit", "read_only", "external_access", "extensions", "max_overflow",
        "statement_timeout", "lock_timeout", "isolation_level", "schema", "replica_url",
    )  # fmt: skip
    assert all(settings.database.model_dump()[name] is None for name in unset)


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDAMIOS_ADAPTER", "memory")
    monkeypatch.setenv("ANDAMIOS_DATABASE__URL", "duckdb+async:///app.duckdb")
    monkeypatch.setenv("ANDAMIOS_DATABASE__THREADS", "2")
    monkeypatch.setenv("ANDAMIOS_DATABASE__MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("ANDAMIOS_DATABASE__READ_ONLY", "true")
    monkeypatch.setenv("ANDAMIOS_DATABASE__EXTERNAL_ACCESS", "false")
    monkeypatch.setenv("ANDAMIOS_DATABASE__POOL_SIZE", "3")
    monkeypatch.setenv("ANDAMIOS_DATABASE__ECHO", "1")
    monkeypatch.setenv("ANDAMIOS_DATABASE__CREATE_TABLES", "yes")
    settings = AndamiosSettings()
    assert settings.adapter == "memory"
    assert settings.database == DatabaseSettings(
        url="duckdb+async:///app.duckdb",
        threads=2,
        memory_limit="1GB",
        read_only=True,
        external_access=False,
        pool_size=3,
        echo=True,
        create_tables=True,
    )


def test_dotenv_file(tmp_path: Path) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text("ANDAMIOS_DATABASE__URL=duckdb+async:///prod.duckdb\n")
    settings = AndamiosSettings(_env_file=env_file)
    assert settings.database.url == "duckdb+async:///prod.duckdb"


def test_wrong_environment_names_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDAMIOS_ADAPTER", "sqlite")
    monkeypatch.setenv("ANDAMIOS_DATABASE__POOL_SIZE", "0")
    with pytest.raises(ConfigurationError) as caught:
        AndamiosSettings()
    message = str(caught.value)
    assert message.startswith("invalid Andamios settings: ")
    assert (
        "adapter (ANDAMIOS_ADAPTER): Input should be 'memory', 'duckdb' or 'postgresql', "
        "got 'sqlite'"
    ) in message
    assert "database.pool_size (ANDAMIOS_DATABASE__POOL_SIZE): " in message
    assert "got '0'" in message


def test_check_settings_requires_a_url_for_duckdb() -> None:
    with pytest.raises(
        ConfigurationError, match=r"^database\.url \(ANDAMIOS_DATABASE__URL\) is not"
    ):
        check_settings({"adapter": "duckdb", "database": {"url": None}})
    with pytest.raises(ConfigurationError, match="is not set"):
        check_settings({})  # the default adapter is duckdb
    assert check_settings({"adapter": "memory"}).adapter == "memory"
    complete = check_settings({"database": {"url": "duckdb+async://"}})
    assert complete.database.url == "duckdb+async://"


def test_check_settings_refuses_unknown_database_keys_but_keeps_application_keys() -> None:
    with pytest.raises(ConfigurationError, match=r"database\.pool \(ANDAMIOS_DATABASE__POOL\)"):
        check_settings({"adapter": "memory", "database": {"pool": 3}})
    assert check_settings({"adapter": "memory", "shop": {"currency": "EUR"}}).adapter == "memory"


def test_no_adapter_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"adapter \(ANDAMIOS_ADAPTER\): .*got None"):
        check_settings({"adapter": None})


def test_env_name() -> None:
    assert env_name("adapter") == "ANDAMIOS_ADAPTER"
    assert env_name("database.url") == "ANDAMIOS_DATABASE__URL"


# -- postgresql ----------------------------------------------------------------------------------

PG_URL = "postgresql+asyncpg://shop:secret@db.internal:5432/shop"


def test_postgresql_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDAMIOS_ADAPTER", "postgresql")
    monkeypatch.setenv("ANDAMIOS_DATABASE__URL", PG_URL)
    monkeypatch.setenv("ANDAMIOS_DATABASE__POOL_SIZE", "10")
    monkeypatch.setenv("ANDAMIOS_DATABASE__MAX_OVERFLOW", "4")
    monkeypatch.setenv("ANDAMIOS_DATABASE__POOL_TIMEOUT", "2.5")
    monkeypatch.setenv("ANDAMIOS_DATABASE__STATEMENT_TIMEOUT", "15")
    monkeypatch.setenv("ANDAMIOS_DATABASE__LOCK_TIMEOUT", "0.25")
    monkeypatch.setenv("ANDAMIOS_DATABASE__ISOLATION_LEVEL", "READ COMMITTED")
    monkeypatch.setenv("ANDAMIOS_DATABASE__SCHEMA", "shop")
    monkeypatch.setenv("ANDAMIOS_DATABASE__REPLICA_URL", "postgresql://shop@replica/shop")
    monkeypatch.setenv("ANDAMIOS_DATABASE__ECHO", "true")
    monkeypatch.setenv("ANDAMIOS_DATABASE__CREATE_TABLES", "true")
    settings = check_settings({})
    assert settings.adapter == "postgresql"
    assert settings.database == DatabaseSettings(
        url=PG_URL,
        pool_size=10,
        max_overflow=4,
        pool_timeout=2.5,
        statement_timeout=15.0,
        lock_timeout=0.25,
        isolation_level="READ COMMITTED",
        schema="shop",
        replica_url="postgresql://shop@replica/shop",
        echo=True,
        create_tables=True,
    )
    assert settings.database.schema_ == "shop"
    assert settings.database.options("postgresql") == {
        "url": PG_URL,
        "pool_size": 10,
        "echo": True,
        "max_overflow": 4,
        "pool_timeout": 2.5,
        "statement_timeout": 15.0,
        "lock_timeout": 0.25,
        "isolation_level": "READ COMMITTED",
        "schema": "shop",
        "replica_url": "postgresql://shop@replica/shop",
    }


def test_the_schema_is_schema_in_configuration_and_dumps() -> None:
    # pydantic's models have a schema() method, so the attribute is schema_; nothing else says so.
    settings = check_settings({"adapter": "postgresql", "database": {"url": PG_URL, "schema": "s"}})
    assert settings.database.schema_ == "s"
    assert settings.model_dump()["database"]["schema"] == "s"
    with pytest.raises(
        ConfigurationError, match=r"database\.schema_ \(ANDAMIOS_DATABASE__SCHEMA_\)"
    ):
        check_settings({"adapter": "postgresql", "database": {"url": PG_URL, "schema_": "s"}})


def test_options_are_the_adapters_keywords() -> None:
    database = DatabaseSettings(url="duckdb+async://", threads=2, read_only=False)
    # Unset settings are left out, so the adapter's settings class keeps its defaults.
    assert database.options("duckdb") == {
        "url": "duckdb+async://",
        "pool_size": 5,
        "pool_timeout": 30.0,
        "echo": False,
        "threads": 2,
        "read_only": False,
    }
    assert DatabaseSettings(url=PG_URL).options("postgresql") == {
        "url": PG_URL,
        "pool_size": 5,
        "pool_timeout": 30.0,
        "echo": False,
    }
    assert database.options("memory") == {}  # memory opens no database


def test_check_settings_requires_a_url_for_postgresql() -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_settings({"adapter": "postgresql"})
    assert str(caught.value) == (
        "database.url (ANDAMIOS_DATABASE__URL) is not set: the postgresql adapter needs a "
        "database URL such as postgresql+asyncpg://user:password@host:5432/database "
        "(or choose the memory adapter with adapter=memory)"
    )


@pytest.mark.parametrize(
    ("adapter", "url", "owner", "scheme"),
    [
        ("postgresql", "duckdb+async:///app.duckdb", "duckdb", "duckdb+async"),
        ("postgresql", "duckdb:///app.duckdb", "duckdb", "duckdb"),
        ("duckdb", "postgresql+asyncpg://shop:secret@db/shop", "postgresql", "postgresql+asyncpg"),
        ("duckdb", "postgres://shop:secret@db/shop", "postgresql", "postgres"),
        ("duckdb", "PostgreSQL://db/shop", "postgresql", "PostgreSQL"),
    ],
)
def test_a_url_of_the_other_adapter_is_refused(
    adapter: str, url: str, owner: str, scheme: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_settings({"adapter": adapter, "database": {"url": url}})
    message = str(caught.value)
    assert message.startswith(
        f"database.url (ANDAMIOS_DATABASE__URL): a {owner} URL ({scheme}://...) does not fit "
        f"adapter (ANDAMIOS_ADAPTER) {adapter!r}: give a {adapter} URL such as "
    )
    assert message.endswith(f", or choose adapter={owner}")
    assert "secret" not in message  # only the scheme of a URL is shown


@pytest.mark.parametrize("url", ["sqlite:///app.db", "not a url", "app.duckdb"])
def test_other_urls_are_left_to_the_adapter(url: str) -> None:
    # Not another adapter's URL: the adapter's own settings say what is wrong with it.
    for adapter in ("duckdb", "postgresql"):
        assert check_settings({"adapter": adapter, "database": {"url": url}}).database.url == url


def test_duckdb_settings_do_not_apply_to_postgresql() -> None:
    database = {
        "url": PG_URL,
        "threads": 4,
        "memory_limit": "1GB",
        "read_only": False,  # set, even to DuckDB's default: it still means nothing here
        "external_access": True,
        "extensions": ["spatial"],
    }
    with pytest.raises(ConfigurationError) as caught:
        check_settings({"adapter": "postgresql", "database": database})
    assert str(caught.value).split("; ") == [
        f"database.{name} (ANDAMIOS_DATABASE__{name.upper()}) does not apply to the postgresql "
        "adapter (only duckdb takes it): unset it, or choose adapter=duckdb"
        for name in ("threads", "memory_limit", "read_only", "external_access", "extensions")
    ]


def test_postgresql_settings_do_not_apply_to_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDAMIOS_DATABASE__SCHEMA", "shop")
    monkeypatch.setenv("ANDAMIOS_DATABASE__REPLICA_URL", "postgresql://u:secret@replica/shop")
    database = {
        "url": "duckdb+async:///app.duckdb",
        "max_overflow": 0,
        "pool_timeout": 30,  # a setting of both adapters
        "statement_timeout": 5,
        "lock_timeout": 1,
        "isolation_level": "SERIALIZABLE",
    }
    with pytest.raises(ConfigurationError) as caught:
        check_settings({"adapter": "duckdb", "database": database})
    message = str(caught.value)
    assert message.split("; ") == [
        f"database.{name} (ANDAMIOS_DATABASE__{name.upper()}) does not apply to the duckdb "
        "adapter (only postgresql takes it): unset it, or choose adapter=postgresql"
        for name in (
            "max_overflow",
            "statement_timeout",
            "lock_timeout",
            "isolation_level",
            "schema",
            "replica_url",
        )
    ]
    assert "secret" not in message


def test_memory_ignores_every_database_setting() -> None:
    # So that one line switches a configured application to memory for a test (ADR 0007).
    database = {"url": "duckdb+async:///app.duckdb", "threads": 2, "schema": "shop"}
    assert check_settings({"adapter": "memory", "database": database}).adapter == "memory"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("max_overflow", "-1", "greater than or equal to 0"),
        ("pool_timeout", "0", "greater than 0"),
        ("pool_timeout", "inf", "finite number"),
        ("statement_timeout", "nan", "finite number"),
        ("statement_timeout", "soon", "valid number"),
    ],
)
def test_wrong_postgresql_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str
) -> None:
    variable = f"ANDAMIOS_DATABASE__{name.upper()}"
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        AndamiosSettings()
    message = str(caught.value)
    assert f"database.{name} ({variable}): " in message
    assert problem in message
    assert f"got {value!r}" in message
