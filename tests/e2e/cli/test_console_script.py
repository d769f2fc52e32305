"""The real ``andamios`` console script, in a subprocess, on real DuckDB files.

init -> revision --autogenerate -> upgrade -> change the mapping -> check fails -> revision ->
upgrade -> check passes -> downgrade to base -> upgrade again; the rows survive the column
addition; a NOT NULL column without a default stops the next upgrade, saying why. Then each way
the command once misled (issue 11), for real. Every run exits clean: no DuckDB object is left
alive at exit ("nanobind: leaked ... instances"). (Every command's exit codes and messages are
tested in this process, in test_cli.py.)
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.cli.conftest import VARIABLES
from tests.integration.migrations._project import Project

ANDAMIOS = shutil.which("andamios", path=str(Path(sys.executable).parent))

PRODUCTS = """\
products = sa.Table(
    "products",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("sku", sa.String, nullable=False, unique=True),
    sa.Column("price", sa.Numeric(12, 2), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
"""
WITH_STOCK = PRODUCTS.replace(
    '    sa.Column("version"',
    '    sa.Column("stock", sa.Integer, nullable=False, server_default="0"),\n'
    '    sa.Column("version"',
)
# A NOT NULL column without a server_default, added to a table with rows.
WITH_WEIGHT = WITH_STOCK.replace(
    '    sa.Column("version"',
    '    sa.Column("weight", sa.Integer, nullable=False),\n    sa.Column("version"',
)
# An integer primary key without a default: SERIAL, which DuckDB does not have.
TAGS = """\
tags = sa.Table("tags", mapping.metadata, sa.Column("id", sa.Integer, primary_key=True))
"""


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES and not k.startswith("COV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["NO_COLOR"] = "1"
    return env


def _start(project: Project, *args: str) -> subprocess.Popen[str]:
    assert ANDAMIOS is not None, "the andamios console script is not installed"
    return subprocess.Popen(
        [ANDAMIOS, *args],
        cwd=project.root,
        env=_environment(),
        stdin=subprocess.DEVNULL,  # never a terminal, whoever runs the tests
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(
    process: subprocess.Popen[str], code: int, args: tuple[str, ...]
) -> subprocess.CompletedProcess[str]:
    stdout, stderr = process.communicate(timeout=120)
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    assert done.returncode == code, (args, done.stdout + done.stderr)
    assert "Traceback" not in done.stderr
    assert "nanobind" not in done.stderr, done.stderr  # a DuckDB object alive at exit
    return done


def andamios(project: Project, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    """Run the console script in ``project``; check its exit code and that it exits clean."""
    return _finish(_start(project, *args), code, args)


def andamios_at_once(
    project: Project, *runs: tuple[tuple[str, ...], int]
) -> list[subprocess.CompletedProcess[str]]:
    """Run independent commands side by side (each ``(args, code)``), as :func:`andamios`."""
    started = [(_start(project, *args), code, args) for args, code in runs]
    return [_finish(process, code, args) for process, code, args in started]


@pytest.mark.subprocess
@pytest.mark.slow
def test_the_migration_workflow(tmp_path: Path) -> None:
    project = Project(tmp_path / "shop")
    project.write_mapping(PRODUCTS)

    andamios(project, "db", "init")
    andamios(project, "db", "revision", "-m", "create products", "--autogenerate")
    andamios(project, "db", "upgrade")
    project.query(
        "INSERT INTO products VALUES (uuid(), 'TEA-01', 4.50, 1), (uuid(), 'POT-01', 32, 1)"
    )

    project.write_mapping(WITH_STOCK)
    failed = andamios(project, "db", "check", code=1)
    assert "+ column products.stock INTEGER NOT NULL" in failed.stderr

    andamios(project, "db", "revision", "-m", "add stock", "--autogenerate")
    assert "op.add_column('products'" in project.revision_file("add stock").read_text()
    upgraded = andamios(project, "db", "upgrade")
    assert "Running upgrade" in upgraded.stderr
    assert "matches the mapping" in andamios(project, "db", "check").stdout
    assert project.query("SELECT sku, price, stock FROM products ORDER BY sku") == [
        ("POT-01", 32, 0),
        ("TEA-01", 4.5, 0),
    ]

    andamios(project, "db", "downgrade", "base")
    assert project.tables() == ["alembic_version"]
    andamios(project, "db", "upgrade")
    assert project.columns("products") == ["id", "sku", "price", "version", "stock"]
    heads = [path.name.split("_")[0] for path in project.versions.glob("*_add_stock.py")]
    assert project.query("SELECT version_num FROM alembic_version") == [(heads[0],)]

    # A NOT NULL column without a server_default, on a table with rows: the revision stops.
    project.query("INSERT INTO products VALUES (uuid(), 'CUP-01', 6, 1, 12)")
    project.write_mapping(WITH_WEIGHT)
    created = andamios(project, "db", "revision", "-m", "add weight", "--autogenerate")
    assert "warning: products.weight: NOT NULL without a server_default" in created.stderr
    assert "raise MigrationError(" in project.revision_file("add weight").read_text()
    stopped = andamios(project, "db", "upgrade", code=1)
    assert stopped.stderr.endswith(
        "error: products.weight is NOT NULL without a server_default: edit this revision\n"
    )
    assert project.query("SELECT sku, stock FROM products") == [("CUP-01", 12)]
    assert "weight" not in project.columns("products")


@pytest.mark.subprocess
@pytest.mark.slow
def test_the_command_never_misleads(tmp_path: Path) -> None:
    project = Project(tmp_path / "shop")
    project.write_mapping(TAGS)
    andamios(project, "db", "init")
    damaged = tmp_path / "damaged.duckdb"
    damaged.write_bytes(random.Random(7).randbytes(64 * 1024))  # not a database
    memory = ("--database-url", "duckdb+async:///:memory:")
    wrong, missing, in_memory, reset, corrupt = andamios_at_once(
        project,
        (("db", "upgrade", "--wrong"), 2),
        (("db", "current"), 1),
        ((*memory, "db", "upgrade"), 2),
        (("db", "reset"), 2),
        (("--database-url", f"duckdb+async:///{damaged}", "db", "current"), 1),
    )
    assert "No such option: --wrong" in wrong.stderr
    assert "Can't locate revision" not in wrong.stderr
    assert missing.stderr == (
        f"error: the database {project.database} does not exist (andamios db upgrade creates "
        "it); check database.url if it should\n"
    )
    assert "is in memory: it lives only while 'andamios db upgrade' runs" in in_memory.stderr
    assert "asks first, on a terminal: this input is not one; pass --yes" in reset.stderr
    assert "Aborted" not in reset.stderr
    assert corrupt.stderr.startswith("error: ")
    assert str(damaged) in corrupt.stderr
    assert not project.database.exists()

    # An integer key DuckDB cannot create is refused when the revision is written, not later.
    serial = andamios(project, "db", "revision", "-m", "tags", "--autogenerate", code=1)
    assert "column tags.id is an integer primary key without a default" in serial.stderr
    assert "DuckDB has no SERIAL" in serial.stderr
    assert list(project.versions.glob("*.py")) == []
    nothing = andamios(project, "db", "downgrade", "-1", code=1)
    assert nothing.stderr == (
        "error: nothing to downgrade: the database is at base (no revision applied)\n"
    )
