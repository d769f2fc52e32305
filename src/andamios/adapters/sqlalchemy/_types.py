"""Column types for values the domain keeps as plain Python: value objects stored as JSON."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from pydantic import TypeAdapter

__all__ = ["JsonValue"]


class JsonValue[T](sa.types.TypeDecorator[T]):
    """A value object (or any type pydantic can validate) stored whole in one JSON column.

    ::

        sa.Column("size", JsonValue(Dimensions))          # Dimensions: a frozen dataclass

    The domain class stays a plain dataclass: a pydantic ``TypeAdapter`` built here, in the
    adapter, writes it as JSON (``Decimal`` as a string, ``date`` in ISO format, enums by value)
    and validates it back into the same class when a row is loaded. ``None`` is SQL ``NULL``, so
    ``F("size").is_none()`` means the same in every adapter. Specifications and orderings reach
    the ``str``, ``int``, ``float``, ``Decimal``, ``bool`` and ``date`` fields of a dataclass
    value with dotted paths (``F("size.width_cm") > 10``), read with DuckDB's JSON functions.

    This is also the pattern for any custom column type: a SQLAlchemy ``TypeDecorator`` whose
    ``process_bind_param``/``process_result_value`` convert between the domain's value and a type
    the database stores (see ``examples/advanced/02_custom_types.py``).
    """

    impl = sa.JSON(none_as_null=True)
    cache_ok = True

    def __init__(self, value_type: Any) -> None:
        super().__init__()
        self.value_type = value_type

    @functools.cached_property
    def _adapter(self) -> TypeAdapter[T]:
        # pydantic costs ~8 MiB of RSS: imported when a JSON value is first written or read.
        from pydantic import TypeAdapter  # noqa: PLC0415

        return TypeAdapter(self.value_type)

    def __repr__(self) -> str:
        kind = self.value_type
        name = kind.__name__ if isinstance(kind, type) else repr(kind)
        return f"JsonValue({name})"

    def process_bind_param(self, value: T | None, dialect: sa.Dialect) -> Any:
        """The JSON-compatible form of ``value`` (``None`` stays SQL ``NULL``)."""
        if value is None:
            return None
        return self._adapter.dump_python(value, mode="json")

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> T | None:
        """The domain value rebuilt from stored JSON."""
        if value is None:
            return None
        return self._adapter.validate_python(value)
