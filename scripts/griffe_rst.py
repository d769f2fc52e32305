"""Griffe extension: the reStructuredText of Andamios' docstrings, read as Markdown.

The docstrings are written for ``help()`` and editors, in reStructuredText's inline roles
(``:class:`~andamios.ports.Repository```) and literal blocks (a paragraph ending ``::``). The
API reference renders Markdown: a role becomes inline code of the name it shows (the last part
under ``~``); ``::`` ending a paragraph before a literal block becomes ``:`` and a ``::`` alone
on its line goes, the indented block staying code.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

__all__ = ["RestructuredTextRoles", "as_markdown"]

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|exc|data|obj|const):`(?P<target>[^`]+)`")
_LITERAL = re.compile(r"(?<=\S)::(?=\n\n)")
_LONE_LITERAL = re.compile(r"^[ \t]*::\n(?=\n)", re.MULTILINE)


def _shown(match: re.Match[str]) -> str:
    target = match["target"].strip()
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def as_markdown(docstring: str) -> str:
    """``docstring`` with its roles as inline code and its literal-block markers as colons."""
    return _LONE_LITERAL.sub("", _LITERAL.sub(":", _ROLE.sub(_shown, docstring)))


class RestructuredTextRoles(Extension):
    """Rewrites every docstring griffe loads (see the module docstring)."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = as_markdown(obj.docstring.value)
