"""Hand-written revisions: a blank revision whose upgrade (and downgrade) bodies are replaced."""

from __future__ import annotations

import textwrap
from pathlib import Path

from andamios.adapters.migrations import Migrations


def write_revision(
    migrations: Migrations, rev_id: str, upgrade: str, downgrade: str = "pass"
) -> Path:
    """A new revision ``rev_id`` running ``upgrade`` (Python lines, dedented) when upgraded."""
    path = migrations.revision(f"revision {rev_id}", rev_id=rev_id)
    text = path.read_text()
    for name, body in (("Upgrade", upgrade), ("Downgrade", downgrade)):
        blank = f'    """{name} the schema."""\n    pass\n'
        assert blank in text
        indented = textwrap.indent(textwrap.dedent(body).strip() + "\n", "    ")
        text = text.replace(blank, f'    """{name} the schema."""\n{indented}')
    path.write_text(text)
    return path
