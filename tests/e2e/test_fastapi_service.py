"""The FastAPI example service (examples/fastapi_service/), through httpx's ASGI transport.

Every test runs on the in-memory adapter, an in-memory DuckDB and a DuckDB file, and those that
use the ``client`` again on PostgreSQL where a server is reachable (``TestOnPostgreSQL``, at the
end): the same requests, the same statuses, the same bodies. httpx's ASGITransport does not run
the app's lifespan, so the ``app`` fixture enters it (``app.router.lifespan_context``), which
starts the container's resources and wires the routes, and leaves it after the test, which
closes them. The sections between ``--8<--`` markers are shown in docs/guides/fastapi.md: they
import only what a reader's project has.
"""

# --8<-- [start:imports]
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from examples.fastapi_service.app import create_app
from examples.fastapi_service.services import give_back
from fastapi import FastAPI

from andamios.ports import BeforeCommit, Hooks
from andamios.ports.errors import ConfigurationError, UnitOfWorkError

DDD = {"isbn": "978-0-13-468599-1", "title": "Domain-Driven Design", "author": "Eric Evans"}
PEAA = {"isbn": "978-0-32-112742-6", "title": "Patterns of Enterprise", "author": "Martin Fowler"}
# --8<-- [end:imports]


# --8<-- [start:fixtures]
@pytest.fixture(params=["memory", "duckdb-in-memory", "duckdb-file"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The settings of each adapter the service runs on. They are merged over [tool.andamios]
    and ANDAMIOS_*, so each names its own database: none falls back to your project's."""
    if request.param == "memory":
        return {"adapter": "memory"}
    url = "duckdb+async:///:memory:"
    if request.param == "duckdb-file":
        url = f"duckdb+async:///{tmp_path / 'library.duckdb'}"
    return {"adapter": "duckdb", "database": {"url": url, "create_tables": True}}


@pytest.fixture
async def app(settings: dict[str, Any], rendezvous: Rendezvous) -> AsyncIterator[FastAPI]:
    """A fresh service, its lifespan entered: started and wired, then closed after the test."""
    app = create_app(settings, hooks=[rendezvous])
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that calls the app in process, through httpx's ASGI transport."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


# --8<-- [end:fixtures]


# --8<-- [start:rendezvous]
class Rendezvous(Hooks):
    """While armed, holds every commit until ``parties`` commits are waiting: both requests
    have read the same version before either writes, a real lost-update race."""

    def __init__(self) -> None:
        self.barrier: asyncio.Barrier | None = None

    def arm(self, parties: int) -> None:
        self.barrier = asyncio.Barrier(parties)

    async def before_commit(self, event: BeforeCommit) -> None:
        if self.barrier is not None:
            async with asyncio.timeout(10):
                await self.barrier.wait()


@pytest.fixture
def rendezvous() -> Rendezvous:
    return Rendezvous()


# --8<-- [end:rendezvous]


async def test_health_names_the_adapter_the_settings_chose(
    client: httpx.AsyncClient, settings: dict[str, Any]
) -> None:
    response = await client.get("/health")
    assert response.json() == {"status": "ok", "adapter": settings["adapter"]}


# --8<-- [start:crud]
async def add(client: httpx.AsyncClient, book: dict[str, Any], copies: int = 1) -> dict[str, Any]:
    response = await client.post("/books", json={**book, "copies": copies})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_read_update_and_list(client: httpx.AsyncClient) -> None:
    created = await add(client, DDD, copies=2)
    assert created == {**DDD, "copies": 2, "on_loan": 0, "version": 1}

    read = await client.get(f"/books/{DDD['isbn']}")
    assert read.status_code == 200
    assert read.json() == created

    changed = await client.patch(f"/books/{DDD['isbn']}", json={"title": "DDD", "copies": 3})
    assert changed.status_code == 200
    assert changed.json() == {**created, "title": "DDD", "copies": 3, "version": 2}

    await add(client, PEAA)
    listed = await client.get("/books")
    assert [book["title"] for book in listed.json()] == ["DDD", "Patterns of Enterprise"]
    by_author = await client.get("/books", params={"author": "Martin Fowler"})
    assert [book["isbn"] for book in by_author.json()] == [PEAA["isbn"]]


# --8<-- [end:crud]


async def test_lending_changes_the_book_and_returning_gives_it_back(
    client: httpx.AsyncClient,
) -> None:
    await add(client, DDD, copies=1)
    lent = await client.post(f"/books/{DDD['isbn']}/loans")
    assert lent.status_code == 201
    assert (lent.json()["on_loan"], lent.json()["version"]) == (1, 2)
    returned = await client.post(f"/books/{DDD['isbn']}/returns")
    assert returned.status_code == 200
    assert (returned.json()["on_loan"], returned.json()["version"]) == (0, 3)


async def test_a_list_is_paged_with_limit_and_offset(client: httpx.AsyncClient) -> None:
    await add(client, DDD)
    await add(client, PEAA)
    second = await client.get("/books", params={"limit": 1, "offset": 1})
    assert [book["isbn"] for book in second.json()] == [PEAA["isbn"]]
    assert (await client.get("/books", params={"limit": 0})).status_code == 422


# --8<-- [start:service]
async def test_a_route_that_calls_a_service(client: httpx.AsyncClient) -> None:
    await add(client, DDD, copies=1)
    await client.post(f"/books/{DDD['isbn']}/loans")
    returned = await client.post(f"/books/{DDD['isbn']}/returns")  # give_back(new_uow(), isbn)
    assert returned.status_code == 200
    assert (returned.json()["on_loan"], returned.json()["version"]) == (0, 3)
    again = await client.post(f"/books/{DDD['isbn']}/returns")  # RuleBroken, in the service
    assert again.status_code == 409
    assert (await client.get(f"/books/{DDD['isbn']}")).json() == returned.json()


async def test_a_service_refuses_a_unit_of_work_already_entered(app: FastAPI) -> None:
    async with app.state.container.uow() as uow:  # what the Uow dependency hands a route
        with pytest.raises(UnitOfWorkError, match="already entered"):
            await give_back(uow, DDD["isbn"])


# --8<-- [end:service]


# --8<-- [start:errors]
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/books/978-0-00-000000-0"),
        ("PATCH", "/books/978-0-00-000000-0"),
        ("POST", "/books/978-0-00-000000-0/loans"),
    ],
)
async def test_an_unknown_book_is_404(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path, json={} if method == "PATCH" else None)
    assert response.status_code == 404
    assert response.json() == {"detail": "Book with id '978-0-00-000000-0' not found"}


