"""MkDocs hook: the command-line reference, from the ``andamios`` command's own help.

The page shows what ``andamios <command> --help`` prints, taken from the Typer application at
build time, so a new command, option or environment variable appears without an edit and the
page cannot describe an option that does not exist.
"""

from __future__ import annotations

from typing import Any

import typer.main

from andamios.cli import app

__all__ = ["cli_markdown", "on_page_markdown"]

MARKER = "<!-- cli -->"
_WIDTH = 100


# Typer ships its own copy of click (typer._click), private: its objects are typed as Any here.
def _commands(command: Any, context: Any) -> list[Any]:
    """The context of ``command`` and of every visible command under it, depth first."""
    found = [context]
    if hasattr(command, "list_commands"):
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is not None and not sub.hidden:
                found += _commands(sub, _context(sub, name, context))
    return found


def _context(command: Any, name: str, parent: Any) -> Any:
    return command.context_class(
        command, info_name=name, parent=parent, terminal_width=_WIDTH, max_content_width=_WIDTH
    )


def cli_markdown() -> str:
    """A section per command: its name as a heading and its ``--help``, as the terminal shows."""
    root = typer.main.get_command(app)
    sections = []
    for context in _commands(root, _context(root, "andamios", None)):
        sections.append(
            f"## `{context.command_path}`\n\n```text\n{context.command.get_help(context)}\n```\n"
        )
    return "\n".join(sections)


def on_page_markdown(markdown: str, **_: object) -> str:
    """Fill the command-line page's marker with every command's help."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, cli_markdown())
