"""Extending Andamios: a custom column type, and a custom adapter proven by the contract suites.

- **A custom column type**: a device's ``ipaddress.IPv4Address`` stored as a number in one
  BIGINT column by a SQLAlchemy ``TypeDecorator``, ``IPv4Column``. Specs compare addresses
  alike on the in-memory adapter (which keeps the values as they are, ordered as addresses) and
  on DuckDB (where the column type binds them as numbers, in the same order: ``10.0.0.9`` comes
  before ``10.0.0.10``, as it would not as text).
- **A custom adapter**: ``SnapshotUnitOfWork``, the in-memory adapter's behaviour with its
  committed state kept in a file (pickle), written on every commit and read back on start, so
  a new factory on the same path — a restarted process — sees what was committed. It is built
  only from public API: a subclass of ``InMemoryUnitOfWork`` over a subclass of
  ``InMemoryStore`` whose ``publish`` (what a commit calls to make its changes visible) writes
  the file first: a commit the file could not take raises and is not made visible.
- **Proof**: the script writes a test module that runs the shipped ``RepositoryContract``,
  ``UnitOfWorkContract`` and ``HooksContract`` against ``SnapshotUnitOfWork`` and runs pytest
  on it in this process, printing what it reported.

Run it with ``uv run python examples/advanced/05_extensions.py``. Pickle runs code from the
file it loads: a snapshot file must be as trusted as the application itself.
``...`` stands for the rest of a long line, and for the number of contract tests that ran.

It prints::

    memory:
      in 10.0.0.0/24, by address: [('router', '10.0.0.1'), ('printer', '10.0.0.9'), ...]
      highest address: nas IPv4Address('192.168.1.5')
    duckdb:
      in 10.0.0.0/24, by address: [('router', '10.0.0.1'), ('printer', '10.0.0.9'), ...]
      highest address: nas IPv4Address('192.168.1.5')
      the printer's address as stored (DuckDB): 167772169
    snapshot:
      committed 4 devices and a move of the printer to network.pickle
      after a restart: laptop 10.0.0.10 v1, nas 192.168.1.5 v1, printer 10.0.0.99 v2, ...
    contract suites on SnapshotUnitOfWork:
      TestSnapshotRepository: all passed
      TestSnapshotUnitOfWork: all passed
      test_a_new_factory_on_the_file_sees_what_was_committed: all passed
      TestSnapshotHooks: all passed
      ... passed
    exit code: 0
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import pickle
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryFactory, InMemoryStore, InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping as TableMapping
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, F
from andamios.ports import Hooks, Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import DatabaseError
from andamios.ports.spi import Clock

# -- domain ----------------------------------------------------------------------------------------


# --8<-- [start:domain]
@dataclass(eq=False, kw_only=True)
class Device(AggregateRoot[str]):
    address: IPv4Address


class Network(UnitOfWork):
    devices: Repository[Device, str]


# --8<-- [end:domain]


# -- a custom column type --------------------------------------------------------------------------


# --8<-- [start:ipv4-column]
class IPv4Column(sa.TypeDecorator[IPv4Address]):
    """An IPv4 address stored as its number (BIGINT: the addresses above 2**31 - 1 fit too)."""

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: IPv4Address | None, dialect: sa.Dialect) -> int | None:
        return None if value is None else int(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> IPv4Address | None:
        return None if value is None else IPv4Address(value)


mapping = TableMapping()
mapping.map(
    Device,
    sa.Table(
        "devices",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("address", IPv4Column, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
)
# --8<-- [end:ipv4-column]


# -- a custom adapter ------------------------------------------------------------------------------

# --8<-- [start:snapshot-store]
type Tables = Mapping[type[AggregateRoot[Any]], Mapping[object, Any]]


class SnapshotStore(InMemoryStore):
    """An in-memory store started from a file and written to it before each commit lands."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        if path.exists():
            tables = pickle.loads(path.read_bytes())  # a file this store wrote
            super().publish(
                MappingProxyType({kind: MappingProxyType(rows) for kind, rows in tables.items()})
            )

    def publish(self, tables: Tables) -> None:
        """Write ``tables`` to the file, then make them the committed state (under the lock)."""
        try:
            data = pickle.dumps({kind: dict(rows) for kind, rows in tables.items()})
            partial = self.path.with_name(self.path.name + ".partial")
            partial.write_bytes(data)
            partial.replace(self.path)  # atomic: the file holds the old state or the new one
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as error:
            msg = f"cannot write the snapshot {self.path}: {error}; nothing was saved"
            raise DatabaseError(msg) from error
        super().publish(tables)


