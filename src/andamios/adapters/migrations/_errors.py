"""The errors of the migrations adapter."""

from __future__ import annotations

from andamios.ports.errors import AndamiosError

__all__ = ["MigrationError", "UnsupportedMigration"]


class MigrationError(AndamiosError):
    """A migration, or the migration environment, cannot run as configured."""


class UnsupportedMigration(MigrationError):
    """DuckDB cannot make this schema change (in place, or by rebuilding the table).

    Raised before any statement of the change runs; the migration's transaction is rolled back,
    so the database stays at the revision it started from.
    """
