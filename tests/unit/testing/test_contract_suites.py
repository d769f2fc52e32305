"""The shipped contract suites as a user meets them: their namespace, and strict pytest-asyncio.

The repository's own tests run in ``asyncio_mode = auto``, which would run an async test that
forgot its ``asyncio`` mark; a user's project runs in pytest-asyncio's default, strict, where
such a test fails. So the suites run here in a fresh pytest, in a directory of their own, in
strict mode (and in auto mode), each subclassed against the in-memory adapter as a user would.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import andamios.testing
import andamios.testing.models
from andamios.testing import (
    AuditContract,
    BulkContract,
    ChildrenContract,
    HooksContract,
    ReadModelContract,
    RepositoryContract,
    UnitOfWorkContract,
)

SUITES: list[type] = [
    AuditContract,
    BulkContract,
    ChildrenContract,
    HooksContract,
    ReadModelContract,
    RepositoryContract,
    UnitOfWorkContract,
]


def test_the_package_exports_the_suites_and_user_tools_only() -> None:
    assert sorted(andamios.testing.__all__) == sorted(
        [suite.__name__ for suite in SUITES] + ["FakeClock", "RecordingHooks"]
    )
    for name in andamios.testing.models.__all__:
        assert not hasattr(andamios.testing, name), f"{name} belongs to andamios.testing.models"


def test_every_suite_is_exported_with_its_public_name() -> None:
    for suite in SUITES:
        assert getattr(andamios.testing, suite.__name__) is suite
        assert suite.__module__.startswith("andamios.testing._")


def _marks(target: object) -> list[str]:
    marks = getattr(target, "pytestmark", [])  # one mark or a list of them
    return [mark.name for mark in (marks if isinstance(marks, list) else [marks])]


@pytest.mark.parametrize("suite", SUITES, ids=lambda suite: suite.__name__)
def test_every_async_test_of_a_suite_carries_the_asyncio_mark(suite: type) -> None:
    class_marks = _marks(suite)
    tests = [
        (name, member)
        for name, member in inspect.getmembers(suite, inspect.iscoroutinefunction)
        if name.startswith("test")
    ]
    assert tests
    for name, member in tests:
        marks = class_marks + _marks(member)
        assert "asyncio" in marks, f"{suite.__name__}.{name} lacks the asyncio mark"


USER_TESTS = """
import pytest
import pytest_asyncio

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.testing import (
    AuditContract, BulkContract, ChildrenContract, FakeClock, HooksContract,
    RepositoryContract, UnitOfWorkContract,
)
from andamios.testing.models import ContractUnitOfWork


class TestRepository(RepositoryContract):
    @pytest.fixture
    def new_uow(self):
        return InMemoryUnitOfWork.factory(ContractUnitOfWork)


class TestUnitOfWork(UnitOfWorkContract):
    @pytest_asyncio.fixture  # an async fixture, as strict mode wants it declared
    async def new_uow(self):
        yield InMemoryUnitOfWork.factory(ContractUnitOfWork)


class TestBulk(BulkContract):
    @pytest.fixture
    def new_uow(self):
        return InMemoryUnitOfWork.factory(ContractUnitOfWork)


class TestAudit(AuditContract):
    @pytest.fixture
    def new_uow(self, clock: FakeClock):
        return InMemoryUnitOfWork.factory(ContractUnitOfWork, clock=clock)


class TestChildren(ChildrenContract):
    @pytest.fixture
    def new_uow(self):
        return InMemoryUnitOfWork.factory(ContractUnitOfWork)


class TestHooks(HooksContract):
    @pytest.fixture
    def system(self):
        return "memory"

    @pytest.fixture
    def new_uow(self, hooks, vetoing, broken):
        return InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[hooks, vetoing, broken])


class TestTheModeIsTheOneAsked:
    async def test_an_unmarked_async_test(self):
        pass
"""


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_every_suite_passes_in_a_users_project_in_strict_and_auto_mode(
    tmp_path: Path, mode: str
) -> None:
    ini = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"  # no asyncio_mode
    (tmp_path / "pytest.ini").write_text(ini)
    (tmp_path / "test_my_adapter.py").write_text(textwrap.dedent(USER_TESTS))
    report = tmp_path / "report.xml"
    options = [
        "-p",
        "asyncio",
        "-o",
        f"asyncio_mode={mode}",
        "-W",
        "error",
        "-p",
        "no:cacheprovider",
    ]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *options, f"--junitxml={report}", "test_my_adapter.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    outcomes: dict[str, dict[str, int]] = {}
    for case in ET.parse(report).iter("testcase"):
        suite = case.attrib["classname"].rpartition(".")[2]
        outcome = next((child.tag for child in case), "passed")
        counts = outcomes.setdefault(suite, {})
        counts[outcome] = counts.get(outcome, 0) + 1
    unmarked = outcomes.pop("TestTheModeIsTheOneAsked")
    # Strict mode refuses an async test without the mark: proof the run was strict.
    assert unmarked == ({"failure": 1} if mode == "strict" else {"passed": 1}), run.stdout
    assert sorted(outcomes) == [
        "TestAudit", "TestBulk", "TestChildren", "TestHooks", "TestRepository", "TestUnitOfWork",
    ], run.stdout  # fmt: skip
    for suite, counts in outcomes.items():
        assert list(counts) == ["passed"], f"{suite}: {counts}\n{run.stdout}\n{run.stderr}"
