"""The benchmark suite runs in quick mode and reports every operation (timings never fail it).

It runs in this process (``andamios._benchmarks.suite.main``, what ``andamios bench`` runs), so
coverage sees the suite, which ships in the package.

Without pyarrow (hidden here, as a plain install lacks it) the bulk rows are skipped with one line
naming the extra, and every other row runs.

The PostgreSQL section is checked when the server answers (``ANDAMIOS_TEST_POSTGRESQL_URL``, by
default the local one); without it the benchmark must say it skipped the section, and the test
skips, except under ``CI=true``, where an unreachable server is a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.metadata
import importlib.util
import io
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from tests._runpy import run_module

import andamios._benchmarks as shipped
from andamios._benchmarks import _hooks, _postgresql, suite
from andamios._benchmarks._harness import (
    Result,
    Round,
    Sizes,
    measure_async,
    measure_interleaved,
    measure_paired,
)

POSTGRESQL_URL = os.environ.get(
    "ANDAMIOS_TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

OPERATIONS = [
    "add_many + commit, 1,000",
    "add_many + commit, 5,000",
    "get-by-id (open unit of work)",
    "find: filter + order + limit 20",
    "count with a filter",
    "bulk update of 1,000 loaded + commit",
    "stream 5,000 aggregates",
    "stream 5,000: peak memory",
    "empty unit of work",
    "query: group-by + sum over 20,000 rows",
    "query: join 5,000 lines x 500 products",
    "count: lines.any() over 5,000 aggregates",
    "find: lines.any() over 5,000 aggregates",
    "query_arrow: 20,000 rows (Arrow)",
    "get by id, own unit of work: no-op hooks",
    "get by id, open unit of work: no-op hooks",
    "get by id, own unit of work: Metrics",
    "get by id, open unit of work: Metrics",
    "get by id, own unit of work: OpenTelemetry hooks",
    "get by id, open unit of work: OpenTelemetry hooks",
    "RSS: import + open + one get",
]

#: The inserts and reads: the three contenders interleaved, a paired ratio to each peer, and
#: issue 15's targets (ratios to raw duckdb).
SIDE_BY_SIDE_TARGETS = {
    "add_many + commit, 1,000": "<= 2x raw and < 100 ms",
    "add_many + commit, 5,000": "< 1 s",
    "get-by-id (open unit of work)": "<= 1.5x raw (paired)",
    "find: filter + order + limit 20": "<= 1.2x raw (paired)",
    "count with a filter": "<= 1.5x raw (paired)",
    "bulk update of 1,000 loaded + commit": "<= 2x raw (paired)",
    "stream 5,000 aggregates": "<= 3x raw (paired)",
    "empty unit of work": "< 200 µs (paired)",
}
STREAM_MEMORY = OPERATIONS[7]
RSS = OPERATIONS[-1]
#: The read-model rows: beside raw duckdb only, interleaved (a paired ratio each).
READ_MODEL_OPERATIONS = OPERATIONS[9:14]
HOOK_OPERATIONS = OPERATIONS[14:20]

POSTGRESQL_OPERATIONS = [
    "add_many + commit, 1,000",
    "add_many + commit, 5,000",
    "get-by-id",
    "find: filter + order + limit 20",
    "count with a filter",
    "bulk update of 1,000 loaded + commit",
    "stream 5,000 aggregates",
    "empty unit of work",
]


class QuickRun:
    def __init__(self, stdout: str, report: dict[str, Any]):
        self.stdout = stdout
        self.report = report


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    output = tmp_path_factory.mktemp("bench") / "out" / "bench.json"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = suite.main(["--quick", "--json", str(output), "--postgresql-url", POSTGRESQL_URL])
    assert code == 0, stdout.getvalue() + stderr.getvalue()
    assert f"written {output}" in stdout.getvalue()
    return QuickRun(stdout.getvalue(), json.loads(output.read_text()))


@pytest.mark.slow
@pytest.mark.subprocess  # the memory section measures fresh interpreters
def test_quick_benchmarks_run_and_write_every_operation(quick_run: QuickRun) -> None:
    stdout = quick_run.stdout
    assert "[1/6] bulk inserts" in stdout  # progress while it runs
    assert "[3/6] read models beside raw duckdb (interleaved)" in stdout
    assert "[4/6] hooks on beside hooks off (interleaved)" in stdout
    assert "operation" in stdout  # the table's header
    assert "skipped, " not in stdout  # pyarrow is installed here: every row runs
    report = quick_run.report
    assert report["mode"] == "quick"
    assert report["crashed"] == []
    assert report["skipped"] == []
    results = report["results"]
    assert len(results) == len(OPERATIONS)
    both = {"raw duckdb", "SQLAlchemy ORM"}
    for result, expected in zip(results, OPERATIONS, strict=True):
        assert result["operation"].startswith(expected)
        assert result["andamios_us"] > 0
        assert result["passed"] in (True, False, None)
        if expected in HOOK_OPERATIONS:
            assert set(result["peers_us"]) == {"no hooks"}
            assert result["paired_ratios"]["no hooks"] > 0
            assert result["target"] == ("≤ 1.10x" if "OpenTelemetry" in expected else "≤ 1.05x")
            continue
        assert result["peers_us"]["raw duckdb"] > 0
        if expected in SIDE_BY_SIDE_TARGETS:
            # Every contender, paired; the quick run's ORM skips only the large insert, and
            # the inserts have a floor (raw duckdb's INSERT + SQLAlchemy's own bookkeeping).
            peers = {"raw duckdb"} if expected == "add_many + commit, 5,000" else both
            if expected.startswith("add_many"):
                peers = {*peers, "floor"}
                assert result["note"] == suite.INSERT_FLOOR_NOTE
                # The floor does what raw duckdb does, and makes the objects persistent too.
                assert result["peers_us"]["floor"] > result["peers_us"]["raw duckdb"]
            assert set(result["peers_us"]) == peers
            assert set(result["paired_ratios"]) == peers
            assert all(ratio > 0 for ratio in result["paired_ratios"].values())
            assert result["target"] == SIDE_BY_SIDE_TARGETS[expected]
            assert result["passed"] in (True, False)
        elif expected in READ_MODEL_OPERATIONS:
            assert set(result["peers_us"]) == {"raw duckdb"}
            assert result["paired_ratios"]["raw duckdb"] > 0
            assert result["target"] == (
                "<= 1.1x raw (paired)" if "Arrow" in expected else "<= 1.3x raw (paired)"
            )
            assert result["passed"] in (True, False)
    memory = results[OPERATIONS.index(STREAM_MEMORY)]
    assert memory["unit"] == "bytes"
    assert set(memory["peers_us"]) == both
    assert memory["target"] == "flat: last 90% of rows add <= 8 MiB"
    assert memory["passed"] in (True, False)
    assert memory["note"].startswith("peak RSS growth over the process before the stream; ")
    assert "andamios +" in memory["note"] or "andamios -" in memory["note"]
    rss = results[-1]
    assert rss["unit"] == "bytes"
    assert set(rss["peers_us"]) == {*both, "floor"}
    # The floor imports what Andamios imports beneath it: it is above raw duckdb alone.
    assert rss["peers_us"]["floor"] > rss["peers_us"]["raw duckdb"]
    assert rss["target"] == "<= floor + 6 MiB and <= 100 MiB"
    floor = rss["peers_us"]["floor"]
    assert rss["passed"] == (rss["andamios_us"] <= min(floor + 6 * 2**20, 100 * 2**20))
    assert rss["note"].startswith("andamios - floor = ")
    assert "note, RSS: import + open + one get: andamios - floor = " in stdout


def _unreachable() -> str | None:
    url = make_url(POSTGRESQL_URL)
    address = (url.host or "127.0.0.1", url.port or 5432)
    try:
        with socket.create_connection(address, timeout=2):
            return None
    except OSError as error:
        return f"PostgreSQL at {address[0]}:{address[1]} is not reachable ({error})"


async def _schema_exists(schema: str) -> bool:
    import asyncpg  # type: ignore[import-untyped, unused-ignore]  # noqa: PLC0415

    dsn = make_url(POSTGRESQL_URL).set(drivername="postgresql")
    conn = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        found = await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)
    finally:
        await conn.close()
    return bool(found)


@pytest.mark.slow
@pytest.mark.subprocess  # the memory section measures fresh interpreters
def test_quick_benchmarks_run_postgresql_beside_raw_asyncpg(quick_run: QuickRun) -> None:
    stdout = quick_run.stdout
    section = quick_run.report["postgresql"]
    reason = _unreachable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must benchmark PostgreSQL", pytrace=False)
        # Skipped with one line saying why, and the DuckDB rows are all there.
        assert section["skipped"]
        assert "PostgreSQL (ratio to raw asyncpg): skipped: " in stdout
        pytest.skip(reason)
    assert section["skipped"] is None, section["skipped"]
    assert "PostgreSQL (ratio to raw asyncpg)" in stdout
    assert section["title"].startswith("PostgreSQL (ratio to raw asyncpg)")
    assert section["server_version"]
    results = section["results"]
    assert len(results) == len(POSTGRESQL_OPERATIONS)
    for result, expected in zip(results, POSTGRESQL_OPERATIONS, strict=True):
        assert result["operation"].startswith(expected)
        assert result["andamios_us"] > 0
        assert set(result["peers_us"]) == {"raw asyncpg"}
        assert result["peers_us"]["raw asyncpg"] > 0
        assert result["paired_ratios"]["raw asyncpg"] > 0
    # The run's schema is gone.
    assert section["schema"].startswith("bench_")
    assert not asyncio.run(_schema_exists(section["schema"]))


# -- the paths a quick run does not take (each in a few milliseconds) -----------------------------


def _contender(name: str, calls: list[tuple[str, int]], seconds: dict[int, float]) -> Round:
    async def round_(i: int) -> float:
        calls.append((name, i))
        return seconds.get(i, 1.0)

    return round_


def test_interleaved_rounds_rotate_chunks_and_pair_the_round_totals() -> None:
    calls: list[tuple[str, int]] = []
    # Ours takes 2 s an iteration; the raw peer 1 s but 10 s in the warm-up round (not counted)
    # and 5 s at iteration 6 (one slow round: the median of the paired ratios leaves it out);
    # the ORM 4 s.
    contenders = {
        "ours": _contender("ours", calls, dict.fromkeys(range(12), 2.0)),
        "raw": _contender("raw", calls, {0: 10.0, 1: 10.0, 6: 5.0}),
        "orm": _contender("orm", calls, dict.fromkeys(range(12), 4.0)),
    }
    found = asyncio.run(measure_interleaved(contenders, 5, chunk=2, warmup=1))
    # Each round runs a chunk of every contender in turn, starting with the next one each round;
    # no two iterations share an index.
    assert [name for name, _ in calls[::2]] == [
        *("ours", "raw", "orm"),
        *("raw", "orm", "ours"),
        *("orm", "ours", "raw"),
        *("ours", "raw", "orm"),
        *("raw", "orm", "ours"),
        *("orm", "ours", "raw"),
    ]
    assert sorted(i for name, i in calls if name == "raw") == list(range(12))
    assert found.medians_us == {"ours": 2e6, "raw": 1e6, "orm": 4e6}
    # Round totals: ours 4 s; raw 2, 6 (iteration 6), 2, 2, 2 s; orm 8 s.
    assert found.ratios == {"raw": 2.0, "orm": 0.5}
    # Two contenders, one iteration a round, ``ours`` first on even rounds: the paired median.
    calls.clear()
    paired = asyncio.run(
        measure_paired(
            _contender("ours", calls, {}), _contender("peer", calls, {3: 4.0}), 3, warmup=1
        )
    )
    order = ["ours", "peer", "peer", "ours", "ours", "peer", "peer", "ours"]
    assert calls == list(zip(order, [0, 0, 1, 1, 2, 2, 3, 3], strict=True))
    assert (paired.ours_us, paired.peer_us, paired.ratio) == (1e6, 1e6, 1.0)


def test_one_contender_alone_is_timed_after_its_warm_up() -> None:
    seen: list[int] = []

    async def operation(i: int) -> None:
        seen.append(i)

    assert asyncio.run(measure_async(operation, 3, warmup=2)) >= 0
    assert seen == [0, 1, 2, 3, 4]


def test_the_server_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANDAMIOS_BENCH_POSTGRESQL_URL", raising=False)
    monkeypatch.delenv("ANDAMIOS_TEST_POSTGRESQL_URL", raising=False)
    assert _postgresql.server_url() == _postgresql.DEFAULT_URL
    monkeypatch.setenv("ANDAMIOS_TEST_POSTGRESQL_URL", "postgresql+asyncpg://test@h/t")
    assert _postgresql.server_url() == "postgresql+asyncpg://test@h/t"
    monkeypatch.setenv("ANDAMIOS_BENCH_POSTGRESQL_URL", "postgresql+asyncpg://bench@h/b")
    assert _postgresql.server_url() == "postgresql+asyncpg://bench@h/b"


def test_postgresql_is_skipped_without_a_server_or_asyncpg(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = _postgresql.bench_postgresql("postgresql+asyncpg://nobody@127.0.0.1:1/x", suite.QUICK)
    assert closed.results == []
    assert closed.skipped is not None
    assert closed.skipped.startswith("PostgreSQL at 127.0.0.1:1, database 'x': could not connect")
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    without = _postgresql.bench_postgresql(POSTGRESQL_URL, suite.QUICK)
    assert without.skipped is not None
    assert without.skipped.endswith("(install the postgresql extra)")


class _Transaction:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


class _ShortRaw:
    """A raw connection whose UPDATE reaches one row fewer than it staged."""

    async def fetch(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        if sql == _postgresql.UPDATE_SQL:
            return [("a",)]
        return [("a", 1), ("b", 1)]

    def transaction(self, **options: object) -> _Transaction:
        return _Transaction()

    async def execute(self, sql: str) -> None:
        return None

    async def copy_records_to_table(self, table: str, **options: object) -> None:
        return None


def test_a_raw_update_that_misses_rows_is_a_crash() -> None:
    peer = _postgresql._updating_raw(_ShortRaw(), 2)

    async def one_round() -> float:
        return await peer(0)

    with pytest.raises(AssertionError, match="raw update: 1 of 2 rows updated"):
        asyncio.run(one_round())


def test_a_crashed_section_is_reported_and_fails_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(directory: object, sizes: object) -> list[Any]:
        raise RuntimeError("the section broke")

    def no_server(url: str, sizes: object) -> Any:
        raise RuntimeError("the server broke")

    monkeypatch.setattr(suite, "sections", lambda bulk: [("boom", boom)])
    monkeypatch.setattr(suite, "bench_postgresql", no_server)
    assert suite.main(["--quick"]) == 1
    out, err = capsys.readouterr()
    assert "[1/2] boom" in out
    assert "PostgreSQL (ratio to raw asyncpg): skipped: crashed (traceback above)" in out
    assert "written" not in out  # no --json, no default: no file
    assert "RuntimeError: the section broke" in err
    assert "RuntimeError: the server broke" in err
    assert err.endswith("crashed: boom, PostgreSQL\n")


def test_the_module_runs_the_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suite, "main", lambda argv: 7 if argv == ["--quick"] else 0)
    monkeypatch.setattr(sys, "argv", ["andamios._benchmarks", "--quick"])
    with pytest.raises(SystemExit) as exited:
        run_module(monkeypatch, "andamios._benchmarks")
    assert exited.value.code == 7
    importlib.import_module("andamios._benchmarks.__main__")  # imported, it runs nothing


def test_missing_libraries_name_the_extra_that_installs_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert shipped.missing() == []
    assert shipped.missing(shipped.BULK) == []
    assert "pyarrow" not in shipped.REQUIRED  # without it the suite runs, skipping the bulk rows
    real = importlib.util.find_spec
    hidden = {"pyarrow", "duckdb_engine"}
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in hidden else real(name, *a)
    )
    monkeypatch.setattr(
        importlib.metadata,
        "requires",
        lambda name: ["sqlalchemy>=2", 'PyArrow>=26 ; extra == "bulk"', 'asyncpg; extra == "pg"'],
    )
    assert shipped.missing() == ["duckdb-engine is not installed (pip install duckdb-engine)"]
    assert shipped.missing(shipped.BULK) == [
        "pyarrow is not installed (pip install 'andamios[bulk]')"
    ]
    monkeypatch.setattr(importlib.metadata, "requires", lambda name: ["pyarrow>=26"])
    assert shipped.missing(shipped.BULK) == ["pyarrow is not installed (pip install pyarrow)"]

    def not_installed(name: str) -> list[str]:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "requires", not_installed)
    assert shipped.missing(shipped.BULK) == ["pyarrow is not installed (pip install pyarrow)"]


def _no_server(url: str, sizes: object) -> _postgresql.PostgreSQLReport:
    return _postgresql.PostgreSQLReport(skipped="not in this test")


def _no_memory(directory: Path, sizes: Sizes) -> list[Result]:
    # The memory section starts fresh interpreters, which import nothing hidden here.
    return [Result(RSS, 1.0, {}, unit="bytes")]


def _no_stream_memory(path: Path, some_id: object, sizes: Sizes) -> Result:
    # So does the stream's peak memory.
    return Result(STREAM_MEMORY, 1.0, {"raw duckdb": 1.0, "SQLAlchemy ORM": 1.0}, unit="bytes")


@pytest.mark.slow
def test_without_pyarrow_the_bulk_rows_are_skipped_and_the_rest_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # As a plain install: pyarrow is not there (find_spec says None for a None module).
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setattr(
        importlib.metadata, "requires", lambda name: ['pyarrow>=26 ; extra == "bulk"']
    )
    monkeypatch.setattr(suite, "bench_postgresql", _no_server)
    monkeypatch.setattr(suite, "bench_memory", _no_memory)
    monkeypatch.setattr(suite, "stream_memory", _no_stream_memory)
    output = tmp_path / "bench.json"
    assert suite.main(["--quick", "--json", str(output)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "[1/5] reads, empty unit of work" in out  # no bulk inserts section
    assert "[2/5] read models beside raw duckdb (interleaved)" in out
    assert "[3/5] hooks on beside hooks off (interleaved)" in out
    assert "[4/5] memory" in out
    assert "bulk inserts" not in out
    (line,) = [line for line in out.splitlines() if line.startswith("skipped, ")]
    assert line == (
        "skipped, pyarrow is not installed (pip install 'andamios[bulk]'): add_many + commit, "
        "1,000; add_many + commit, 5,000; bulk update of 1,000 loaded + commit; query_arrow: "
        "20,000 rows (Arrow) (raw duckdb stages them through Arrow, and without pyarrow Andamios "
        "writes them through the ORM, not its bulk path; an Arrow result is pyarrow's on both "
        "sides)"
    )
    report = json.loads(output.read_text())
    assert report["crashed"] == []
    assert [entry["operation"] for entry in report["skipped"]] == [
        "add_many + commit, 1,000",
        "add_many + commit, 5,000",
        "bulk update of 1,000 loaded + commit",
        "query_arrow: 20,000 rows (Arrow)",
    ]
    for entry in report["skipped"]:
        assert entry["reason"].startswith(
            "pyarrow is not installed (pip install 'andamios[bulk]'): raw duckdb stages them"
        )
    # The reads are the same rows as with pyarrow, on the same 5,000 rows, beside both peers;
    # the read models but the Arrow result beside raw duckdb.
    ran = [result["operation"] for result in report["results"]]
    left_out = ("add_many", "bulk update", "query_arrow")
    expected = [name for name in OPERATIONS if not name.startswith(left_out)]
    assert len(ran) == len(expected)
    for operation, name in zip(ran, expected, strict=True):
        assert operation.startswith(name)
    for result in report["results"][:-1]:
        queries = result["operation"] in READ_MODEL_OPERATIONS
        hooks = result["operation"] in HOOK_OPERATIONS
        peers = {"raw duckdb"} if queries else {"raw duckdb", "SQLAlchemy ORM"}
        assert set(result["peers_us"]) == ({"no hooks"} if hooks else peers)
        assert result["andamios_us"] > 0


@pytest.mark.parametrize("hidden", ["opentelemetry", "opentelemetry.sdk"], ids=["none", "api"])
def test_without_the_sdk_the_tracing_rows_are_listed_as_skipped(
    monkeypatch: pytest.MonkeyPatch, hidden: str
) -> None:
    assert suite.skipped_without_tracing() is None  # the dev environment has the SDK
    assert len(_hooks._traced()) == 1
    # As a plain install (no opentelemetry: the SDK's parent cannot be imported) or the extra
    # alone (the API, no SDK).
    monkeypatch.delitem(sys.modules, "opentelemetry.sdk")
    monkeypatch.setitem(sys.modules, hidden, None)
    assert _hooks._traced() == []
    skipped = suite.skipped_without_tracing()
    assert skipped is not None
    assert skipped.operations == [
        "get by id, own unit of work: OpenTelemetry hooks",
        "get by id, open unit of work: OpenTelemetry hooks",
    ]
    assert skipped.line().startswith(
        "skipped, opentelemetry-sdk is not installed (pip install opentelemetry-sdk): "
    )


def test_the_checkout_entry_point_writes_the_json_under_benchmarks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import benchmarks.run  # noqa: PLC0415 - the source checkout's thin entry point

    calls: list[tuple[list[str] | None, object]] = []

    def fake(argv: list[str] | None, *, json_default: object) -> int:
        calls.append((argv, json_default))
        return 0

    monkeypatch.setattr(benchmarks.run, "suite", fake)
    assert benchmarks.run.main(["--quick"]) == 0
    assert calls == [(["--quick"], Path("benchmarks/results/bench.json"))]
