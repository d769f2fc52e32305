"""Hypothesis profiles of the whole suite.

``default`` is what every run uses; ``thorough`` (``HYPOTHESIS_PROFILE=thorough``) asks the
parity property tests for at least 10,000 examples each. See ``docs/guides/testing-parity.md``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", settings())
settings.register_profile(
    "thorough",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
