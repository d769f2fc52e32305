"""A clock tests control: audit timestamps become exact values to assert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["FakeClock"]


class FakeClock:
    """A :class:`~andamios.ports.Clock` that stands still until told to move.

    ::

        clock = FakeClock()                 # 2026-01-01 00:00 UTC
        new_uow = InMemoryUnitOfWork.factory(Shop, clock=clock)
        clock.advance(timedelta(hours=1))
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = datetime(2026, 1, 1, tzinfo=UTC) if start is None else _utc(start)

    def now(self) -> datetime:
        """The moment the clock stands at."""
        return self._now

    def advance(self, delta: timedelta = timedelta(seconds=1)) -> datetime:
        """Move the clock forward by ``delta``; returns the new moment."""
        self._now += delta
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        msg = f"FakeClock needs a timezone-aware start, got {moment!r}"
        raise ValueError(msg)
    return moment.astimezone(UTC)
