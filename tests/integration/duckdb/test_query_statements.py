"""Read-model statements are built once per plan and kept by the mapping that built them."""

from __future__ import annotations

import dataclasses

import pytest
from tests.integration.duckdb._contract_mapping import contract_mapping

from andamios.adapters.sqlalchemy import _mapping
from andamios.adapters.sqlalchemy._query import compile_query
from andamios.domain import AnyMatch, Compare, Count, F, InvalidSpecification, Op, ReadQuery
from andamios.ports._query_plan import plan_query
from andamios.testing.models import Gadget


def test_a_plan_is_built_once_and_kept_while_the_mapping_maps_what_it_maps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_mapping, "STATEMENTS_KEPT", 2)
    with contract_mapping() as mapping:
        cheap = plan_query(ReadQuery(Gadget).where(F("quantity") < 3).select("sku"))
        first = compile_query(cheap, mapping)
        assert (
            compile_query(
                plan_query(ReadQuery(Gadget).where(F("quantity") < 3).select("sku")), mapping
            )
            is first
        )
        assert compile_query(cheap, mapping, visible=True) is not first  # another statement
        # A third plan drops the oldest: the first is built anew.
        compile_query(plan_query(ReadQuery(Gadget).select(n=Count())), mapping)
        assert compile_query(cheap, mapping) is not first
        mapping.clear()  # what it mapped is gone: so are its statements
        assert mapping._statements == {}


def test_a_plan_no_dict_can_key_is_built_each_time() -> None:
    with contract_mapping() as mapping:
        plan = plan_query(ReadQuery(Gadget).select("sku", n=Count()).group_by("sku"))
        loose = dataclasses.replace(plan, having=Compare("n", Op.EQ, [1]))  # a list: unhashable
        built = compile_query(loose, mapping)
        assert compile_query(loose, mapping) is not built
        assert "andamios_rows.n = " in str(built)


def test_outputs_hold_no_children() -> None:
    with contract_mapping() as mapping:
        plan = plan_query(ReadQuery(Gadget).select("sku"))
        # The planner refuses any() in having(); the compiler says the same if asked.
        odd = dataclasses.replace(plan, having=AnyMatch("sku", F("x") == 1))
        with pytest.raises(InvalidSpecification, match="is an output"):
            compile_query(odd, mapping)
