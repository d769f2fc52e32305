"""Secure by default (ADR 0012, section 3): what a URL may not loosen, extensions, external access.

Every test opens a real DuckDB database. The extension tests prove that DuckDB asks no server for
an extension: a local HTTP server stands in for DuckDB's extension repository and counts the
requests it gets (and, as a control, gets one as soon as a statement lets DuckDB install).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
from scripts import attack
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from tests.integration.duckdb._contract_mapping import contract_mapping

from andamios.adapters.duckdb import Database, DuckDBSettings
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.adapters.sqlalchemy._bulk import BULK_THRESHOLD
from andamios.containers import PersistenceContainer
from andamios.ports.errors import ConfigurationError, DuplicateError, OperationalError
from andamios.settings import check_settings
from andamios.testing.models import ContractUnitOfWork, Gadget

_NO_FILES = "file system operations are disabled by configuration"


def _url(path: Path, query: str = "") -> str:
    return f"duckdb+async:///{path}" + (f"?{query}" if query else "")


async def _scalar(db: Database, sql: str) -> Any:
    async with db.engine.connect() as conn:
        return await conn.scalar(sa.text(sql))


async def _fails(db: Database, sql: str) -> str:
    """The translated error of ``sql``, as text; the statement must fail."""
    async with db.engine.connect() as conn:
        with pytest.raises(DBAPIError) as caught:
            await conn.execute(sa.text(sql))
    error = db.translate_error(caught.value)
    assert type(error) is OperationalError
    return str(error)


@pytest.fixture
def host_file(tmp_path: Path) -> Path:
    """A file of the host that no statement should be able to read without external access."""
    path = tmp_path / "secret.csv"
    path.write_text("a,b\n1,2\n")
    return path


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    """A SQLite database: DuckDB needs its (not installed) sqlite extension to read it."""
    path = tmp_path / "other.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE t (a INTEGER)")
        connection.commit()
    return path


@pytest.fixture
def repository() -> Iterator[tuple[str, list[str]]]:
    """A local stand-in for DuckDB's extension repository: its URL, and the paths asked for."""
    with attack.extension_repository() as served:
        yield served


# -- external access ------------------------------------------------------------------------------


async def test_external_access_is_off_by_default(tmp_path: Path, host_file: Path) -> None:
    async with Database(_url(tmp_path / "a.duckdb")) as db:
        assert db.settings.external_access is False
        assert await _scalar(db, "SELECT current_setting('enable_external_access')") is False
        for statement in (
            f"SELECT count(*) FROM read_csv('{host_file}')",
            f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'",
            f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
            "INSTALL sqlite",
        ):
            assert _NO_FILES in await _fails(db, statement)
        # A statement cannot switch it back on either.
        said = await _fails(db, "SET enable_external_access = true")
        assert "Cannot enable external access while database is running" in said
    assert not (tmp_path / "out.csv").exists()


# Every way a URL could ask for external access, or for an exception to it: each is either
# refused when the settings are made (and why), or leaves the host file unreadable (None).
_ACCESS_URLS = [
    ("", None),
    ("enable_external_access=false", None),
    ("lock_configuration=true", None),
    ("enable_external_access=true", "would loosen external_access=False"),
    ("ENABLE_EXTERNAL_ACCESS=1", "would loosen external_access=False"),
    ("Enable_External_Access=yes", "would loosen external_access=False"),
    ("enable_external_access=false&enable_external_access=true", "is given 2 times"),
    ("allowed_directories=['{dir}']", "would let statements reach files"),
    ("allowed_paths=['{file}']", "would let statements reach files"),
]


@pytest.mark.parametrize("keyword", [{}, {"external_access": False}], ids=["default", "False"])
@pytest.mark.parametrize(("query", "refusal"), _ACCESS_URLS)
async def test_no_url_lets_a_statement_read_a_host_file(
    tmp_path: Path, host_file: Path, query: str, refusal: str | None, keyword: dict[str, Any]
) -> None:
    url = _url(tmp_path / "a.duckdb", query.format(dir=host_file.parent, file=host_file))
    if refusal is not None:
        with pytest.raises(ConfigurationError, match=refusal):
            Database(url, **keyword)
        return
    async with Database(url, **keyword) as db:
        assert _NO_FILES in await _fails(db, f"SELECT count(*) FROM read_csv('{host_file}')")


