"""UUID version 7 identifiers (RFC 9562), the default id of every aggregate.

Python 3.13's :mod:`uuid` has no ``uuid7``. Version 7 ids start with the Unix time in
milliseconds, so they sort by creation time and keep B-tree and zone-map friendly inserts; ids made
in the same millisecond by this process stay strictly increasing (RFC 9562, section 6.2, method 1:
the 12-bit ``rand_a`` field is a counter seeded at random each millisecond).
"""

from __future__ import annotations

import os
import threading
import time
from uuid import UUID

__all__ = ["uuid7", "uuid7_time"]

_VERSION = 0x7
_VARIANT = 0b10
_COUNTER_MAX = 0xFFF

_lock = threading.Lock()
_last_ms = -1
_counter = 0


def uuid7() -> UUID:
    """Return a new UUIDv7; later calls in this process return strictly greater ids."""
    global _last_ms, _counter  # noqa: PLW0603 - module state keeps ids monotonic per process
    rand = int.from_bytes(os.urandom(10))
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            # Start in the lower half so a burst in one millisecond rarely overflows.
            _counter = (rand >> 64) & 0x7FF
        else:
            _counter += 1
            if _counter > _COUNTER_MAX:
                # The clock went back or 2048+ ids came in one millisecond: borrow the next one.
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    rand_b = rand & ((1 << 62) - 1)
    value = (ms << 80) | (_VERSION << 76) | (counter << 64) | (_VARIANT << 62) | rand_b
    return UUID(int=value)


def uuid7_time(value: UUID) -> float:
    """Return the Unix time (seconds) embedded in a UUIDv7."""
    if value.version != _VERSION:
        msg = f"{value} is a version {value.version} UUID, not version 7"
        raise ValueError(msg)
    return (value.int >> 80) / 1000