# --8<-- [end:snapshot-store]


# --8<-- [start:snapshot-unit-of-work]
class SnapshotUnitOfWork(InMemoryUnitOfWork):
    """The in-memory adapter, its committed state kept in a file across restarts."""

    adapter_name = "snapshot"  # the ``system`` hooks are told

    @classmethod
    def factory[U: UnitOfWork](
        cls,
        shape: type[U],
        *,
        path: str | os.PathLike[str] | None = None,
        store: InMemoryStore | None = None,
        clock: Clock | None = None,
        read_only: bool = False,
        hooks: Iterable[Hooks] = (),
    ) -> InMemoryFactory[U]:
        """Units of work of ``shape`` over the snapshot at ``path`` (read now if it exists)."""
        if store is None:
            if path is None:
                msg = "SnapshotUnitOfWork.factory needs path=, the snapshot file"
                raise TypeError(msg)
            store = SnapshotStore(Path(path))
        return super().factory(shape, store=store, clock=clock, read_only=read_only, hooks=hooks)


# --8<-- [end:snapshot-unit-of-work]


# -- the custom type on both adapters, and the snapshot across a restart ---------------------------


DEVICES = {"router": "10.0.0.1", "printer": "10.0.0.9", "laptop": "10.0.0.10", "nas": "192.168.1.5"}


async def add_devices(new_uow: UnitOfWorkFactory[Network]) -> None:
    async with new_uow() as uow:
        for name, address in DEVICES.items():
            await uow.devices.add(Device(id=name, address=IPv4Address(address)))
        await uow.commit()


async def look_up(new_uow: UnitOfWorkFactory[Network]) -> None:
    await add_devices(new_uow)
    async with new_uow() as uow:
        subnet = IPv4Network("10.0.0.0/24")
        inside = (F("address") >= subnet[0]) & (F("address") <= subnet[-1])
        found = await uow.devices.find(inside, order_by="address")
        print(f"  in {subnet}, by address: {[(d.id, str(d.address)) for d in found]}")
        highest = await uow.devices.first(order_by=F("address").desc())
        assert highest is not None
        print(f"  highest address: {highest.id} {highest.address!r}")


async def custom_type() -> None:
    print("memory:")
    await look_up(InMemoryUnitOfWork.factory(Network))
    print("duckdb:")
    async with Database("duckdb+async:///:memory:") as database:
        await database.create_all(mapping.metadata)
        await look_up(SqlAlchemyUnitOfWork.factory(Network, database=database, mapping=mapping))
        async with database.engine.connect() as connection:
            query = sa.text("SELECT address FROM devices WHERE id = 'printer'")
            stored = (await connection.execute(query)).scalar()
            print(f"  the printer's address as stored (DuckDB): {stored}")


async def restart(path: Path) -> None:
    print("snapshot:")
    new_uow = SnapshotUnitOfWork.factory(Network, path=path)
    await add_devices(new_uow)
    async with new_uow() as uow:
        (await uow.devices.get("printer")).address = IPv4Address("10.0.0.99")
        await uow.commit()
        (await uow.devices.get("nas")).address = IPv4Address("10.0.0.250")  # never committed
    print(f"  committed {len(DEVICES)} devices and a move of the printer to {path.name}")
    restarted = SnapshotUnitOfWork.factory(Network, path=path)  # as a new process would
    async with restarted() as uow:
        devices = await uow.devices.find(order_by="id")
        shown = ", ".join(f"{d.id} {d.address} v{d.version}" for d in devices)
        print(f"  after a restart: {shown}")


