"""OpenTelemetry spans of units of work on the in-memory adapter, exported into memory."""

from __future__ import annotations

import importlib
import sys
import time
from decimal import Decimal

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from tests.unit.observability import _events as events
from tests.unit.observability._spans import Traced, assert_nested

import andamios.observability
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.observability import OpenTelemetryHooks
from andamios.ports import (
    UnitOfWorkFactory,
)
from andamios.ports.errors import ConcurrencyError, DuplicateError
from andamios.testing.models import ContractUnitOfWork, Gadget

type Factory = UnitOfWorkFactory[ContractUnitOfWork]

_UOW = "unit_of_work ContractUnitOfWork"
_SHAPE = "ContractUnitOfWork"


def _gadget(sku: str = "T-1") -> Gadget:
    return Gadget(sku=sku, name="traced", price=Decimal("4.00"))


@pytest.fixture
def traced() -> Traced:
    return Traced()


@pytest.fixture
def new_uow(traced: Traced) -> Factory:
    return InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[traced.hooks])


def _parent(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


def _id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


async def test_a_committed_unit_of_work_is_a_span_with_its_operations_and_commit(
    new_uow: Factory, traced: Traced
) -> None:
    async with new_uow() as uow:
        await uow.gadgets.add(_gadget())
        await uow.gadgets.count()
        await uow.commit()
    assert traced.names() == ["add Gadget", "count Gadget", "commit", _UOW]
    block = traced.one(_UOW)
    assert block.kind is SpanKind.INTERNAL
    assert block.parent is None  # no span was current
    assert dict(block.attributes or {}) == {
        "db.system.name": "memory",
        "andamios.unit_of_work.shape": _SHAPE,
        "andamios.unit_of_work.read_only": False,
    }
    assert block.status.status_code is StatusCode.UNSET
    assert block.events == ()
    add, count, commit = traced.children(block)
    assert (add.kind, count.kind, commit.kind) == (SpanKind.INTERNAL,) * 3
    assert dict(add.attributes or {}) == {
        "db.system.name": "memory",
        "db.operation.name": "add",
        "db.collection.name": "Gadget",
        "db.response.returned_rows": 1,
    }
    assert dict(count.attributes or {}) == {  # count hands out no rows
        "db.system.name": "memory",
        "db.operation.name": "count",
        "db.collection.name": "Gadget",
    }
    assert dict(commit.attributes or {}) == {
        "db.system.name": "memory",
        "db.operation.name": "commit",
    }
    assert add.instrumentation_scope is not None
    assert add.instrumentation_scope.name == "andamios"
    assert_nested(traced.spans)
    assert add.start_time is not None
    assert count.start_time is not None
    assert add.end_time is not None
    assert add.end_time <= count.start_time  # one after the other


async def test_reads_name_their_kind_and_rows(new_uow: Factory, traced: Traced) -> None:
    stored = _gadget()
    async with new_uow() as uow:
        await uow.gadgets.add(stored)
        await uow.commit()
    traced.clear()
    async with new_uow() as uow:
        await uow.gadgets.get(stored.id)
        assert await uow.gadgets.get_or_none(_gadget().id) is None
        await uow.gadgets.find()
    # The block's rollback ran no SQL of its own: an event of the block's span, not a span.
    assert traced.names() == ["get Gadget", "get Gadget", "find Gadget", _UOW]
    rows = [(span.attributes or {}).get("db.response.returned_rows") for span in traced.spans[:3]]
    assert rows == [1, 0, 1]
    assert all(span.status.status_code is StatusCode.UNSET for span in traced.spans)
    [event] = traced.one(_UOW).events
    assert event.name == "rollback"
    assert dict(event.attributes or {}) == {"andamios.rollback.reason": "exited"}
    assert_nested(traced.spans)


async def test_an_error_leaving_the_block_marks_its_span(new_uow: Factory, traced: Traced) -> None:
    with pytest.raises(ZeroDivisionError):  # noqa: PT012 - the block is under test
        async with new_uow() as uow:
            await uow.gadgets.count()
            _ = 1 / 0
    block = traced.one(_UOW)
    assert block.status.status_code is StatusCode.ERROR
    assert block.status.description is None  # never the message: it may quote data
    assert (block.attributes or {})["error.type"] == "ZeroDivisionError"
    [event] = block.events
    assert dict(event.attributes or {}) == {
        "andamios.rollback.reason": "error",
        "error.type": "ZeroDivisionError",
    }
    assert "rollback" not in traced.names()  # it ran no SQL of its own
    assert_nested(traced.spans)


async def test_a_failed_operation_and_a_failed_commit_are_errors(
    new_uow: Factory, traced: Traced
) -> None:
    stored = _gadget()
    async with new_uow() as uow:
        await uow.gadgets.add(stored)
        await uow.commit()
    traced.clear()
    async with new_uow() as uow:
        with pytest.raises(DuplicateError):
            await uow.gadgets.add_many([stored])  # a bulk insert fails at once
    failed = traced.one("add_many Gadget")
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "andamios.ports.errors.DuplicateError"
    assert "db.response.returned_rows" not in (failed.attributes or {})
    assert traced.one(_UOW).status.status_code is StatusCode.UNSET  # the block caught it
    traced.clear()

    with pytest.raises(ConcurrencyError):  # noqa: PT012 - the block is under test
        async with new_uow() as first, new_uow() as second:
            mine = await first.gadgets.get(stored.id)
            theirs = await second.gadgets.get(stored.id)
            mine.rename("mine")
            theirs.rename("theirs")
            await first.commit()
            await second.commit()
    blocks = traced.named(_UOW)
    assert len(blocks) == 2
    commits = traced.named("commit")
    assert [c.status.status_code for c in commits] == [StatusCode.UNSET, StatusCode.ERROR]
    refused = commits[1]
    assert (refused.attributes or {})["error.type"] == "andamios.ports.errors.ConcurrencyError"
    second_block = next(b for b in blocks if _id(b) == _parent(refused))
    assert second_block.status.status_code is StatusCode.ERROR
    [event] = second_block.events
    assert dict(event.attributes or {}) == {
        "andamios.rollback.reason": "commit_failed",
        "error.type": "andamios.ports.errors.ConcurrencyError",
    }
    assert_nested(traced.spans)


async def test_the_block_is_a_child_of_the_current_span_which_stays_current(
    new_uow: Factory, traced: Traced
) -> None:
    tracer = traced.provider.get_tracer("the application")
    with tracer.start_as_current_span("POST /gadgets") as request:
        async with new_uow() as uow:
            await uow.gadgets.add(_gadget())
            assert trace.get_current_span() is request
            with tracer.start_as_current_span("pricing"):
                await uow.gadgets.count()
            await uow.commit()
        assert trace.get_current_span() is request
    spans = {span.name: span for span in traced.spans}
    assert _parent(spans[_UOW]) == _id(spans["POST /gadgets"])
    assert _parent(spans["pricing"]) == _id(spans["POST /gadgets"])  # the hooks changed nothing
    assert _parent(spans["count Gadget"]) == _id(spans[_UOW])  # parented explicitly
    assert_nested(traced.spans)


async def test_a_read_only_unit_of_work_says_so(traced: Traced) -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork, read_only=True, hooks=[traced.hooks])
    async with new_uow() as uow:
        await uow.gadgets.count()
    assert (traced.one(_UOW).attributes or {})["andamios.unit_of_work.read_only"] is True


