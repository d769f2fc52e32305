"""A scripted session with the library service, through httpx's ASGI transport (no server).

Run from the project's folder: ``uv run python -m examples.fastapi_service``. It runs the same
requests on the in-memory adapter and on a DuckDB file, the same lines for both. It prints::

    memory:
      GET /health -> 200 adapter memory
      POST /books -> 201 Domain-Driven Design v1
      POST /books (same ISBN) -> 409 DuplicateError
      POST /books (no title) -> 422 body.title: Field required
      GET /books/978-0-00-000000-0 -> 404
      PATCH /books/978-0-13-468599-1 -> 200 copies 3 v2
      POST /books/978-0-13-468599-1/loans x4 -> 201, 201, 201, 409
      POST /books/batch (one new, one known) -> 409; the new one: 404
      GET /books?author=Eric Evans -> 200 ['Domain-Driven Design']
    duckdb: the same lines
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import httpx

from .app import create_app

DDD = {"isbn": "978-0-13-468599-1", "title": "Domain-Driven Design", "author": "Eric Evans"}


async def session(settings: dict[str, Any]) -> list[str]:
    """The lines of one session on the adapter ``settings`` choose."""
    lines: list[str] = []
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),  # starts and stops the container's resources
        httpx.AsyncClient(transport=transport, base_url="http://library") as client,
    ):
        health = await client.get("/health")
        lines.append(f"GET /health -> {health.status_code} adapter {health.json()['adapter']}")
        created = await client.post("/books", json={**DDD, "copies": 2})
        book = created.json()
        lines.append(f"POST /books -> {created.status_code} {book['title']} v{book['version']}")
        again = await client.post("/books", json=DDD)
        lines.append(f"POST /books (same ISBN) -> {again.status_code} DuplicateError")
        invalid = await client.post("/books", json={"isbn": "978-1-00-000000-1", "author": "X"})
        problem = invalid.json()["detail"][0]
        where = ".".join(problem["loc"])
        lines.append(f"POST /books (no title) -> {invalid.status_code} {where}: {problem['msg']}")
        missing = await client.get("/books/978-0-00-000000-0")
        lines.append(f"GET /books/978-0-00-000000-0 -> {missing.status_code}")
        changed = await client.patch(f"/books/{DDD['isbn']}", json={"copies": 3})
        book = changed.json()
        lines.append(
            f"PATCH /books/{DDD['isbn']} -> {changed.status_code} "
            f"copies {book['copies']} v{book['version']}"
        )
        loans = [await client.post(f"/books/{DDD['isbn']}/loans") for _ in range(4)]
        statuses = ", ".join(str(loan.status_code) for loan in loans)
        lines.append(f"POST /books/{DDD['isbn']}/loans x4 -> {statuses}")
        new = {"isbn": "978-1-00-000000-1", "title": "Patterns", "author": "Martin Fowler"}
        batch = await client.post("/books/batch", json=[new, DDD])
        left = await client.get(f"/books/{new['isbn']}")
        lines.append(
            f"POST /books/batch (one new, one known) -> {batch.status_code}; "
            f"the new one: {left.status_code}"
        )
        listed = await client.get("/books", params={"author": "Eric Evans"})
        titles = [each["title"] for each in listed.json()]
        lines.append(f"GET /books?author=Eric Evans -> {listed.status_code} {titles}")
    return lines


async def main() -> None:
    memory = await session({"adapter": "memory"})
    print("memory:", *(f"  {line}" for line in memory), sep="\n")
    with tempfile.TemporaryDirectory() as folder:
        url = f"duckdb+async:///{Path(folder) / 'library.duckdb'}"
        # create_tables is for demos and tests; a real deployment runs `andamios db upgrade`.
        duckdb = await session(
            {"adapter": "duckdb", "database": {"url": url, "create_tables": True}}
        )
    same = [line.replace("adapter duckdb", "adapter memory") for line in duckdb] == memory
    print("duckdb: the same lines" if same else "\n".join(["duckdb:", *duckdb]))


if __name__ == "__main__":
    asyncio.run(main())
