"""The container's hooks, middleware and observability settings, on both adapters."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.unit.composition._app import AddNote, Note, Notebook, mapping, register_notes

from andamios.application import HandlerCall, Next
from andamios.containers import PersistenceContainer
from andamios.observability import Metrics, OpenTelemetryHooks, SlowOperationLog
from andamios.ports.errors import ConfigurationError
from andamios.testing import RecordingHooks


async def _started(
    adapter: str, url: str, observability: dict[str, object], **providers: object
) -> PersistenceContainer:
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping, **providers)
    container.config.from_dict(
        {
            "adapter": adapter,
            "database": {"url": url, "create_tables": True},
            "observability": observability,
        }
    )
    await container.init_resources()
    return container


@pytest.fixture(params=["memory", "duckdb"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


RUNS: list[str] = []


@pytest.fixture
async def observed(adapter: str, duckdb_url: str) -> AsyncIterator[PersistenceContainer]:
    """A container with metrics and a slow log of everything, and a hook and middleware
    (which notes each handler run in ``RUNS``)."""
    hooks, runs = RecordingHooks(), RUNS
    runs.clear()

    async def count_runs(call: HandlerCall, call_next: Next) -> object:
        runs.append(call.handler)
        return await call_next()

    container = await _started(
        adapter,
        duckdb_url,
        {"metrics": True, "slow_threshold": 0},
        hooks=[hooks],
        middleware=[count_runs],
        handlers=[register_notes],
    )
    yield container
    await container.shutdown_resources()


async def test_the_users_hooks_come_first_then_those_the_settings_turn_on(
    observed: PersistenceContainer,
) -> None:
    (recording, metrics, slow) = observed.unit_of_work_hooks()
    assert isinstance(recording, RecordingHooks)
    assert metrics is observed.metrics()
    assert isinstance(slow, SlowOperationLog)


async def test_every_unit_of_work_and_the_bus_tell_them(
    observed: PersistenceContainer, caplog: pytest.LogCaptureFixture
) -> None:
    recording = observed.unit_of_work_hooks()[0]
    assert isinstance(recording, RecordingHooks)
    with caplog.at_level(logging.WARNING, logger="andamios.slow"):
        await observed.bus().handle(AddNote(text="seen"))
        async with observed.uow() as uow:
            assert await uow.notes.count() == 1
    seen = observed.metrics().snapshot()
    assert (seen.units_of_work, seen.committed, seen.handled) == (2, 1, 1)
    assert seen.operation("count").count == 1
    assert RUNS == ["add_note"]
    assert ("operation", "count", "Note", None, None) in recording.outline()
    assert any("slow count of Note" in r.getMessage() for r in caplog.records)


async def test_without_settings_only_the_users_hooks(adapter: str, duckdb_url: str) -> None:
    hooks = RecordingHooks()
    container = await _started(adapter, duckdb_url, {}, hooks=[hooks])
    try:
        assert container.unit_of_work_hooks() == [hooks]
        assert container.bus_middleware() == []
        async with container.uow() as uow:
            await uow.notes.add(Note(text="x"))
            await uow.commit()
        assert ("committed",) in hooks.outline()
        assert container.metrics().snapshot().units_of_work == 0  # made, never told
    finally:
        await container.shutdown_resources()


async def test_opentelemetry_from_the_settings(adapter: str, duckdb_url: str) -> None:
    container = await _started(adapter, duckdb_url, {"opentelemetry": True})
    try:
        (tracing,) = container.unit_of_work_hooks()
        assert isinstance(tracing, OpenTelemetryHooks)
    finally:
        await container.shutdown_resources()


async def test_opentelemetry_without_the_extra_names_the_setting_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    container = await _started("memory", "", {"opentelemetry": True})
    with pytest.raises(ConfigurationError) as caught:
        container.uow()
    message = str(caught.value)
    assert message.startswith("observability.opentelemetry (ANDAMIOS_OBSERVABILITY__OPENTELEMETRY)")
    assert "andamios[opentelemetry]" in message


@pytest.mark.parametrize(
    ("observability", "named"),
    [
        ({"slow_threshold": -1}, "observability.slow_threshold"),
        ({"metrics": "often"}, "observability.metrics"),
        ({"tracing": True}, "observability.tracing"),
    ],
)
async def test_a_wrong_observability_setting_is_refused_at_startup(
    observability: dict[str, object], named: str
) -> None:
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
    container.config.from_dict({"adapter": "memory", "observability": observability})
    with pytest.raises(ConfigurationError, match=named):
        await container.init_resources()


async def test_the_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDAMIOS_OBSERVABILITY__METRICS", "true")
    monkeypatch.setenv("ANDAMIOS_OBSERVABILITY__SLOW_THRESHOLD", "0.25")
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
    container.config.adapter.from_value("memory")
    await container.init_resources()
    metrics, slow = container.unit_of_work_hooks()
    assert isinstance(metrics, Metrics)
    assert isinstance(slow, SlowOperationLog)
    assert container.bus_middleware() == [metrics.middleware]
    await container.shutdown_resources()
