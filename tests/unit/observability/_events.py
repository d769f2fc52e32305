"""Events as the ports tell them, for tests that feed the shipped hooks directly."""

from __future__ import annotations

from typing import Any

from andamios.ports import (
    Began,
    Committed,
    Ended,
    Operation,
    RollbackReason,
    RolledBack,
    Statement,
    UnitOfWork,
)

SHAPE = "ContractUnitOfWork"


def _base(uow: UnitOfWork, system: str) -> dict[str, Any]:
    return {"unit_of_work": uow, "system": system, "shape": SHAPE}


def began(uow: UnitOfWork, *, system: str = "duckdb") -> Began:
    """``async with uow:`` entered."""
    return Began(**_base(uow, system), read_only=False)


def statement(
    uow: UnitOfWork,
    sql: str,
    started_at: int = 0,
    operation: str | None = "find",
    *,
    rows: int | None = None,
    duration: float = 0.000_001,
    error: BaseException | None = None,
    system: str = "duckdb",
) -> Statement:
    """A statement a SQL adapter ran (redacted: no parameters)."""
    return Statement(
        **_base(uow, system),
        statement=sql,
        parameters=None,
        rows=rows,
        started_at=started_at,
        duration=duration,
        error=error,
        operation=operation,
    )


def operation(
    uow: UnitOfWork,
    kind: str,
    *,
    aggregate_type: type | None = None,
    rows: int | None = None,
    started_at: int = 0,
    duration: float = 0.0,
    error: BaseException | None = None,
    system: str = "duckdb",
) -> Operation:
    """A repository call, query or raw SQL call that ended."""
    return Operation(
        **_base(uow, system),
        kind=kind,
        aggregate_type=aggregate_type,
        rows=rows,
        started_at=started_at,
        duration=duration,
        error=error,
    )


def committed(uow: UnitOfWork, *, started_at: int = 0, duration: float = 0.0) -> Committed:
    """A commit that succeeded."""
    return Committed(**_base(uow, "duckdb"), started_at=started_at, duration=duration)


def rolled_back(
    uow: UnitOfWork,
    reason: RollbackReason = RollbackReason.REQUESTED,
    *,
    started_at: int = 0,
    duration: float = 0.0,
) -> RolledBack:
    """A transaction discarded, with its reason."""
    return RolledBack(
        **_base(uow, "duckdb"), reason=reason, error=None, started_at=started_at, duration=duration
    )


def ended(uow: UnitOfWork, *, duration: float = 0.0) -> Ended:
    """The block ended, without an error."""
    return Ended(**_base(uow, "duckdb"), duration=duration, error=None)
