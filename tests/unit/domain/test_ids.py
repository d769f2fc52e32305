from __future__ import annotations

import time
from uuid import UUID, uuid4

import pytest

from andamios.domain import _ids, uuid7, uuid7_time


def test_uuid7_has_version_7_and_the_rfc_9562_variant() -> None:
    value = uuid7()
    assert value.version == 7
    assert value.variant == "specified in RFC 4122"
    assert (value.int >> 62) & 0b11 == 0b10


def test_uuid7_carries_the_current_unix_time_in_milliseconds() -> None:
    before = time.time()
    value = uuid7()
    after = time.time()
    assert before - 0.002 <= uuid7_time(value) <= after + 0.002


def test_ids_made_in_a_burst_are_unique_and_strictly_increasing() -> None:
    burst = [uuid7() for _ in range(20_000)]
    assert burst == sorted(burst)
    assert len(set(burst)) == len(burst)


def test_counter_overflow_borrows_the_next_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen_ns = 1_700_000_000_000 * 1_000_000
    monkeypatch.setattr(time, "time_ns", lambda: frozen_ns)
    monkeypatch.setattr(_ids, "_last_ms", -1)
    values = [uuid7() for _ in range(5000)]  # more than the 12-bit counter holds
    assert values == sorted(values)
    assert len(set(values)) == 5000
    assert uuid7_time(values[0]) == 1_700_000_000.0
    assert uuid7_time(values[-1]) > 1_700_000_000.0


def test_a_clock_going_back_keeps_ids_increasing(monkeypatch: pytest.MonkeyPatch) -> None:
    first = uuid7()
    monkeypatch.setattr(time, "time_ns", lambda: 0)
    second = uuid7()
    assert second > first


def test_uuid7_time_rejects_other_versions() -> None:
    with pytest.raises(ValueError, match="version 4"):
        uuid7_time(uuid4())
    assert isinstance(uuid7(), UUID)