# -- the contract suites against the custom adapter ------------------------------------------------

TESTS = """\
from decimal import Decimal

import pytest

from andamios.testing import HooksContract, RepositoryContract, UnitOfWorkContract
from andamios.testing.models import ContractUnitOfWork, Gadget

# pytest runs in the example's process, so the adapter is imported from the script (__main__);
# in your project: from myapp.adapters import SnapshotUnitOfWork
from __main__ import SnapshotUnitOfWork


class TestSnapshotRepository(RepositoryContract):
    @pytest.fixture
    def new_uow(self, tmp_path):
        return SnapshotUnitOfWork.factory(ContractUnitOfWork, path=tmp_path / "store.pickle")


class TestSnapshotUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    def new_uow(self, tmp_path):
        return SnapshotUnitOfWork.factory(ContractUnitOfWork, path=tmp_path / "store.pickle")


@pytest.mark.asyncio
async def test_a_new_factory_on_the_file_sees_what_was_committed(tmp_path):
    gadget = Gadget(sku="S-1", name="kept", price=Decimal("2.50"))
    path = tmp_path / "store.pickle"
    async with SnapshotUnitOfWork.factory(ContractUnitOfWork, path=path)() as uow:
        await uow.gadgets.add(gadget)
        await uow.commit()
    async with SnapshotUnitOfWork.factory(ContractUnitOfWork, path=path)() as uow:  # a restart
        assert (await uow.gadgets.get(gadget.id)).name == "kept"


class TestSnapshotHooks(HooksContract):
    @pytest.fixture
    def system(self):
        return "snapshot"

    @pytest.fixture
    def new_uow(self, tmp_path, hooks, vetoing, broken):
        return SnapshotUnitOfWork.factory(
            ContractUnitOfWork, path=tmp_path / "store.pickle", hooks=[hooks, vetoing, broken]
        )
"""

PYPROJECT = """\
[tool.pytest.ini_options]
asyncio_default_fixture_loop_scope = "function"
"""


class Outcomes:
    """A pytest plugin counting each test class's outcomes."""

    def __init__(self) -> None:
        self.by_class: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            self.by_class[report.nodeid.split("::")[1]][report.outcome] += 1


def prove(folder: Path) -> None:
    (folder / "pyproject.toml").write_text(PYPROJECT)
    (folder / "test_snapshot_adapter.py").write_text(TESTS)
    outcomes = Outcomes()
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main(
            [
                *("-q", "-p", "no:cacheprovider", f"--rootdir={folder}"),
                # In process, andamios (a pytest plugin) is imported before pytest can rewrite
                # its asserts; the suites' own modules still are (andamios.testing asks for it).
                *("-W", "ignore::pytest.PytestAssertRewriteWarning"),
                *(f"--basetemp={folder / 'tmp'}", str(folder / "test_snapshot_adapter.py")),
            ],
            plugins=[outcomes],
        )
    print("contract suites on SnapshotUnitOfWork:")
    for name, counts in outcomes.by_class.items():
        verdict = "all passed" if set(counts) == {"passed"} else dict(counts)
        print(f"  {name}: {verdict}")
    summary = output.getvalue().strip().splitlines()[-1]  # "151 passed in 2.10s"
    print(f"  {summary.strip('= ').split(' in ')[0]}")
    if code != 0:
        print(output.getvalue(), file=sys.stderr)
    print(f"exit code: {int(code)}")


async def main(folder: Path) -> None:
    await custom_type()
    await restart(folder / "network.pickle")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(main(Path(directory)))
        prove(Path(directory))
