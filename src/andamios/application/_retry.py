"""How often, and how patiently, the message bus re-runs a handler after a conflict."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Re-run a handler that lost an optimistic-locking race (``ConcurrencyError``).

    ``attempts`` counts every run, the first included: ``attempts=1`` never retries. Before retry
    ``n`` (1, 2, ...) the bus waits ``backoff * multiplier ** (n - 1)`` seconds plus a random
    ``0..jitter`` seconds, so that competing writers spread out instead of colliding again. The
    default (3 attempts, 5 ms doubling, up to 5 ms of jitter) absorbs the occasional race without
    holding a request for long; after the last attempt the ``ConcurrencyError`` propagates.

    >>> RetryPolicy(attempts=4, backoff=0.1, jitter=0).delay(3)
    0.4
    """

    attempts: int = 3
    backoff: float = 0.005
    multiplier: float = 2.0
    jitter: float = 0.005

    def __post_init__(self) -> None:
        if not isinstance(self.attempts, int) or isinstance(self.attempts, bool):
            msg = f"attempts must be a whole number, got {self.attempts!r}"
            raise TypeError(msg)
        if self.attempts < 1:
            msg = f"attempts counts the first run too and must be at least 1, got {self.attempts}"
            raise ValueError(msg)
        for name, low in (("backoff", 0.0), ("multiplier", 1.0), ("jitter", 0.0)):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= low):
                msg = f"{name} must be a finite number >= {low}, got {value!r}"
                raise ValueError(msg)

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that runs each handler once: a conflict propagates at once."""
        return cls(attempts=1)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        wait = self.backoff * self.multiplier ** (retry - 1)
        if self.jitter:
            wait += random.uniform(0, self.jitter)
        return wait
