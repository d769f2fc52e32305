"""The code of the documentation site, as the docs test runs it (the rules: ADR 0020).

A page's fences are read in order. A ``python`` fence is executed, unless its only lines are
snippet includes (``--8<-- "examples/..."``: the example is executed by its own test) or the line
before it is ``<!-- docs: not executed (a reason) -->``. A fence with a ``title="path"`` is a
file: written there, not executed. A ``toml`` fence without a title is parsed. A fence inside an
HTML comment is executed too (a hidden setup or check). Other languages are prose.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "NOT_EXECUTED",
    "REQUIRES_POSTGRESQL",
    "Fence",
    "Step",
    "fences",
    "steps",
]

NOT_EXECUTED = re.compile(r"^<!-- docs: not executed \((?P<reason>[^)]{8,})\) -->$")
REQUIRES_POSTGRESQL = "<!-- docs: requires postgresql -->"
_OPENING = re.compile(r"^(?P<indent>\s*)(?P<marks>`{3,}|~{3,})\s*(?P<info>.*)$")
_LANGUAGE = re.compile(r"^\{?\.?(?P<language>[\w+-]+)")
_TITLE = re.compile(r"""title=(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)')""")
_SNIPPET = re.compile(r"^\s*-{1,2}8<-{1,2}\s")


@dataclass(frozen=True, slots=True)
class Fence:
    """One fenced code block of a page, dedented."""

    language: str
    title: str | None
    code: str
    line: int  # the first line of the code, 1-based, in the page
    hidden: bool  # inside an HTML comment
    not_executed: str | None  # the reason given, when the line before says so

    @property
    def includes_only(self) -> bool:
        """Whether the fence only includes snippets (of examples, executed by their own test)."""
        lines = [line for line in self.code.splitlines() if line.strip()]
        return bool(lines) and all(_SNIPPET.match(line) for line in lines)


@dataclass(frozen=True, slots=True)
class Step:
    """What the runner does with one fence: run it, write it as a file, or parse it as TOML."""

    kind: Literal["run", "file", "toml"]
    code: str
    line: int
    path: str | None = None


def fences(page: Path) -> list[Fence]:
    """The fenced code blocks of ``page``, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Fence] = []
    in_comment = False
    previous = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        opening = _OPENING.match(line)
        if opening is None:
            stripped = line.strip()
            if stripped == "<!--":
                in_comment = True
            elif stripped == "-->":
                in_comment = False
            if stripped:
                previous = stripped
            index += 1
            continue
        indent, marks, info = opening["indent"], opening["marks"], opening["info"]
        closing = re.compile(rf"^\s*{re.escape(marks[0])}{{{len(marks)},}}\s*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        body = [text.removeprefix(indent) for text in lines[index + 1 : end]]
        language = _LANGUAGE.match(info)
        title = _TITLE.search(info)
        reason = NOT_EXECUTED.match(previous)
        found.append(
            Fence(
                language=language["language"].lower() if language else "",
                title=(title["double"] or title["single"]) if title else None,
                code=textwrap.dedent("\n".join(body)) + "\n",
                line=index + 2,
                hidden=in_comment,
                not_executed=reason["reason"] if reason else None,
            )
        )
        previous = ""
        index = end + 1
    return found


def steps(page: Path) -> list[Step]:
    """What the docs test does with ``page``'s fences, in order."""
    planned: list[Step] = []
    for fence in fences(page):
        if fence.not_executed or fence.includes_only:
            continue
        if fence.title is not None:
            planned.append(Step("file", fence.code, fence.line, fence.title))
        elif fence.language in {"python", "py"}:
            planned.append(Step("run", fence.code, fence.line))
        elif fence.language == "toml":
            planned.append(Step("toml", fence.code, fence.line))
    return planned
