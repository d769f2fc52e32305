"""Querying with specifications: filters, NULLs, ordering, limits, pages and streams.

Run it with ``uv run python examples/basic/04_queries.py`` (``...`` stands for the rest
of a long line).

It prints::

    under 10: ['Children of Dune', 'Dune']
    sixties, not Herbert: ['Solaris', 'The Cyberiad']
    title contains 'dune', any case: ['Dune', 'Children of Dune']
    standalone (series is None): 3
    series != 'Dune': ['Parable of the Sower']
    by series, NULLs last: ['Dune', 'Dune', 'Earthseed', None, None, None]
    newest: Parable of the Sower
    authors Lem or Butler: 4
    page 1: ['Kindred', 'Parable of the Sower', 'Dune', 'Children of Dune']
    page 2: ['Solaris', 'The Cyberiad'] more: False
    total price: 66.48
    rejected: Book has no field 'isbn' (known fields: author, id, price, series, title, ...)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.domain import AggregateRoot, F, InvalidSpecification
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory


@dataclass(eq=False, kw_only=True)
class Book(AggregateRoot[UUID]):
    title: str
    author: str
    price: Decimal
    year: int
    series: str | None = None


class Library(UnitOfWork):
    books: Repository[Book, UUID]


BOOKS = [
    Book(title="Dune", author="Herbert", price=Decimal("9.99"), year=1965, series="Dune"),
    Book(title="Children of Dune", author="Herbert", price=Decimal("8.99"), year=1976,
         series="Dune"),
    Book(title="Solaris", author="Lem", price=Decimal("12.50"), year=1961),
    Book(title="The Cyberiad", author="Lem", price=Decimal("11.00"), year=1965),
    Book(title="Kindred", author="Butler", price=Decimal("10.00"), year=1979),
    Book(title="Parable of the Sower", author="Butler", price=Decimal("14.00"), year=1993,
         series="Earthseed"),
]  # fmt: skip


async def main(new_uow: UnitOfWorkFactory[Library]) -> None:
    async with new_uow() as uow:
        await uow.books.add_many(BOOKS)
        await uow.commit()

    async with new_uow() as uow:
        books = uow.books
        cheap = await books.find(F("price") < 10, order_by=F("price"))
        print("under 10:", [b.title for b in cheap])

        sixties = (F("year").between(1960, 1969)) & ~(F("author") == "Herbert")
        sixties_books = await books.find(sixties, order_by="year")
        print("sixties, not Herbert:", [b.title for b in sixties_books])

        print(
            "title contains 'dune', any case:",
            [b.title for b in await books.find(F("title").ilike("%dune%"), order_by="year")],
        )
        print("standalone (series is None):", await books.count(F("series").is_none()))
        # None is unknown in comparisons, as in SQL: books without a series are not "!= Dune".
        print("series != 'Dune':", [b.title for b in await books.find(F("series") != "Dune")])
        print(
            "by series, NULLs last:",
            [b.series for b in await books.find(order_by=[F("series"), F("year")])],
        )
        newest = await books.first(order_by=F("year").desc())
        print("newest:", newest.title if newest else None)
        print("authors Lem or Butler:",
              await books.count(F("author").in_(["Lem", "Butler"])))  # fmt: skip

        # Keyset pagination: pass page.next back to get the following page.
        page = await books.page(order_by=[F("author"), F("year")], size=4)
        print("page 1:", [b.title for b in page.items])
        page = await books.page(order_by=[F("author"), F("year")], size=4, after=page.next)
        print("page 2:", [b.title for b in page.items], "more:", page.has_next)

        # Streaming walks large results in batches.
        total = Decimal(0)
        async for book in books.stream(batch_size=2):
            total += book.price
        print("total price:", total)

        try:
            await books.find(F("isbn") == "123")
        except InvalidSpecification as error:
            print("rejected:", error)


if __name__ == "__main__":
    asyncio.run(main(InMemoryUnitOfWork.factory(Library)))
