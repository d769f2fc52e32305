"""The product after a plain install: the built wheel alone, in a fresh venv, from an empty folder.

One venv for the module: ``uv build --wheel`` of this checkout, ``uv venv`` outside it, ``uv pip
install <wheel>``. Then the console script runs from a temporary folder that is not the checkout
(and from one holding decoy ``examples/`` and ``benchmarks/`` packages, which must never run):
``andamios demo``, ``andamios info``, the ``andamios db`` workflow on a DuckDB file named by an
``ANDAMIOS_*`` variable or a flag, and ``andamios bench --quick``. The base install has no
pyarrow: ``andamios bench`` runs, skipping the rows of the bulk path with one line naming the
extra that installs it; the test installs that extra and runs the suite again, every row of it.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAPPING = "andamios._shop.adapters.orm:mapping"
DECOY = "a module of the current folder ran"

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]


@dataclass
class Installed:
    """A venv holding the built wheel, and an empty folder outside the checkout."""

    wheel: Path
    venv: Path
    folder: Path
    env: dict[str, str]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def andamios(
        self, *args: str, code: int = 0, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the venv's ``andamios`` console script; check its exit code and clean stderr."""
        done = subprocess.run(
            [str(self.venv / "bin" / "andamios"), *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=cwd or self.folder,
            env={**self.env, **(env or {})},
        )
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        assert DECOY not in done.stdout + done.stderr
        return done


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")  # `uv run` sets UV to itself
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("uv is not on PATH; CI must test the installed product", pytrace=False)
        pytest.skip("uv is not on PATH")
    return found


def _run(*args: str | Path, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=cwd,
        env=env,
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    uv = _uv()
    base = tmp_path_factory.mktemp("install")
    assert not base.is_relative_to(ROOT)
    # Nothing of this checkout's environment: no venv, no ANDAMIOS_* setting, no PYTHONPATH.
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ANDAMIOS_", "VIRTUAL_ENV", "PYTHON", "UV_PROJECT", "COV_"))
        and name not in {"COVERAGE_PROCESS_START", "CONDA_PREFIX"}
    }
    env["UV_NO_PROGRESS"] = "1"
    # This interpreter builds and runs it: uv never looks for (or downloads) another one.
    build = ("build", "--wheel", "--python", sys.executable, "--out-dir", base / "dist", ROOT)
    _run(uv, *build, env=env, cwd=base)
    (wheel,) = (base / "dist").glob("andamios-*.whl")
    venv = base / "venv"
    _run(uv, "venv", "--quiet", "--python", sys.executable, venv, env=env, cwd=base)
    _run(
        uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        venv / "bin" / "python",
        wheel,
        env=env,
        cwd=base,
    )
    folder = base / "empty"
    folder.mkdir()
    return Installed(wheel, venv, folder, env)


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    where = subprocess.run(
        [str(installed.python), "-c", "import andamios, andamios._shop; print(andamios.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed.folder,
        env=installed.env,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed.venv)
    assert installed.andamios("--version").stdout.startswith("andamios ")


def test_the_demo_runs_from_an_empty_folder(installed: Installed) -> None:
    shown = installed.andamios("demo").stdout
    assert "1. The schema, made by migrations" in shown
    assert "2 tables (orders, products)" in shown
    assert "check: the database matches the mapping" in shown
    assert "order of bob: rejected, not enough POT-01: 1 left, 2 wanted" in shown
    assert "stored: 2 products, 3 orders" in shown
    assert "rows: alembic_version 1, orders 3, products 2" in shown
    assert list(installed.folder.iterdir()) == []  # a temporary database, nothing left here


def test_info_shows_the_installed_stack_and_where_each_setting_came_from(
    installed: Installed,
) -> None:
    shown = installed.andamios("info", env={"ANDAMIOS_MAPPING": MAPPING}).stdout
    assert shown.startswith("Andamios ")
    for name in ("Python", "DuckDB", "SQLAlchemy", "Alembic", "duckdb-engine"):
        assert re.search(rf"^  {re.escape(name)} +\d", shown, re.MULTILINE), name
    assert re.search(rf"^  project +{re.escape(str(installed.folder))}$", shown, re.MULTILINE)
    assert re.search(r"^  pyproject +\(none found\)$", shown, re.MULTILINE)
    assert re.search(rf"^  mapping +{MAPPING}  \[from ANDAMIOS_MAPPING\]$", shown, re.MULTILINE)


def test_the_db_workflow_on_the_shipped_shop(installed: Installed, tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    env = {"ANDAMIOS_DATABASE__URL": "duckdb+async:///app.duckdb", "ANDAMIOS_MAPPING": MAPPING}
    assert "Created " in installed.andamios("db", "init", cwd=project, env=env).stdout
    made = installed.andamios(
        "db", "revision", "-m", "create the shop", "--autogenerate", "--rev-id", "s1",
        cwd=project, env=env,
    )  # fmt: skip
    assert "Detected added table 'orders'" in made.stderr
    assert (project / "migrations" / "versions" / "s1_create_the_shop.py").is_file()
    installed.andamios("db", "upgrade", cwd=project, env=env)
    assert (project / "app.duckdb").is_file()  # the relative URL, in the project's folder
    assert installed.andamios("db", "current", cwd=project, env=env).stdout == "s1 (head)\n"
    checked = installed.andamios("db", "check", cwd=project, env=env).stdout
    assert "OK: the database is at s1 and matches the mapping" in checked
    # The same database by flags alone.
    url = f"duckdb+async:///{project / 'app.duckdb'}"
    flags = ("--database-url", url, "--mapping", MAPPING, "--migrations", "migrations")
    assert installed.andamios(*flags, "db", "heads", cwd=project).stdout == "s1 (head)\n"
    assert installed.andamios(*flags, "db", "history", cwd=project).stdout.strip()


SKIPPED_WITHOUT_PYARROW = [
    "add_many + commit, 1,000",
    "add_many + commit, 5,000",
    "bulk update of 1,000 loaded + commit",
    "query_arrow: 20,000 rows (Arrow)",
]
RUN_WITHOUT_PYARROW = [
    "get-by-id (open unit of work)",
    "find: filter + order + limit 20",
    "count with a filter",
    "stream 5,000 aggregates",
    "stream 5,000: peak memory",
    "empty unit of work (enter/exit)",
    "query: group-by + sum over 20,000 rows",
    "query: join 5,000 lines x 500 products",
    "count: lines.any() over 5,000 aggregates",
    "find: lines.any() over 5,000 aggregates",
    "get by id, own unit of work: no-op hooks",
    "get by id, open unit of work: no-op hooks",
    "get by id, own unit of work: Metrics",
    "get by id, open unit of work: Metrics",
    "RSS: import + open + one get",
]
#: Left out of the plain install and of the bulk one: the OpenTelemetry SDK is neither's.
SKIPPED_WITHOUT_SDK = [
    "get by id, own unit of work: OpenTelemetry hooks",
    "get by id, open unit of work: OpenTelemetry hooks",
]


def _rows(shown: str) -> list[str]:
    """The operations of the DuckDB table, in order."""
    table = shown.split("Andamios benchmarks (quick: 1,000 / 5,000 rows)", 1)[1]
    lines = table.splitlines()[3:]  # the title's end, the header, the rule
    rows = itertools.takewhile(lambda line: line.strip() and not line.startswith("  note, "), lines)
    return [line.split("  ")[0] for line in rows]


def test_bench_quick_runs_on_the_plain_install_then_with_the_extra_it_names(
    installed: Installed, tmp_path: Path
) -> None:
    # A folder whose own benchmarks/ and examples/ packages must never be imported.
    decoys = tmp_path / "decoys"
    for package in ("benchmarks", "examples", "examples/shop"):
        (decoys / package).mkdir(parents=True)
        (decoys / package / "__init__.py").write_text(f"raise SystemExit({DECOY!r})\n")
    (decoys / "benchmarks" / "run.py").write_text(f"raise SystemExit({DECOY!r})\n")
    report = tmp_path / "bench.json"
    args = ("bench", "--quick", "--json", str(report))
    # The plain install has no pyarrow: the suite runs, and skips the rows of the bulk path with
    # one line naming them and the extra that installs it.
    plain = installed.andamios(*args, cwd=decoys)
    shown = plain.stdout
    assert plain.stderr == ""
    skipped, untraced = [line for line in shown.splitlines() if line.startswith("skipped, ")]
    assert untraced.startswith("skipped, opentelemetry-sdk is not installed")
    assert all(name in untraced for name in SKIPPED_WITHOUT_SDK)
    assert skipped.startswith("skipped, pyarrow is not installed (pip install 'andamios[")
    extras = re.findall(r"pip install 'andamios\[([a-z0-9_-]+)\]'", skipped)
    assert extras == ["bulk"]
    assert all(name in skipped for name in SKIPPED_WITHOUT_PYARROW)
    assert "[1/5] reads, empty unit of work" in shown
    assert "bulk inserts" not in shown
    assert _rows(shown) == RUN_WITHOUT_PYARROW
    assert "PostgreSQL (ratio to raw asyncpg)" in shown  # run, or skipped saying why
    assert f"written {report}" in shown
    written = json.loads(report.read_text())
    assert written["crashed"] == []
    skipped_rows = [entry["operation"] for entry in written["skipped"]]
    assert skipped_rows == SKIPPED_WITHOUT_PYARROW + SKIPPED_WITHOUT_SDK
    assert [result["operation"] for result in written["results"]] == RUN_WITHOUT_PYARROW
    # With the extra it names, every row runs.
    _run(
        _uv(), "pip", "install", "--quiet", "--python", installed.python,
        f"{installed.wheel}[{','.join(extras)}]", env=installed.env, cwd=tmp_path,
    )  # fmt: skip
    shown = installed.andamios(*args, cwd=decoys).stdout
    assert "[1/6] bulk inserts" in shown
    assert "skipped, pyarrow" not in shown
    rows = _rows(shown)
    assert rows[:2] == SKIPPED_WITHOUT_PYARROW[:2]
    assert SKIPPED_WITHOUT_PYARROW[2] in rows
    assert set(RUN_WITHOUT_PYARROW) < set(rows)
    written = json.loads(report.read_text())
    assert written["crashed"] == []
    assert [entry["operation"] for entry in written["skipped"]] == SKIPPED_WITHOUT_SDK
    assert sorted(path.name for path in decoys.iterdir()) == ["benchmarks", "examples"]
