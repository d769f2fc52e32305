"""``python -m benchmarks.run``: the suite ``andamios bench`` runs, from a source checkout.

The suite ships in the package (:mod:`andamios._benchmarks.suite`, its options and sections are
documented there); run from the checkout it writes ``benchmarks/results/bench.json`` unless told
``--json PATH``.

    uv run python -m benchmarks.run --quick
    uv run python -m benchmarks.run --postgresql-url postgresql+asyncpg://user@host:5432/db
"""

from __future__ import annotations

import sys
from pathlib import Path

from andamios._benchmarks.suite import main as suite

__all__ = ["main"]

RESULTS = Path("benchmarks/results/bench.json")


def main(argv: list[str] | None = None) -> int:
    """Run the suite with ``benchmarks/results/bench.json`` as the default JSON report."""
    return suite(argv, json_default=RESULTS)


if __name__ == "__main__":
    sys.exit(main())
