"""The slow-operation log: one log line per operation, statement or commit over a threshold."""

from __future__ import annotations

import logging
import math

from andamios.ports import Committed, Hooks, Operation, Statement

__all__ = ["SlowOperationLog"]

#: How much of a statement's SQL a log line quotes.
_SQL_CHARS = 200


def _rows(rows: int | None) -> str:
    if rows is None:
        return ""
    return f", {rows} row" if rows == 1 else f", {rows} rows"


def _failure(error: BaseException | None) -> str:
    return "" if error is None else f", failed with {type(error).__name__}"


def _sql(statement: str) -> str:
    text = " ".join(statement.split())  # one line, whatever the SQL's layout
    return text if len(text) <= _SQL_CHARS else f"{text[: _SQL_CHARS - 1]}…"


class SlowOperationLog(Hooks):
    """Logs every operation, SQL statement and commit that took ``threshold`` seconds or more.

    One line each, at ``level`` (WARNING) on ``logger`` (``andamios.slow``), naming what was
    slow, how long it took in milliseconds, the rows, and the unit of work's shape and system::

        slow find of Product: 182.4 ms, 120 rows (Shop on duckdb)
        slow statement in find: 180.9 ms (Shop on duckdb): SELECT products.sku, ... WHERE ...
        slow commit: 251.0 ms (Shop on duckdb)

    A statement's SQL is the redacted text the hooks receive (string literals replaced by
    ``?``; bound parameters are never logged), on one line, cut at 200 characters. Each record
    carries the event as ``record.andamios_event`` (``extra=``), for handlers that format or
    ship it themselves. ``threshold=0`` logs everything, which is a way to watch a test.
    """

    def __init__(
        self,
        threshold: float = 0.1,
        *,
        logger: logging.Logger | None = None,
        level: int = logging.WARNING,
    ) -> None:
        candidate: object = threshold
        if (
            isinstance(candidate, bool)
            or not isinstance(candidate, int | float)
            or math.isnan(candidate)
            or candidate < 0
        ):
            msg = (
                "threshold is the duration in seconds from which an operation is logged, a "
                f"number of 0 or more (0.1 for 100 ms); got {threshold!r}"
            )
            raise ValueError(msg)
        #: Seconds from which an operation, statement or commit is logged.
        self.threshold = float(threshold)
        #: Where the lines go.
        self.logger = logger if logger is not None else logging.getLogger("andamios.slow")
        #: The level of the lines.
        self.level = level

    def _slow(self, duration: float) -> bool:
        return duration >= self.threshold and self.logger.isEnabledFor(self.level)

    def operation(self, event: Operation) -> None:
        """Log the operation if it was slow."""
        if not self._slow(event.duration):
            return
        target = "" if event.aggregate_type is None else f" of {event.aggregate_type.__name__}"
        self.logger.log(
            self.level,
            "slow %s%s: %.1f ms%s%s (%s on %s)",
            event.kind,
            target,
            event.duration * 1000,
            _rows(event.rows),
            _failure(event.error),
            event.shape,
            event.system,
            extra={"andamios_event": event},
        )

    def statement(self, event: Statement) -> None:
        """Log the statement if it was slow."""
        if not self._slow(event.duration):
            return
        context = "" if event.operation is None else f" in {event.operation}"
        self.logger.log(
            self.level,
            "slow statement%s: %.1f ms%s%s (%s on %s): %s",
            context,
            event.duration * 1000,
            _rows(event.rows),
            _failure(event.error),
            event.shape,
            event.system,
            _sql(event.statement),
            extra={"andamios_event": event},
        )

    def committed(self, event: Committed) -> None:
        """Log the commit if it was slow."""
        if not self._slow(event.duration):
            return
        self.logger.log(
            self.level,
            "slow commit: %.1f ms (%s on %s)",
            event.duration * 1000,
            event.shape,
            event.system,
            extra={"andamios_event": event},
        )
