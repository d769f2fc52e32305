"""The library's domain: a book and its copies on loan, and the unit of work that stores books.

Plain dataclasses and the ports: nothing here knows about FastAPI or a database.
"""

# --8<-- [start:domain]
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from andamios.domain import AggregateRoot, MaxLength
from andamios.ports import Repository, UnitOfWork

__all__ = ["Book", "Library", "NoCopyLeft", "RuleBroken"]


class RuleBroken(ValueError):
    """A change the library's rules refuse (the request conflicts with the book's state)."""


class NoCopyLeft(RuleBroken):
    """Every copy of the book is already on loan."""


@dataclass(eq=False, kw_only=True)
class Book(AggregateRoot[str]):  # the id is the ISBN
    title: Annotated[str, MaxLength(200)]
    author: Annotated[str, MaxLength(100)]
    copies: int
    on_loan: int = 0

    def lend(self) -> None:
        if self.on_loan >= self.copies:
            raise NoCopyLeft(f"every copy of {self.id} is on loan")
        self.on_loan += 1

    def give_back(self) -> None:
        if self.on_loan == 0:
            raise RuleBroken(f"no copy of {self.id} is on loan")
        self.on_loan -= 1

    def stock(self, copies: int) -> None:
        if copies < self.on_loan:
            raise RuleBroken(f"{self.on_loan} copies of {self.id} are on loan, {copies} is too few")
        self.copies = copies


class Library(UnitOfWork):
    books: Repository[Book, str]


# --8<-- [end:domain]