async def test_without_a_provider_the_global_one_is_used() -> None:
    # No global provider is configured in the tests: the API's proxy records nothing, quietly.
    hooks = OpenTelemetryHooks()
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[hooks])
    async with new_uow() as uow:
        await uow.gadgets.add(_gadget())
        await uow.commit()


# -- statements, as SQL adapters deliver them (just before the operation they ran in) ------------


def test_statements_become_client_spans_under_what_they_ran_in(traced: Traced) -> None:
    hooks = traced.hooks
    uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)()
    hooks.began(events.began(uow))
    t0 = time.time_ns()
    hooks.statement(
        events.statement(uow, "ROLLBACK", t0 + 1_000, "rollback")
    )  # a silent rollback's
    hooks.statement(
        events.statement(uow, "  /* planned */ -- why\n select 1 FROM gadgets", t0 + 2_000, "find")
    )
    hooks.statement(
        events.statement(uow, "(SELECT 2)", t0 + 3_000, "find", error=RuntimeError("gone"))
    )
    hooks.operation(
        events.operation(
            uow, "find", aggregate_type=Gadget, rows=2, started_at=t0 + 500, duration=0.000_010
        )
    )
    hooks.statement(events.statement(uow, "UPDATE gadgets SET name = ?", t0 + 20_000, "commit"))
    hooks.statement(events.statement(uow, "ABORT", t0 + 25_000, "rollback"))  # not the commit's
    hooks.committed(events.committed(uow, started_at=t0 + 19_000, duration=5e-6))
    hooks.statement(events.statement(uow, "SET memory_limit = ?", t0 + 30_000, None))
    hooks.ended(events.ended(uow, duration=0.1))

    block = traced.one(_UOW)
    find = traced.one("find Gadget")
    commit = traced.one("commit")
    statements = [span for span in traced.spans if span.kind is SpanKind.CLIENT]
    assert [span.name for span in statements] == [
        "ROLLBACK",
        "SELECT",
        "duckdb",
        "UPDATE",
        "ABORT",
        "SET",
    ]
    rollback, select, unnamed, update, abort, setting = statements
    assert _parent(rollback) == _parent(abort) == _id(block)
    assert _parent(select) == _parent(unnamed) == _id(find)
    assert _parent(update) == _id(commit)
    assert _parent(setting) == _id(block)
    assert dict(select.attributes or {}) == {
        "db.system.name": "duckdb",
        "db.query.text": "  /* planned */ -- why\n select 1 FROM gadgets",
        "db.operation.name": "SELECT",
    }
    assert dict(unnamed.attributes or {}) == {
        "db.system.name": "duckdb",
        "db.query.text": "(SELECT 2)",
        "error.type": "RuntimeError",
    }
    assert unnamed.status.status_code is StatusCode.ERROR
    assert select.status.status_code is StatusCode.UNSET
    # The commit span is where the commit says it was, around its statements.
    assert (commit.start_time, commit.end_time) == (t0 + 19_000, t0 + 24_000)
    assert_nested(traced.spans)


