"""The entry point of Andamios' pytest plugin (``pytest11``, named ``andamios``).

An installed Andamios hands this module to every pytest run on the machine, including runs of
projects that never asked for the plugin and lack what it needs (pytest-asyncio: the
``testing`` extra). So it imports pytest only: it declares the options (a project's
``andamios_*`` ini keys are known even without the extra), then loads the fixtures of
:mod:`andamios.testing.plugin` where they can run, and where they cannot says why in the run's
header, failing only a run that asked for Andamios' options.
"""

from __future__ import annotations

import importlib

import pytest

__all__ = [
    "ADAPTERS",
    "DEFAULT_ADAPTERS",
    "POSTGRESQL_VARIABLE",
    "pytest_addoption",
    "pytest_configure",
    "pytest_report_header",
]

ADAPTERS = ("memory", "duckdb", "postgresql")
"""The adapters ``--andamios-adapters`` may name."""

DEFAULT_ADAPTERS = "memory,duckdb"
"""The adapters every Andamios test runs on unless told."""

POSTGRESQL_VARIABLE = "ANDAMIOS_TEST_POSTGRESQL_URL"
"""The variable naming the PostgreSQL server of the ``postgresql`` adapter's tests."""

_INI = {
    "andamios_adapters": f"the adapters every test runs on (default {DEFAULT_ADAPTERS})",
    "andamios_unit_of_work": "package.module:Shape of the unit of work ([tool.andamios])",
    "andamios_mapping": "package.module:mapping of the SQL adapters ([tool.andamios])",
    "andamios_postgresql_url": (
        f"the PostgreSQL server of the postgresql adapter (or ${POSTGRESQL_VARIABLE})"
    ),
}

_OFF = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The command-line and ini options of the plugin."""
    group = parser.getgroup("andamios")
    group.addoption(
        "--andamios-adapters",
        default=None,
        help=f"comma-separated adapters every Andamios test runs on ({', '.join(ADAPTERS)}; "
        f"default {DEFAULT_ADAPTERS})",
    )
    group.addoption("--andamios-postgresql-url", default=None, help=_INI["andamios_postgresql_url"])
    for name, help_text in _INI.items():
        parser.addini(name, help_text, default=None)
    parser.addini("andamios_handlers", "module:function registering bus handlers", type="linelist")


def pytest_configure(config: pytest.Config) -> None:
    """Register the fixtures of :mod:`andamios.testing.plugin`, if its requirements are here."""
    try:
        fixtures = importlib.import_module("andamios.testing.plugin")
    except ModuleNotFoundError as missing:
        if config.getoption("--andamios-adapters"):
            raise pytest.UsageError(f"andamios: {missing}") from missing
        config.stash[_OFF] = str(missing)
        return
    config.pluginmanager.register(fixtures, "andamios.testing.plugin")


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say, at the top of the run, why Andamios' fixtures are not there."""
    if _OFF in config.stash:
        return f"andamios: the pytest plugin is off: {config.stash[_OFF]}"
    return None
