"""Damaged and foreign files, at open and after, and the copy of a WAL that DuckDB replays.

Every file here is a real DuckDB (or SQLite, or random) file damaged for real: bytes flipped in a
checkpointed file's header or data block, a WAL left by a writer killed with SIGKILL and then
flipped or cut, a file cut short. A failed open must change no byte of the file or its WAL, and
the error must be decided by DuckDB's exception type and wording, never by the folder's name.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import struct
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from andamios.adapters.duckdb import Database, translate_error
from andamios.adapters.duckdb import _wal as wal_module
from andamios.adapters.duckdb._errors import translate_open_error
from andamios.adapters.duckdb._wal import WAL_COPY_SUFFIX, lock_holders, wal_copy_path
from andamios.ports.errors import (
    CorruptDatabase,
    DatabaseLocked,
    DatabaseUnavailable,
    OperationalError,
)

BATCHES = 20
ROWS = 100
# A folder whose name is made of DuckDB's own words for damage: it must change nothing.
TRAP = "corrupt checksum/not a valid duckdb database file"

# A writer that commits BATCHES batches, says so after each one, and waits to be killed. Its
# checkpoint threshold keeps every commit in the WAL (DuckDB would fold it into the file at 16 MB).
_WRITER = f"""
import sys, duckdb
conn = duckdb.connect(sys.argv[1])
conn.execute("SET checkpoint_threshold = '1TB'")
conn.execute("CREATE TABLE IF NOT EXISTS batches (batch INTEGER, item INTEGER, pad VARCHAR)")
for batch in range(int(sys.argv[2]), int(sys.argv[3])):
    conn.execute("INSERT INTO batches SELECT ?, range, repeat('x', 40) FROM range({ROWS})", [batch])
    print(batch, flush=True)
sys.stdin.read()
"""

# A writer that holds the file's lock with a live WAL until it is killed.
_LIVE_WRITER = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1])
conn.execute("SET checkpoint_threshold = '1TB'")
conn.execute("INSERT INTO batches VALUES (999, 0, 'live')")
print("ok", flush=True)
sys.stdin.read()
"""


def _url(path: Path) -> str:
    return f"duckdb+async:///{path}"


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _files(path: Path) -> dict[str, bytes | None]:
    """The bytes of the database file and of its WAL (``None``: no such file)."""
    return {str(file): file.read_bytes() if file.is_file() else None for file in (path, _wal(path))}


def _killed_writer(path: Path, first: int = 0, last: int = BATCHES) -> None:
    """Commit batches ``first`` to ``last - 1`` in another process, then SIGKILL it."""
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(first), str(last)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    acknowledged = [int(process.stdout.readline()) for _ in range(first, last)]
    process.send_signal(signal.SIGKILL)
    process.wait()
    _close(process)
    assert acknowledged == list(range(first, last))
    assert _wal(path).stat().st_size > 0


def _close(process: subprocess.Popen[str]) -> None:
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()


def _live_writer(path: Path) -> subprocess.Popen[str]:
    """Another process with ``path`` open for writing and a live WAL, until it is killed."""
    process = subprocess.Popen(
        [sys.executable, "-c", _LIVE_WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ok"
    return process


def _lock_error(path: Path) -> str:
    """What another process is told when it opens ``path`` for writing."""
    other = subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1])", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return other.stderr


def _wal_entries(wal: bytes) -> list[tuple[int, int]]:
    """The (offset, size) of each checksummed entry of a WAL: after its header, each entry is
    an 8-byte size, an 8-byte checksum and that many bytes."""
    for start in range(1, 256):
        entries, offset = [], start
        while offset + 16 <= len(wal):
            (size,) = struct.unpack_from("<Q", wal, offset)
            if size == 0 or offset + 16 + size > len(wal):
                break
            entries.append((offset, size))
            offset += 16 + size
        if offset == len(wal) and len(entries) > BATCHES:
            return entries
    raise AssertionError("not a DuckDB WAL of checksummed entries")


