"""An outbox that keeps every notification: the notifications port for demos and tests.

A real shop would send e-mail here; the application cannot tell the difference.
"""

from __future__ import annotations

__all__ = ["Outbox"]


class Outbox:
    """Implements :class:`~andamios._shop.application.Notifications` by keeping the messages."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, to: str, message: str) -> None:
        """Keep ``message`` for ``to``."""
        self.sent.append((to, message))

    def to(self, recipient: str) -> list[str]:
        """The messages sent to ``recipient``, oldest first."""
        return [message for to, message in self.sent if to == recipient]
