"""Andamios: async-first persistence for domain-driven Python applications.

Pure aggregates in :mod:`andamios.domain`, repository and unit-of-work ports in
:mod:`andamios.ports`, and adapters (:mod:`andamios.adapters.memory`,
:mod:`andamios.adapters.sqlalchemy`, :mod:`andamios.adapters.duckdb`) that fulfil them.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
