"""Timing, reporting and JSON output shared by the benchmark scripts."""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "Interleaved",
    "Paired",
    "Result",
    "Round",
    "Sizes",
    "blocking",
    "measure_async",
    "measure_interleaved",
    "measure_paired",
    "print_table",
    "timed",
    "write_json",
]


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does (``--quick`` shrinks everything)."""

    small: int  # "10k" inserts and the bulk update
    large: int  # "100k" inserts, the table read by get/find/count/stream
    iterations: int  # repetitions of the fast operations
    repeats: int  # rounds of the bulk operations (and of the stream)
    orm_repeats: int  # rounds of Andamios beside the ORM where it takes seconds (bulk writes)
    orm_large: bool  # whether the ORM also inserts ``large`` rows
    facts: int = 1_000_000  # the sales the read-model group-by and Arrow result read
    dimension: int = 10_000  # the products of the read models (and their groups)
    query_rounds: int = 40  # interleaved rounds of the heavy read-model queries
    chunk: int = 10  # iterations of a fast operation each contender runs per interleaved round


@dataclass
class Result:
    """One operation: medians for Andamios and each peer, and its target.

    Values are microseconds (``unit="us"``) or bytes (``unit="bytes"``, memory). A peer measured
    interleaved with Andamios (:func:`measure_interleaved`) has its median paired ratio in
    ``paired_ratios``, which :meth:`ratio` gives in place of the ratio of the two medians.
    ``note`` is a line printed under the table.
    """

    operation: str
    andamios_us: float
    peers_us: dict[str, float] = field(default_factory=dict)
    target: str = ""
    passed: bool | None = None
    unit: str = "us"
    paired_ratios: dict[str, float] = field(default_factory=dict)
    note: str = ""  # a line printed under the table (and kept in the JSON)

    def ratio(self, peer: str) -> float | None:
        """Andamios' time over a peer's (>1 means slower): the median of the paired ratios when
        measured interleaved, else the ratio of the medians."""
        paired = self.paired_ratios.get(peer)
        if paired is not None:
            return paired
        base = self.peers_us.get(peer)
        return None if not base else self.andamios_us / base


def _median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


async def measure_async(
    operation: Callable[[int], Awaitable[object]], iterations: int, warmup: int = 5
) -> float:
    """Median wall time of ``await operation(i)`` in microseconds."""
    for i in range(warmup):
        await operation(i)
    samples = []
    for i in range(warmup, warmup + iterations):
        start = time.perf_counter()
        await operation(i)
        samples.append(time.perf_counter() - start)
    return _median_us(samples)


@dataclass(frozen=True)
class Paired:
    """What :func:`measure_paired` found: both medians (µs) and the median of the ratios."""

    ours_us: float
    peer_us: float
    ratio: float


#: One contender's round ``i``: the seconds its measured part took (set-up left out).
type Round = Callable[[int], Awaitable[float]]


def timed(operation: Callable[[int], Awaitable[object]]) -> Round:
    """A round timing the whole of ``await operation(i)``."""

    async def round_(i: int) -> float:
        start = time.perf_counter()
        await operation(i)
        return time.perf_counter() - start

    return round_


def blocking(operation: Callable[[int], object]) -> Round:
    """A round timing the blocking ``operation(i)`` (a synchronous peer, on the loop's thread)."""

    async def round_(i: int) -> float:
        start = time.perf_counter()
        operation(i)
        return time.perf_counter() - start

    return round_


@dataclass(frozen=True)
class Interleaved:
    """What :func:`measure_interleaved` found: each contender's median time of one iteration
    (µs), and for each contender but the first, the median of the per-round ratios of the first
    contender's time to its."""

    medians_us: dict[str, float]
    ratios: dict[str, float]


async def measure_interleaved(
    contenders: dict[str, Round], rounds: int, *, chunk: int = 1, warmup: int = 1
) -> Interleaved:
    """Run the contenders interleaved, round by round, and pair their times.

    Each round runs ``chunk`` iterations of every contender in turn (iteration ``i`` is
    ``round * chunk + k``, so no two iterations share an ``i``), starting with a different
    contender each round (the order rotates), so a drift of the machine or the server (a
    checkpoint, autovacuum, another process) falls on every side of a round. The first
    ``warmup`` rounds are not counted. A contender's median is over its single iterations; the
    ratio of the first contender (``ours``) to another is the median over the rounds of the
    ratio of their round totals.
    """
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    totals: dict[str, list[float]] = {name: [] for name in names}
    for number in range(warmup + rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            run = contenders[name]
            times = [await run(number * chunk + k) for k in range(chunk)]
            if number >= warmup:
                samples[name].extend(times)
                totals[name].append(sum(times))
    ours, *peers = names
    ratios = {
        peer: statistics.median(a / b for a, b in zip(totals[ours], totals[peer], strict=True))
        for peer in peers
    }
    return Interleaved({name: _median_us(times) for name, times in samples.items()}, ratios)


async def measure_paired(ours: Round, peer: Round, iterations: int, warmup: int = 5) -> Paired:
    """Run the two contenders interleaved, one iteration each per round, and pair their times
    (:func:`measure_interleaved` of the two: the order alternates, ours first on even rounds;
    the ratio reported is the median of the per-round ratios)."""
    found = await measure_interleaved(
        {"ours": ours, "peer": peer}, iterations, chunk=1, warmup=warmup
    )
    return Paired(found.medians_us["ours"], found.medians_us["peer"], found.ratios["peer"])


def _fmt(value: float | None, unit: str = "us") -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        return f"{value / 1024 / 1024:.0f} MiB"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.2f} s"
    return f"{value / 1000:.2f} ms" if value >= 1000 else f"{value:.0f} µs"


def print_table(title: str, results: list[Result], peers: list[str]) -> None:
    """Print a fixed-width table: operation, medians, ratios, target, pass/miss."""
    header = ["operation", "andamios", *peers, *(f"÷ {p}" for p in peers), "target", "result"]
    rows = []
    for r in results:
        ratios = [r.ratio(p) for p in peers]
        verdict = "-" if r.passed is None else ("pass" if r.passed else "MISS")
        rows.append(
            [
                r.operation,
                _fmt(r.andamios_us, r.unit),
                *(_fmt(r.peers_us.get(p), r.unit) for p in peers),
                *("-" if x is None else f"{x:.2f}x" for x in ratios),
                r.target,
                verdict,
            ]
        )
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
    for r in results:
        if r.note:
            print(f"  note, {r.operation}: {r.note}")


def write_json(path: Path, title: str, results: list[Result], extra: dict[str, object]) -> None:
    """Write the results next to the table, for machines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "title": title,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "results": [asdict(r) for r in results],
        **extra,
    }
    path.write_text(json.dumps(payload, indent=2, default=str))
