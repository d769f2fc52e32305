"""The root of Andamios' error tree.

The specification language is domain code and must reject misuse while a spec is being built, so
the root of the tree and :class:`InvalidSpecification` live here, in the stdlib-only domain layer.
The whole tree is drawn, and re-exported, by :mod:`andamios.ports.errors`: import from there.
"""

from __future__ import annotations

__all__ = ["AndamiosError", "InvalidSpecification", "PersistenceError"]


class AndamiosError(Exception):
    """Base class of every exception Andamios raises on purpose."""


class PersistenceError(AndamiosError):
    """Something went wrong storing or loading aggregates; the root users catch."""


class InvalidSpecification(PersistenceError, ValueError):
    """A specification, ordering or query argument is malformed or names an unknown field.

    Raised while the spec is built, or by a repository before any SQL runs.
    """
