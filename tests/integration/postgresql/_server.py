"""Helpers of the PostgreSQL adapter's tests: statements, URLs, and a stand-in server."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["Handler", "refusing", "run", "silent", "stand_in_server", "url_of"]


async def run(conn: AsyncConnection, *statements: str) -> None:
    """Run each of ``statements`` on ``conn``."""
    for statement in statements:
        await conn.execute(sa.text(statement))


def url_of(
    url: str,
    *,
    port: int | None = None,
    database: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> str:
    """``url`` with the given parts replaced, as a string with its password."""
    parsed = make_url(url)
    parsed = parsed.set(
        port=parsed.port if port is None else port,
        database=parsed.database if database is None else database,
        username=parsed.username if username is None else username,
        password=parsed.password if password is None else password,
    )
    return parsed.render_as_string(hide_password=False)


# -- a stand-in server ----------------------------------------------------------------------------
#
# The test server trusts every connection and is never starting up, so it cannot answer with
# SQLSTATE 28P01 (wrong password) or 57P03 (cannot connect now). This one speaks the start of
# PostgreSQL's wire protocol to asyncpg and answers that, or never answers at all.

_SSL_REQUEST = 80877103


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def _error_response(sqlstate: str, text: str) -> bytes:
    fields = [b"SFATAL", b"VFATAL", b"C" + sqlstate.encode(), b"M" + text.encode()]
    return _message(b"E", b"\0".join(fields) + b"\0\0")


async def _startup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the client's startup message (refusing SSL first, if it asks for it)."""
    while True:
        (length,) = struct.unpack("!I", await reader.readexactly(4))
        body = await reader.readexactly(length - 4)
        if struct.unpack("!I", body[:4])[0] != _SSL_REQUEST:
            return
        writer.write(b"N")
        await writer.drain()


type Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def refusing(sqlstate: str, text: str, *, ask_password: bool) -> Handler:
    """A server that refuses every client with ``sqlstate`` (after asking a password)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await _startup(reader, writer)
            if ask_password:
                writer.write(_message(b"R", struct.pack("!I", 3)))  # cleartext password
                await writer.drain()
                await reader.readexactly(1)  # "p"
                (length,) = struct.unpack("!I", await reader.readexactly(4))
                await reader.readexactly(length - 4)
            writer.write(_error_response(sqlstate, text))
            await writer.drain()
        writer.close()

    return handle


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A server that reads the startup message and then never answers."""
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        await _startup(reader, writer)
        await reader.read()
    writer.close()


@contextlib.asynccontextmanager
async def stand_in_server(handler: Handler) -> AsyncIterator[int]:
    """Serve ``handler`` on 127.0.0.1; yields the port."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        server.close_clients()
        await server.wait_closed()
