"""Andamios benchmarks: each one runs beside raw duckdb and plain SQLAlchemy in one process."""
