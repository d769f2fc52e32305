"""The long attacks of issue 11, outside the default test run (figures: docs/guides/reliability.md).

::

    uv run --frozen python scripts/attack.py all                  # every attack, default counts
    uv run --frozen python scripts/attack.py crash --runs 300     # one attack, more runs
    uv run --frozen python scripts/attack.py close --adapter postgresql

Every attack runs on real databases, through Andamios's public API only: a DuckDB file in a
temporary folder, or PostgreSQL (``--postgresql-url``, default ``ANDAMIOS_TEST_POSTGRESQL_URL``
or the local test server) in a schema of its own, dropped afterwards. Without ``--adapter`` an
attack runs on every adapter it applies to (PostgreSQL is skipped, saying so, when the server
cannot be reached). Each attack prints one line per adapter; ``all`` ends with a markdown table.
The exit code is 1 when anything was lost or answered wrong, 0 otherwise.

Attacks (``--runs`` is what each counts):

- ``crash``: SIGKILLs (default 100) of a writer process that commits batches and acknowledges
  each one after ``commit()`` returned; after each kill the database is reopened and every
  acknowledged batch must be there, whole (lost = acknowledged but missing or torn).
- ``migrations``: killed ``andamios db upgrade`` runs (default 30; the real console script) at a
  random moment of a five-revision upgrade; the database must then be at the revision it started
  from or at head, with exactly that revision's tables, columns, indexes and rows, and a rerun
  must reach head (wrong = anything else). DuckDB.
- ``concurrency``: concurrent units of work (default 1,000, all started at once) incrementing 4
  counters, each retried on ``ConcurrencyError`` (lost updates = increments told committed minus
  the stored total, failed = a unit of work that gave up or raised anything else).
- ``cancellation``: increments cancelled at a random moment (default 200; the window adapts so
  that about a third commit, and many are cancelled inside ``commit()``); a task that ended
  normally was told "committed", one that raised ``CancelledError`` "not committed" (wrong =
  stored value minus told committed); SQLAlchemy's log must stay silent.
- ``close``: rounds (default 100) of ``Database.close()`` with 6 units of work in flight; each
  must have committed (its rows there after close) or raised ``DatabaseClosed`` (none of them),
  nothing may be committed after ``close()`` returned, no worker thread (DuckDB) and no socket
  may be left open for the garbage collector to close, and another process must be able to open
  the file at once (DuckDB).
- ``pool``: starved units of work (default 100, 10 at a time) with ``pool_size=1``,
  ``pool_timeout=0.2``: each must get ``OperationalError`` naming ``pool_timeout`` after
  0.2-0.5 s.
- ``files``: damaged files (default 20 per kind): 4-byte flips and cuts of a checkpointed file
  and of a WAL left by a SIGKILLed writer, plus a SQLite file, random bytes, an empty file and a
  directory. Each must raise ``CorruptDatabase`` (``DatabaseUnavailable`` for a directory) at
  open or at the first read, and a failed open must change no byte; a damaged WAL that DuckDB
  replays in part (it cannot tell it from a torn tail) must leave ``<file>.wal.bak``. DuckDB.
- ``secure``: URL forms that would loosen ``external_access=False`` or the extension policy (each
  with the default and with the keyword): each is refused, or no statement reads a host file and
  no extension is downloaded (a local stand-in for DuckDB's extension repository counts
  requests). DuckDB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import http.server
import json
import logging
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import sys
import tempfile
import textwrap
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from andamios.adapters.duckdb import THREAD_NAME_PREFIX
from andamios.adapters.duckdb import Database as DuckDB
from andamios.adapters.postgresql import Database as PostgreSQL
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import (
    ConcurrencyError,
    ConfigurationError,
    CorruptDatabase,
    DatabaseClosed,
    DatabaseUnavailable,
    OperationalError,
)

__all__ = ["ATTACKS", "Options", "Result", "main", "run_attack", "run_attacks", "table"]

POSTGRESQL_URL = os.environ.get(
    "ANDAMIOS_TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
SCRIPT = Path(__file__).resolve()

type AnyDatabase = DuckDB | PostgreSQL


# -- the domain and its mapping ---------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class Entry(AggregateRoot[str]):
    """One row of a batch: ``batch`` says which commit wrote it."""

    batch: int
    item: int


@dataclass(eq=False, kw_only=True)
class Tally(AggregateRoot[str]):
    """A counter, for read-modify-write races and for what a batch also changed."""

    value: int = 0


class AttackUnitOfWork(UnitOfWork):
    """The unit of work of every attack."""

    entries: Repository[Entry, str]
    tallies: Repository[Tally, str]


type Factory = UnitOfWorkFactory[AttackUnitOfWork]


@contextlib.contextmanager
def mapped() -> Iterator[Mapping]:
    """``Entry`` and ``Tally`` mapped onto ``entries`` and ``tallies``, unmapped on exit."""
    mapping = Mapping()
    entries = sa.Table(
        "entries",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("batch", sa.Integer, nullable=False),
        sa.Column("item", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    tallies = sa.Table(
        "tallies",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Entry, entries)
    mapping.map(Tally, tallies)
    try:
        yield mapping
    finally:
        mapping.clear()


def batch_size(batch: int) -> int:
    """Even batches take the bulk path (10 rows), odd ones the ORM (3 rows)."""
    return 10 if batch % 2 == 0 else 3


def batch_entries(batch: int, prefix: str = "") -> list[Entry]:
    """The entries of one batch, with ids ``<prefix><batch>-<item>``."""
    return [Entry(id=f"{prefix}{batch}-{i}", batch=batch, item=i) for i in range(batch_size(batch))]


# -- results ----------------------------------------------------------------------------------


@dataclass
class Result:
    """What one attack did on one adapter."""

    attack: str
    adapter: str
    runs: int
    #: What was lost or answered wrong: the goal is 0.
    wrong: int
    #: What ``wrong`` counts ("lost", "wrong answers"...).
    wrong_label: str
    seconds: float
    #: The figures of the run, in words.
    notes: list[str] = field(default_factory=list)
    #: Each failure found, precisely (how it showed).
    failures: list[str] = field(default_factory=list)
    skipped: str | None = None

    def line(self) -> str:
        """One line for the terminal."""
        if self.skipped is not None:
            return f"{self.attack} ({self.adapter}): skipped, {self.skipped}"
        text = (
            f"{self.attack} ({self.adapter}): {self.runs} runs, {self.wrong} {self.wrong_label}, "
            f"{self.seconds:.1f} s"
        )
        if self.notes:
            text += "; " + "; ".join(self.notes)
        return text


def table(results: Sequence[Result]) -> str:
    """The results as a markdown table."""
    rows = [
        "| attack | adapter | runs | lost / wrong | seconds | notes |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.skipped is not None:
            rows.append(f"| {r.attack} | {r.adapter} | - | skipped | - | {r.skipped} |")
            continue
        notes = "; ".join(r.notes).replace("|", "/")
        rows.append(
            f"| {r.attack} | {r.adapter} | {r.runs:,} | {r.wrong} {r.wrong_label} | "
            f"{r.seconds:.1f} | {notes} |"
        )
    return "\n".join(rows)


class LogCounter(logging.Handler):
    """Counts the WARNING (and worse) records of some loggers while installed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def of(self, prefix: str) -> list[logging.LogRecord]:
        """The records of loggers named ``prefix`` or below it."""
        return [r for r in self.records if r.name == prefix or r.name.startswith(prefix + ".")]


@contextlib.contextmanager
def counted_logs() -> Iterator[LogCounter]:
    """Collect the warnings of Andamios and SQLAlchemy (and keep them off the terminal)."""
    counter = LogCounter()
    loggers = [logging.getLogger(name) for name in ("andamios", "sqlalchemy")]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(counter)
        logger.propagate = False
        if logger.level == logging.NOTSET or logger.level > logging.WARNING:
            logger.setLevel(logging.WARNING)
    try:
        yield counter
    finally:
        for logger, (level, propagate) in zip(loggers, saved, strict=True):
            logger.removeHandler(counter)
            logger.setLevel(level)
            logger.propagate = propagate


# -- databases --------------------------------------------------------------------------------


