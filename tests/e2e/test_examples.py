"""Every example runs as a user runs it (a fresh interpreter) and prints what it promises."""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests._postgresql import require_postgresql

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run_example(relative: str, *args: str) -> str:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / relative), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    return completed.stdout


def stated_output(relative: str) -> list[str]:
    """The lines an example's docstring says it prints: its ``It prints::`` block, dedented."""
    source = (EXAMPLES / relative).read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source)) or ""
    _, found, block = docstring.partition("It prints::")
    stated: list[str] = []
    for line in block.splitlines()[1:] if found else []:
        if line.strip() and not line.startswith("    "):
            break  # the literal block ends at the first line back at the docstring's margin
        if line.strip():
            stated.append(line[4:].rstrip())
    return stated


def _stated_pattern(line: str) -> re.Pattern[str]:
    """A stated line as a whole output line, ``...`` standing for what varies between runs."""
    return re.compile(".*".join(re.escape(part) for part in line.split("...")))


def assert_prints_in_order(output: str, stated: list[str]) -> None:
    """Each stated line is a whole line of ``output`` (after the previous one's)."""
    lines = [line.rstrip() for line in output.splitlines()]
    position = 0
    for line in stated:
        pattern = _stated_pattern(line)
        matches = [i for i in range(position, len(lines)) if pattern.fullmatch(lines[i])]
        assert matches, f"stated {line!r} missing (in order) from:\n{output}"
        position = matches[0] + 1


