"""Domain events: compared by what happened, and turned into JSON-safe dicts for publishing.

An event's metadata (its ``event_id`` and ``occurred_at``) is readable but takes no part in
equality or hashing, so a test can write ``assert events == [OutOfStock(sku="X")]``; compare
``event_id`` explicitly where "the very same event" matters (deduplicating a delivery).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from andamios.domain._ids import uuid7

__all__ = ["DomainEvent"]

type JsonValue = bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None
"""What :meth:`DomainEvent.to_dict` produces: values :func:`json.dumps` takes as they are."""

_METADATA = frozenset({"event_id", "occurred_at"})


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Something that happened in the domain: immutable, equal to another by its payload.

    Declare events as frozen keyword-only dataclasses::

        @dataclass(frozen=True, kw_only=True)
        class OutOfStock(DomainEvent):
            sku: str

    Each event gets its own ``event_id`` (a UUIDv7) and ``occurred_at`` (aware, UTC); both are
    metadata, left out of ``==`` and ``hash()``: ``OutOfStock(sku="X") == OutOfStock(sku="X")``.
    """

    event_id: UUID = field(default_factory=uuid7, compare=False)
    occurred_at: datetime = field(default_factory=_utc_now, compare=False)

    event_name: ClassVar[str] = "DomainEvent"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.event_name = cls.__name__

    def to_dict(self) -> dict[str, JsonValue]:
        """The event as plain JSON types, for a message broker or a log: ``json.dumps`` takes it.

        ::

            {"type": "OutOfStock", "event_id": "0190...", "occurred_at": "2026-...+00:00",
             "data": {"sku": "X"}}

        ``type`` is :attr:`event_name`, the metadata sits apart from the payload (``data``, the
        event's own fields in declaration order), and values become JSON as follows: ``UUID``
        and ``Decimal`` a string (``str()``: no precision lost); ``datetime``, ``date`` and
        ``time`` ISO 8601 (an aware value keeps its offset, a naive one stays naive); an
        ``Enum`` its value; a dataclass (a value object) a dict of its fields; a list, tuple
        or set a list (a set sorted, so equal events give equal dicts); a mapping with string
        keys a dict. Anything else raises :class:`TypeError` naming the field (``a NaN`` or
        infinite float: :class:`ValueError`, JSON has no such number).

        It is a method rather than a free function so that an event holding a type this cannot
        convert (a ``timedelta``, bytes) overrides it with a shape of its own, keeping the four
        keys, and every publisher still calls ``event.to_dict()`` (better still: hold the payload
        in the types above, an event being a message).
        """
        name = type(self).__name__
        data: dict[str, JsonValue] = {
            item.name: _json(getattr(self, item.name), f"{name}.{item.name}")
            for item in dataclasses.fields(self)
            if item.name not in _METADATA
        }
        return {
            "type": self.event_name,
            "event_id": str(self.event_id),
            "occurred_at": self.occurred_at.isoformat(),
            "data": data,
        }


def _json(value: object, where: str) -> JsonValue:  # noqa: PLR0911 - one return per kind
    """``value`` as plain JSON types; ``where`` names it in errors (``Event.field[0].x``)."""
    if isinstance(value, enum.Enum):  # before str and int: StrEnum and IntEnum are both
        return _json(value.value, where)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"{where} is {value!r}, which JSON cannot hold: use None or a Decimal"
            raise ValueError(msg)
        return value
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: _json(getattr(value, item.name), f"{where}.{item.name}")
            for item in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return _mapping(value, where)
    if isinstance(value, list | tuple):
        return [_json(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [_json(item, f"{where}[*]") for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    msg = (
        f"{where} is a {type(value).__name__}, which to_dict() cannot turn into JSON: hold a "
        "str, number, bool, None, UUID, Decimal, date/time, Enum, dataclass or collection of "
        "them, or override to_dict() on the event"
    )
    raise TypeError(msg)


def _mapping(value: Mapping[object, object], where: str) -> dict[str, JsonValue]:
    result: dict[str, JsonValue] = {}
    for key, item in value.items():
        name = key.value if isinstance(key, enum.Enum) else key
        if not isinstance(name, str):
            msg = (
                f"{where} has a {type(key).__name__} key {key!r}: to_dict() takes mappings "
                "with str keys only (JSON object keys are strings)"
            )
            raise TypeError(msg)
        result[name] = _json(item, f"{where}[{name!r}]")
    return result
