"""The application layer: services and the message bus; imports domain and ports only."""

from __future__ import annotations

__all__: list[str] = []
