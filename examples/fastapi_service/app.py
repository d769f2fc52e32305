"""The FastAPI application: the container, one unit of work per request, routes, error statuses.

``create_app(settings)`` builds a fresh application around a fresh
:class:`~andamios.containers.PersistenceContainer`. The container reads ``[tool.andamios]`` of
the nearest ``pyproject.toml`` and ``ANDAMIOS_*`` from the environment
(``ANDAMIOS_ADAPTER=memory``, ``ANDAMIOS_DATABASE__URL=duckdb+async:///...``); ``settings`` are
merged over them, key by key (tests pass ``{"adapter": "memory"}``). Its lifespan starts the
container's resources (the database) and wires this module, and undoes both at shutdown.
"""

# --8<-- [start:imports]
from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Annotated, Any, Self

from dependency_injector.wiring import Provide, inject
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from andamios.containers import PersistenceContainer
from andamios.domain import F
from andamios.ports import Hooks, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, DataError, DuplicateError, NotFound

from .adapters import mapping
from .domain import Book, Library, RuleBroken
from .services import give_back

# --8<-- [end:imports]

__all__ = ["create_app"]


# --8<-- [start:unit-of-work]
# The container's factory of units of work, as a FastAPI dependency. The marker is a default
# value, the form dependency-injector documents for FastAPI (under `from __future__ import
# annotations` it cannot see a marker inside Annotated[...]). A module-level name, rather than
# a call in each signature, is what ruff's B008 (no function calls in defaults) asks for.
NEW_UOW = Depends(Provide[PersistenceContainer.uow.provider])


@inject
async def unit_of_work(new_uow: UnitOfWorkFactory[Library] = NEW_UOW) -> AsyncIterator[Library]:
    """A fresh unit of work for the request; the route commits, anything else rolls back."""
    async with new_uow() as uow:
        yield uow


# scope="function": the unit of work ends (and gives its connection back) before the response
# is sent, so nothing of it is still open while the client reads.
Uow = Annotated[Library, Depends(unit_of_work, scope="function")]
# --8<-- [end:unit-of-work]


# --8<-- [start:schemas]
Isbn = Annotated[str, Field(pattern=r"^[0-9][0-9-]{8,15}[0-9X]$")]


class NewBook(BaseModel):
    isbn: Isbn
    title: str = Field(min_length=1)
    author: str = Field(min_length=1)
    copies: int = Field(default=1, ge=1)


class BookChanges(BaseModel):
    title: str | None = Field(default=None, min_length=1)
    copies: int | None = Field(default=None, ge=0)


class BookOut(BaseModel):
    isbn: str
    title: str
    author: str
    copies: int
    on_loan: int
    version: int

    @classmethod
    def of(cls, book: Book) -> Self:
        return cls(
            isbn=book.id,
            title=book.title,
            author=book.author,
            copies=book.copies,
            on_loan=book.on_loan,
            version=book.version,
        )


# --8<-- [end:schemas]


# --8<-- [start:routes]
router = APIRouter()


@router.post("/books", status_code=HTTPStatus.CREATED)
async def add_book(new: NewBook, uow: Uow) -> BookOut:
    book = Book(id=new.isbn, title=new.title, author=new.author, copies=new.copies)
    await uow.books.add(book)
    await uow.commit()
    return BookOut.of(book)


@router.post("/books/batch", status_code=HTTPStatus.CREATED)
async def add_books(new: list[NewBook], uow: Uow) -> list[BookOut]:
    books = [Book(id=n.isbn, title=n.title, author=n.author, copies=n.copies) for n in new]
    for book in books:
        await uow.books.add(book)
    await uow.commit()  # all of them or, if one fails, none
    return [BookOut.of(book) for book in books]


@router.get("/books/{isbn}")
async def get_book(isbn: str, uow: Uow) -> BookOut:
    return BookOut.of(await uow.books.get(isbn))  # NotFound: 404


@router.get("/books")
async def list_books(
    uow: Uow,
    author: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[BookOut]:
    spec = None if author is None else F("author") == author
    books = await uow.books.find(spec, order_by=F("title"), limit=limit, offset=offset)
    return [BookOut.of(book) for book in books]


@router.patch("/books/{isbn}")
async def change_book(isbn: str, changes: BookChanges, uow: Uow) -> BookOut:
    book = await uow.books.get(isbn)
    if changes.title is not None:
        book.title = changes.title
    if changes.copies is not None:
        book.stock(changes.copies)
    await uow.commit()  # ConcurrencyError if another request changed the book meanwhile
    return BookOut.of(book)


@router.post("/books/{isbn}/loans", status_code=HTTPStatus.CREATED)
async def lend_book(isbn: str, uow: Uow) -> BookOut:
    book = await uow.books.get(isbn)
    book.lend()
    await uow.commit()
    return BookOut.of(book)


@router.get("/health")
@inject
async def health(
    adapter: str = Depends(Provide[PersistenceContainer.adapter]),
) -> dict[str, str]:
    return {"status": "ok", "adapter": adapter}


# --8<-- [end:routes]


# --8<-- [start:service-route]
@router.post("/books/{isbn}/returns")
@inject
async def return_book(isbn: str, new_uow: UnitOfWorkFactory[Library] = NEW_UOW) -> BookOut:
    return BookOut.of(await give_back(new_uow(), isbn))  # the service enters the unit of work


# --8<-- [end:service-route]


# --8<-- [start:errors]
STATUSES: dict[type[Exception], HTTPStatus] = {
    NotFound: HTTPStatus.NOT_FOUND,
    DuplicateError: HTTPStatus.CONFLICT,
    ConcurrencyError: HTTPStatus.CONFLICT,
    RuleBroken: HTTPStatus.CONFLICT,
    DataError: HTTPStatus.UNPROCESSABLE_CONTENT,
}


async def error_response(request: Request, error: Exception) -> JSONResponse:
    """The status of the error's nearest class in ``STATUSES``, and its message."""
    status = next(STATUSES[kind] for kind in type(error).__mro__ if kind in STATUSES)
    return JSONResponse({"detail": str(error)}, status_code=status)


# --8<-- [end:errors]


# --8<-- [start:create-app]
def create_app(
    settings: Mapping[str, Any] | None = None, *, hooks: Iterable[Hooks] = ()
) -> FastAPI:
    """The service on the adapter the settings choose (``ANDAMIOS_*``, then ``settings``)."""
    container = PersistenceContainer(unit_of_work=Library, mapping=mapping, hooks=tuple(hooks))
    if settings is not None:
        container.config.from_dict(dict(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await container.init_resources()  # checks every setting, opens the database
        container.wire(modules=[sys.modules[__name__]])
        try:
            yield
        finally:
            container.unwire()
            await container.shutdown_resources()  # closes the database

    app = FastAPI(title="Library", lifespan=lifespan)
    app.state.container = container
    app.include_router(router)
    for kind in STATUSES:
        app.add_exception_handler(kind, error_response)
    return app


# --8<-- [end:create-app]
