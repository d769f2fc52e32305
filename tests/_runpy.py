"""``python -m`` from inside a test."""

from __future__ import annotations

import runpy
import sys
from typing import Any

import pytest

__all__ = ["run_module"]


def run_module(monkeypatch: pytest.MonkeyPatch, name: str, **options: Any) -> dict[str, Any]:
    """``runpy.run_module(name, run_name="__main__")`` as ``python -m`` finds the module.

    Under pytest, every module of a distribution that installs a pytest plugin (Andamios' own,
    ``andamios.testing.plugin``) comes through pytest's assertion rewriter, which has no
    ``get_code`` for runpy: it is left out of the finders for the call.
    """
    finders = [
        finder for finder in sys.meta_path if type(finder).__name__ != "AssertionRewritingHook"
    ]
    monkeypatch.setattr(sys, "meta_path", finders)
    return runpy.run_module(name, run_name="__main__", **options)
