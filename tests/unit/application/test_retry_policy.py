"""RetryPolicy: a small value that says how often and how patiently a handler is re-run."""

from __future__ import annotations

import dataclasses
import math

import pytest

from andamios.application import RetryPolicy


def test_the_default_retries_a_few_times_with_a_tiny_backoff() -> None:
    policy = RetryPolicy()
    assert policy.attempts == 3
    assert 0 < policy.delay(1) <= 0.01
    assert 0 < policy.delay(2) <= 0.015


def test_delays_grow_geometrically_without_jitter() -> None:
    policy = RetryPolicy(attempts=5, backoff=0.1, multiplier=3, jitter=0)
    assert [policy.delay(n) for n in (1, 2, 3)] == pytest.approx([0.1, 0.3, 0.9])
    assert RetryPolicy(backoff=0, jitter=0).delay(7) == 0


def test_jitter_adds_a_bounded_random_wait() -> None:
    policy = RetryPolicy(backoff=1, multiplier=1, jitter=0.5)
    delays = {policy.delay(1) for _ in range(50)}
    assert all(1 <= delay <= 1.5 for delay in delays)
    assert len(delays) > 1


def test_never_runs_once() -> None:
    assert RetryPolicy.never().attempts == 1


def test_it_is_an_immutable_value() -> None:
    policy = RetryPolicy(attempts=2)
    assert policy == RetryPolicy(attempts=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.attempts = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"attempts": 0}, ValueError, "at least 1, got 0"),
        ({"attempts": 2.5}, TypeError, "whole number, got 2.5"),
        ({"attempts": True}, TypeError, "whole number, got True"),
        ({"backoff": -1}, ValueError, "backoff must be a finite number >= 0.0, got -1"),
        ({"backoff": math.inf}, ValueError, "backoff must be a finite number"),
        ({"multiplier": 0.5}, ValueError, "multiplier must be a finite number >= 1.0"),
        ({"jitter": "0.1"}, ValueError, "jitter must be a finite number >= 0.0, got '0.1'"),
    ],
)
def test_nonsense_is_refused(arguments: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message.replace(".", r"\.").replace("'", "'")):
        RetryPolicy(**arguments)  # type: ignore[arg-type]