# What an example's docstring states is checked on its default run (stated_output). Listed here,
# as substrings in order, only what that cannot say: the full text of lines the docstring
# shortens with "...", and what the --memory run of an example printing per adapter must show.
EXPECTED: dict[str, list[str]] = {
    "quickstart.py": [
        "event: ProductRepriced 9.00",
        "event: ProductRepriced 12.00",
        "repriced 2 products",
        "POT-01 Teapot      32.00 v1",
        "TEA-02 Black tea   12.00 v2",
        "TEA-01 Green tea    9.00 v2",
        "stored in",
    ],
    "advanced/02_custom_types.py": [
        "price: 32.00 EUR, kind: POT",
        "size from JSON: Dimensions(width_cm=18, height_cm=14, weight_g=Decimal('850.5'))",
        "over 10: ['Teapot']",
        "teas: ['Green tea']",
        "without dimensions: 1",
        "repriced to 29.90, version 2",
    ],
    "intermediate/03_relationships.py": [
        "stored: [1:TEA-01x2, 2:POT-01x1] to 1 Loop Rd, v1",
        "loaded with its children: [1:TEA-01x2, 2:POT-01x1] to 1 Loop Rd, v1",
        "a child changed: [1:TEA-01x3, 2:POT-01x1] to 1 Loop Rd, v2",
        "lines replaced: [2:POT-01x1, 3:CUP-01x4] to 2 Fold St, v3",
        "a concurrent change to a child: ConcurrencyError",
        "orders after remove: 0",
    ],
    "intermediate/12_shutdown_and_cancellation.py": [
        "cancelled deposits: 60, told saved == stored balance: True",
        "commit: DatabaseClosed, its transaction was rolled back and nothing of it was saved",
        "after close: 0 worker threads",
        "a new unit of work: DatabaseClosed ('is closed' in str(error)=True)",
        "reopened: the balance is unchanged: True",
        "another event loop: DatabaseError, a database, its pool and its connections belong to "
        "the loop that started it",
    ],
    "advanced/04_middleware.py": [
        line
        for adapter in ("memory:", "duckdb:")
        for line in (
            adapter,
            "command PlaceOrder -> place_order: 2 operation(s)",
            "  add Order rows=1",
            "  find Order rows=1",
            *(["  DuckDB ran 2 statement(s)"] if adapter == "duckdb:" else []),
            "query OpenOrders -> open_orders: 1 operation(s)",
            "  count Order rows=None",
            "  rolled back: exited",
            "command PlaceOrder -> place_order: 2 operation(s), raised TooManyOpenOrders: ada "
            "would have 3 open orders, at most 2",
            "  find Order rows=3",
            "  rolled back: error by TooManyOpenOrders",
            *(["  DuckDB ran 2 statement(s)"] if adapter == "duckdb:" else []),
            "refused: ada would have 3 open orders, at most 2",
            "open orders of ada: 2 before, 2 after the refused order",
            "command CloseOrder -> close_order: 1 operation(s)",
            "  get Order rows=1",
            "after closing order-1: 2 open orders",
        )
    ],
    "advanced/05_extensions.py": [
        line
        for adapter in ("memory:", "duckdb:")
        for line in (
            adapter,
            "  in 10.0.0.0/24, by address: [('router', '10.0.0.1'), ('printer', '10.0.0.9'), "
            "('laptop', '10.0.0.10')]",
            "  highest address: nas IPv4Address('192.168.1.5')",
        )
    ]
    + [
        "  the printer's address as stored (DuckDB): 167772169",
        "snapshot:",
        "  committed 4 devices and a move of the printer to network.pickle",
        "  after a restart: laptop 10.0.0.10 v1, nas 192.168.1.5 v1, printer 10.0.0.99 v2, "
        "router 10.0.0.1 v1",
        "contract suites on SnapshotUnitOfWork:",
        "  TestSnapshotRepository: all passed",
        "  TestSnapshotUnitOfWork: all passed",
        "  test_a_new_factory_on_the_file_sees_what_was_committed: all passed",
        "  TestSnapshotHooks: all passed",
        " passed",
        "exit code: 0",
    ],
    "intermediate/02_complex_queries.py": [
        "orders with a TEA-01 line: ['ada', 'cy']",
        "orders without a POT-01 line: ['cy', 'dee', 'eve']",
        "tea: 3 orders, 5 units, 1.25 a line",
        "ware: 2 orders, 4 units, 1.33 a line",
        "page 1: ada TEA-01 Green tea, ada POT-01 Teapot",
        "page 2: bo CUP-01 Cup, bo POT-01 Teapot",
        "page 3: cy TEA-02 Black tea, cy TEA-01 Green tea",
        "page 4: dee TEA-02 Black tea, eve ZZZ-99 -",
        "arrow: 8 rows, columns ['customer', 'sku', 'name']",
        "polars: 5 customers",
    ],
    "intermediate/09_containers.py": [
        "memory: TEA-01 4.50, POT-01 32.00 (InMemoryUnitOfWork[Catalogue]); database: None",
        "two units of work, one store: 2 = 2",
        "duckdb: TEA-01 4.50, POT-01 32.00 (SqlAlchemyUnitOfWork[Catalogue]); open: True",
        "overridden: InMemoryUnitOfWork[Catalogue]",
        "restored: SqlAlchemyUnitOfWork[Catalogue]",
        "after shutdown, open: False",
        "DatabaseError: the database is not started: 'await container.init_resources()' first",
        "ConfigurationError: database.url (ANDAMIOS_DATABASE__URL) is not set",
        "ConfigurationError: invalid Andamios settings: adapter (ANDAMIOS_ADAPTER): Input should "
        "be 'memory', 'duckdb' or 'postgresql', got 'postgres'",
        "ConfigurationError: database.url (ANDAMIOS_DATABASE__URL): 'sqlite:///catalogue.db' is "
        "not a DuckDB URL",
    ],
    "intermediate/04_migrations.py": [
        "v1: the database is at ('v1',)",
        "check against v2: + column products.stock INTEGER NOT NULL; "
        "+ index ix_products_name on products (name)",
        "v2 upgrade: op.add_column('products', sa.Column('stock', sa.Integer(), "
        "server_default='0', nullable=False)) / op.create_index('ix_products_name'",
        "rows kept across the new column: [('POT-01', 0), ('TEA-01', 0)]",
        "v3 upgrade: # DuckDB cannot alter column products.name in place: it has an index",
        "rebuilt with 2 rows; check: ok",
        "failed: Invalid Input Error: no colors today",
        "rolled back: still at ('v3',), columns ['id', 'sku', 'name', 'price', 'stock']",
        "downgraded to base: [('alembic_version',)]",
    ],
}