def _flip(path: Path, offset: int, count: int = 4) -> None:
    data = bytearray(path.read_bytes())
    data[offset : offset + count] = bytes(byte ^ 0xFF for byte in data[offset : offset + count])
    path.write_bytes(bytes(data))


def _cut(path: Path, size: int | None = None) -> None:
    """Cut ``path`` to ``size`` bytes (half its size by default)."""
    os.truncate(path, path.stat().st_size // 2 if size is None else size)


def _sqlite(path: Path) -> None:
    with sqlite3.connect(path) as lite:
        lite.execute("CREATE TABLE t (x)")
    lite.close()


def _checkpointed(path: Path, rows: int = 300_000) -> None:
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            f"CREATE TABLE t AS SELECT range AS i, md5(range::VARCHAR) AS s FROM range({rows})"
        )
        conn.execute("CHECKPOINT")


async def _batches(path: Path) -> list[int]:
    async with Database(_url(path)) as db, db.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT DISTINCT batch FROM batches ORDER BY batch"))
        return [row[0] for row in rows]


async def _refused[E: Exception](path: Path, kind: type[E], db: Database | None = None) -> E:
    """Open ``path`` (with ``db``) expecting ``kind``; check that no byte of the file or its WAL
    changed."""
    before = _files(path)
    db = db or Database(_url(path))
    with pytest.raises(kind) as caught:
        await db.start()
    assert type(caught.value) is kind
    assert not db.is_started
    assert _files(path) == before
    return caught.value


@pytest.fixture
def killed(db_file: Path) -> Path:
    """A file whose writer committed BATCHES batches and was killed: its WAL holds them all."""
    _killed_writer(db_file)
    return db_file


@pytest.fixture
def wal_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="andamios.adapters.duckdb")
    return caplog


def _warned(caplog: pytest.LogCaptureFixture, copy: Path) -> bool:
    return any(
        record.name == "andamios.adapters.duckdb"
        and record.levelno == logging.WARNING
        and str(copy) in record.getMessage()
        for record in caplog.records
    )


# -- damaged files at open ------------------------------------------------------------------------


async def test_checksum_failure_in_the_header(db_file: Path) -> None:
    _checkpointed(db_file, rows=1000)
    # Both database headers (at 4 KiB and 8 KiB): DuckDB reads them as it opens the file.
    _flip(db_file, 4096 + 100)
    _flip(db_file, 8192 + 100)
    error = await _refused(db_file, CorruptDatabase)
    assert str(error).startswith(f"database file {db_file} is damaged: Corrupt database file: ")
    assert "does not match stored checksum" in str(error)


async def test_truncated_file(db_file: Path) -> None:
    _checkpointed(db_file)
    _cut(db_file)
    error = await _refused(db_file, CorruptDatabase)
    assert f'Could not read enough bytes from file "{db_file}"' in str(error)


async def test_random_bytes(db_file: Path) -> None:
    await asyncio.to_thread(db_file.write_bytes, os.urandom(16384))
    error = await _refused(db_file, CorruptDatabase)
    assert str(error) == (
        f'IO Error: The file "{db_file}" exists, but it is not a valid DuckDB database file!'
    )


async def test_empty_file_is_refused_not_taken_for_a_new_database(db_file: Path) -> None:
    # DuckDB creates a database only where no file exists; an empty file is not one.
    await asyncio.to_thread(db_file.touch)
    error = await _refused(db_file, CorruptDatabase)
    assert "not a valid DuckDB database file" in str(error)
    assert "the file is empty" in str(error)
    assert _files(db_file) == {str(db_file): b"", str(_wal(db_file)): None}


async def test_sqlite_file_is_refused_before_duckdb_sees_it(db_file: Path) -> None:
    _sqlite(db_file)
    error = await _refused(db_file, CorruptDatabase)
    assert str(error) == (
        f"database file {db_file} is a SQLite database, not a DuckDB one; "
        "Andamios opens DuckDB files only"
    )
    # Refused before DuckDB: no SQLite extension was looked for or downloaded.
    assert error.__cause__ is None


