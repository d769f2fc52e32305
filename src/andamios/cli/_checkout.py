"""Import what only a source checkout of Andamios has: the sample shop and the benchmarks."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["import_from_checkout"]


def import_from_checkout(module: str, *, what: str, command: str) -> ModuleType:
    """Import ``module`` from the current project's folder.

    Raises :class:`LookupError` with a message naming ``what`` is missing and where ``command``
    works when the module is not there (an installed Andamios has no ``examples/`` or
    ``benchmarks/``).
    """
    here = Path.cwd()
    root = next(
        (folder for folder in (here, *here.parents) if (folder / "pyproject.toml").is_file()), here
    )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or not module.startswith(error.name):
            raise
        msg = (
            f"{what} is not available here ({module} not found under {root}): it is part of "
            f"a source checkout of Andamios; run '{command}' from the checkout's folder"
        )
        raise LookupError(msg) from error
