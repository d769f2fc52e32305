"""How many examples a parity property test runs: its own count, or the loaded profile's.

The suite's default run keeps each parity test's count (what the time budget allows); the
``thorough`` profile (``HYPOTHESIS_PROFILE=thorough``, see ``docs/guides/testing-parity.md``)
asks every one of them for its 10,000.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

__all__ = ["parity_settings"]


def parity_settings(default: int) -> settings:
    """Settings for a parity test: ``default`` examples unless the profile asks for more."""
    loaded = settings().max_examples
    return settings(
        max_examples=loaded if loaded > 1_000 else default,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
