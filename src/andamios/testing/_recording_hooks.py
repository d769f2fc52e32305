"""Hooks that remember every event: for testing what your code makes a unit of work do."""

from __future__ import annotations

from andamios.ports import (
    BeforeCommit,
    Began,
    Committed,
    Ended,
    Hooks,
    Operation,
    RolledBack,
    Statement,
    UnitOfWorkEvent,
)

__all__ = ["RecordingHooks"]


def _outline(event: UnitOfWorkEvent) -> tuple[object, ...]:
    match event:
        case Operation(kind=kind, aggregate_type=aggregate_type, rows=rows, error=error):
            name = None if aggregate_type is None else aggregate_type.__name__
            return ("operation", kind, name, rows, None if error is None else type(error).__name__)
        case RolledBack(reason=reason, error=error):
            return ("rolled_back", reason.value, None if error is None else type(error).__name__)
        case Ended(error=error):
            return ("ended", None if error is None else type(error).__name__)
        case Began(read_only=read_only):
            return ("began", read_only)
        case Committed():
            return ("committed",)
    return ("before_commit",)  # the one event left: outline() leaves statements out


class RecordingHooks(Hooks):
    """Every event of the units of work it is given to, in order (``events``).

    ``outline()`` says them without timings, SQL or objects, the same on every adapter::

        hooks = RecordingHooks()
        new_uow = InMemoryUnitOfWork.factory(Shop, hooks=[hooks])
        ...
        assert hooks.outline() == [("began", False), ("operation", "get", "Product", 1, None),
                                   ("before_commit",), ("committed",), ("ended", None)]
    """

    def __init__(self, *, statements: bool = False) -> None:
        #: Every event, statements included if asked for.
        self.events: list[UnitOfWorkEvent] = []
        self._statements = statements

    def began(self, event: Began) -> None:
        self.events.append(event)

    def operation(self, event: Operation) -> None:
        self.events.append(event)

    def statement(self, event: Statement) -> None:
        if self._statements:
            self.events.append(event)

    def before_commit(self, event: BeforeCommit) -> None:
        self.events.append(event)

    def committed(self, event: Committed) -> None:
        self.events.append(event)

    def rolled_back(self, event: RolledBack) -> None:
        self.events.append(event)

    def ended(self, event: Ended) -> None:
        self.events.append(event)

    def outline(self) -> list[tuple[object, ...]]:
        """The events so far, statements left out, as comparable tuples (see the class)."""
        return [_outline(event) for event in self.events if not isinstance(event, Statement)]

    def statements(self) -> list[Statement]:
        """The statements recorded (with ``statements=True``)."""
        return [event for event in self.events if isinstance(event, Statement)]

    def clear(self) -> None:
        """Forget every event so far."""
        self.events.clear()
