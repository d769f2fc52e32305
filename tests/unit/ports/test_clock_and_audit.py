"""The clock port, the fake clock tests use, and reading audit-timestamp declarations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated
from uuid import UUID

import pytest

from andamios.domain import AggregateRoot
from andamios.ports import AuditFields, Clock, CreatedAt, SystemClock, UpdatedAt, audit_fields
from andamios.ports.errors import MappingError
from andamios.testing import FakeClock
from andamios.testing.models import Ticket


def test_the_system_clock_tells_utc_time() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert before <= now <= datetime.now(UTC)
    assert now.tzinfo is UTC
    assert isinstance(SystemClock(), Clock)
    assert repr(SystemClock()) == "SystemClock()"


def test_the_fake_clock_stands_still_until_moved() -> None:
    clock = FakeClock()
    assert clock.now() == clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.advance() == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert clock.advance(timedelta(hours=1)) == clock.now()
    assert repr(clock) == "FakeClock(2026-01-01T01:00:01+00:00)"
    paris = FakeClock(datetime(2026, 6, 1, 12, tzinfo=timezone(timedelta(hours=2))))
    assert paris.now() == datetime(2026, 6, 1, 10, tzinfo=UTC)
    assert paris.now().tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware start"):
        FakeClock(datetime(2026, 1, 1))


@dataclass(eq=False, kw_only=True)
class Touched(AggregateRoot[UUID]):
    touched: Annotated[datetime, UpdatedAt()] | None = None


@dataclass(eq=False, kw_only=True)
class Twice(AggregateRoot[UUID]):
    opened: Annotated[datetime | None, CreatedAt()] = None
    born: Annotated[datetime | None, CreatedAt()] = None


def test_audit_fields_are_read_from_annotations() -> None:
    assert audit_fields(Ticket) == AuditFields("created_at", "updated_at", "deleted_at")
    assert audit_fields(Touched) == AuditFields(None, "touched")
    assert not audit_fields(AggregateRoot)
    assert audit_fields(Touched)
    with pytest.raises(MappingError, match="Twice marks opened, born with CreatedAt"):
        audit_fields(Twice)
