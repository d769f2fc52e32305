"""``python -m andamios._shop [--memory]``: runs :func:`andamios._shop.scenario.main`."""

from __future__ import annotations

import sys

from andamios._shop.scenario import main

__all__: list[str] = []

if __name__ == "__main__":
    main(sys.argv[1:])
