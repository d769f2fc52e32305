"""The site's code runs: every page's fences, executed in order in a fresh interpreter.

A guide shows either an executed example (a snippet include of ``examples/``) or code run here
(the rules: ``tests/_docs.py``, ADR 0020). The decision records in ``docs/adr/`` are exempt: they
record what was decided and measured, and their sketches may show internals. The strict site
build itself is a gate of ``scripts/check``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests._docs import NOT_EXECUTED, REQUIRES_POSTGRESQL, Step, fences, steps
from tests._postgresql import POSTGRESQL_URL, require_postgresql

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RUNNER = ROOT / "tests" / "_docs_runner.py"
PAGES = sorted(
    str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md") if page.parts[-2] != "adr"
)
_SNIPPET_TARGET = re.compile(r"""-{1,2}8<-{1,2}\s+["'](?P<path>[^"':]+)(?::(?P<section>[\w-]+))?""")


@pytest.mark.subprocess
@pytest.mark.parametrize("page", PAGES)
def test_the_code_of_the_page_runs(page: str, tmp_path: Path) -> None:
    source = DOCS / page
    planned = steps(source)
    if not any(step.kind == "run" for step in planned):
        return  # prose, includes of executed examples and titled files only
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    if REQUIRES_POSTGRESQL in source.read_text(encoding="utf-8"):
        require_postgresql()
        environment["ANDAMIOS_TEST_POSTGRESQL_URL"] = POSTGRESQL_URL
    plan = tmp_path.parent / f"{tmp_path.name}-steps.json"
    plan.write_text(json.dumps([_as_json(step) for step in planned]), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    completed = subprocess.run(
        [sys.executable, str(RUNNER), str(source), str(plan)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=work,
        env=environment,
    )
    assert completed.returncode == 0, f"{page}:\n{completed.stdout}\n{completed.stderr}"
    assert "Traceback" not in completed.stderr, completed.stderr


@pytest.mark.parametrize("page", PAGES)
def test_every_fence_not_executed_says_why_and_every_include_names_a_real_section(
    page: str,
) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("<!-- docs: not executed"):
            assert NOT_EXECUTED.match(line), f"{page}: {line!r} gives no reason"
    for fence in fences(DOCS / page):
        for target in _SNIPPET_TARGET.finditer(fence.code):
            included = ROOT / target["path"]
            assert included.is_file(), f"{page}:{fence.line} includes a missing {included}"
            if target["section"]:
                marker = f"--8<-- [start:{target['section']}]"
                assert marker in included.read_text(encoding="utf-8"), (
                    f"{page}:{fence.line}: {target['path']} has no section {target['section']!r}"
                )


def test_the_rules_find_every_kind_of_fence(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "\n".join(
            [
                "```python",
                "x = 1",
                "```",
                '```python title="app/domain.py"',
                "VALUE = 2",
                "```",
                "<!-- docs: not executed (a listing of the signature only) -->",
                "```python",
                "def get(id): ...",
                "```",
                "<!--",
                "```python",
                "assert x == 1",
                "```",
                "-->",
                '!!! note "indented"',
                "    ```py",
                "    y = 3",
                "    ```",
                "```python",
                '--8<-- "examples/basic/03_crud.py"',
                "```",
                "```toml",
                "[tool.andamios]",
                "```",
                "```sh",
                "uv add andamios",
                "```",
            ]
        ),
        encoding="utf-8",
    )
    found = fences(page)
    assert [fence.hidden for fence in found] == [
        False,
        False,
        False,
        True,
        False,
        False,
        False,
        False,
    ]
    assert found[2].not_executed == "a listing of the signature only"
    assert found[4].code == "y = 3\n"
    assert found[5].includes_only
    assert steps(page) == [
        Step("run", "x = 1\n", 2),
        Step("file", "VALUE = 2\n", 5, "app/domain.py"),
        Step("run", "assert x == 1\n", 13),
        Step("run", "y = 3\n", 18),
        Step("toml", "[tool.andamios]\n", 24),
    ]


def _as_json(step: Step) -> dict[str, object]:
    return {"kind": step.kind, "code": step.code, "line": step.line, "path": step.path}