def test_a_url_that_loosens_external_access_is_refused_naming_the_keyword(tmp_path: Path) -> None:
    url = _url(tmp_path / "a.duckdb", "enable_external_access=true")
    for access in (None, False):
        with pytest.raises(ConfigurationError) as refused:
            Database(url) if access is None else Database(url, external_access=access)
        assert str(refused.value) == (
            f"{url!r}: the URL option enable_external_access=true would loosen "
            "external_access=False, and a URL can only tighten a security setting; to allow it, "
            "pass external_access=True (the keyword, or ANDAMIOS_DATABASE__EXTERNAL_ACCESS)"
        )


async def test_external_access_allowed_by_the_keyword(tmp_path: Path, host_file: Path) -> None:
    # The keyword opens it, and a URL may say the same; the exceptions lists mean nothing then.
    for query in ("", "enable_external_access=true", "ENABLE_EXTERNAL_ACCESS=T"):
        async with Database(_url(tmp_path / "a.duckdb", query), external_access=True) as db:
            assert await _scalar(db, f"SELECT count(*) FROM read_csv('{host_file}')") == 1


def test_a_url_that_tightens_a_keyword_given_is_a_conflict(tmp_path: Path) -> None:
    url = _url(tmp_path / "a.duckdb", "enable_external_access=false")
    with pytest.raises(ConfigurationError) as refused:
        Database(url, external_access=True)
    assert str(refused.value) == (
        f"{url!r}: the URL option enable_external_access=false and the setting "
        "external_access=True disagree; give external_access once, in the URL or as a setting"
    )


async def test_read_only_cannot_be_loosened_and_can_be_asked_for_by_the_url(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.duckdb"
    async with Database(_url(path)) as db, db.engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE t (a INTEGER)"))
    for mode in ("read_write", "automatic", "READ_WRITE"):
        with pytest.raises(ConfigurationError, match="and the setting read_only=True disagree"):
            Database(_url(path, f"access_mode={mode}"), read_only=True)
    async with Database(_url(path, "access_mode=read_only")) as db:
        assert db.settings.read_only is True
        said = await _fails(db, "INSERT INTO t VALUES (1)")
        assert "read-only" in said
    with pytest.raises(ConfigurationError, match="expected read_only, read_write or automatic"):
        Database(_url(path, "access_mode=sometimes"))


# -- extensions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "why"),
    [
        ("autoinstall_known_extensions=true", "install or load extensions by itself"),
        ("autoload_known_extensions=1", "install or load extensions by itself"),
        ("allow_community_extensions=yes", "install or load extensions by itself"),
        ("allow_unsigned_extensions=true", "install or load extensions by itself"),
        ("allow_extensions_metadata_mismatch=true", "install or load extensions by itself"),
        ("Autoinstall_Known_Extensions=T", "install or load extensions by itself"),
        ("allow_unredacted_secrets=true", "would show secrets unredacted"),
        ("custom_extension_repository=http://example.org", "where DuckDB takes extensions from"),
        ("autoinstall_extension_repository=http://x", "where DuckDB takes extensions from"),
        ("extension_repository_directory=/tmp/repos", "where DuckDB takes extensions from"),
        ("allow_extension_repositories=allowed", "where DuckDB takes extensions from"),
    ],
)
def test_a_url_never_changes_the_extension_policy(tmp_path: Path, option: str, why: str) -> None:
    for access in (False, True):
        with pytest.raises(ConfigurationError) as refused:
            Database(_url(tmp_path / "a.duckdb", option), external_access=access)
        message = str(refused.value)
        assert f"the URL option {option.split('=', maxsplit=1)[0].lower()}=" in message
        assert why in message
        assert message.endswith("(docs/adr/0012-robustness.md)")


