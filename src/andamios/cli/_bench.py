"""``andamios bench``: the benchmark suite shipped in the package, behind a progress bar."""

from __future__ import annotations

import contextlib
import re
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from andamios._benchmarks import missing
from andamios.cli._output import EXIT_USAGE, fail

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["bench"]

# The suite (andamios._benchmarks.suite) announces each section as "[2/3] reads, bulk update, ...".
_SECTION = re.compile(r"^\[(?P<number>\d+)/(?P<total>\d+)\] (?P<name>.*)$")


class _ProgressLines:
    """A stdout for the suite: section lines move the bar, every line is printed above it."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if section := _SECTION.match(line):
                number, total = int(section["number"]), int(section["total"])
                self._progress.update(
                    self._task, total=total, completed=number - 1, description=section["name"]
                )
            self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        """Nothing is held back but an unfinished line (:meth:`finish` prints it)."""

    def finish(self) -> None:
        """Print the last line if it did not end with a newline."""
        if self._pending:
            self.write("\n")


def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="A short smoke run (what CI runs).")
    ] = False,
    extra: Annotated[
        list[str] | None,
        typer.Argument(
            help="More arguments for the suite (--json PATH, --postgresql-url URL).",
            metavar="ARGS",
        ),
    ] = None,
) -> None:
    """Run the benchmark suite (Andamios beside raw duckdb, the SQLAlchemy ORM and asyncpg).

    Prints a table of medians and ratios; writes it as JSON with ``--json PATH``. Without
    pyarrow (``pip install 'andamios[bulk]'``) the rows of the bulk path are skipped, saying so.
    Exits with the suite's code: 0 unless a benchmark crashed (timings never fail it).
    """
    if absent := missing():
        needed = "; ".join(absent)
        fail(f"andamios bench needs libraries that are not installed: {needed}", EXIT_USAGE)
    from rich.console import Console  # noqa: PLC0415 - only this command draws a progress bar
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from andamios._benchmarks import suite  # noqa: PLC0415 - loads every driver

    argv = [*(["--quick"] if quick else []), *(extra or [])]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        redirect_stdout=False,
        # The real stdout: the suite's, redirected below, is drawn above the bar through it.
        console=Console(file=sys.stdout),
    ) as progress:
        task = progress.add_task("benchmarks", total=None)
        lines = _ProgressLines(progress, task)
        with contextlib.redirect_stdout(lines):
            code = suite.main(argv)
        lines.finish()
        progress.update(task, completed=progress.tasks[0].total or 0)
    raise typer.Exit(int(code or 0))
