"""The real ``andamios`` console script, in a subprocess, on real DuckDB files.

init -> revision --autogenerate -> upgrade -> change the mapping -> check fails -> revision ->
upgrade -> check passes -> downgrade to base -> upgrade again; the rows survive the column
addition. (Every command's exit codes and messages are tested in this process, in test_cli.py.)
"""

from __future__ import annotations

import os
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


def andamios(project: Project, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    assert ANDAMIOS is not None, "the andamios console script is not installed"
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES and not k.startswith("COV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["NO_COLOR"] = "1"
    done = subprocess.run(
        [ANDAMIOS, *args],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


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
