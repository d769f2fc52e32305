"""The errors of the application layer: a misused message bus.

They extend the tree drawn in :mod:`andamios.ports.errors`::

    AndamiosError
     └── ApplicationError           the message bus was asked for something it cannot do
          ├── HandlerNotFound       no handler is registered for a command or query (LookupError)
          └── DuplicateHandler      a second handler for one command or query (ValueError)

Invalid message *data* is not an Andamios error: commands and queries are pydantic models, so it
is pydantic's ``ValidationError`` (a ``ValueError`` naming every wrong field), raised when the
message is built and again by the bus before any unit of work starts. Passing the wrong *kind* of
object (a query to ``handle``, a plain class to ``register``) is a ``TypeError``, as in the ports.
"""

from __future__ import annotations

from andamios.domain import AndamiosError

__all__ = ["ApplicationError", "DuplicateHandler", "HandlerNotFound"]


class ApplicationError(AndamiosError):
    """The message bus cannot do what it was asked; the root of the application layer's errors."""


class HandlerNotFound(ApplicationError, LookupError):
    """No handler is registered for this command or query type.

    ``message_type`` is the class that was sent.
    """

    def __init__(self, message_type: type) -> None:
        self.message_type = message_type
        name = message_type.__name__
        super().__init__(
            f"no handler is registered for {name}; register one with bus.register({name}, handler)"
        )


class DuplicateHandler(ApplicationError, ValueError):
    """A command or query already has its handler, or an event already has this subscription.

    A command or query has exactly one handler, so a second registration is refused rather than
    silently replacing the first.
    """