@dataclass
class Target:
    """Where an attack writes: a DuckDB file in ``directory``, or a PostgreSQL schema."""

    adapter: str
    url: str
    directory: Path
    schema: str | None = None

    @property
    def path(self) -> Path | None:
        """The DuckDB file, ``None`` on PostgreSQL."""
        if self.adapter != "duckdb":
            return None
        return Path(make_url(self.url).database or "")

    def database(self, **settings: Any) -> AnyDatabase:
        """A new (not started) database over the target."""
        if self.adapter == "duckdb":
            return DuckDB(self.url, **settings)
        return PostgreSQL(self.url, schema=self.schema, **settings)


def postgresql_unreachable(url: str) -> str | None:
    """Why the PostgreSQL server of ``url`` cannot be reached, or ``None``."""
    parsed = make_url(url)
    address = (parsed.host or "127.0.0.1", parsed.port or 5432)
    try:
        with socket.create_connection(address, timeout=2):
            return None
    except OSError as error:
        return f"PostgreSQL at {address[0]}:{address[1]} is not reachable ({error})"


async def _admin(url: str, *statements: str) -> None:
    import asyncpg  # noqa: PLC0415 - only PostgreSQL attacks need the driver itself

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def target(adapter: str, postgresql_url: str, mapping: Mapping) -> AsyncIterator[Target]:
    """A new database with ``mapping``'s tables: a file in a temporary folder, or a new schema
    (dropped on exit); the folder is there for both."""
    with tempfile.TemporaryDirectory(prefix="andamios-attack-") as folder:
        directory = Path(folder)
        if adapter == "duckdb":
            made = Target(adapter, f"duckdb+async:///{directory / 'attack.duckdb'}", directory)
        else:
            schema = f"attack_{uuid.uuid4().hex[:16]}"
            await _admin(postgresql_url, f'CREATE SCHEMA "{schema}"')
            made = Target(adapter, postgresql_url, directory, schema)
        try:
            database = made.database()
            async with database, database.engine.begin() as connection:
                await connection.run_sync(mapping.metadata.create_all)
            yield made
        finally:
            if made.schema is not None:
                await _admin(postgresql_url, f'DROP SCHEMA "{made.schema}" CASCADE')


def worker_threads() -> set[threading.Thread]:
    """The DuckDB adapter's worker threads alive in this process."""
    return {t for t in threading.enumerate() if t.name.startswith(THREAD_NAME_PREFIX)}


