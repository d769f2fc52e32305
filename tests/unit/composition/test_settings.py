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
    assert settings.database.create_tables is False
    assert ADAPTERS == ("memory", "duckdb")


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
        "adapter (ANDAMIOS_ADAPTER): Input should be 'memory' or 'duckdb', got 'sqlite'" in message
    )
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
