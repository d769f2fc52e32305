"""Hypothesis profiles of the whole suite.

``default`` is what every run uses; ``thorough`` (``HYPOTHESIS_PROFILE=thorough``) asks the
parity property tests for at least 10,000 examples each. See ``docs/guides/testing-parity.md``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# pytester runs a user's small test project in process (tests/e2e/test_pytest_plugin.py).
pytest_plugins = ["pytester"]

settings.register_profile("default", settings())
settings.register_profile(
    "thorough",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _no_andamios_settings_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``ANDAMIOS_*`` setting of the shell running the suite reaches a test (the suite's own
    ``ANDAMIOS_TEST_*`` variables stay)."""
    for name in list(os.environ):
        if name.startswith("ANDAMIOS_") and not name.startswith("ANDAMIOS_TEST_"):
            monkeypatch.delenv(name)
