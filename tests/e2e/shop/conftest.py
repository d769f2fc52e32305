"""The shop's service tests run on both adapters: the same tests, in memory and on a DuckDB file."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from andamios._shop.adapters.notifications import Outbox
from andamios._shop.application import ShopUnitOfWork
from andamios._shop.bootstrap import ShopContainer
from andamios.application import MessageBus


@pytest.fixture(params=["memory", "duckdb"])
async def shop(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    """The shop's container on one adapter (a fresh DuckDB file), started, closed after."""
    for name in list(os.environ):
        if name.startswith("ANDAMIOS_"):
            monkeypatch.delenv(name)
    container: Any = ShopContainer()  # nested providers are untyped
    container.persistence.config.from_dict(
        {
            "adapter": request.param,
            "database": {
                "url": f"duckdb+async:///{tmp_path / 'shop.duckdb'}",
                "create_tables": True,
            },
        }
    )
    await container.init_resources()
    yield container
    await container.shutdown_resources()


@pytest.fixture
def bus(shop: Any) -> MessageBus[ShopUnitOfWork]:
    bus: MessageBus[ShopUnitOfWork] = shop.persistence.bus()
    return bus


@pytest.fixture
def outbox(shop: Any) -> Outbox:
    outbox: Outbox = shop.notifications()
    return outbox
