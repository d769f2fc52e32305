"""Commands and queries: immutable, validated requests that enter the application layer.

Both are pydantic models, frozen and strict about unknown fields, so bad input is refused where
it enters (an HTTP body, a CLI argument, a queue message) and a handler only ever sees valid data::

    class SellProduct(Command[int]):        # handled by one handler, which returns an int
        sku: str = Field(min_length=1)
        quantity: int = Field(gt=0)

    SellProduct(sku="TEA-01", quantity=0)   # pydantic.ValidationError naming "quantity"

The type parameter is the handler's result; ``Command`` alone means ``Command[None]``. The
message bus checks, with mypy, that a handler registered for a message returns that type.
"""

from __future__ import annotations

from typing import Generic, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["Command", "Message", "MessageType", "Query"]

# The result type is declared covariant by hand, the pre-PEP 695 way: inferred variance would
# make it contravariant (the typing marker below takes it as a parameter), and then a
# Command[int] would not be a Command[object], so ``f"{await bus.handle(command)}"`` would fail
# to type-check. The marker's parameter position is what lets ``register`` pin a handler's result
# to exactly the message's result type.
_R_co = TypeVar("_R_co", covariant=True)
_CommandResult_co = TypeVar("_CommandResult_co", covariant=True, default=None)


class Message(BaseModel, Generic[_R_co]):  # noqa: UP046 - explicit variance, see above
    """The base of :class:`Command` and :class:`Query`: a frozen pydantic model.

    Unknown fields are refused (``extra="forbid"``), fields cannot be reassigned, and validation
    also runs when an existing instance is validated again (``revalidate_instances="always"``),
    which is how the bus re-checks every message it receives: an instance made with pydantic's
    unchecked ``model_construct`` cannot smuggle invalid data into a handler.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", revalidate_instances="always")

    @classmethod
    # mypy refuses a covariant type variable as a parameter; here that position is the point.
    def __andamios_result__(cls, result: _R_co, /) -> Self:  # type: ignore[misc]
        """Typing only, never called: ties the class to its handler's result type.

        :class:`MessageType` reads it so that mypy checks ``bus.register(Message, handler)``.
        """
        raise NotImplementedError


class Command(Message[_CommandResult_co]):
    """A request to change the system, handled by exactly one handler that commits its work.

    The type parameter is what the handler returns (``None`` when omitted). Send it with
    ``await bus.handle(command)``.
    """


class Query(Message[_R_co]):
    """A request to read, handled by exactly one handler that must not commit.

    The type parameter is what the handler returns. Send it with ``await bus.ask(query)``.
    """


class MessageType[M, R](Protocol):
    """A message class whose instances are ``M`` and whose handler returns ``R`` (typing only).

    Every :class:`Command` and :class:`Query` subclass is one; ``MessageBus.register`` takes it
    so that mypy matches the message, its handler's first parameter and its handler's result.
    """

    def __andamios_result__(self, result: R, /) -> M:
        """The typing-only marker of :class:`Message`."""
        ...
