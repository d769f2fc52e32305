"""The in-memory stand-in for a connection pool: at most ``pool_size`` open transactions at once.

A SQL unit of work holds a pooled connection from its transaction's first statement to its
commit or rollback, and waits at most ``pool_timeout`` seconds for one when all are in use
(``OperationalError`` naming both settings). Without the same bound, a thousand concurrent
read-modify-write units of work would all read the same version and all but one fail at
commit, again and again (issue 15: 29,305 ``ConcurrencyError`` retries against DuckDB's 386).
So the memory adapter bounds them alike, with the same defaults and the same error.

The pool may be shared by units of work on several event loops (one store, several threads):
it is bound to none, and a slot freed on one loop wakes a waiter on another thread-safely.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import deque
from dataclasses import dataclass, field

from andamios.ports.errors import ConfigurationError, OperationalError

__all__ = ["POOL_SIZE", "POOL_TIMEOUT", "TransactionPool"]

#: The default ``pool_size``: DuckDB's and PostgreSQL's (``DatabaseSettings.pool_size``).
POOL_SIZE = 5
#: The default ``pool_timeout`` in seconds: DuckDB's and PostgreSQL's.
POOL_TIMEOUT = 30.0


@dataclass(eq=False, slots=True)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    #: Set under the pool's lock when a freed slot is handed to this waiter.
    granted: bool = field(default=False)


def _wake(waiter: _Waiter) -> None:
    # On the waiter's loop. A waiter that gave up meanwhile passes its slot on (acquire()).
    if not waiter.future.done():
        waiter.future.set_result(None)


class TransactionPool:
    """At most ``size`` slots taken at once; a taker waits at most ``timeout`` seconds.

    Slots are handed to waiters first come, first served, and never lost: a waiter that
    times out or is cancelled as its slot arrives gives it to the next one.
    """

    def __init__(self, size: int = POOL_SIZE, timeout: float = POOL_TIMEOUT) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigurationError(f"pool_size must be at least 1, got {size!r}")
        # "not > 0" also refuses NaN; an infinite wait is not a timeout.
        if not timeout > 0 or not math.isfinite(timeout):
            raise ConfigurationError(
                f"pool_timeout must be a number of seconds above 0, got {timeout}"
            )
        self.size = size
        self.timeout = float(timeout)
        self._lock = threading.Lock()
        self._free = size
        self._waiters: deque[_Waiter] = deque()

    @property
    def in_use(self) -> int:
        """How many slots are taken now."""
        return self.size - self._free

    async def acquire(self) -> None:
        """Take a slot, waiting at most :attr:`timeout` seconds for one (``OperationalError``)."""
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            loop = asyncio.get_running_loop()
            waiter = _Waiter(loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.timeout):
                await waiter.future
        except BaseException as error:
            with self._lock:
                granted = waiter.granted
                if not granted:
                    self._waiters.remove(waiter)
            if granted:
                self.release()  # handed over as this waiter gave up: to the next one
            if isinstance(error, TimeoutError):
                raise self._exhausted() from error
            raise

    def release(self) -> None:
        """Give a slot back: to the first waiter, if any."""
        with self._lock:
            if not self._waiters:
                self._free += 1
                return
            waiter = self._waiters.popleft()
            waiter.granted = True
        waiter.loop.call_soon_threadsafe(_wake, waiter)

    def _exhausted(self) -> OperationalError:
        # The words of the SQL adapters (andamios.adapters.sql_spi.pool_exhausted), which this
        # module cannot import without SQLAlchemy: the same error whatever the adapter.
        said = f"in-memory pool limit of size {self.size} reached, timed out, timeout "
        said += f"{self.timeout:.2f}"
        return OperationalError(
            f"no database connection became free within pool_timeout={self.timeout} s, with all "
            f"pool_size={self.size} connections in use; raise pool_size or pool_timeout, or "
            f"hold units of work for less time ({said})"
        )
