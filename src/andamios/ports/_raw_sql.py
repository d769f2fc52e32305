"""Raw SQL with bound parameters only: the statement's text never carries a value.

``await uow.sql.rows("SELECT sku, sum(qty) AS qty FROM lines WHERE sku = :sku GROUP BY sku",
{"sku": sku})``. What an application could have formatted into the text is refused before it
reaches a database: a quoted string (``'...'``, ``$$...$$``, ``E'...'``), a number, ``TRUE`` or
``FALSE``, a comment, a second statement, and positional parameters (``?``, ``$1``). Every
``:name`` needs a value and every value a ``:name``. So ``f"... WHERE sku = '{sku}'"`` and
``f"... WHERE id = {id}"`` raise :class:`~andamios.domain.InvalidSpecification`, whatever the
value holds; values go in the parameters, and a count such as ``LIMIT :n`` too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from andamios.domain import InvalidSpecification
from andamios.ports._query_plan import row_factory
from andamios.ports._tracker import Tracker
from andamios.ports.errors import UnitOfWorkError

__all__ = ["RawSql", "check_statement"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DOLLAR_QUOTE = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_BOOLEANS = frozenset({"true", "false"})
#: What makes a statement that starts as a query write (``WITH ... DELETE``, ``SELECT ... INTO``,
#: ``EXPLAIN ANALYZE UPDATE``): a read-only unit of work runs none of them.
_WRITES = frozenset({"insert", "update", "delete", "merge", "into"})


def _refuse(statement: str, position: int, what: str) -> InvalidSpecification:
    shown = statement[max(0, position - 20) : position + 20].replace("\n", " ")
    msg = (
        f"raw SQL takes values as :named parameters only; found {what} near {shown!r}. "
        "Write ':name' in the statement and pass {'name': value}"
    )
    return InvalidSpecification(msg)


#: The first words of statements that return rows (DuckDB also starts a query with FROM).
_QUERIES = frozenset({"select", "with", "values", "table", "from", "show", "describe", "explain"})


def check_statement(  # noqa: PLR0912, PLR0915 - one branch per token kind
    statement: object, params: object, *, rows: bool, read_only: bool = False
) -> dict[str, object]:
    """The parameters of ``statement`` if its text holds no value and they fit; else refuse.

    ``rows``: whether the caller reads rows, so the statement must return some (a query, or a
    statement ``RETURNING`` them); otherwise it must return none. Databases disagree on what a
    statement without rows gives (DuckDB a row with the count, PostgreSQL nothing), so neither
    reading the rows of an ``UPDATE`` nor counting the rows of a ``SELECT`` is allowed.
    """
    if not isinstance(statement, str) or not statement.strip():
        msg = f"raw SQL takes one statement as a str, not {statement!r}"
        raise InvalidSpecification(msg)
    if params is None:
        params = {}
    if not isinstance(params, Mapping) or not all(isinstance(key, str) for key in params):
        msg = f"raw SQL parameters are a mapping of names to values, not {params!r}"
        raise InvalidSpecification(msg)
    used: set[str] = set()
    words: list[str] = []
    text = statement.rstrip().removesuffix(";")
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':  # a quoted identifier: skip it ("" inside is one quote)
            end = index + 1
            while True:
                end = text.find('"', end)
                if end == -1:
                    raise _refuse(statement, index, "an unterminated quoted identifier")
                if text.startswith('""', end):
                    end += 2
                    continue
                break
            index = end + 1
            continue
        if char == "'":
            raise _refuse(statement, index, "a quoted string")
        if text.startswith("--", index) or text.startswith("/*", index):
            raise _refuse(statement, index, "a comment")
        if char == ";":
            raise _refuse(statement, index, "a second statement")
        if char == "?":
            raise _refuse(statement, index, "a positional parameter '?'")
        if char == "$":
            if _DOLLAR_QUOTE.match(text, index):
                raise _refuse(statement, index, "a dollar-quoted string")
            raise _refuse(statement, index, "a positional parameter '$n'")
        if char == ":":
            if text.startswith("::", index):  # a PostgreSQL cast
                index += 2
                continue
            name = _IDENTIFIER.match(text, index + 1)
            if name is None:
                raise _refuse(statement, index, "a ':' that names no parameter")
            used.add(name.group())
            index = name.end()
            continue
        word = _IDENTIFIER.match(text, index)
        if word is not None:
            words.append(word.group().lower())
            if words[-1] in _BOOLEANS:
                raise _refuse(statement, index, f"the literal {word.group()}")
            index = word.end()
            continue
        number = _NUMBER.match(text, index)
        if number is not None:
            raise _refuse(statement, index, f"the number {number.group()}")
        index += 1
    returns_rows = bool(words) and (words[0] in _QUERIES or "returning" in words)
    if read_only and not (
        returns_rows and words[0] in _QUERIES and not _WRITES.intersection(words)
    ):
        msg = (
            "a read-only unit of work runs queries only: this statement may write; run it in a "
            "unit of work without read_only=True"
        )
        raise UnitOfWorkError(msg)
    if rows and not returns_rows:
        msg = "this statement returns no rows: run it with uow.sql.execute(), or add RETURNING"
        raise InvalidSpecification(msg)
    if not rows and returns_rows:
        msg = "this statement returns rows: read them with uow.sql.rows() or uow.sql.arrow()"
        raise InvalidSpecification(msg)
    missing = sorted(used - params.keys())
    if missing:
        msg = f"raw SQL names :{', :'.join(missing)} but no value is given for it"
        raise InvalidSpecification(msg)
    unused = sorted(params.keys() - used)
    if unused:
        msg = f"raw SQL parameters {', '.join(unused)} are not in the statement (as :name)"
        raise InvalidSpecification(msg)
    return dict(params)


class RawSql:
    """Raw SQL in one unit of work's transaction (``uow.sql``), values bound, never formatted.

    A failure is translated and ends the transaction like any other statement: the unit of work
    then refuses to commit. Statements that write bypass the repositories: aggregates the unit
    of work holds are not refreshed, and their versions are not checked.
    """

    def __init__(self, tracker: Tracker) -> None:
        self._tracker = tracker

    async def rows(
        self,
        statement: str,
        params: Mapping[str, object] | None = None,
        *,
        into: type | None = None,
    ) -> list[Any]:
        """The rows a ``SELECT`` (or ``... RETURNING``) gives, as dicts or ``into`` instances."""
        bound = self._checked(statement, params, rows=True)
        async with self._tracker.observe("sql.rows", None) as op:
            names, rows = await self._rows(statement, bound)
            op.rows = len(rows)
        make = row_factory(into, names)
        return [make(**dict(zip(names, row, strict=True))) for row in rows]

    async def execute(self, statement: str, params: Mapping[str, object] | None = None) -> int:
        """Run a statement that returns no rows (``UPDATE``, ``DELETE``, ``INSERT``); how many
        rows it changed."""
        bound = self._checked(statement, params, rows=False)
        async with self._tracker.observe("sql.execute", None) as op:
            op.rows = changed = await self._execute(statement, bound)
        return changed

    async def arrow(self, statement: str, params: Mapping[str, object] | None = None) -> Any:
        """The rows of a ``SELECT`` as a ``pyarrow.Table`` (``pip install 'andamios[bulk]'``)."""
        bound = self._checked(statement, params, rows=True)
        async with self._tracker.observe("sql.arrow", None) as op:
            table = await self._arrow(statement, bound)
            op.rows = table.num_rows
        return table

    def _checked(self, statement: object, params: object, *, rows: bool) -> dict[str, object]:
        self._tracker.ensure_active()
        return check_statement(statement, params, rows=rows, read_only=self._tracker.read_only)

    # -- what an adapter implements -------------------------------------------------------------

    async def _rows(
        self, statement: str, params: dict[str, object]
    ) -> tuple[tuple[str, ...], list[tuple[object, ...]]]:
        """The column names and rows of a statement."""
        raise NotImplementedError

    async def _execute(self, statement: str, params: dict[str, object]) -> int:
        """Run a statement; how many rows it changed."""
        raise NotImplementedError

    async def _arrow(self, statement: str, params: dict[str, object]) -> Any:
        """The rows of a statement as a ``pyarrow.Table``."""
        raise NotImplementedError
