"""How PostgreSQL compiles what the SQLAlchemy adapter asks of every dialect
(:mod:`andamios.adapters.sql_spi`). Importing this module registers the compilers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from andamios.adapters.sql_spi import CodePointText, JsonText

__all__: list[str] = []


@compiles(JsonText, "postgresql")
def _json_text(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    """A JSON value object's leaf as text: ``column #>> '{a,b}'`` (NULL where it is missing)."""
    column = compiler.process(element.column, **kw)
    path = compiler.render_literal_value("{" + ",".join(element.path) + "}", sa.String())
    return f"({column} #>> {path})"


@compiles(CodePointText, "postgresql")
def _code_point_text(element: CodePointText, compiler: SQLCompiler, **kw: Any) -> str:
    """Text ordered by code point whatever the database's collation: ``COLLATE "C"``.

    A database created with ``en_US.UTF-8`` sorts ``"a" < "B"``; Python, the in-memory adapter
    and DuckDB sort ``"B" < "a"``. UTF-8 bytes in ``"C"`` order are code points in order.
    """
    return f'{compiler.process(element.column, **kw)} COLLATE "C"'
