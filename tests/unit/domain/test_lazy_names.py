"""Names a package exports but imports on first use (andamios.domain._lazy)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import andamios.domain
import andamios.ports
import andamios.ports.spi
from andamios.domain._query import ReadQuery
from andamios.ports._query_plan import QueryPlan
from andamios.ports._raw_sql import RawSql


def test_a_lazy_name_is_the_defining_modules_own_and_kept() -> None:
    assert andamios.domain.ReadQuery is ReadQuery
    assert vars(andamios.domain)["ReadQuery"] is ReadQuery  # looked up once, then kept
    assert andamios.ports.RawSql is andamios.ports.spi.RawSql is RawSql
    assert andamios.ports.spi.QueryPlan is QueryPlan


def test_a_name_no_module_defines_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match=r"'andamios\.domain' has no attribute 'Nope'"):
        andamios.domain.Nope  # noqa: B018 - the lookup is the test
    with pytest.raises(ImportError, match="cannot import name 'Nope'"):
        from andamios.ports import Nope  # noqa: F401, PLC0415


@pytest.mark.subprocess
def test_the_query_language_is_imported_by_its_first_use() -> None:
    program = textwrap.dedent(
        """
        import sys
        import andamios.domain, andamios.ports, andamios.ports.spi
        before = "andamios.domain._query" in sys.modules
        from andamios.domain import Count, ReadQuery
        print(before, "andamios.domain._query" in sys.modules, Count.__module__)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False", "True", "andamios.domain._query"]