async def test_the_url_may_repeat_or_tighten_the_policy(tmp_path: Path) -> None:
    query = (
        "autoinstall_known_extensions=false&autoload_known_extensions=0&"
        "allow_unsigned_extensions=f&allow_extension_repositories=forbidden"
    )
    async with Database(_url(tmp_path / "a.duckdb", query)) as db:
        assert await _scalar(db, "SELECT current_setting('autoinstall_known_extensions')") is False
        assert (
            await _scalar(db, "SELECT current_setting('allow_extension_repositories')")
            == "forbidden"
        )


async def test_duckdb_installs_and_loads_no_extension_by_itself(
    tmp_path: Path, sqlite_file: Path, repository: tuple[str, list[str]]
) -> None:
    # External access on, so that only the extension policy stands between a statement that
    # needs the sqlite extension and a download of it.
    repo, requests = repository
    async with Database(_url(tmp_path / "a.duckdb"), external_access=True) as db:
        for name in ("autoinstall_known_extensions", "autoload_known_extensions"):
            assert await _scalar(db, f"SELECT current_setting('{name}')") is False
        async with db.engine.connect() as conn:
            await conn.execute(sa.text(f"SET custom_extension_repository = '{repo}'"))
            await conn.commit()
        for statement in (
            f"SELECT * FROM sqlite_scan('{sqlite_file}', 't')",
            f"ATTACH '{sqlite_file}' AS other",
        ):
            said = await _fails(db, statement)
            assert "download" not in said.lower()
            assert "sqlite" in said
        assert requests == []
        installed = await _scalar(
            db, "SELECT installed FROM duckdb_extensions() WHERE extension_name = 'sqlite_scanner'"
        )
        assert installed is False
        # The control: a statement that lets DuckDB install makes it ask the repository at once.
        async with db.engine.connect() as conn:
            await conn.execute(sa.text("SET autoinstall_known_extensions = true"))
            await conn.execute(sa.text("SET autoload_known_extensions = true"))
            with pytest.raises(DBAPIError, match="Failed to download extension"):
                await conn.execute(sa.text(f"ATTACH '{sqlite_file}' AS other"))
        assert requests
        assert all(path.startswith("/v2.0.0/linux_amd64/sqlite_scanner.") for path in requests)


async def test_the_dialect_alone_installs_no_extension(
    sqlite_file: Path, repository: tuple[str, list[str]]
) -> None:
    # A plain create_async_engine on duckdb+async opening a SQLite file: DuckDB would download
    # its sqlite extension (over plain HTTP, with DuckDB's defaults).
    repo, requests = repository
    config = {"custom_extension_repository": repo}
    engine = create_async_engine(f"duckdb+async:///{sqlite_file}", connect_args={"config": config})
    try:
        with pytest.raises(DBAPIError) as caught:
            async with engine.connect():
                pass
        assert 'Install it first using "INSTALL sqlite"' in str(caught.value)
    finally:
        await engine.dispose()
    assert requests == []
    # The control: the same engine with DuckDB's default asks the repository.
    config["autoinstall_known_extensions"] = "true"
    engine = create_async_engine(f"duckdb+async:///{sqlite_file}", connect_args={"config": config})
    try:
        with pytest.raises(DBAPIError, match="Failed to download extension"):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    assert requests


async def test_built_in_extensions_work_without_external_access(tmp_path: Path) -> None:
    # json (JSON value objects), parquet and icu are linked into DuckDB: nothing to load.
    async with Database(_url(tmp_path / "a.duckdb"), extensions=("json", "parquet", "icu")) as db:
        assert db.settings.extensions == ("json", "parquet", "icu")
        json = await _scalar(db, """SELECT json_extract_string('{"a": {"b": 7}}', '$.a.b')""")
        assert json == "7"
        zone = "SELECT strftime(TIMESTAMPTZ '2024-01-02 03:04:05+00' AT TIME ZONE 'UTC', '%Y')"
        assert await _scalar(db, zone) == "2024"


