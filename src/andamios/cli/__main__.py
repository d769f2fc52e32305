"""``python -m andamios.cli``: the ``andamios`` command."""

from andamios.cli import main

main()
