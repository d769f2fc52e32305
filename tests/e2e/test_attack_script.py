"""``scripts/attack.py``, every attack with tiny counts: each must find nothing.

The long runs (100 kills, 1,000 units of work...) are the script's own defaults, run by hand;
their figures are in docs/guides/reliability.md. Here the attacks run in this process, one event
loop and one writers' fork server for all of them, on a DuckDB file and on PostgreSQL.
"""

from __future__ import annotations

import asyncio

import pytest
from scripts import attack
from tests._postgresql import POSTGRESQL_URL, require_postgresql

# Cheap attacks first: the writers' fork server imports Andamios meanwhile.
PLAN = [
    ("concurrency", 20),
    ("cancellation", 10),
    ("pool", 3),
    ("close", 2),
    ("secure", 6),
    ("migrations", 1),
    ("files", 1),
    ("crash", 2),
]


def test_every_attack_finds_nothing() -> None:
    options = attack.Options(
        postgresql_url=POSTGRESQL_URL, kill_window=0.1, migration_rows=5_000, file_rows=20_000
    )
    results = asyncio.run(attack.run_attacks(PLAN, options=options))
    ran = {(r.attack, r.adapter) for r in results if r.skipped is None}
    assert {(name, "duckdb") for name, _ in PLAN} <= ran
    failures = [f"{r.attack} ({r.adapter}): {f}" for r in results for f in r.failures]
    assert failures == []
    assert [r.line() for r in results if r.wrong and not r.failures] == []
    assert attack.table(results).count("\n") == len(results) + 1
    if any(r.skipped for r in results):
        require_postgresql()


def test_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        attack.main(["--help"])
    assert done.value.code == 0
    said = capsys.readouterr().out
    assert all(name in said for name in attack.ATTACKS)
    assert attack.main(["pool", "--runs", "1", "--adapter", "duckdb"]) == 0
    assert capsys.readouterr().out.startswith("pool (duckdb): 1 runs, 0 wrong")
