"""Run one documentation page's code, as a reader would paste it into one session.

``python tests/_docs_runner.py PAGE STEPS_JSON``, started by ``tests/e2e/test_docs.py`` in an
empty temporary directory. Every step shares one module namespace (so a class defined in one
fence is importable by name, as the mapping's type hints need) and one event loop: a fence with
a top-level ``await`` runs on it, so a database opened in one fence is usable in the next; a
fence without one runs as a script would, where ``asyncio.run`` works.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import sys
import tomllib
import types
from pathlib import Path

__all__ = ["main"]


def main(page: str, plan: str) -> None:
    """Run the steps of ``plan`` (a JSON list of ``tests._docs.Step``) for ``page``."""
    workdir = Path.cwd()
    sys.path.insert(0, str(workdir))
    module = types.ModuleType("docs_page")
    module.__file__ = str(workdir / "docs_page.py")
    sys.modules["docs_page"] = module
    loop = asyncio.new_event_loop()
    try:
        for step in json.loads(Path(plan).read_text(encoding="utf-8")):
            # Blank lines up to the fence: a traceback names the page's own line numbers.
            source = "\n" * (step["line"] - 1) + step["code"]
            if step["kind"] == "file":
                target = workdir / step["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(step["code"], encoding="utf-8")
            elif step["kind"] == "toml":
                tomllib.loads(step["code"])
            else:
                code = compile(source, page, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
                if code.co_flags & inspect.CO_COROUTINE:
                    loop.run_until_complete(eval(code, module.__dict__))
                else:
                    exec(code, module.__dict__)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
