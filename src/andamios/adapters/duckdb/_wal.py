"""What Andamios does to a database file before DuckDB opens it: keep the WAL, refuse SQLite.

A DuckDB file ``shop.duckdb`` has its write-ahead log beside it, ``shop.duckdb.wal``. A clean
close checkpoints the log into the file and deletes it, so a log found at open was left by a
process that did not close the database (killed, crashed, power lost). DuckDB replays it and
deletes it, and a damaged log may be replayed only up to the damage, without an error (measured
on DuckDB 2.0: a log cut anywhere, 60 of 60 times, or a flipped length field opens with the
commits before the damage only; a flip in the log's header, with none). So before DuckDB sees
such a log, :func:`prepare_file` copies it to ``shop.duckdb.wal.bak`` (the last one only: each
copy replaces the one before) and logs a warning naming the copy, and the only record of those
commits is never destroyed.

Reading a file this process has open through DuckDB would release DuckDB's lock on it: POSIX
locks belong to the process and any ``close()`` of the file drops them all, which would let a
second process open the file for writing beside this one. So this module never opens the
database file unless it knows (from Linux's ``/proc/locks``) that this process holds no lock on
it, and it never writes to it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path

from andamios.ports.errors import CorruptDatabase, DatabaseUnavailable

__all__ = ["WAL_COPY_SUFFIX", "is_sqlite", "lock_holders", "prepare_file", "wal_copy_path"]

#: The copy of a replayed write-ahead log is the database's name with this suffix.
WAL_COPY_SUFFIX = ".wal.bak"

_log = logging.getLogger("andamios.adapters.duckdb")

# Every POSIX, flock and OFD lock of the machine, one a line, e.g.
# "3: POSIX  ADVISORY  WRITE 31809 fe:00:2147175 0 EOF" (a blocked request has "->" after "3:").
_PROC_LOCKS = Path("/proc/locks")
# The first 16 bytes of every SQLite 3 database file.
_SQLITE_MAGIC = b"SQLite format 3\x00"


def wal_copy_path(path: Path) -> Path:
    """Where the copy of ``path``'s write-ahead log is kept (``shop.duckdb.wal.bak``)."""
    return path.with_name(path.name + WAL_COPY_SUFFIX)


def lock_holders(path: Path) -> frozenset[int] | None:
    """The process ids that hold a lock on ``path``, ``None`` if the system cannot tell.

    Read from ``/proc/locks`` (Linux), so the file itself is not opened. A missing file has no
    holder.
    """
    try:
        listing = _PROC_LOCKS.read_text()
    except OSError:
        return None
    try:
        inode = str(path.stat().st_ino)
    except OSError:
        return frozenset()
    holders: set[int] = set()
    for line in listing.splitlines():
        fields = line.replace("->", "").split()
        # ["3:", "POSIX", "ADVISORY", "WRITE", "31809", "fe:00:2147175", "0", "EOF"]. Matched by
        # inode only: on btrfs, stat's device is not the one /proc/locks shows, and a missed
        # lock (which reading the file would release) costs more than a rare inode shared with
        # a locked file of another file system (which only skips a WAL copy).
        if len(fields) >= 6 and fields[5].rpartition(":")[2] == inode:
            holders.add(int(fields[4]))
    return frozenset(holders)


def is_sqlite(path: Path) -> bool:
    """Whether ``path`` is a SQLite database file (by its first 16 bytes)."""
    try:
        with path.open("rb") as file:
            return file.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    except OSError:
        return False


def prepare_file(path: Path, *, read_only: bool) -> Path | None:
    """Check a database file and keep its write-ahead log before DuckDB opens it.

    Raises :class:`~andamios.ports.errors.CorruptDatabase` when ``path`` is a SQLite file (DuckDB
    would try to load, or download, its SQLite extension to open it). When a log left by an
    unclean shutdown is about to be replayed into the file, copies it to
    :func:`wal_copy_path`, logs a warning naming the copy and returns the copy's path; returns
    ``None`` when there is nothing to keep: no log, an empty one, a read-only open (DuckDB
    replays the log in memory and leaves the file and the log as they are), or a file another
    open holds (that log is live, and this open will be refused or share the open database).
    Raises :class:`~andamios.ports.errors.DatabaseUnavailable` when the copy cannot be made:
    the log is not replayed without one.
    """
    holders = lock_holders(path)
    if holders is not None and os.getpid() not in holders and is_sqlite(path):
        raise CorruptDatabase(
            f"database file {path} is a SQLite database, not a DuckDB one; "
            "Andamios opens DuckDB files only"
        )
    wal = path.with_name(path.name + ".wal")
    if read_only or holders or not os.path.isfile(wal) or os.path.getsize(wal) == 0:
        return None
    copy = wal_copy_path(path)
    try:
        _copy_durably(wal, copy)
    except OSError as error:
        raise DatabaseUnavailable(
            f"database file {path} was not closed cleanly and its write-ahead log {wal} is "
            f"about to be replayed, but no copy of the log could be kept at {copy} ({error}); "
            "the database was not opened"
        ) from error
    _log.warning(
        "database file %s was not closed cleanly: DuckDB replays its write-ahead log %s now; "
        "a copy of the log as it was (%d bytes) is kept at %s",
        path,
        wal,
        os.path.getsize(copy),
        copy,
    )
    return copy


def _copy_durably(source: Path, target: Path) -> None:
    # Written beside the target and renamed over it, so the previous copy is replaced only by a
    # complete one; synced, so the copy outlives a power loss as the log it copies would have.
    partial = target.with_name(target.name + ".partial")
    try:
        shutil.copyfile(source, partial)
        with partial.open("rb+") as file:
            os.fsync(file.fileno())
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    # The rename is durable once the directory is synced (a directory cannot be opened on
    # Windows: there, the rename is as durable as the file system makes it).
    with contextlib.suppress(OSError):
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
