"""The site's build tooling: the examples page and the docstrings read as Markdown."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[3]


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"docs_tooling_{name}", ROOT / "scripts" / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_roles_become_code_and_literal_markers_colons() -> None:
    as_markdown = _script("griffe_rst").as_markdown
    assert as_markdown("A :class:`~andamios.ports.Repository` or :func:`andamios.run`.") == (
        "A `Repository` or `andamios.run`."
    )
    assert as_markdown("For example::\n\n    run()\n") == "For example:\n\n    run()\n"
    assert as_markdown("Open it.\n\n::\n\n    run()\n") == "Open it.\n\n\n    run()\n"
    assert as_markdown("a::b and `x::y`") == "a::b and `x::y`"  # not a literal-block marker


def test_the_examples_page_has_every_example_with_its_anchor_and_code() -> None:
    hook = _script("docs_examples")
    page = hook.examples_markdown()
    for path in sorted((ROOT / "examples").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        assert f'--8<-- "{relative}"' in page, relative
    assert "### `basic/03_crud.py` {#basic-03-crud}" in page
    assert hook.anchor("intermediate/06_bulk_operations.py") == "intermediate-06-bulk-operations"
    assert hook.on_page_markdown("# Examples\n\n<!-- examples -->\n", page=None) == (
        "# Examples\n\n" + page + "\n"
    )
    assert hook.on_page_markdown("# Other\n", page=None) == "# Other\n"


def test_the_command_line_page_has_every_command_with_its_help() -> None:
    hook = _script("docs_cli")
    page = hook.cli_markdown()
    for command in ("andamios", "andamios demo", "andamios info", "andamios db upgrade"):
        assert f"## `{command}`\n\n```text\nUsage: {command} [OPTIONS]" in page
    assert "--database-url <str>" in page  # the root's options, with their variables
    assert "ANDAMIOS_DATABASE__URL" in page
    assert hook.on_page_markdown("# CLI\n\n<!-- cli -->\n") == f"# CLI\n\n{page}\n"
    assert hook.on_page_markdown("# Other\n") == "# Other\n"
