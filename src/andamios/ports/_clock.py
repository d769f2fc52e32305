"""The clock port: where adapters read the time they stamp on aggregates (audit timestamps)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Tells the current time as a timezone-aware UTC ``datetime``.

    Inject one into a unit-of-work factory (``clock=``) to control the audit timestamps the
    adapters write; tests use :class:`andamios.testing.FakeClock`.
    """

    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The default clock: the system's time in UTC."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"