async def rows(database: AnyDatabase, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` on a started database."""
    async with database.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(sa.text(sql))]


async def batches_stored(t: Target) -> tuple[dict[int, int], int]:
    """Open the target, read the rows of each batch and the ``batches`` tally, close it."""
    async with t.database() as database:
        counts = {
            int(batch): int(n)
            for batch, n in await rows(database, "SELECT batch, count(*) FROM entries GROUP BY 1")
        }
        (tally,) = await rows(database, "SELECT value FROM tallies WHERE id = 'batches'")
    return counts, int(tally[0])


# -- the writer process (crash, files) --------------------------------------------------------


async def _write_batches(adapter: str, url: str, schema: str, first: int, limit: int) -> None:
    """Commit batches from ``first`` on (``limit`` of them, or forever), writing ``ack <batch>``
    to fd 1 once each ``commit()`` returned; then wait to be killed."""
    with mapped() as mapping:
        t = Target(adapter, url, Path(), None if schema == "-" else schema)
        async with t.database() as database:
            factory = SqlAlchemyUnitOfWork.factory(
                AttackUnitOfWork, database=database, mapping=mapping
            )
            os.write(1, b"ready\n")
            batch = first
            while limit == 0 or batch < first + limit:
                async with factory() as uow:
                    await uow.entries.add_many(batch_entries(batch))
                    tally = await uow.tallies.get("batches")
                    tally.value += 1
                    await uow.commit()
                os.write(1, f"ack {batch}\n".encode())
                batch += 1
            os.write(1, b"done\n")
            await asyncio.Event().wait()


def _fork_server() -> None:
    """Read commands on stdin; ``write ...`` forks a writer (its pid first), ``reap <pid>``
    waits for it. Forked from a process with every module imported and no thread, a writer
    starts in milliseconds, so a kill lands in its work, not in the interpreter's start
    (pyarrow, whose import starts a thread, is imported by each writer)."""
    for line in sys.stdin:
        command, *args = line.split()
        if command == "write":
            pid = os.fork()
            if pid == 0:  # the writer
                code = 0
                try:
                    adapter, url, schema, first, limit = args
                    asyncio.run(_write_batches(adapter, url, schema, int(first), int(limit)))
                except BaseException as error:
                    os.write(1, f"error {type(error).__name__}: {error}\n".encode())
                    code = 1
                os._exit(code)
            os.write(1, f"pid {pid}\n".encode())
        elif command == "reap":
            _, status = os.waitpid(int(args[0]), 0)
            os.write(1, f"reaped {args[0]} {status}\n".encode())


@dataclass
class Writer:
    """One forked writer: its pid and what it said."""

    pid: int = 0
    acks: list[int] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    reaped: asyncio.Event = field(default_factory=asyncio.Event)
    error: str | None = None


class ForkServer:
    """The process that forks writers (see :func:`_fork_server`), started at its first use and
    shared by the attacks of one :func:`run_attacks`."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._current: Writer | None = None
        self._pid: asyncio.Future[int] | None = None

    async def start(self) -> asyncio.subprocess.Process:
        """Start the server now (it imports Andamios before it answers)."""
        if self._process is None:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(SCRIPT),
                "_fork_server",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
            self._reader = asyncio.create_task(self._read())
        return self._process

    async def close(self) -> None:
        """End the server (if it was started)."""
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        await process.wait()
        if self._reader is not None:
            await self._reader

    async def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        async for raw in self._process.stdout:
            word, _, rest = raw.decode().strip().partition(" ")
            writer = self._current
            if word == "pid" and self._pid is not None:
                self._pid.set_result(int(rest))
            elif writer is None:
                continue
            elif word == "ack":
                writer.acks.append(int(rest))
            elif word == "ready":
                writer.ready.set()
            elif word == "done":
                writer.done.set()
            elif word == "error":
                writer.error = rest
                writer.ready.set()
                writer.done.set()
            elif word == "reaped":
                writer.reaped.set()

    async def _send(self, line: str) -> None:
        process = await self.start()
        assert process.stdin is not None
        process.stdin.write(line.encode() + b"\n")

    async def write(self, t: Target, first: int, limit: int = 0) -> Writer:
        """Fork a writer of batches ``first``... on ``t``; return once it has opened it."""
        writer = self._current = Writer()
        self._pid = asyncio.get_running_loop().create_future()
        await self._send(f"write {t.adapter} {t.url} {t.schema or '-'} {first} {limit}")
        writer.pid = await asyncio.wait_for(self._pid, 60)
        await asyncio.wait_for(writer.ready.wait(), 60)
        if writer.error is not None:
            await self.kill(writer)
            raise RuntimeError(f"the writer failed: {writer.error}")
        return writer

    async def kill(self, writer: Writer) -> list[int]:
        """SIGKILL the writer, wait for it; the batches it acknowledged."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(writer.pid, signal.SIGKILL)
        await self._send(f"reap {writer.pid}")
        await asyncio.wait_for(writer.reaped.wait(), 60)
        return writer.acks


# -- crash ------------------------------------------------------------------------------------


def _live_wal(path: Path | None) -> bytes | None:
    """The WAL a killed writer left beside ``path`` (``None``: none, or empty)."""
    wal = None if path is None else path.with_name(path.name + ".wal")
    if wal is None or not wal.is_file() or not wal.stat().st_size:
        return None
    return wal.read_bytes()


def _wal_copy(path: Path) -> bytes | None:
    """The copy Andamios keeps of a WAL it let DuckDB replay."""
    copy = path.with_name(path.name + ".wal.bak")
    return copy.read_bytes() if copy.is_file() else None


async def attack_crash(runs: int, adapter: str, options: Options) -> Result:
    """SIGKILL a writer ``runs`` times; every acknowledged batch must survive, whole."""
    rng = random.Random(options.seed)
    began = time.perf_counter()
    failures: list[str] = []
    with mapped() as mapping, counted_logs() as logs:
        async with target(adapter, options.postgresql_url, mapping) as t:
            async with t.database() as database:
                factory = SqlAlchemyUnitOfWork.factory(
                    AttackUnitOfWork, database=database, mapping=mapping
                )
                async with factory() as uow:
                    await uow.tallies.add(Tally(id="batches", value=0))
                    await uow.commit()
            acknowledged: set[int] = set()
            missing: set[int] = set()
            torn: set[int] = set()
            stored: dict[int, int] = {}
            next_batch = replayed = 0
            async with options.forking() as server:
                for run in range(runs):
                    writer = await server.write(t, next_batch)
                    await asyncio.sleep(rng.uniform(0, options.kill_window))
                    acks = await server.kill(writer)
                    acknowledged.update(acks)
                    log = _live_wal(t.path)
                    stored, tally = await batches_stored(t)
                    if log is not None and t.path is not None:
                        replayed += 1
                        if _wal_copy(t.path) != log:
                            failures.append(f"run {run}: a WAL replayed without its copy")
                    for batch in sorted(acknowledged - stored.keys() - missing):
                        failures.append(f"run {run}: acknowledged batch {batch} is missing")
                        missing.add(batch)
                    for batch, n in stored.items():
                        if n != batch_size(batch) and batch not in torn:
                            failures.append(f"run {run}: batch {batch} has {n} of its rows")
                            torn.add(batch)
                    if tally != len(stored):
                        failures.append(
                            f"run {run}: the tally says {tally} batches, {len(stored)} stored"
                        )
                    # The killed writer had at most one batch in flight (PostgreSQL may still
                    # commit it): the next writer starts after it.
                    next_batch = max([*stored, *acknowledged, next_batch - 1]) + 2
    unacknowledged = len(stored.keys() - acknowledged)
    notes = [
        f"{len(acknowledged):,} batches acknowledged ({sum(map(batch_size, acknowledged)):,} rows)",
        f"{unacknowledged} more committed at the kill before their acknowledgement",
    ]
    warned = [r for r in logs.of("andamios.adapters.duckdb") if ".wal.bak" in r.getMessage()]
    if adapter == "duckdb":
        notes.append(
            f"{replayed} reopenings replayed a WAL, each kept first as <file>.wal.bak byte for "
            f"byte ({len(warned)} warnings naming the copy)"
        )
    return Result(
        "crash",
        adapter,
        runs,
        len(missing) + len(torn) + sum("tally" in f or "WAL" in f for f in failures),
        "lost",
        time.perf_counter() - began,
        notes,
        failures,
    )


# -- migrations -------------------------------------------------------------------------------

# (revision, message, upgrade body): one transaction for all of them (the template's env.py).
_REVISIONS = [
    (
        "a1",
        "create items",
        """\
op.create_table(
    "items",
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("label", sa.String, nullable=False),
)
op.execute("INSERT INTO items SELECT 'i' || range, range, 'item ' || range FROM range(<rows>)")
""",
    ),
    (
        "b2",
        "add stock",
        """\
op.add_column("items", sa.Column("stock", sa.Integer, nullable=False, server_default="0"))
op.execute("UPDATE items SET stock = n % 7")
""",
    ),
    (
        "c3",
        "create totals",
        """\
op.create_table(
    "totals",
    sa.Column("stock", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("items", sa.Integer, nullable=False),
)
op.execute("INSERT INTO totals SELECT stock, count(*) FROM items GROUP BY stock")
""",
    ),
    (
        "d4",
        "index items by n",
        """\
op.create_index("items_by_n", "items", ["n"])
op.execute("UPDATE items SET label = upper(label)")
""",
    ),
    (
        "e5",
        "create moves",
        """\
op.create_table(
    "moves",
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("item_id", sa.String, nullable=False),
    sa.Column("delta", sa.Integer, nullable=False),
)
op.execute("INSERT INTO moves SELECT 'm' || id, id, stock - 3 FROM items")
""",
    ),
]

_REVISION_FILE = """\
\"\"\"{message}

Revision ID: {revision}
Revises: {down}
\"\"\"

import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}

def downgrade() -> None:
    raise NotImplementedError
"""


def _migrations(root: Path) -> Any:
    """The project's :class:`~andamios.adapters.migrations.Migrations` (Alembic is imported by
    the migrations attack only)."""
    from andamios.adapters.migrations import Migrations, load_settings  # noqa: PLC0415

    return Migrations(load_settings(cwd=root))


def _write_project(root: Path, rows: int) -> None:
    """A project: pyproject.toml naming ``app.duckdb``, a migrations folder, five revisions."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "attacked"\nversion = "0"\n\n'
        '[tool.andamios]\ndatabase.url = "duckdb+async:///app.duckdb"\n'
    )
    versions = _migrations(root).init() / "versions"
    down: str | None = None
    for revision, message, body in _REVISIONS:
        (versions / f"{revision}_{message.replace(' ', '_')}.py").write_text(
            _REVISION_FILE.format(
                message=message,
                revision=revision,
                down=down,
                body=textwrap.indent(body.replace("<rows>", str(rows)), "    "),
            )
        )
        down = revision


async def fingerprint(path: Path) -> tuple[str, tuple[Any, ...]]:
    """The revision of a DuckDB file, and its tables, columns, indexes and rows (opened as the
    next process would: a WAL left behind is replayed, and copied first)."""
    async with DuckDB(f"duckdb+async:///{path}") as database:
        tables = [
            str(name)
            for (name,) in await rows(database, "SELECT table_name FROM duckdb_tables() ORDER BY 1")
        ]
        columns = await rows(
            database,
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns ORDER BY table_name, ordinal_position",
        )
        indexes = await rows(
            database, "SELECT table_name, index_name, sql FROM duckdb_indexes() ORDER BY 1, 2"
        )
        content = []
        for name in tables:
            names = ", ".join(f'"{c[1]}"' for c in columns if c[0] == name)
            content.extend(
                await rows(database, f'SELECT count(*), bit_xor(hash({names})) FROM "{name}"')
            )
        version = "base"
        if "alembic_version" in tables:
            found = await rows(database, "SELECT version_num FROM alembic_version")
            version = ",".join(str(v) for (v,) in found) or "base"
    return version, (tuple(tables), tuple(columns), tuple(indexes), tuple(content))


def console_script() -> list[str]:
    """The ``andamios`` console script of this interpreter's environment."""
    found = shutil.which("andamios", path=str(Path(sys.executable).parent))
    return [found] if found is not None else [sys.executable, "-m", "andamios.cli"]


def _clean_environment() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ANDAMIOS_", "COV", "COVERAGE"))
    }
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", NO_COLOR="1")
    return env


async def _killed_upgrade(root: Path, delay: float) -> tuple[bool, float]:
    """Run ``andamios db upgrade`` in ``root`` and SIGKILL it ``delay`` s after its first
    "Running upgrade" line: whether it was killed, and how long it ran after that line."""
    process = await asyncio.create_subprocess_exec(
        *console_script(),
        "db",
        "upgrade",
        cwd=root,
        env=_clean_environment(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    running = asyncio.Event()
    said: list[str] = []

    async def read() -> None:
        assert process.stderr is not None
        async for line in process.stderr:
            said.append(line.decode(errors="replace"))
            if "Running upgrade" in said[-1]:
                running.set()

    reader = asyncio.create_task(read())
    waiting = asyncio.create_task(running.wait())
    exited = asyncio.create_task(process.wait())
    await asyncio.wait([waiting, exited], timeout=120, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    loop = asyncio.get_running_loop()
    began = loop.time()
    if running.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(exited), delay)
    killed = process.returncode is None
    if killed:
        process.kill()
    ran = loop.time() - began
    await exited
    await reader
    if not killed and process.returncode != 0:
        raise RuntimeError(f"andamios db upgrade failed ({process.returncode}): {''.join(said)}")
    return killed, ran


@dataclass
class Revisions:
    """The project's revisions: a database file at each, its fingerprint, and how long the
    upgrade to head takes from it (measured in this process)."""

    order: list[str]
    files: dict[str, Path]
    prints: dict[str, tuple[str, tuple[Any, ...]]]
    remaining: dict[str, float]

    @property
    def head(self) -> str:
        """The last revision."""
        return self.order[-1]


async def _prepare_revisions(root: Path, folder: Path, starts: set[str]) -> Revisions:
    """Upgrade a database through each revision of ``starts`` to head, keeping a copy of it at
    each; how long the rest of the upgrade takes from each."""
    migrations = _migrations(root)
    database = root / "app.duckdb"
    order = ["base", *(r for r, _, _ in _REVISIONS)]
    files: dict[str, Path] = {}
    prints = {"base": await fingerprint(folder / "empty.duckdb")}
    stops = [r for r in order[1:] if r in starts or r == order[-1]]
    took: list[float] = []
    for revision in stops:
        started = time.perf_counter()
        await asyncio.to_thread(migrations.upgrade, revision)
        took.append(time.perf_counter() - started)
        files[revision] = folder / f"{revision}.duckdb"
        shutil.copyfile(database, files[revision])
        prints[revision] = await fingerprint(database)
    begins = ["base", *stops[:-1]]
    remaining = {revision: sum(took[i:]) for i, revision in enumerate(begins)}
    return Revisions(order, files, prints, remaining)


async def attack_migrations(runs: int, adapter: str, options: Options) -> Result:
    """Kill ``andamios db upgrade`` ``runs`` times; the database is at the old revision or the
    new one, with exactly its tables, and upgrades to head afterwards."""
    rng = random.Random(options.seed)
    began = time.perf_counter()
    failures: list[str] = []
    outcomes = {"old": 0, "new": 0}
    killed_runs = 0
    ran: list[float] = []
    finished: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="andamios-attack-") as folder, counted_logs():
        root = Path(folder) / "project"
        _write_project(root, options.migration_rows)
        database = root / "app.duckdb"
        order = ["base", *(r for r, _, _ in _REVISIONS)]
        starts = [order[run % (len(order) - 1)] for run in range(runs)]
        revisions = await _prepare_revisions(root, Path(folder), set(starts))
        head = revisions.head
        for run, old in enumerate(starts):
            for leftover in root.glob("app.duckdb*"):
                leftover.unlink()
            if old != "base":
                shutil.copyfile(revisions.files[old], database)
            # Kills land anywhere from the first migration to the exit: the upgrade's length
            # as measured here, until a run of the console script from there finished.
            longest = finished.get(old, revisions.remaining[old])
            killed, after = await _killed_upgrade(root, rng.uniform(0, longest * 1.05))
            killed_runs += killed
            if not killed:
                finished[old] = after
            ran.append(after)
            found = await fingerprint(database)
            if found == revisions.prints[old]:
                outcomes["old"] += 1
            elif found == revisions.prints[head]:
                outcomes["new"] += 1
            else:
                matches = [r for r, p in revisions.prints.items() if p[1] == found[1]]
                failures.append(
                    f"run {run}: upgrade from {old} {'killed' if killed else 'finished'} after "
                    f"{after:.2f} s: the database says {found[0]}, its tables match "
                    f"{matches or 'no revision'}"
                )
                continue
            # And the next upgrade takes it to head.
            await asyncio.to_thread(_migrations(root).upgrade)
            if await fingerprint(database) != revisions.prints[head]:
                failures.append(f"run {run}: rerunning the upgrade from {old} did not reach head")
    return Result(
        "migrations",
        adapter,
        runs,
        len(failures),
        "wrong",
        time.perf_counter() - began,
        [
            f"{killed_runs} killed mid-upgrade, {runs - killed_runs} finished before the kill "
            f"(each ended within {max(ran, default=0):.2f} s of its first migration's start)",
            f"{outcomes['old']} at the old revision, {outcomes['new']} at head, each upgraded "
            "to head by a rerun",
            f"5 revisions in one transaction, {options.migration_rows:,} rows; upgrades from "
            f"{', '.join(order[: min(runs, len(order) - 1)])} in turn",
        ],
        failures,
    )


# -- concurrency ------------------------------------------------------------------------------

_COUNTERS = 4


async def _increment(
    factory: Factory, counter: str, rng: random.Random, retries: list[int]
) -> None:
    for attempt in range(200):
        try:
            async with factory() as uow:
                tally = await uow.tallies.get(counter)
                await asyncio.sleep(rng.uniform(0, 0.001))  # widen the read-modify-write race
                tally.value += 1
                await uow.commit()
            return
        except ConcurrencyError:
            retries.append(1)
            await asyncio.sleep(rng.uniform(0, 0.002 * min(attempt + 1, 20)))
    raise RuntimeError(f"gave up after 200 ConcurrencyErrors on {counter}")


async def attack_concurrency(runs: int, adapter: str, options: Options) -> Result:
    """``runs`` units of work at once, incrementing counters; no update may be lost."""
    rng = random.Random(options.seed)
    began = time.perf_counter()
    failures: list[str] = []
    with mapped() as mapping, counted_logs():
        async with (
            target(adapter, options.postgresql_url, mapping) as t,
            t.database(pool_timeout=120.0) as database,
        ):
            factory = SqlAlchemyUnitOfWork.factory(
                AttackUnitOfWork, database=database, mapping=mapping
            )
            async with factory() as uow:
                await uow.tallies.add_many([Tally(id=f"c{i}", value=0) for i in range(_COUNTERS)])
                await uow.commit()
            retries: list[int] = []
            started = time.perf_counter()
            outcomes = await asyncio.gather(
                *(
                    _increment(factory, f"c{rng.randrange(_COUNTERS)}", rng, retries)
                    for _ in range(runs)
                ),
                return_exceptions=True,
            )
            took = time.perf_counter() - started
            told = sum(outcome is None for outcome in outcomes)
            failed = [outcome for outcome in outcomes if outcome is not None]
            failures.extend(f"{type(e).__name__}: {e}" for e in failed[:10])
            async with factory() as uow:
                stored = sum(t.value for t in await uow.tallies.find())
    lost = told - stored
    if lost:
        failures.append(f"{told} increments told committed, {stored} stored")
    return Result(
        "concurrency",
        adapter,
        runs,
        abs(lost) + len(failed),
        "lost updates / failed",
        time.perf_counter() - began,
        [
            f"{runs:,} units of work on {_COUNTERS} counters: {told:,} committed, "
            f"{stored:,} stored",
            f"{len(retries):,} ConcurrencyErrors retried",
            f"{took:.1f} s for all of them (pool of 5)",
        ],
        failures,
    )


# -- cancellation -----------------------------------------------------------------------------


async def _increment_once(
    factory: Factory, reached: list[int], committing: list[int] | None = None
) -> None:
    async with factory() as uow:
        tally = await uow.tallies.get("c")
        tally.value += 1
        if committing is not None:
            committing.append(1)
        await uow.commit()
        reached.append(1)


@dataclass
class CancelOutcomes:
    """What the cancelled increments answered."""

    told_committed: int = 0
    cancelled: int = 0
    errors: int = 0
    slow: int = 0
    #: Cancelled after ``commit()`` was called, and of those, told "committed".
    in_commit: int = 0
    in_commit_told: int = 0
    windows: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def _cancel_each(
    factory: Factory, runs: int, window: float, rng: random.Random, out: CancelOutcomes
) -> None:
    """Cancel ``runs`` increments, each ``uniform(0, window)`` after it starts. The window grows
    after each "not committed" and shrinks after each "committed", so that about a third commit
    and the cancellations keep landing around the COMMIT, wherever the database takes its time.
    """
    loop = asyncio.get_running_loop()
    reached: list[int] = []
    for _ in range(runs):
        committing: list[int] = []
        task = asyncio.create_task(_increment_once(factory, reached, committing))
        await asyncio.sleep(rng.uniform(0, window))
        asked = loop.time()
        in_commit = bool(committing) and not task.done()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            out.cancelled += 1
            window *= 1.05
        except Exception as error:
            out.errors += 1
            out.failures.append(f"{type(error).__name__}: {error}")
        else:
            out.told_committed += 1
            out.in_commit_told += in_commit
            window *= 0.9
        out.in_commit += in_commit
        out.windows.append(window)
        if loop.time() - asked > 5:
            out.slow += 1


async def attack_cancellation(runs: int, adapter: str, options: Options) -> Result:
    """Cancel ``runs`` increments at random moments; the caller is told the truth."""
    rng = random.Random(options.seed)
    began = time.perf_counter()
    out = CancelOutcomes()
    with mapped() as mapping, counted_logs() as logs:
        async with (
            target(adapter, options.postgresql_url, mapping) as t,
            t.database() as database,
        ):
            factory = SqlAlchemyUnitOfWork.factory(
                AttackUnitOfWork, database=database, mapping=mapping
            )
            async with factory() as uow:
                await uow.tallies.add(Tally(id="c", value=0))
                await uow.commit()
            # How long one increment takes, after 3 to warm up: the first window.
            warm: list[int] = []
            for _ in range(3):
                await _increment_once(factory, warm)
            timed = time.perf_counter()
            for _ in range(10):
                await _increment_once(factory, warm)
            await _cancel_each(factory, runs, (time.perf_counter() - timed) / 10 * 1.2, rng, out)
            async with factory() as uow:
                stored = (await uow.tallies.get("c")).value - len(warm)
    wrong = abs(stored - out.told_committed)
    if wrong:
        out.failures.append(f"stored {stored}, told committed {out.told_committed}")
    noise = logs.of("sqlalchemy")
    out.failures.extend(f"log: {r.name}: {r.getMessage()}" for r in noise[:5])
    if out.slow:
        out.failures.append(f"{out.slow} cancelled tasks took more than 5 s to end")
    return Result(
        "cancellation",
        adapter,
        runs,
        wrong + out.errors + len(noise) + out.slow,
        "wrong answers",
        time.perf_counter() - began,
        [
            f"{out.told_committed} told committed, {out.cancelled} told not (CancelledError), "
            f"{stored} stored",
            f"{out.in_commit} cancelled after commit() was called, {out.in_commit_told} of them "
            "told committed",
            f"cancelled {min(out.windows) * 1000:.1f}-{max(out.windows) * 1000:.1f} ms after the "
            "start at most",
            f"{len(noise)} SQLAlchemy log lines",
        ],
        out.failures,
    )


# -- close ------------------------------------------------------------------------------------

_OPENER = """
import json, sys, duckdb
for line in sys.stdin:
    path, prefix = line.rstrip("\\n").split("\\t")
    try:
        conn = duckdb.connect(path)
        try:
            found = conn.execute("SELECT id FROM entries WHERE id LIKE ?", [prefix + "%"])
            ids = [row[0] for row in found.fetchall()]
        finally:
            conn.close()
        print(json.dumps({"ids": ids}), flush=True)
    except Exception as error:
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
"""


class Opener:
    """Another process that opens a DuckDB file for writing, on request, and reads it."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Opener:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _OPENER,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._process is not None
        assert self._process.stdin is not None
        self._process.stdin.close()
        assert self._process.stdout is not None
        await self._process.stdout.read()
        await self._process.wait()

    async def read(self, path: Path, prefix: str) -> set[str] | str:
        """The ids starting with ``prefix`` that another process sees, or why it could not."""
        assert self._process is not None
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(f"{path}\t{prefix}\n".encode())
        answer = json.loads(await asyncio.wait_for(self._process.stdout.readline(), 60))
        if "error" in answer:
            return str(answer["error"])
        return set(answer["ids"])


async def _read_ids(t: Target, prefix: str) -> set[str]:
    async with t.database() as database:
        found = await rows(database, f"SELECT id FROM entries WHERE id LIKE '{prefix}%'")
    return {str(i) for (i,) in found}


_IN_FLIGHT = 6


@dataclass
class CloseOutcomes:
    """What the rounds of the close attack saw."""

    committed: int = 0
    closed: int = 0
    leaked: int = 0
    late: int = 0
    sockets: int = 0
    unclosed: int = 0
    #: Units of work told "committed" whose rows are missing, or DatabaseClosed whose rows are
    #: there, or that raised anything else.
    answers: int = 0
    unopenable: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def wrong(self) -> int:
        """Wrong answers, late commits, a file another process could not open, and leaks."""
        return self.answers + self.late + self.unopenable + self.leaked + self.sockets


def open_sockets() -> int:
    """How many sockets this process has open (Linux; 0 where it cannot tell)."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return 0
    count = 0
    for name in names:
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{name}").startswith("socket:")
    return count


async def _left_behind(round_: int, sockets: int, out: CloseOutcomes) -> None:
    """Whether close() closed every connection itself, or left some to the garbage collector."""
    for _ in range(50):  # a socket being closed may take a few turns of the loop
        left = open_sockets() - sockets
        if left <= 0:
            break
        await asyncio.sleep(0.01)
    if left > 0:
        out.sockets += left
        out.failures.append(
            f"round {round_}: {left} sockets still open after close() and its units of work ended"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    unclosed = [w for w in caught if issubclass(w.category, ResourceWarning)]
    if unclosed:
        out.unclosed += len(unclosed)
        out.failures.append(
            f"round {round_}: the garbage collector closed what close() left: "
            f"{len(unclosed)} ResourceWarnings ({unclosed[0].message})"
        )


def _raised_at(error: BaseException) -> str:
    """Where ``error`` was raised, and the last Andamios frame it passed."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    ours = [f for f in frames if "/andamios/" in f.filename]
    where = [frames[-1], *ours[-1:]]
    return " (raised at " + ", from ".join(f"{f.filename}:{f.lineno} {f.name}" for f in where) + ")"


def _judge(
    round_: int,
    prefix: str,
    outcomes: list[BaseException | None],
    after: set[str],
    out: CloseOutcomes,
) -> None:
    """Each unit of work's answer against what is stored."""
    for i, outcome in enumerate(outcomes):
        mine = {e.id for e in batch_entries(i, prefix)}
        stored = len(mine & after)
        if outcome is None:
            out.committed += 1
            told = "committed"
            right = stored == len(mine)
        elif isinstance(outcome, DatabaseClosed):
            out.closed += 1
            told = "DatabaseClosed"
            right = stored == 0
        else:
            told = f"{type(outcome).__name__}: {outcome}{_raised_at(outcome)}"
            right = False
        if not right:
            out.answers += 1
            out.failures.append(
                f"round {round_}: task {i} told {told}, {stored} of {len(mine)} rows stored"
            )


async def _close_round(
    t: Target,
    mapping: Mapping,
    opener: Opener | None,
    round_: int,
    *,
    rng: random.Random,
    options: Options,
    out: CloseOutcomes,
) -> None:
    prefix = f"r{round_}."
    before = worker_threads()
    sockets = open_sockets()
    database = t.database()
    await database.start()
    factory = SqlAlchemyUnitOfWork.factory(AttackUnitOfWork, database=database, mapping=mapping)

    async def work(task: int) -> None:
        async with factory() as uow:
            await uow.entries.add_many(batch_entries(task, prefix))
            if task % 3 == 0:
                await uow.entries.count()  # flushed: the transaction holds its rows
            await asyncio.sleep(rng.uniform(0, 0.01))
            await uow.commit()

    tasks = [asyncio.create_task(work(i)) for i in range(_IN_FLIGHT)]
    await asyncio.sleep(rng.uniform(0, options.close_window))
    await database.close()
    # Right after close(): no worker thread left, and another process can open the file.
    alive = worker_threads() - before
    if alive:
        out.leaked += len(alive)
        out.failures.append(f"round {round_}: {len(alive)} worker threads alive after close()")
    at_close = await (opener.read(t.path, prefix) if opener and t.path else _read_ids(t, prefix))
    if isinstance(at_close, str):
        out.unopenable += 1
        out.failures.append(f"round {round_}: another process could not open the file: {at_close}")
        at_close = set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    del tasks
    after = await _read_ids(t, prefix)
    if after != at_close:
        out.late += 1
        out.failures.append(f"round {round_}: {len(after - at_close)} rows committed after close()")
    _judge(round_, prefix, outcomes, after, out)
    del outcomes  # their tracebacks hold what the garbage collector is to find
    await _left_behind(round_, sockets, out)


async def attack_close(runs: int, adapter: str, options: Options) -> Result:
    """Close a database ``runs`` times with units of work in flight."""
    rng = random.Random(options.seed)
    began = time.perf_counter()
    out = CloseOutcomes()
    with mapped() as mapping, counted_logs():
        async with (
            target(adapter, options.postgresql_url, mapping) as t,
            contextlib.AsyncExitStack() as stack,
        ):
            opener = await stack.enter_async_context(Opener()) if t.path else None
            for round_ in range(runs):
                await _close_round(t, mapping, opener, round_, rng=rng, options=options, out=out)
    notes = [
        f"{runs * _IN_FLIGHT:,} units of work: {out.committed:,} committed, {out.closed:,} "
        "DatabaseClosed",
    ]
    if adapter == "duckdb":
        notes.append(f"{out.leaked} worker threads alive after close()")
        notes.append("another process opened the file right after each close()")
    notes.append(f"{out.late} rounds with a commit after close() returned")
    notes.append(
        f"{out.sockets} sockets left open after close(), {out.unclosed} ResourceWarnings "
        "(unclosed connection/transport) when they were collected"
    )
    return Result(
        "close",
        adapter,
        runs,
        out.wrong,
        "wrong / leaked",
        time.perf_counter() - began,
        notes,
        out.failures,
    )


# -- pool -------------------------------------------------------------------------------------

_POOL_TIMEOUT = 0.2
_POOL_LATE = 0.5  # a wait longer than this is not "about pool_timeout"


async def _starved(factory: Factory) -> tuple[float, BaseException | None]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        async with factory() as uow:
            await uow.tallies.count()
    except Exception as error:
        return loop.time() - started, error
    return loop.time() - started, None


async def attack_pool(runs: int, adapter: str, options: Options) -> Result:
    """``runs`` units of work starved of the only connection; each is told so in 0.2 s."""
    began = time.perf_counter()
    failures: list[str] = []
    waits: list[float] = []
    with mapped() as mapping, counted_logs():
        async with (
            target(adapter, options.postgresql_url, mapping) as t,
            t.database(pool_size=1, pool_timeout=_POOL_TIMEOUT) as database,
        ):
            factory = SqlAlchemyUnitOfWork.factory(
                AttackUnitOfWork, database=database, mapping=mapping
            )
            left = runs
            while left:
                at_once = min(10, left)
                left -= at_once
                async with factory() as holder:
                    await holder.tallies.count()  # holds the only connection
                    outcomes = await asyncio.gather(*(_starved(factory) for _ in range(at_once)))
                    await holder.tallies.count()  # and still has it
                for waited, error in outcomes:
                    waits.append(waited)
                    if type(error) is not OperationalError or "pool_timeout" not in str(error):
                        failures.append(f"after {waited:.3f} s: {type(error).__name__}: {error}")
                    elif not _POOL_TIMEOUT * 0.95 <= waited <= _POOL_LATE:
                        failures.append(f"told after {waited:.3f} s")
                async with factory() as uow:  # the next one gets the connection
                    await uow.tallies.count()
    return Result(
        "pool",
        adapter,
        runs,
        len(failures),
        "wrong",
        time.perf_counter() - began,
        [
            f"OperationalError naming pool_timeout after {min(waits):.3f}-{max(waits):.3f} s "
            f"(median {statistics.median(waits):.3f} s), 10 waiting at a time",
        ],
        failures[:10],
    )


# -- files ------------------------------------------------------------------------------------

_WAL_BATCHES = 20
# Every column of every row of the checkpointed file (a statement that reads each block).
_CONTENT = "SELECT count(*), bit_xor(hash(id, batch, item, pad)) FROM filler"


def _digest(path: Path) -> dict[str, bytes | None]:
    wal = path.with_name(path.name + ".wal")
    return {
        str(p): (hashlib.sha256(p.read_bytes()).digest() if p.is_file() else None)
        for p in (path, wal)
    }


def _flip(data: bytes, offset: int) -> bytes:
    damaged = bytearray(data)
    for i in range(offset, min(offset + 4, len(data))):
        damaged[i] ^= 0xFF
    return bytes(damaged)


@dataclass
class FileCase:
    """One damaged file: what it is, its bytes (``None``: a directory) and its WAL's, and what
    it held undamaged (the content query's answer, or the batches a WAL held)."""

    kind: str
    name: str
    data: bytes | None
    wal: bytes | None = None
    content: tuple[Any, ...] | None = None
    batches: int | None = None


@dataclass
class FileOutcomes:
    """What the damaged files did, by kind of damage."""

    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Failed opens that returned while their worker thread was still ending (it then ended).
    unjoined: int = 0
    failures: list[str] = field(default_factory=list)

    def count(self, case: FileCase, outcome: str) -> None:
        """Count ``outcome`` for ``case``'s kind."""
        kind = self.by_kind.setdefault(case.kind, {})
        kind[outcome] = kind.get(outcome, 0) + 1

    def total(self, outcome: str) -> int:
        """How many cases of every kind ended with ``outcome``."""
        return sum(counts.get(outcome, 0) for counts in self.by_kind.values())


_REFUSED = "refused at open"
_FOUND = "refused at the first read"
_FEWER = "opened with fewer commits (WAL copy kept)"
_INTACT = "opened, nothing lost"


def _ended(before: set[threading.Thread], out: FileOutcomes, case: FileCase) -> None:
    left = worker_threads() - before
    if left:
        out.unjoined += 1
    for thread in left:
        thread.join(2)
        if thread.is_alive():
            out.failures.append(f"{case.name}: a worker thread still runs 2 s after the open")


async def _read_case(
    database: DuckDB, case: FileCase, copy: bytes | None, out: FileOutcomes
) -> None:
    try:
        if case.batches is None:
            found = tuple((await rows(database, _CONTENT))[0])
        else:
            batches = {b for (b,) in await rows(database, "SELECT DISTINCT batch FROM entries")}
            ((tally,),) = await rows(database, "SELECT value FROM tallies WHERE id = 'batches'")
    except SQLAlchemyError as error:
        translated = database.translate_error(error)
        if type(translated) is CorruptDatabase:
            out.count(case, _FOUND)
        else:
            out.failures.append(
                f"{case.name}: at the first read {type(translated).__name__}: {translated}"
            )
        return
    if case.batches is None:
        if found == case.content:
            out.count(case, _INTACT)
        else:
            out.failures.append(f"{case.name}: opened and read {found}, not {case.content}")
    elif batches == set(range(case.batches)) and tally == case.batches:
        out.count(case, _INTACT)
    elif batches != set(range(len(batches))) or tally != len(batches):
        out.failures.append(f"{case.name}: opened with batches {sorted(batches)}, tally {tally}")
    elif copy != case.wal:
        out.failures.append(f"{case.name}: opened with fewer commits and no copy of the WAL")
    else:
        out.count(case, _FEWER)


async def _try_file(case: FileCase, folder: Path, out: FileOutcomes) -> None:
    path = folder / "damaged.duckdb"
    if case.data is None:
        path.mkdir()
    else:
        path.write_bytes(case.data)
    if case.wal is not None:
        path.with_name(path.name + ".wal").write_bytes(case.wal)
    before = _digest(path)
    threads = worker_threads()
    database = DuckDB(f"duckdb+async:///{path}")
    expected = CorruptDatabase if case.data is not None else DatabaseUnavailable
    try:
        await database.start()
    except Exception as error:
        if type(error) is expected:
            out.count(case, _REFUSED)
        else:
            out.failures.append(f"{case.name}: at open {type(error).__name__}: {error}")
        if _digest(path) != before:
            out.failures.append(f"{case.name}: the failed open changed the file or its WAL")
        _ended(threads, out, case)
        return
    copy = path.with_name(path.name + ".wal.bak")
    try:
        await _read_case(database, case, copy.read_bytes() if copy.is_file() else None, out)
    finally:
        await database.close()


async def _checkpointed(path: Path, rows_: int) -> tuple[Any, ...]:
    """A file whose blocks are all data: one table, checkpointed; what it holds."""
    async with DuckDB(f"duckdb+async:///{path}") as database:
        async with database.engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "CREATE TABLE filler AS SELECT 'e' || range AS id, range // 100 AS batch, "
                    f"range % 100 AS item, md5(range::VARCHAR) AS pad FROM range({rows_})"
                )
            )
        async with database.engine.connect() as connection:
            await connection.execute(sa.text("CHECKPOINT"))
        return tuple((await rows(database, _CONTENT))[0])


async def _killed_wal(folder: Path, options: Options) -> Target:
    """A file and the WAL a writer SIGKILLed after _WAL_BATCHES acknowledged batches left."""
    killed = Target("duckdb", f"duckdb+async:///{folder / 'killed.duckdb'}", folder)
    with mapped() as mapping:
        async with killed.database() as database:
            async with database.engine.begin() as connection:
                await connection.run_sync(mapping.metadata.create_all)
            factory = SqlAlchemyUnitOfWork.factory(
                AttackUnitOfWork, database=database, mapping=mapping
            )
            async with factory() as uow:
                await uow.tallies.add(Tally(id="batches", value=0))
                await uow.commit()
    async with options.forking() as server:
        writer = await server.write(killed, 0, _WAL_BATCHES)
        await asyncio.wait_for(writer.done.wait(), 120)
        acks = await server.kill(writer)
    if acks != list(range(_WAL_BATCHES)):
        raise RuntimeError(f"the writer acknowledged {acks}")
    return killed


async def _file_cases(
    runs: int, folder: Path, rng: random.Random, options: Options
) -> list[FileCase]:
    """The damaged files: flips and cuts of a checkpointed file and of a killed writer's WAL,
    and foreign files."""
    source = folder / "source"
    source.mkdir()
    content = await _checkpointed(source / "checkpointed.duckdb", options.file_rows)
    data = (source / "checkpointed.duckdb").read_bytes()
    killed = await _killed_wal(source, options)
    assert killed.path is not None
    base = killed.path.read_bytes()
    log = killed.path.with_name(killed.path.name + ".wal").read_bytes()
    if not log:
        raise RuntimeError("the killed writer left no WAL")
    cases = [
        FileCase("foreign", "a SQLite file", _sqlite_bytes(folder)),
        FileCase("foreign", "random bytes", rng.randbytes(64 * 1024)),
        FileCase("foreign", "an empty file", b""),
        FileCase("foreign", "a directory", None),
    ]
    for i in range(runs):
        at = rng.randrange(0, len(data) - 4)
        cases.append(FileCase("file flip", f"file flip at {at}", _flip(data, at), None, content))
        size = rng.randrange(1, len(data))
        cases.append(FileCase("file cut", f"file cut to {size}", data[:size], None, content))
        # The first flip of a WAL is in its header, the others anywhere.
        at = rng.randrange(0, 16) if i == 0 else rng.randrange(0, len(log) - 4)
        cases.append(
            FileCase("WAL flip", f"WAL flip at {at}", base, _flip(log, at), None, _WAL_BATCHES)
        )
        size = rng.randrange(1, len(log))
        cases.append(
            FileCase("WAL cut", f"WAL cut to {size}", base, log[:size], None, _WAL_BATCHES)
        )
    return cases


def _sqlite_bytes(folder: Path) -> bytes:
    path = folder / "other.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE entries (id TEXT PRIMARY KEY)")
        connection.execute("INSERT INTO entries VALUES ('x')")
        connection.commit()
    return path.read_bytes()


async def attack_files(runs: int, adapter: str, options: Options) -> Result:
    """``runs`` flips and cuts each of a checkpointed file and of a WAL, and foreign files."""
    rng = random.Random(options.seed)
    began = time.perf_counter()
    out = FileOutcomes()
    with tempfile.TemporaryDirectory(prefix="andamios-attack-") as folder, counted_logs():
        cases = await _file_cases(runs, Path(folder), rng, options)
        with mapped():
            for n, case in enumerate(cases):
                place = Path(folder) / f"case{n}"
                place.mkdir()
                await _try_file(case, place, out)
                shutil.rmtree(place)
    kinds = "; ".join(
        f"{kind}: " + ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
        for kind, counts in out.by_kind.items()
    )
    changed = any("changed" in f for f in out.failures)
    return Result(
        "files",
        adapter,
        len(cases),
        len(out.failures),
        "wrong",
        time.perf_counter() - began,
        [
            f"{out.total(_REFUSED)} refused at open, {out.total(_FOUND)} at the first read, "
            f"{out.total(_FEWER)} opened with fewer commits (WAL copy kept), "
            f"{out.total(_INTACT)} opened with nothing lost",
            kinds,
            "bytes CHANGED by a failed open" if changed else "0 bytes changed by a failed open",
            f"{out.unjoined} failed opens returned before their worker thread had ended "
            "(each ended within 2 s)",
        ],
        out.failures,
    )


# -- secure -----------------------------------------------------------------------------------

_SECURE_QUERIES = [
    "",
    "enable_external_access=false",
    "enable_external_access=true",
    "ENABLE_EXTERNAL_ACCESS=1",
    "Enable_External_Access=yes",
    "enable_external_access=TRUE&threads=1",
    "enable_external_access=false&enable_external_access=true",
    "allowed_directories=['/etc']",
    "allowed_paths=['/etc/hostname']",
    "lock_configuration=false",
    "autoinstall_known_extensions=true",
    "autoload_known_extensions=1",
    "allow_community_extensions=true",
    "allow_unsigned_extensions=true",
    "custom_extension_repository={repo}",
    "autoinstall_extension_repository={repo}",
    "allow_extension_repositories=allowed",
    "access_mode=read_write&enable_external_access=on",
]


class _Repository(http.server.BaseHTTPRequestHandler):
    """A stand-in for DuckDB's extension repository: counts requests, has nothing to give."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def extension_repository() -> Iterator[tuple[str, list[str]]]:
    """A local stand-in for DuckDB's extension repository: its URL, and the paths asked for."""
    requests: list[str] = []
    handler = type("Repository", (_Repository,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _host_file() -> Path:
    for candidate in ("/etc/hostname", "/etc/passwd", "/etc/hosts"):
        if Path(candidate).is_file():
            return Path(candidate)
    raise RuntimeError("no host file to try to read")


async def _statement(database: DuckDB, repo: str, sql: str) -> tuple[bool, str]:
    """Run ``sql`` on a connection pointed at the stand-in repository: whether it worked,
    and what it returned or what the error said."""
    try:
        async with database.engine.connect() as connection:
            with contextlib.suppress(SQLAlchemyError):
                await connection.execute(sa.text(f"SET custom_extension_repository = '{repo}'"))
            result = await connection.execute(sa.text(sql))
            got = result.fetchall() if result.returns_rows else []
            await connection.commit()
    except SQLAlchemyError as error:
        return False, str(database.translate_error(error))
    return True, repr(got)


def _statements(host: Path, directory: Path, lite: Path, repo: str) -> list[str]:
    """What a statement with external access off must not be able to do."""
    return [
        f"SELECT * FROM read_csv('{host}')",
        f"SELECT content FROM read_text('{host}')",
        f"SELECT content FROM read_blob('{host}')",
        f"SELECT * FROM '{host}'",
        f"COPY (SELECT 42) TO '{directory / 'out.csv'}'",
        f"ATTACH '{directory / 'other.duckdb'}' AS other",
        "INSTALL sqlite",
        "LOAD sqlite",
        f"SELECT * FROM sqlite_scan('{lite}', 'entries')",
        f"ATTACH '{lite}' AS lite (TYPE sqlite)",
        f"SELECT * FROM read_parquet('{repo}/x.parquet')",
    ]


@dataclass
class SecureOutcomes:
    """What the URL forms did."""

    refused: int = 0
    opened: int = 0
    statements: int = 0
    failures: list[str] = field(default_factory=list)


async def _try_url(
    url: str, keyword: dict[str, Any], statements: list[str], repo: str, out: SecureOutcomes
) -> None:
    what = f"{url.partition('?')[2] or 'no query'} with {keyword or 'the defaults'}"
    try:
        database = DuckDB(url, **keyword)
        await database.start()
    except ConfigurationError:
        out.refused += 1
        return
    except Exception as error:
        out.failures.append(f"{what}: {type(error).__name__}: {error}")
        return
    out.opened += 1
    try:
        for sql in statements:
            out.statements += 1
            worked, said = await _statement(database, repo, sql)
            if worked:
                out.failures.append(f"{what}: {sql} worked ({said[:80]})")
            elif "download" in said.lower():
                out.failures.append(f"{what}: {sql} tried a download: {said[:200]}")
    finally:
        await database.close()


async def _control(directory: Path, lite: Path, repo: str) -> None:
    """Let a statement allow autoinstall: the stand-in repository then gets a request."""
    url = f"duckdb+async:///{directory / 'control.duckdb'}"
    async with (
        DuckDB(url, external_access=True) as database,
        database.engine.connect() as connection,
    ):
        await connection.execute(sa.text(f"SET custom_extension_repository = '{repo}'"))
        await connection.execute(sa.text("SET autoinstall_known_extensions = true"))
        await connection.execute(sa.text("SET autoload_known_extensions = true"))
        with contextlib.suppress(SQLAlchemyError):
            await connection.execute(sa.text(f"ATTACH '{lite}' AS lite"))


async def attack_secure(runs: int, adapter: str, options: Options) -> Result:
    """Every URL form against external access and the extension policy (``runs`` caps them)."""
    began = time.perf_counter()
    out = SecureOutcomes()
    host = _host_file()
    with (
        tempfile.TemporaryDirectory(prefix="andamios-attack-") as folder,
        extension_repository() as (repo, requests),
        counted_logs(),
    ):
        directory = Path(folder)
        lite = directory / "other.sqlite"
        lite.write_bytes(_sqlite_bytes(directory))
        home = Path.home() / ".duckdb" / "extensions"
        installed = sorted(home.rglob("*")) if home.exists() else []
        statements = _statements(host, directory, lite, repo)
        keywords: list[dict[str, Any]] = [{}, {"external_access": False}]
        cases = [(q.format(repo=repo), k) for q in _SECURE_QUERIES for k in keywords][:runs]
        for n, (query, keyword) in enumerate(cases):
            url = f"duckdb+async:///{directory / f's{n}.duckdb'}" + (f"?{query}" if query else "")
            await _try_url(url, keyword, statements, repo, out)
        if (directory / "out.csv").exists():
            out.failures.append("COPY ... TO wrote a file")
        if requests:
            out.failures.append(f"the stand-in repository got {len(requests)} requests: {requests}")
        now = sorted(home.rglob("*")) if home.exists() else []
        if now != installed:
            out.failures.append(f"new files in {home}: {sorted(set(now) - set(installed))}")
        # A SQLite file as the database (DuckDB would load, or download, its extension).
        started = time.perf_counter()
        try:
            async with DuckDB(f"duckdb+async:///{lite}"):
                out.failures.append("a SQLite file opened")
        except CorruptDatabase:
            pass
        sqlite_open = time.perf_counter() - started
        await _control(directory, lite, repo)
        control = len(requests)
        if not control:
            out.failures.append("the control got no request: the stand-in sees nothing")
    return Result(
        "secure",
        adapter,
        len(cases),
        len(out.failures),
        "wrong",
        time.perf_counter() - began,
        [
            f"{len(cases)} URL/keyword forms: {out.refused} refused (ConfigurationError), "
            f"{out.opened} opened, {out.statements} statements tried on them (read_csv, "
            "read_text, read_blob and a bare path of a host file; COPY TO; ATTACH; INSTALL/LOAD; "
            "sqlite_scan; an HTTP parquet): 0 worked",
            "0 requests to the stand-in extension repository, 0 extensions installed",
            f"a SQLite file as the database: CorruptDatabase in {sqlite_open * 1000:.0f} ms",
            f"control: {control} requests once a statement allowed autoinstall",
        ],
        out.failures,
    )


# -- the command ------------------------------------------------------------------------------


@dataclass
class Options:
    """What every attack is given."""

    postgresql_url: str = POSTGRESQL_URL
    seed: int = 11
    #: The crash attack kills its writer within this many seconds of its start.
    kill_window: float = 0.4
    #: The close attack closes within this many seconds of starting its units of work.
    close_window: float = 0.06
    #: The rows the first revision of the migrations attack loads.
    migration_rows: int = 300_000
    #: The rows of the checkpointed file the files attack damages.
    file_rows: int = 300_000
    #: The writers' fork server, shared by the attacks of one :func:`run_attacks`.
    fork_server: ForkServer | None = None

    @contextlib.asynccontextmanager
    async def forking(self) -> AsyncIterator[ForkServer]:
        """The shared fork server, or one for this attack only."""
        if self.fork_server is not None:
            yield self.fork_server
            return
        server = ForkServer()
        try:
            yield server
        finally:
            await server.close()


#: The attacks that need the fork server.
_FORKING = ("crash", "files")

type Attack = Callable[[int, str, Options], Awaitable[Result]]

#: name: (the attack, its default runs, the adapters it applies to)
ATTACKS: dict[str, tuple[Attack, int, tuple[str, ...]]] = {
    "crash": (attack_crash, 100, ("duckdb", "postgresql")),
    "migrations": (attack_migrations, 30, ("duckdb",)),
    "concurrency": (attack_concurrency, 1_000, ("duckdb", "postgresql")),
    "cancellation": (attack_cancellation, 200, ("duckdb", "postgresql")),
    "close": (attack_close, 100, ("duckdb", "postgresql")),
    "pool": (attack_pool, 100, ("duckdb", "postgresql")),
    "files": (attack_files, 20, ("duckdb",)),
    "secure": (attack_secure, len(_SECURE_QUERIES) * 2, ("duckdb",)),
}


async def run_attack(
    name: str,
    runs: int | None = None,
    adapter: str | None = None,
    options: Options | None = None,
) -> list[Result]:
    """Run one attack (default runs) on ``adapter``, or on every adapter it applies to."""
    attack, default, adapters = ATTACKS[name]
    options = options or Options()
    results = []
    for on in adapters if adapter is None else (adapter,):
        if on not in adapters:
            results.append(Result(name, on, 0, 0, "", 0.0, skipped=f"{name} is DuckDB's only"))
            continue
        if on == "postgresql" and (why := postgresql_unreachable(options.postgresql_url)):
            results.append(Result(name, on, 0, 0, "", 0.0, skipped=why))
            continue
        results.append(await attack(default if runs is None else runs, on, options))
    return results


async def run_attacks(
    plan: Sequence[tuple[str, int | None]],
    adapter: str | None = None,
    options: Options | None = None,
    report: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Run each ``(attack, runs)`` of ``plan`` (``None``: its default runs) with one fork
    server for all of them; ``report`` is told each result as it comes."""
    options = options or Options()
    shared = options.fork_server is None
    if shared:
        options.fork_server = ForkServer()
        if any(name in _FORKING for name, _ in plan):
            await options.fork_server.start()  # its imports overlap the attacks before
    results: list[Result] = []
    try:
        for name, runs in plan:
            for result in await run_attack(name, runs, adapter, options):
                if report is not None:
                    report(result)
                results.append(result)
    finally:
        if shared and options.fork_server is not None:
            await options.fork_server.close()
            options.fork_server = None
    return results


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/attack.py",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="\n\n".join(__doc__.split("\n\n")[2:]) if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("attack", choices=[*ATTACKS, "all"], help="the attack to run")
    parser.add_argument("--runs", type=int, help="how many runs (default: the attack's own)")
    parser.add_argument(
        "--adapter",
        choices=("duckdb", "postgresql"),
        help="the database (default: every one the attack applies to)",
    )
    parser.add_argument(
        "--postgresql-url", default=POSTGRESQL_URL, help="the server (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=11, help="the random seed")
    return parser


def _print(result: Result) -> None:
    print(result.line(), flush=True)
    for failure in result.failures:
        print(f"  FAILED: {failure}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the attacks named on the command line; 1 if anything was lost or wrong."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["_fork_server"]:
        _fork_server()
        return 0
    args = _parser().parse_args(argv)
    names = list(ATTACKS) if args.attack == "all" else [args.attack]
    if args.attack == "all" and args.adapter is not None:
        names = [n for n in names if args.adapter in ATTACKS[n][2]]
    if args.adapter == "postgresql" and (why := postgresql_unreachable(args.postgresql_url)):
        print(why, file=sys.stderr)
        return 2
    options = Options(postgresql_url=args.postgresql_url, seed=args.seed)
    results = asyncio.run(
        run_attacks([(n, args.runs) for n in names], args.adapter, options, _print)
    )
    if args.attack == "all":
        print()
        print(table(results))
    return 1 if any(r.wrong for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