async def test_sqlite_file_where_locks_cannot_be_listed(
    db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without /proc/locks Andamios does not read the file first; DuckDB's failure to load its
    # SQLite extension is recognised instead.
    monkeypatch.setattr(wal_module, "_PROC_LOCKS", db_file.parent / "no-proc-locks")
    _sqlite(db_file)
    database = Database(_url(db_file), external_access=False)
    error = await _refused(db_file, CorruptDatabase, database)
    assert str(error).startswith(f"database file {db_file} is a SQLite database, not a DuckDB")
    assert "Loading external extensions is disabled" in str(error)


async def test_directory_as_the_path(db_file: Path) -> None:
    await asyncio.to_thread(db_file.mkdir)
    error = await _refused(db_file, DatabaseUnavailable)
    assert str(error) == f'IO Error: Could not read from file "{db_file}": Is a directory'


async def test_parent_is_a_file(tmp_path: Path) -> None:
    await asyncio.to_thread((tmp_path / "plain").write_text, "not a directory")
    error = await _refused(tmp_path / "plain" / "shop.duckdb", DatabaseUnavailable)
    assert "Not a directory" in str(error)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
async def test_unreadable_file(db_file: Path) -> None:
    _checkpointed(db_file, rows=10)
    await asyncio.to_thread(db_file.chmod, 0)
    try:
        error = await _refused(db_file, DatabaseUnavailable)
    finally:
        await asyncio.to_thread(db_file.chmod, 0o600)
    assert "Permission denied" in str(error)


# -- a folder named after DuckDB's words ----------------------------------------------------------


@pytest.fixture
def trap(tmp_path: Path) -> Path:
    folder = tmp_path / TRAP
    folder.mkdir(parents=True)
    return folder


async def test_folder_named_corrupt_does_not_make_a_directory_corrupt(trap: Path) -> None:
    (trap / "shop.duckdb").mkdir()
    await _refused(trap / "shop.duckdb", DatabaseUnavailable)


async def test_folder_named_corrupt_does_not_make_a_missing_file_corrupt(trap: Path) -> None:
    (trap / "plain").write_text("not a directory")
    path = trap / "plain" / "shop.duckdb"
    await _refused(path, DatabaseUnavailable)
    # Without the path to take out, DuckDB's quotes are taken out.
    with pytest.raises(duckdb.IOException) as raw:
        duckdb.connect(str(path))
    assert TRAP in str(raw.value)
    assert type(translate_error(raw.value)) is DatabaseUnavailable


async def test_folder_named_corrupt_with_quotes_in_it(tmp_path: Path) -> None:
    folder = tmp_path / 'say "corrupt" and "not a valid duckdb database file"'
    folder.mkdir()
    (folder / "plain").write_text("not a directory")
    await _refused(folder / "plain" / "shop.duckdb", DatabaseUnavailable)


async def test_folder_named_corrupt_holds_a_healthy_database(trap: Path) -> None:
    path = trap / "shop.duckdb"
    async with Database(_url(path), external_access=True) as db, db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT 42")) == 42
        with pytest.raises(DBAPIError) as caught:
            await conn.execute(sa.text(f"COPY (SELECT 1) TO '{trap}/missing/x.csv'"))
    assert type(translate_error(caught.value, path=path)) is OperationalError


async def test_folder_named_corrupt_still_tells_a_damaged_file(trap: Path) -> None:
    path = trap / "shop.duckdb"
    path.write_bytes(os.urandom(16384))
    await _refused(path, CorruptDatabase)


# -- damaged files after open ---------------------------------------------------------------------


def _data_block_offset(path: Path) -> int:
    # The file's first 12 KiB are its headers; blocks of 256 KiB follow, each with its checksum.
    with duckdb.connect(str(path), read_only=True) as conn:
        row = conn.execute(
            "SELECT max(block_id) FROM pragma_storage_info('t') WHERE column_name = 's'"
        ).fetchone()
    assert row is not None
    return 12288 + int(row[0]) * 262144 + 1000


@pytest.fixture
async def damaged_block(db_file: Path) -> Path:
    _checkpointed(db_file)
    _flip(db_file, _data_block_offset(db_file))
    return db_file


async def test_checksum_failure_in_a_statement(damaged_block: Path) -> None:
    db_file = damaged_block
    async with Database(_url(db_file)) as db, db.engine.connect() as conn:
        # The catalog and the untouched blocks read fine: the damage shows when it is read.
        assert await conn.scalar(sa.text("SELECT count(*) FROM t")) == 300_000
        with pytest.raises(DBAPIError) as caught:
            await conn.scalar(sa.text("SELECT sum(length(s)) FROM t"))
        assert type(caught.value.orig) is duckdb.Error
        await conn.rollback()
        assert await conn.scalar(sa.text("SELECT 1")) == 1
        by_database = db.translate_error(caught.value)
    error = translate_error(caught.value, path=db_file)
    assert type(error) is CorruptDatabase
    assert str(error).startswith(f"database file {db_file} is damaged: Corrupt database file: ")
    assert error.__cause__ is caught.value
    # A Database knows its file: a unit of work's failure names it too.
    assert type(by_database) is CorruptDatabase
    assert str(by_database) == str(error)
    unnamed = translate_error(caught.value)
    assert type(unnamed) is CorruptDatabase
    assert str(unnamed).startswith("Corrupt database file: computed checksum ")


async def test_file_cut_short_after_open(db_file: Path) -> None:
    _checkpointed(db_file)
    async with Database(_url(db_file)) as db, db.engine.connect() as conn:
        _cut(db_file, 300_000)
        with pytest.raises(DBAPIError) as caught:
            await conn.scalar(sa.text("SELECT sum(length(s)) FROM t"))
        await conn.rollback()
    assert isinstance(caught.value.orig, duckdb.IOException)
    error = translate_error(caught.value, path=db_file)
    assert type(error) is CorruptDatabase
    assert f'Could not read enough bytes from file "{db_file}"' in str(error)
    # Not told which file is the database, a statement's read failure is the statement's.
    assert type(translate_error(caught.value)) is OperationalError


async def test_damaged_file_a_statement_attaches_is_the_statement_s(
    db_file: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.duckdb"
    _checkpointed(other)
    _cut(other)
    async with Database(_url(db_file), external_access=True) as db, db.engine.connect() as conn:
        with pytest.raises(DBAPIError) as caught:
            await conn.execute(sa.text(f"ATTACH '{other}' AS other"))
    assert "Could not read enough bytes" in str(caught.value.orig)
    assert type(translate_error(caught.value, path=db_file)) is OperationalError


# -- the WAL --------------------------------------------------------------------------------------


async def test_clean_replay_keeps_a_copy_of_the_wal(
    killed: Path, wal_log: pytest.LogCaptureFixture
) -> None:
    wal = _wal(killed).read_bytes()
    assert await _batches(killed) == list(range(BATCHES))
    copy = wal_copy_path(killed)
    assert copy == killed.with_name("test.duckdb.wal.bak")
    assert copy.read_bytes() == wal
    assert not _wal(killed).exists()
    assert _warned(wal_log, copy)
    assert sorted(file.name for file in killed.parent.iterdir()) == [
        "test.duckdb",
        "test.duckdb" + WAL_COPY_SUFFIX,
    ]


async def test_corrupt_wal_is_refused_and_kept(
    killed: Path, wal_log: pytest.LogCaptureFixture
) -> None:
    wal = _wal(killed)
    entries = _wal_entries(wal.read_bytes())
    offset, size = entries[len(entries) // 2]
    _flip(wal, offset + 16 + size // 2)  # inside the entry: its checksum no longer matches
    damaged = wal.read_bytes()
    error = await _refused(killed, CorruptDatabase)
    assert str(error).startswith(f'Failure while replaying WAL file "{wal}": Corrupt WAL file: ')
    copy = wal_copy_path(killed)
    assert copy.read_bytes() == damaged
    assert _warned(wal_log, copy)


async def test_wal_damaged_where_duckdb_sees_its_end_loses_commits_but_the_copy_keeps_them(
    killed: Path, wal_log: pytest.LogCaptureFixture
) -> None:
    # A flipped length reads as a log cut short by a crash: DuckDB replays what comes before it,
    # deletes the log and says nothing. The copy is the only record left of the rest.
    wal = _wal(killed)
    entries = _wal_entries(wal.read_bytes())
    _flip(wal, entries[len(entries) // 2][0])
    damaged = wal.read_bytes()
    survived = await _batches(killed)
    assert survived == list(range(len(survived)))
    assert 0 < len(survived) < BATCHES
    assert not wal.exists()
    copy = wal_copy_path(killed)
    assert copy.read_bytes() == damaged
    assert _warned(wal_log, copy)


async def test_truncated_wal_loses_commits_but_the_copy_keeps_them(
    killed: Path, wal_log: pytest.LogCaptureFixture
) -> None:
    wal = _wal(killed)
    whole = wal.read_bytes()
    os.truncate(wal, len(whole) // 2)
    cut = wal.read_bytes()
    survived = await _batches(killed)
    assert 0 < len(survived) < BATCHES
    copy = wal_copy_path(killed)
    assert copy.read_bytes() == cut
    assert _warned(wal_log, copy)


async def test_only_the_last_wal_is_kept(killed: Path) -> None:
    assert await _batches(killed) == list(range(BATCHES))
    _killed_writer(killed, BATCHES, BATCHES + 5)
    second = _wal(killed).read_bytes()
    assert await _batches(killed) == list(range(BATCHES + 5))
    assert wal_copy_path(killed).read_bytes() == second
    assert sorted(file.name for file in killed.parent.iterdir()) == [
        "test.duckdb",
        "test.duckdb" + WAL_COPY_SUFFIX,
    ]


async def test_read_only_open_replays_in_memory_and_keeps_no_copy(killed: Path) -> None:
    before = _files(killed)
    async with Database(_url(killed), read_only=True) as db, db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(DISTINCT batch) FROM batches")) == BATCHES
    assert _files(killed) == before
    assert not wal_copy_path(killed).exists()


async def test_empty_wal_keeps_no_copy(db_file: Path) -> None:
    _checkpointed(db_file, rows=10)
    _wal(db_file).touch()
    async with Database(_url(db_file)) as db, db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM t")) == 10
    assert not wal_copy_path(db_file).exists()


async def test_wal_of_a_file_another_process_has_open_is_left_alone(killed: Path) -> None:
    assert await _batches(killed) == list(range(BATCHES))
    kept = wal_copy_path(killed).read_bytes()
    process = _live_writer(killed)
    try:
        assert lock_holders(killed) == frozenset({process.pid})
        await _refused(killed, DatabaseLocked)
        # That WAL is live, not left behind: the last copy is not replaced by it.
        assert wal_copy_path(killed).read_bytes() == kept
    finally:
        process.kill()
        process.wait()
        _close(process)


@pytest.fixture
async def open_database(db_file: Path) -> AsyncIterator[Database]:
    _checkpointed(db_file, rows=10)
    async with Database(_url(db_file)) as db:
        async with db.engine.begin() as conn:
            await conn.execute(sa.text("INSERT INTO t VALUES (-1, 'live')"))
        yield db


@pytest.mark.subprocess
async def test_second_open_in_this_process_keeps_the_lock(
    db_file: Path, open_database: Database
) -> None:
    # This process holds DuckDB's POSIX lock: reading the file here (to look for SQLite's
    # header) and closing it would release that lock. The file is left unread, and the live
    # WAL is not copied.
    assert _wal(db_file).stat().st_size > 0
    assert lock_holders(db_file) == frozenset({os.getpid()})
    async with Database(_url(db_file)) as second, second.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM t")) == 11
    assert lock_holders(db_file) == frozenset({os.getpid()})
    assert not wal_copy_path(db_file).exists()
    assert "Could not set lock on file" in _lock_error(db_file)


async def test_wal_that_cannot_be_copied_is_not_replayed(killed: Path) -> None:
    copy = wal_copy_path(killed)
    copy.mkdir()  # a directory where the copy goes: the copy cannot replace it
    error = await _refused(killed, DatabaseUnavailable)
    assert str(killed) in str(error)
    assert f"no copy of the log could be kept at {copy}" in str(error)
    assert error.__cause__ is not None
    assert sorted(file.name for file in killed.parent.iterdir()) == [
        "test.duckdb",
        "test.duckdb.wal",
        "test.duckdb.wal.bak",
    ]


async def test_wal_is_kept_where_locks_cannot_be_listed(
    killed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wal_module, "_PROC_LOCKS", killed.parent / "no-proc-locks")
    assert lock_holders(killed) is None
    wal = _wal(killed).read_bytes()
    assert await _batches(killed) == list(range(BATCHES))
    assert wal_copy_path(killed).read_bytes() == wal


# -- translation details --------------------------------------------------------------------------


def test_a_missing_file_has_no_lock_holder(tmp_path: Path) -> None:
    assert lock_holders(tmp_path / "missing.duckdb") == frozenset()


def test_empty_file_that_went_away_before_the_message(db_file: Path) -> None:
    db_file.touch()
    with pytest.raises(duckdb.IOException) as raw:
        duckdb.connect(str(db_file))
    db_file.unlink()
    error = translate_open_error(raw.value, path=db_file)
    assert type(error) is CorruptDatabase
    assert "the file is empty" not in str(error)


# -- a sweep: damage at spread positions ----------------------------------------------------------

SWEEP = 20


async def _open_and_read(path: Path) -> str:
    """``"refused"``, ``"opened, all kept"``, ``"opened, batches lost"``, ``"damage found by a
    statement"`` or ``"read"`` (the damage went unnoticed).

    Anything but CorruptDatabase from the open or from a statement that reads every row fails
    the test, and the batches a damaged WAL keeps must be the first ones.
    """
    db = Database(_url(path))
    try:
        await db.start()
    except CorruptDatabase:
        return "refused"
    failure: DBAPIError | None = None
    async with db, db.engine.connect() as conn:
        tables = await conn.scalar(sa.text("SELECT list(table_name) FROM duckdb_tables()")) or []
        if "t" not in tables:
            batches: list[int] = []
            if "batches" in tables:
                rows = await conn.execute(sa.text("SELECT DISTINCT batch FROM batches ORDER BY 1"))
                batches = [row[0] for row in rows]
            assert batches == list(range(len(batches)))
            return "opened, all kept" if len(batches) == BATCHES else "opened, batches lost"
        try:
            await conn.scalar(sa.text("SELECT sum(length(s)) + sum(i) FROM t"))
        except DBAPIError as exc:
            failure = exc
    if failure is None:
        return "read"
    assert type(translate_error(failure, path=path)) is CorruptDatabase
    return "damage found by a statement"


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["wal flipped", "wal cut", "file flipped", "file cut"])
async def test_damage_sweep(tmp_path: Path, damage: str) -> None:
    pristine = tmp_path / "pristine.duckdb"
    if damage.startswith("wal"):
        await asyncio.to_thread(_killed_writer, pristine)
        source = _wal(pristine)
    else:
        await asyncio.to_thread(_checkpointed, pristine)
        source = pristine
    original = source.read_bytes()
    outcomes: dict[str, int] = {}
    for step in range(SWEEP):
        case = tmp_path / str(step)
        case.mkdir()
        path = case / "test.duckdb"
        for file in (pristine, _wal(pristine)):
            if file.exists():
                (case / file.name.replace("pristine", "test")).write_bytes(file.read_bytes())
        target = _wal(path) if damage.startswith("wal") else path
        position = len(original) * step // SWEEP
        if damage.endswith("flipped"):
            _flip(target, position)
        else:
            _cut(target, max(position, 1))
        before = _files(path)
        outcome = await _open_and_read(path)
        if outcome == "refused":
            assert _files(path) == before  # no byte changed by a failed open
        if damage.startswith("wal"):
            assert wal_copy_path(path).read_bytes() == before[str(_wal(path))]
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # Shown with -s: the figures of docs/guides/reliability.md.
    print(f"\n{damage}: {dict(sorted(outcomes.items()))}")
    assert sum(outcomes.values()) == SWEEP