async def test_extensions_load_from_the_local_directory_only(tmp_path: Path) -> None:
    # sqlite is a known extension, not installed here: loading it fails at open, and names it,
    # rather than downloading it. Without external access the LOAD still ran (DuckDB would say
    # "Loading external extensions is disabled" otherwise), and access is off afterwards.
    for access in (False, True):
        with pytest.raises(ConfigurationError) as refused:
            async with Database(
                _url(tmp_path / "a.duckdb"), extensions=["sqlite"], external_access=access
            ):
                pass  # pragma: no cover - the open fails
        message = str(refused.value)
        assert "sqlite_scanner.duckdb_extension" in message
        assert "not found" in message


async def test_loading_extensions_keeps_external_access_off(
    tmp_path: Path, host_file: Path
) -> None:
    async with Database(_url(tmp_path / "a.duckdb"), extensions=["json"], pool_size=2) as db:
        # Every connection, not only the first, sees it off.
        async with db.engine.connect() as first, db.engine.connect() as second:
            for conn in (first, second):
                access = await conn.scalar(
                    sa.text("SELECT current_setting('enable_external_access')")
                )
                assert access is False
        assert _NO_FILES in await _fails(db, f"SELECT count(*) FROM read_csv('{host_file}')")


@pytest.mark.parametrize(
    ("extensions", "complaint"),
    [
        ("spatial", "extensions must be a list of extension names, got the text 'spatial'"),
        (["spatial", "../evil.duckdb_extension"], "got '../evil.duckdb_extension'"),
        (["json; DROP TABLE t"], "never from a path"),
        (["Spatial"], "lowercase"),
    ],
)
def test_extensions_are_names(extensions: Any, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint.replace("(", r"\(").replace(".", r"\.")):
        DuckDBSettings(url="duckdb+async://", extensions=extensions)


async def _add_all(factory: Any, gadgets: list[Gadget]) -> None:
    async with factory() as uow:
        await uow.gadgets.add_many(gadgets)
        await uow.commit()


# -- the Arrow bulk path without external access --------------------------------------------------


@pytest.mark.parametrize("access", [False, True], ids=["registered", "replacement-scan"])
async def test_bulk_writes_work_with_and_without_external_access(
    tmp_path: Path, access: bool
) -> None:
    # DuckDB counts its replacement scan of Python variables as external access: without it the
    # staged Arrow table is registered for each statement instead.
    many = BULK_THRESHOLD * 2
    with contract_mapping() as mapping:
        database = Database(_url(tmp_path / "a.duckdb"), external_access=access, pool_size=1)
        async with database as db:
            await db.create_all(mapping.metadata)
            factory = SqlAlchemyUnitOfWork.factory(ContractUnitOfWork, database=db, mapping=mapping)
            gadgets = [Gadget(sku=f"g{i}", name="n", price=Decimal(1)) for i in range(many)]
            async with factory() as uow:
                await uow.gadgets.add_many(gadgets)
                await uow.commit()
            # A bulk statement that fails (the same ids again) rolls back and leaves nothing
            # registered: the next one, on the same (only) connection, works.
            copies = [Gadget(id=g.id, sku="x", name="x", price=Decimal(2)) for g in gadgets]
            with pytest.raises(DuplicateError):
                await _add_all(factory, copies)
            async with factory() as uow:
                for gadget in await uow.gadgets.find():
                    gadget.rename("renamed")
                await uow.gadgets.add_many(
                    [Gadget(sku=f"h{i}", name="n", price=Decimal(1)) for i in range(many)]
                )
                await uow.commit()
            async with factory() as uow:
                assert await uow.gadgets.count() == 2 * many
                names = sorted({g.name for g in await uow.gadgets.find()})
                assert names == ["n", "renamed"]
            staged = await _scalar(
                db, "SELECT count(*) FROM duckdb_views() WHERE view_name = 'andamios_staged'"
            )
            assert staged == 0


# -- the URL's other options ----------------------------------------------------------------------