async def test_a_duplicate_is_409_and_keeps_the_first(client: httpx.AsyncClient) -> None:
    first = await add(client, DDD)
    again = await client.post("/books", json={**DDD, "title": "Another"})
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    assert (await client.get(f"/books/{DDD['isbn']}")).json() == first


async def test_concurrent_updates_one_wins_the_other_is_409(
    client: httpx.AsyncClient, rendezvous: Rendezvous
) -> None:
    await add(client, DDD, copies=2)
    rendezvous.arm(2)  # both requests read version 1, then both commit
    first, second = await asyncio.gather(
        client.patch(f"/books/{DDD['isbn']}", json={"title": "First"}),
        client.patch(f"/books/{DDD['isbn']}", json={"title": "Second"}),
    )
    rendezvous.barrier = None
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    winner, loser = (first, second) if first.status_code == 200 else (second, first)
    assert "by another unit of work" in loser.json()["detail"]
    stored = (await client.get(f"/books/{DDD['isbn']}")).json()
    assert stored == winner.json()
    assert stored["version"] == 2


# --8<-- [end:errors]


@pytest.mark.parametrize(
    "body",
    [
        {"isbn": "not an isbn", "title": "T", "author": "A"},
        {"isbn": DDD["isbn"], "title": "", "author": "A"},
        {"isbn": DDD["isbn"], "title": "T"},
        {**DDD, "copies": 0},
        {**DDD, "copies": "many"},
    ],
    ids=["isbn", "empty-title", "no-author", "no-copies", "copies-not-a-number"],
)
async def test_bad_input_is_422_and_stores_nothing(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/books", json=body)
    assert response.status_code == 422
    assert (await client.get("/books")).json() == []


# --8<-- [start:nothing-left-behind]
async def test_a_value_the_column_cannot_hold_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    created = await add(client, DDD)
    too_long = await client.patch(f"/books/{DDD['isbn']}", json={"title": "x" * 201})
    assert too_long.status_code == 422  # DataError, raised by the commit
    assert "MaxLength(200)" in too_long.json()["detail"]
    assert (await client.get(f"/books/{DDD['isbn']}")).json() == created

    new = await client.post("/books", json={**PEAA, "author": "y" * 101})
    assert new.status_code == 422
    assert (await client.get(f"/books/{PEAA['isbn']}")).status_code == 404


async def test_a_failed_batch_leaves_nothing_behind(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add(client, DDD)
    batch = await client.post("/books/batch", json=[PEAA, DDD])  # DDD is already stored
    assert batch.status_code == 409
    assert (await client.get(f"/books/{PEAA['isbn']}")).status_code == 404
    async with app.state.container.uow() as uow:  # the store itself, not the API
        assert [book.id for book in await uow.books.find()] == [DDD["isbn"]]


async def test_a_rule_the_book_refuses_is_409_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    await add(client, DDD, copies=1)
    lent = (await client.post(f"/books/{DDD['isbn']}/loans")).json()
    no_copy = await client.post(f"/books/{DDD['isbn']}/loans")
    assert no_copy.status_code == 409
    assert no_copy.json() == {"detail": f"every copy of {DDD['isbn']} is on loan"}
    too_few = await client.patch(f"/books/{DDD['isbn']}", json={"title": "New", "copies": 0})
    assert too_few.status_code == 409
    assert (await client.get(f"/books/{DDD['isbn']}")).json() == lent  # not even the title


# --8<-- [end:nothing-left-behind]


async def test_a_successful_batch_stores_every_book(client: httpx.AsyncClient) -> None:
    batch = await client.post("/books/batch", json=[DDD, PEAA])
    assert batch.status_code == 201
    assert [book["version"] for book in batch.json()] == [1, 1]
    assert len((await client.get("/books")).json()) == 2


async def test_nothing_given_back_when_none_is_on_loan_is_409(client: httpx.AsyncClient) -> None:
    await add(client, DDD)
    response = await client.post(f"/books/{DDD['isbn']}/returns")
    assert response.status_code == 409
    assert response.json() == {"detail": f"no copy of {DDD['isbn']} is on loan"}


# --8<-- [start:environment]
async def test_the_adapter_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml here: your [tool.andamios] does not apply
    monkeypatch.setenv("ANDAMIOS_DATABASE__URL", f"duckdb+async:///{tmp_path / 'env.duckdb'}")
    monkeypatch.setenv("ANDAMIOS_DATABASE__CREATE_TABLES", "true")
    for adapter in ("memory", "duckdb"):
        monkeypatch.setenv("ANDAMIOS_ADAPTER", adapter)
        app = create_app()  # no settings: ANDAMIOS_* alone
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                assert (await client.get("/health")).json()["adapter"] == adapter
    assert (tmp_path / "env.duckdb").is_file()


async def test_a_service_without_a_database_url_does_not_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # away from your pyproject.toml and its database.url
    monkeypatch.delenv("ANDAMIOS_DATABASE__URL", raising=False)
    app = create_app({"adapter": "duckdb"})
    with pytest.raises(ConfigurationError, match="ANDAMIOS_DATABASE__URL"):
        async with app.router.lifespan_context(app):
            pass  # never reached: the lifespan raises as it starts


# --8<-- [end:environment]


async def test_a_file_keeps_the_books_across_restarts(tmp_path: Path) -> None:
    url = f"duckdb+async:///{tmp_path / 'library.duckdb'}"
    for restart in range(2):
        app = create_app({"adapter": "duckdb", "database": {"url": url, "create_tables": True}})
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                if restart == 0:
                    await add(client, DDD)
                assert (await client.get(f"/books/{DDD['isbn']}")).json()["version"] == 1


@pytest.mark.subprocess
def test_the_scripted_session_prints_what_its_docstring_says_on_both_adapters() -> None:
    import subprocess  # noqa: PLC0415 - only here, outside the sections the guide shows
    import sys  # noqa: PLC0415

    from examples.fastapi_service import __main__ as session  # noqa: PLC0415

    _, _, block = (session.__doc__ or "").partition("It prints::\n\n")
    stated = [line[4:] for line in block.splitlines() if line.strip()]
    assert stated[0] == "memory:"
    assert stated[-1] == "duckdb: the same lines"
    completed = subprocess.run(
        [sys.executable, "-m", "examples.fastapi_service"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],  # the checkout: examples/ is importable
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == stated


# Andamios' own suite also runs every test that uses the app on PostgreSQL, in a schema of its
# own (skipped without a server). Not shown in the guide: schema_database is a helper of this
# suite; a project tests PostgreSQL with a settings fixture that names its server and schema.
class TestOnPostgreSQL:
    """The tests above that use ``app`` or ``client``, on PostgreSQL."""

    @pytest.fixture
    async def settings(self) -> AsyncIterator[dict[str, Any]]:
        from examples.fastapi_service.adapters import mapping  # noqa: PLC0415
        from tests._postgresql import POSTGRESQL_URL, schema_database  # noqa: PLC0415

        async with schema_database(mapping.metadata) as database:  # skips without a server
            schema = database.settings.schema
            yield {"adapter": "postgresql", "database": {"url": POSTGRESQL_URL, "schema": schema}}


def _uses_the_app(test: object) -> bool:
    import inspect  # noqa: PLC0415

    return callable(test) and bool({"app", "client"} & set(inspect.signature(test).parameters))


for _name, _test in list(globals().items()):
    if _name.startswith("test_") and _uses_the_app(_test):
        setattr(TestOnPostgreSQL, _name, staticmethod(_test))
