"""The library's application services: each one opens, commits and closes its own unit of work.

A service takes a fresh unit of work (``new_uow()``), not an entered one, as getting started's
``lend(uow, book_id)`` does. It knows nothing of HTTP: a route, a CLI command or a test calls it
the same way.
"""

# --8<-- [start:services]
from __future__ import annotations

from .domain import Book, Library

__all__ = ["give_back"]


async def give_back(uow: Library, isbn: str) -> Book:
    """Take one copy of a book back; return the book as stored."""
    async with uow:  # the service owns the transaction
        book = await uow.books.get(isbn)  # NotFound if there is no such book
        book.give_back()  # RuleBroken if no copy is on loan
        await uow.commit()
    return book


# --8<-- [end:services]