async def test_url_options_are_settings_or_pass_on_to_duckdb(tmp_path: Path) -> None:
    query = (
        "threads=1&max_memory=512MB&pool_size=2&pool_timeout=3.5&default_order=desc&"
        "disabled_optimizers=top_n"
    )
    async with Database(_url(tmp_path / "a.duckdb", query)) as db:
        settings = db.settings
        assert (settings.threads, settings.memory_limit) == (1, "512MB")
        assert (settings.pool_size, settings.pool_timeout) == (2, 3.5)
        assert await _scalar(db, "SELECT current_setting('threads')") == 1
        assert await _scalar(db, "SELECT lower(current_setting('default_order'))") == "desc"
        optimizers = await _scalar(db, "SELECT current_setting('disabled_optimizers')")
        # Andamios's own fix (row_group_pruner, see DuckDBSettings) is kept beside the URL's.
        assert set(str(optimizers).split(",")) == {"top_n", "row_group_pruner"}
        assert db.engine.pool.size() == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("query", "keyword"),
    [
        ("threads=2", {"threads": 1}),
        ("worker_threads=2", {"threads": 1}),
        ("memory_limit=1GB", {"memory_limit": "2GB"}),
        ("max_memory=1GB", {"memory_limit": "2GB"}),
        ("pool_size=3", {"pool_size": 4}),
        ("pool_timeout=2", {"pool_timeout": 5.0}),
    ],
)
def test_a_setting_given_twice_must_agree(
    tmp_path: Path, query: str, keyword: dict[str, Any]
) -> None:
    url = _url(tmp_path / "a.duckdb", query)
    [(name, value)] = keyword.items()
    option, raw = query.split("=")
    with pytest.raises(ConfigurationError) as refused:
        Database(url, **keyword)
    assert str(refused.value) == (
        f"{url!r}: the URL option {option}={raw} and the setting {name}={value!r} disagree; "
        f"give {name} once, in the URL or as a setting"
    )
    # The same value twice is no conflict; a keyword at its default takes the URL's.
    from_url = getattr(DuckDBSettings(url=url), name)
    assert from_url not in (value, None)
    assert getattr(DuckDBSettings(url=url, **{name: from_url}), name) == from_url


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("pool_size=many", "the URL option pool_size=many is not a valid pool_size"),
        ("pool_timeout=soon", "the URL option pool_timeout=soon is not a valid pool_timeout"),
        ("pool_timeout=0", "pool_timeout must be a number of seconds above 0, got 0.0"),
        ("pool_timeout=inf", "pool_timeout must be a number of seconds above 0, got inf"),
        ("pool_size=0", "pool_size must be at least 1, got 0"),
        ("threads=0", "threads must be at least 1, got 0"),
        ("enable_external_access=maybe", "is not a valid external_access (expected one of"),
        ("threads=1&threads=2", "the URL option threads is given 2 times; give it once"),
        ("default_order=asc&default_order=desc", "the URL option default_order is given 2"),
    ],
)
def test_wrong_url_options_are_refused(tmp_path: Path, query: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint.replace("(", r"\(")):
        Database(_url(tmp_path / "a.duckdb", query))


async def test_a_resolved_url_keeps_its_options(tmp_path: Path) -> None:
    # A URL read from [tool.andamios] is resolved against the project's folder, query and all.
    url = Database.resolve_url("duckdb+async:///app.duckdb?pool_size=1&pool_timeout=2", tmp_path)
    settings = DuckDBSettings(url=url)
    assert (settings.path, settings.pool_size, settings.pool_timeout) == (
        tmp_path / "app.duckdb",
        1,
        2.0,
    )
    assert settings.engine_url.render_as_string() == f"duckdb+async:///{tmp_path / 'app.duckdb'}"
    with pytest.raises(ConfigurationError, match="would loosen external_access=False"):
        Database.resolve_url("duckdb:///app.duckdb?enable_external_access=true", tmp_path)


# -- the dialect on its own -----------------------------------------------------------------------