# Examples that also run on the in-memory adapter with --memory, printing the same lines.
BOTH_ADAPTERS = {
    "quickstart.py",
    "basic/06_sessions_and_pooling.py",
    "advanced/02_custom_types.py",
    "basic/03_crud.py",
    "intermediate/01_repositories.py",
    "intermediate/03_relationships.py",
    "intermediate/07_soft_delete.py",
    "intermediate/10_allocations_in_place.py",
}
# Examples that also run on a DuckDB file with --file (by default on an in-memory DuckDB).
ON_A_FILE_TOO = {"intermediate/10_allocations_in_place.py"}
# Examples that take arguments to run small in the suite.
ARGUMENTS = {"intermediate/06_bulk_operations.py": " --rows 2000"}
# Examples whose own test runs them (on every adapter they show).
OWN_TEST = {"intermediate/02_complex_queries.py"}
# Every example but a package's modules (a service's own test runs it) and private helpers.
EXAMPLE_FILES = sorted(
    str(path.relative_to(EXAMPLES))
    for path in EXAMPLES.rglob("*.py")
    if not path.name.startswith("_") and not (path.parent / "__init__.py").exists()
)
STATED = {name for name in EXAMPLE_FILES if stated_output(name)}
RUNS = (
    [
        name + ARGUMENTS.get(name, "")
        for name in sorted(set(EXPECTED) | STATED)
        if name not in OWN_TEST
    ]
    + [f"{name} --memory" for name in sorted(BOTH_ADAPTERS)]
    + [f"{name} --file" for name in sorted(ON_A_FILE_TOO)]
)


@pytest.mark.subprocess
@pytest.mark.parametrize("run", RUNS)
def test_example_prints_what_it_promises(run: str) -> None:
    example, *args = run.split()
    output = run_example(example, *args)
    if example not in EXPECTED or args == ARGUMENTS.get(example, "").split():
        assert_prints_in_order(output, stated_output(example))  # what its docstring says
    lines = output.splitlines()
    position = 0
    for expected in EXPECTED.get(example, []):
        matches = [i for i, line in enumerate(lines) if i >= position and expected in line]
        assert matches, f"{expected!r} missing (in order) from:\n{output}"
        position = matches[0] + 1


@pytest.mark.subprocess
@pytest.mark.parametrize("args", [(), ("--memory",)], ids=["duckdb", "memory"])
def test_the_soft_delete_example_keeps_emails_unique_among_live_rows(args: tuple[str, ...]) -> None:
    assert "a second live bob@example.com: DuplicateError" in run_example(
        "intermediate/07_soft_delete.py", *args
    )


@pytest.mark.subprocess
@pytest.mark.parametrize("args", [(), ("--memory",)], ids=["duckdb", "memory"])
def test_the_queries_example_prints_the_same_on_both_adapters_up_to_raw_sql(
    args: tuple[str, ...],
) -> None:
    # Run here, not in RUNS, whose --memory runs would repeat it: the lines it shares, then
    # raw SQL on DuckDB, and on memory the portable way it names instead.
    output = run_example("intermediate/02_complex_queries.py", *args).splitlines()
    shared = EXPECTED["intermediate/02_complex_queries.py"]
    assert output[: len(shared)] == shared
    if args:
        assert output[len(shared) :] == [
            "raw SQL: UnsupportedOperation, read with uow.query(ReadQuery(...))"
        ]
    else:
        assert output[len(shared) :] == [
            "raw SQL: [{'status': 'open', 'n': 4}, {'status': 'paid', 'n': 1}]",
            "refused: InvalidSpecification (a quoted string)",
        ]


