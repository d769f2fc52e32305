"""Which constraints a dialect creates: SQLAlchemy's conditional DDL, asked as DDL asks it.

A constraint may carry a condition (``constraint.ddl_if(dialect=..., callable_=...)``, kept in its
``_ddl_if``) that decides, per dialect, whether DDL writes it. The SQLAlchemy adapter sets one
on the foreign key of each child table (``Mapping.map(children=...)``): a database whose
dialect says so (DuckDB, ADR 0009) gets no such key. Migrations ask the same question, so that
they write, compare and reason about exactly the constraints the database has, whoever set the
condition, without knowing who did or why.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["created_on"]


def created_on(constraint: sa.Constraint, dialect: sa.Dialect) -> bool:
    """Whether ``CREATE TABLE`` on ``dialect`` writes ``constraint``."""
    # SQLAlchemy's own test, the one its DDL compiler applies to each constraint of a CREATE
    # TABLE (it has no public form). A compiler without a statement (Compiled takes None; the
    # DDL compiler's annotation does not say so) compiles nothing and carries the dialect.
    compiler = dialect.ddl_compiler(dialect, None)  # type: ignore[arg-type]
    return constraint._should_create_for_compiler(compiler)
