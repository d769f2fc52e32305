"""The files a contributor expects call the project's own commands, never a copy of the gates.

``.github/workflows/ci.yml`` runs the README's two commands (the demo on a plain install, then
``scripts/check``) with a PostgreSQL service, on every Python the package declares;
``.pre-commit-config.yaml`` runs ruff and mypy through ``uv run`` (the versions of ``uv.lock``);
``.ci/run`` runs the same README commands.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


def _yaml(relative: str) -> dict[Any, Any]:
    loaded = yaml.safe_load((ROOT / relative).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", readme, re.DOTALL)]


def _supported_pythons() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    versions = (
        re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c)
        for c in project["classifiers"]
    )
    return [match[1] for match in versions if match]


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return _yaml(".github/workflows/ci.yml")


def test_the_readme_has_its_two_commands() -> None:
    assert _readme_commands()[:2] == ["uv run --no-dev andamios demo", "bash scripts/check"]


def test_the_workflow_runs_the_readme_commands_on_every_supported_python(
    workflow: dict[Any, Any],
) -> None:
    assert set(workflow[True]) == {"push", "pull_request"}  # YAML 1.1 reads the key `on` as True
    [job] = workflow["jobs"].values()
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs == ["uv lock --check", *_readme_commands()[:2]]
    assert job["strategy"]["matrix"]["python-version"] == _supported_pythons() == ["3.13"]


def test_the_workflow_gives_the_tests_a_postgresql_15_server(workflow: dict[Any, Any]) -> None:
    [job] = workflow["jobs"].values()
    [service] = job["services"].values()
    assert service["image"] == "postgres:15"
    assert service["ports"] == ["5432:5432"]
    url = job["env"]["ANDAMIOS_TEST_POSTGRESQL_URL"]
    user, password = service["env"]["POSTGRES_USER"], service["env"]["POSTGRES_PASSWORD"]
    database = service["env"]["POSTGRES_DB"]
    assert url == f"postgresql+asyncpg://{user}:{password}@127.0.0.1:5432/{database}"
    assert job["env"]["CI"] == "true"  # a PostgreSQL test that cannot connect fails, never skips


def test_the_hooks_call_our_tools_through_uv() -> None:
    config = _yaml(".pre-commit-config.yaml")
    [repo] = config["repos"]
    assert repo["repo"] == "local"  # no second copy of ruff or mypy, pinned elsewhere
    hooks = {hook["id"]: hook for hook in repo["hooks"]}
    assert {hook["language"] for hook in hooks.values()} == {"system"}
    assert hooks["ruff-check"]["entry"].startswith("uv run --frozen ruff check")
    assert hooks["ruff-format"]["entry"].startswith("uv run --frozen ruff format")
    assert hooks["mypy"]["entry"] == "uv run --frozen mypy"
    assert hooks["mypy"]["pass_filenames"] is False  # the files and settings of pyproject.toml
    assert hooks["check-fast"]["entry"] == "bash scripts/check --fast"
    assert hooks["check-fast"]["stages"] == ["pre-push"]


def test_ci_runs_the_readme_commands() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for command in _readme_commands()[:2]:
        assert command in script
    assert script.index("uv run --no-dev andamios demo") < script.index("uv sync --frozen")


def test_the_fast_loop_runs_the_unit_tests_without_slow_or_subprocess_ones() -> None:
    check = (ROOT / "scripts" / "check").read_text(encoding="utf-8")
    assert 'pytest tests/unit -m "not slow and not subprocess"' in check
    assert "--cov " in check  # the full run keeps its coverage gate (fail_under in pyproject)


def test_the_gates_build_the_documentation_site_strictly() -> None:
    check = (ROOT / "scripts" / "check").read_text(encoding="utf-8")
    assert "mkdocs build --strict" in check
    site = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_MkDocsLoader)
    assert site["strict"] is True
    assert site["plugins"][1]["mkdocstrings"]["handlers"]["python"]["options"]["filters"] == (
        "public"  # the API reference shows the names of __all__ only
    )
    assert site["validation"]["anchors"] == "warn"  # and strict turns a warning into a failure


class _MkDocsLoader(yaml.SafeLoader):
    """mkdocs.yml names Python objects (``!!python/name:``); the test only reads the rest."""


_MkDocsLoader.add_multi_constructor(
    "tag:yaml.org,2002:python/name:", lambda loader, suffix, node: suffix
)
