"""Adapters that fulfil the ports: ``memory``, ``sqlalchemy`` and ``duckdb``."""

from __future__ import annotations

__all__: list[str] = []
