"""The sample shop keeps the layer rules Andamios keeps: its domain and application import no
database, no adapter and no container (import-linter checks the shop's place among Andamios'
layers, not the layers inside it)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import andamios._shop

SHOP = Path(andamios._shop.__file__).parent

NEVER = (
    "sqlalchemy",
    "duckdb",
    "duckdb_engine",
    "alembic",
    "pyarrow",
    "dependency_injector",
    "andamios.adapters",
    "andamios.containers",
    "andamios.bootstrap",
    "andamios._shop.adapters",
    "andamios._shop.bootstrap",
)
# The domain may import the standard library and these only.
DOMAIN_MAY = ("andamios.domain", "andamios._shop.domain")


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any level (also under ``if TYPE_CHECKING:``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: use absolute imports"
            found.add(str(node.module))
    return found


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def files(layer: str) -> list[Path]:
    return sorted((SHOP / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", ["domain", "application"])
def test_domain_and_application_import_no_database_adapter_or_container(layer: str) -> None:
    assert files(layer)
    for path in files(layer):
        forbidden = sorted(m for m in imports(path) if within(m, NEVER))
        assert not forbidden, f"{path.relative_to(SHOP)} imports {forbidden}"


def test_the_domain_imports_only_the_standard_library_and_domains() -> None:
    for path in files("domain"):
        for module in imports(path):
            top = module.partition(".")[0]
            assert (
                top in sys.stdlib_module_names or top == "__future__" or within(module, DOMAIN_MAY)
            ), f"{path.relative_to(SHOP)} imports {module}"


def test_only_the_mapping_imports_sqlalchemy() -> None:
    importers = sorted(
        str(path.relative_to(SHOP))
        for path in SHOP.rglob("*.py")
        if any(within(m, ("sqlalchemy",)) for m in imports(path))
    )
    assert importers == ["adapters/orm.py"]


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sqlalchemy as sa\nfrom andamios.containers import PersistenceContainer\n"
    )
    assert sorted(m for m in imports(bad) if within(m, NEVER)) == [
        "andamios.containers",
        "sqlalchemy",
    ]