async def test_the_dialect_never_lets_the_url_override_connect_args(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    config = {"enable_external_access": False}
    engine = create_async_engine(
        f"duckdb+async:///{path}?Enable_External_Access=true", connect_args={"config": config}
    )
    try:
        with pytest.raises(ArgumentError) as refused:
            async with engine.connect():
                pass
        assert str(refused.value) == (
            "duckdb+async: the URL sets enable_external_access='true' and connect_args config "
            "sets enable_external_access=False; give the option once"
        )
    finally:
        await engine.dispose()
    engine = create_async_engine(
        f"duckdb+async:///{path}?enable_external_access=FALSE&threads=1",
        connect_args={"config": config},
    )
    try:
        async with engine.connect() as conn:
            access = await conn.scalar(sa.text("SELECT current_setting('enable_external_access')"))
            assert access is False
    finally:
        await engine.dispose()


async def test_the_dialect_loads_extensions_without_external_access(
    tmp_path: Path, host_file: Path
) -> None:
    engine = create_async_engine(
        "duckdb+async://",
        connect_args={
            "config": {"enable_external_access": "false"},
            "preload_extensions": ["json"],
        },
    )
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError, match=_NO_FILES):
                await conn.execute(sa.text(f"SELECT * FROM read_csv('{host_file}')"))
    finally:
        await engine.dispose()


def test_duckdb_knows_the_options_refused() -> None:
    # The options this module refuses or fixes are DuckDB 2.0's: a rename upstream fails here.
    with duckdb.connect() as connection:
        rows = connection.execute("SELECT name FROM duckdb_settings()").fetchall()
    names = {name for (name,) in rows}
    for option in (
        "enable_external_access",
        "autoinstall_known_extensions",
        "autoload_known_extensions",
        "allow_community_extensions",
        "allow_unsigned_extensions",
        "allow_extensions_metadata_mismatch",
        "allow_unredacted_secrets",
        "custom_extension_repository",
        "autoinstall_extension_repository",
        "extension_repository_directory",
        "allow_extension_repositories",
        "allowed_directories",
        "allowed_paths",
        "access_mode",
        "threads",
        "worker_threads",
        "memory_limit",
        "max_memory",
    ):
        assert option in names


async def test_the_container_takes_a_url_option_its_setting_allows(
    tmp_path: Path, host_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The URL alone would be refused; with ANDAMIOS_DATABASE__EXTERNAL_ACCESS=true it is not.
    url = _url(tmp_path / "a.duckdb", "enable_external_access=true")
    monkeypatch.setenv("ANDAMIOS_ADAPTER", "duckdb")
    monkeypatch.setenv("ANDAMIOS_DATABASE__URL", url)
    monkeypatch.setenv("ANDAMIOS_DATABASE__EXTERNAL_ACCESS", "true")
    monkeypatch.setenv("ANDAMIOS_SCHEMA_CHECK", "off")  # no table needed to read a file
    with contract_mapping() as mapping:
        container = PersistenceContainer(unit_of_work=ContractUnitOfWork, mapping=mapping)
        await container.init_resources()
        try:
            db = container.started_database()
            assert isinstance(db, Database)
            assert await _scalar(db, f"SELECT count(*) FROM read_csv('{host_file}')") == 1
        finally:
            await container.shutdown_resources()
        monkeypatch.delenv("ANDAMIOS_DATABASE__EXTERNAL_ACCESS")
        container = PersistenceContainer(unit_of_work=ContractUnitOfWork, mapping=mapping)
        with pytest.raises(ConfigurationError) as refused:
            await container.init_resources()
    assert str(refused.value).startswith(
        f"database.url (ANDAMIOS_DATABASE__URL): {url!r}: the URL option "
        "enable_external_access=true would loosen external_access=False"
    )


def test_extensions_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDAMIOS_DATABASE__URL", "duckdb+async://")
    monkeypatch.setenv("ANDAMIOS_DATABASE__EXTENSIONS", '["json", "parquet"]')
    options = check_settings({}).database.options("duckdb")
    assert DuckDBSettings(**options).extensions == ("json", "parquet")