def test_events_of_a_unit_of_work_it_never_saw_begin_are_ignored(traced: Traced) -> None:
    hooks = traced.hooks
    uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)()
    hooks.statement(events.statement(uow, "SELECT 1", 0, None))
    hooks.operation(events.operation(uow, "sql.rows", rows=1))
    hooks.committed(events.committed(uow))
    hooks.rolled_back(events.rolled_back(uow))
    hooks.ended(events.ended(uow))
    assert traced.spans == ()


def test_a_raw_sql_operation_is_named_by_its_kind(traced: Traced) -> None:
    hooks = traced.hooks
    uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)()
    hooks.began(events.began(uow))
    hooks.operation(events.operation(uow, "sql.execute", rows=3, started_at=1))
    raw = traced.one("sql.execute")
    assert dict(raw.attributes or {}) == {
        "db.system.name": "duckdb",
        "db.operation.name": "sql.execute",
        "db.response.returned_rows": 3,
    }


# -- without the extra -----------------------------------------------------------------------------


def test_without_opentelemetry_the_package_imports_and_the_class_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.setattr(andamios, "observability", andamios.observability)  # restored after
    for name in [n for n in sys.modules if n.startswith("andamios.observability")]:
        monkeypatch.delitem(sys.modules, name)
    observability = importlib.import_module("andamios.observability")
    assert observability.Metrics().snapshot().units_of_work == 0
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'andamios\[opentelemetry\]'") as e:
        observability.OpenTelemetryHooks()
    assert e.value.name == "opentelemetry"
    assert "opentelemetry is not installed" in str(e.value)


def test_a_rollback_that_ran_sql_of_its_own_gets_a_span_over_it(traced: Traced) -> None:
    hooks = traced.hooks
    uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)()
    hooks.began(events.began(uow))
    t0 = time.time_ns()
    hooks.statement(events.statement(uow, "DROP TABLE andamios_staged", t0 + 1_000, "rollback"))
    hooks.rolled_back(events.rolled_back(uow, started_at=t0, duration=0.000_005))
    hooks.ended(events.ended(uow, duration=0.1))
    rollback = traced.one("rollback")
    assert (rollback.start_time, rollback.end_time) == (t0, t0 + 5_000)
    assert _parent(traced.one("DROP")) == _id(rollback)
    assert _parent(rollback) == _id(traced.one(_UOW))


def test_an_operation_of_one_statement_is_one_client_span(traced: Traced) -> None:
    hooks = traced.hooks
    uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)()
    hooks.began(events.began(uow))
    t0 = time.time_ns()
    hooks.statement(
        events.statement(uow, "(SELECT 2)", t0 + 1_000, "sql.rows")
    )  # no keyword to name it
    hooks.operation(events.operation(uow, "sql.rows", rows=1, started_at=t0, duration=0.000_010))
    hooks.ended(events.ended(uow, duration=0.1))
    assert traced.names() == ["sql.rows", _UOW]
    (span,) = [each for each in traced.spans if each.kind is SpanKind.CLIENT]
    assert dict(span.attributes or {}) == {
        "db.system.name": "duckdb",
        "db.operation.name": "sql.rows",  # the kind, where the text names no operation
        "db.response.returned_rows": 1,
        "db.query.text": "(SELECT 2)",
        "andamios.operation": "sql.rows",
    }
    assert (span.start_time, span.end_time) == (t0, t0 + 10_000)