@pytest.mark.subprocess
def test_the_relationships_example_leaves_no_orphan_rows_on_duckdb() -> None:
    assert "order lines left in the table: 0" in run_example("intermediate/03_relationships.py")


@pytest.mark.subprocess
def test_the_allocations_example_stores_each_set_as_one_json_array_on_duckdb() -> None:
    output = run_example("intermediate/10_allocations_in_place.py", "--file")
    assert "batch-1 in the table: a JSON array of 2 objects, ['order-3', 'order-4']" in output


def test_every_example_is_tested() -> None:
    tested = set(EXPECTED) | STATED | set(EXTRA_TESTED)
    assert set(EXAMPLE_FILES) <= tested, f"without a test: {sorted(set(EXAMPLE_FILES) - tested)}"


def test_every_example_states_what_it_prints() -> None:
    assert sorted(set(EXAMPLE_FILES) - STATED) == []


def test_a_stated_line_is_a_whole_line_with_dots_for_what_varies() -> None:
    assert_prints_in_order(
        "a\nstored in /tmp/x1/shop.duckdb\n  b\n", ["stored in .../shop.duckdb", "  b"]
    )
    with pytest.raises(AssertionError, match="missing"):
        assert_prints_in_order("a longer line\n", ["a longer"])
    with pytest.raises(AssertionError, match="missing"):
        assert_prints_in_order("b\na\n", ["a", "b"])


# Examples tested by their own modules (e.g. next to the adapter they show).
EXTRA_TESTED = {
    "basic/01_connection.py",
    # Needs a PostgreSQL server: tested below, skipped without one (failed under CI=true).
    "intermediate/11_postgresql.py",
    # The sample shop ships in the package (src/andamios/_shop/): tests/e2e/shop/ tests it.
}


# -- the PostgreSQL example: the same lines on memory, DuckDB and a PostgreSQL server -------------

POSTGRESQL_EXAMPLE = "intermediate/11_postgresql.py"
#: What it reports on every adapter, in order.
POSTGRESQL_EXAMPLE_LINES = [
    "  stored: POT-01 2, TEA-01 10, mug-01 6 in stock (v1)",
    "  order-1 reserves 3 TEA-01: 7 left (v2)",
    "  order-2 reserves 2 POT-01: 0 left (v2)",
    "  order-3 is refused: 1 POT-01 asked, 0 in stock",
    "  order-1 is cancelled: TEA-01 10 left (v3)",
    "  a stale write: ConcurrencyError; TEA-01 holds order-4 only (v4)",
    "  in stock: TEA-01 9, mug-01 6",
]


@pytest.mark.subprocess
def test_the_postgresql_example_prints_the_same_on_memory_duckdb_and_postgresql() -> None:
    require_postgresql()  # the example runs without a server, but then this test cannot pass
    output = run_example(POSTGRESQL_EXAMPLE)
    assert output.splitlines() == [
        "memory:",
        *POSTGRESQL_EXAMPLE_LINES,
        "duckdb: the same 7 lines",
        "postgresql: the same 7 lines",
    ]


@pytest.mark.subprocess
def test_the_postgresql_example_without_a_server_says_why_and_runs_the_rest() -> None:
    with socket.socket() as bound:  # bound but not listening: connecting is refused at once
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test"
        completed = subprocess.run(
            [sys.executable, str(EXAMPLES / POSTGRESQL_EXAMPLE)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
            env={**os.environ, "ANDAMIOS_TEST_POSTGRESQL_URL": url},
        )
    assert completed.returncode == 0, completed.stderr
    *ran, skipped = completed.stdout.splitlines()
    assert ran == ["memory:", *POSTGRESQL_EXAMPLE_LINES, "duckdb: the same 7 lines"]
    assert skipped.startswith(
        f"postgresql: skipped, cannot use PostgreSQL at 127.0.0.1:{port}, database 'test': "
    )
