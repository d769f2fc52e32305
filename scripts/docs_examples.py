"""MkDocs hook: the examples page lists every file of ``examples/`` with its own docstring.

The page is built from the tree at build time, so a new example appears on the site without an
edit here, and what it shows is the file the tests run (``tests/e2e/test_examples.py``). Each
example gets an anchor other pages link to: its path without ``.py``, ``/`` and ``_`` made ``-``
(``examples.md#intermediate-06-bulk-operations``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

__all__ = ["anchor", "examples_markdown", "on_page_markdown"]

MARKER = "<!-- examples -->"
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
_FOLDERS = ("basic", "intermediate", "advanced")
_TITLES = {"basic": "Basic", "intermediate": "Intermediate", "advanced": "Advanced"}


def anchor(relative: str) -> str:
    """The anchor of an example on the page: ``basic/03_crud.py`` -> ``basic-03-crud``."""
    return re.sub(r"[/_]", "-", relative.removesuffix(".py").rstrip("/"))


def _summary(path: Path) -> str:
    """The docstring's first paragraph, its reStructuredText literals made Markdown."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = docstring.split("\n\n", 1)[0].replace("\n", " ")
    return re.sub(r"``(.+?)``", r"`\1`", first)


def _entry(relative: str, files: list[Path], summary_of: Path) -> str:
    lines = [f"### `{relative}` {{#{anchor(relative)}}}", "", _summary(summary_of), ""]
    if relative.endswith(".py"):
        lines += [f"Run it: `uv run python examples/{relative}`", ""]
    for file in files:
        included = file.relative_to(ROOT).as_posix()
        lines += [
            f'??? example "`{file.relative_to(EXAMPLES).as_posix()}`"',
            "    ```python",
            f'    --8<-- "{included}"',
            "    ```",
            "",
        ]
    return "\n".join(lines)


def examples_markdown() -> str:
    """Every example, by folder: a heading with its anchor, its summary and its code."""
    sections = ["## Start here", ""]
    quickstart = EXAMPLES / "quickstart.py"
    sections.append(_entry("quickstart.py", [quickstart], quickstart))
    for folder in _FOLDERS:
        sections += [f"## {_TITLES[folder]}", ""]
        for path in sorted((EXAMPLES / folder).glob("*.py")):
            sections.append(_entry(f"{folder}/{path.name}", [path], path))
    packages = sorted(
        path.parent for path in EXAMPLES.glob("*/__init__.py") if path.parent.name not in _FOLDERS
    )
    if packages:
        sections += ["## Services", ""]
    for package in packages:
        files = sorted(package.rglob("*.py"))
        sections.append(_entry(f"{package.name}/", files, package / "__init__.py"))
    return "\n".join(sections)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Fill the examples page's marker with the examples of the tree."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, examples_markdown())
