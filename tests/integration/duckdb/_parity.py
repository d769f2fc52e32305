"""What the parity property tests share: how many examples, and how specs and orders combine.

The suite's default run keeps each parity test's count (what the time budget allows); the
``thorough`` profile (``HYPOTHESIS_PROFILE=thorough``, see ``docs/guides/testing-parity.md``)
asks every one of them for its 10,000.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from andamios.domain import Order, Spec

__all__ = ["combined", "orderings", "parity_settings"]


def parity_settings(default: int) -> settings:
    """Settings for a parity test: ``default`` examples unless the profile asks for more."""
    loaded = settings().max_examples
    return settings(
        max_examples=loaded if loaded > 1_000 else default,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def combined(leaves: st.SearchStrategy[Spec], *, max_leaves: int) -> st.SearchStrategy[Spec]:
    """Specs built from ``leaves`` with ``&``, ``|`` and ``~``."""
    return st.recursive(leaves, _combine, max_leaves=max_leaves)


def _combine(children: st.SearchStrategy[Spec]) -> st.SearchStrategy[Spec]:
    return st.one_of(
        st.tuples(children, children).map(lambda pair: pair[0] & pair[1]),
        st.tuples(children, children).map(lambda pair: pair[0] | pair[1]),
        children.map(lambda spec: ~spec),
    )


def orderings(fields: Sequence[str], *, max_size: int) -> st.SearchStrategy[list[Order]]:
    """Orderings over distinct ``fields``, in either direction and NULL placement."""
    return st.lists(
        st.builds(
            Order,
            field=st.sampled_from(list(fields)),
            descending=st.booleans(),
            nulls_first=st.booleans(),
        ),
        max_size=max_size,
        unique_by=lambda order: order.field,
    )
