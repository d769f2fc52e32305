"""``python -m andamios._benchmarks [--quick] [--json PATH]``: what ``andamios bench`` runs."""

from __future__ import annotations

import sys

from andamios._benchmarks.suite import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
