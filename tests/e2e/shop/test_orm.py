"""The shop's mapping: an order's lines round-trip through their JSON text column."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from andamios._shop.adapters.orm import OrderLines
from andamios._shop.domain import OrderLine


def test_order_lines_round_trip_as_json_text() -> None:
    column, dialect = OrderLines(), sa.create_engine("sqlite://").dialect
    lines = (OrderLine("TEA-01", 2, Decimal("4.50")), OrderLine("POT-01", 1, Decimal("32.00")))
    text = column.process_bind_param(lines, dialect)
    assert text == '[["TEA-01", 2, "4.50"], ["POT-01", 1, "32.00"]]'
    assert column.process_result_value(text, dialect) == lines
    assert column.process_bind_param(None, dialect) is None
    assert column.process_result_value(None, dialect) is None
