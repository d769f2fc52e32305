"""Storage constraints a domain declares on its fields, honoured by every adapter.

A column knows that a ``VARCHAR(20)`` holds at most 20 characters; an in-memory store knows no
columns. So that both adapters refuse the same values, the domain states the limits with
:data:`typing.Annotated`, and the SQL mapping checks that its table agrees::

    @dataclass(eq=False, kw_only=True)
    class Product(AggregateRoot[UUID]):
        sku: Annotated[str, MaxLength(20)]              # sa.String(20)
        price: Annotated[Decimal, Digits(12, 2)]        # sa.Numeric(12, 2)
        listed_at: Annotated[datetime, Aware()] | None  # sa.DateTime(timezone=True)

A value that breaks one is a :class:`~andamios.ports.errors.DataError` naming the aggregate and
the field, raised before anything is written (see ``docs/adr/0006-bulk-path.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from andamios.ports._introspection import field_markers
from andamios.ports.errors import DataError

__all__ = [
    "Aware",
    "Constraint",
    "Digits",
    "MaxLength",
    "check_value",
    "declared_constraints",
    "violation",
]


@dataclass(frozen=True, slots=True)
class MaxLength:
    """At most ``length`` characters (``str``) or bytes (``bytes``): a ``VARCHAR(length)``."""

    length: int

    def __post_init__(self) -> None:
        if self.length < 1:
            msg = f"MaxLength needs a length >= 1, got {self.length}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class Digits:
    """A ``Decimal`` with at most ``precision`` digits, ``scale`` of them after the point.

    ``NUMERIC(precision, scale)``: ``Digits(12, 2)`` holds ``9999999999.99``; a value with more
    decimals than ``scale`` does not fit (it is refused, never silently rounded).
    """

    precision: int
    scale: int

    def __post_init__(self) -> None:
        if not 0 <= self.scale <= self.precision or self.precision < 1:
            msg = f"Digits needs 0 <= scale <= precision and precision >= 1, got {self}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class Aware:
    """A timezone-aware ``datetime`` (``TIMESTAMP WITH TIME ZONE``); a naive one is refused."""


type Constraint = MaxLength | Digits | Aware

_KINDS = (MaxLength, Digits, Aware)


def violation(constraint: Constraint, value: object) -> str | None:
    """Why ``value`` breaks ``constraint``, or ``None`` if it fits (``None`` always fits)."""
    if value is None:
        return None
    match constraint:
        case MaxLength(length=length):
            if isinstance(value, (str, bytes)) and len(value) > length:
                return f"is {len(value)} long, more than MaxLength({length})"
        case Digits(precision=precision, scale=scale):
            if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
                return _digits_violation(Decimal(value), precision, scale)
        case _:  # Aware()
            if isinstance(value, datetime) and value.utcoffset() is None:
                return "is a naive datetime where a timezone-aware one is required"
    return None


def _digits_violation(value: Decimal, precision: int, scale: int) -> str | None:
    where = f"Digits({precision}, {scale})"
    if not value.is_finite():
        return f"is {value}, which no {where} can hold"
    try:
        exact = value.quantize(Decimal(1).scaleb(-scale))
    except InvalidOperation:
        exact = None
    if exact is None or exact != value:
        return f"has more than {scale} decimal places for {where}"
    if abs(exact) >= Decimal(10) ** (precision - scale):
        return f"is out of range for {where}"
    return None


def check_value(
    aggregate: object, field: str, constraints: tuple[Constraint, ...], value: object
) -> None:
    """Raise :class:`DataError` naming the aggregate and field if ``value`` breaks a constraint."""
    for constraint in constraints:
        problem = violation(constraint, value)
        if problem is not None:
            kind = type(aggregate)
            id = getattr(aggregate, "id", None)
            msg = f"{kind.__name__} {id!r}: {field} = {value!r} {problem}"
            raise DataError(msg, aggregate_type=kind, aggregate_id=id, field=field)


_declared: dict[type, dict[str, tuple[Constraint, ...]]] = {}


def declared_constraints(owner: type) -> dict[str, tuple[Constraint, ...]]:
    """The constraints each dataclass field of ``owner`` declares with ``Annotated``.

    ``Annotated[str, MaxLength(20)] | None`` counts too. Fields without any are left out.
    """
    found = _declared.get(owner)
    if found is None:
        found = _declared[owner] = _read_constraints(owner)
    return found


def _read_constraints(owner: type) -> dict[str, tuple[Constraint, ...]]:
    found: dict[str, tuple[Constraint, ...]] = {}
    for name, markers in field_markers(owner).items():
        declared = tuple(m for m in markers if isinstance(m, _KINDS))
        if declared:
            found[name] = declared
    return found
