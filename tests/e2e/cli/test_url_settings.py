"""Database settings in ``[tool.andamios]``'s URL: the pool's pass, a loosened security is refused.

The command line reads ``database.url`` (and ``database.schema``) from ``pyproject.toml``; the
pool's settings and DuckDB's options travel in the URL's query, read by the database's settings
as everywhere else (ADR 0012, sections 3 and 5).
"""

from __future__ import annotations

from tests.integration.migrations._project import Project
from typer.testing import CliRunner

from andamios.cli import app

NOTES = """\
notes = sa.Table(
    "notes",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("text", sa.String, nullable=False),
)
"""


def _url_in_pyproject(project: Project, query: str) -> None:
    pyproject = project.root / "pyproject.toml"
    text = pyproject.read_text()
    plain = 'database.url = "duckdb+async:///app.duckdb"'
    assert plain in text
    pyproject.write_text(
        text.replace(plain, f'database.url = "duckdb+async:///app.duckdb?{query}"')
    )


def test_pool_options_in_the_url_reach_the_database(project: Project, runner: CliRunner) -> None:
    _url_in_pyproject(project, "pool_size=1&pool_timeout=5&threads=1")
    project.write_mapping(NOTES)
    for args in (
        ["db", "init"],
        ["db", "revision", "-m", "create notes", "--autogenerate", "--rev-id", "n1"],
        ["db", "upgrade"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (result.output, result.exception)
    assert project.tables() == ["alembic_version", "notes"]


def test_a_url_that_loosens_security_is_refused(project: Project, runner: CliRunner) -> None:
    _url_in_pyproject(project, "enable_external_access=true")
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "the URL option enable_external_access=true would loosen external_access=False" in (
        result.stderr
    )
    assert not project.database.exists()
