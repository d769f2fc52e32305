"""Keyset pagination: pages that stay correct while rows are added, without OFFSET scans."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field

from andamios.domain import And, Compare, InvalidSpecification, IsNone, Op, Or, Order, Spec

__all__ = ["DEFAULT_PAGE", "Cursor", "Page", "check_count", "check_page_size", "keyset_after"]

#: How many items a page holds unless asked for another size.
DEFAULT_PAGE = 50
#: What SQL's LIMIT and OFFSET take (BIGINT): beyond it one adapter would answer, another fail.
_MAX_COUNT = 2**63


def check_count(name: str, value: object, *, allow_none: bool) -> None:
    """Refuse a ``limit``, ``offset`` or page size that is not a whole number every adapter
    takes (``None`` too, unless ``allow_none``)."""
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _MAX_COUNT:
        msg = f"{name} must be a whole number from 0 to 2**63 - 1, got {value!r}"
        raise InvalidSpecification(msg)


def check_page_size(size: object) -> None:
    """Refuse a page size that is not a whole number of at least 1."""
    check_count("size", size, allow_none=False)
    if size == 0:
        msg = "size must be at least 1"
        raise InvalidSpecification(msg)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the ordering it was made for and the last item's sort key.

    Treat it as opaque; pass it back as ``after=`` to get the next page.
    """

    order: tuple[Order, ...]
    values: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Page[A]:
    """One page of results and the cursor of the next one (``None`` on the last page)."""

    items: list[A] = field(default_factory=list)
    next: Cursor | None = None

    @property
    def has_next(self) -> bool:
        """Whether another page follows."""
        return self.next is not None


def _equal(order: Order, value: object) -> Spec:
    if value is None:
        return IsNone(order.field)
    return Compare(order.field, Op.EQ, value)


def _strictly_after(order: Order, value: object, never_null: Set[str]) -> Spec | None:
    """Rows whose value of ``order.field`` sorts strictly after ``value``; None if none can."""
    if value is None:
        # After a NULL come only NULLs (nulls last) or every non-NULL (nulls first).
        return IsNone(order.field, negated=True) if order.nulls_first else None
    beyond = Compare(order.field, Op.LT if order.descending else Op.GT, value)
    if order.nulls_first or order.field in never_null:
        # No "OR field IS NULL" where no NULL can be: PostgreSQL would scan its index from the
        # start for every page instead of seeking to the key.
        return beyond
    return Or((beyond, IsNone(order.field)))


def keyset_after(
    order: tuple[Order, ...], values: tuple[object, ...], never_null: Set[str] = frozenset()
) -> Spec | None:
    """The spec selecting rows that sort after the key ``values`` under ``order``.

    For ``(a, b)`` after ``(x, y)`` that is ``a > x | (a == x & b > y)``, with each direction and
    NULL placement honoured. ``None`` means no row can follow. ``never_null`` names the fields
    that hold no NULL (the spec then leaves out their ``IS NULL`` branch).
    """
    alternatives: list[Spec] = []
    for position, (term, value) in enumerate(zip(order, values, strict=True)):
        after = _strictly_after(term, value, never_null)
        if after is None:
            continue
        prefix = [_equal(o, v) for o, v in zip(order[:position], values[:position], strict=True)]
        alternatives.append(And((*prefix, after)) if prefix else after)
    if not alternatives:
        return None
    return alternatives[0] if len(alternatives) == 1 else Or(tuple(alternatives))
