"""A tiny application for the composition-root tests: one aggregate, its shape and its mapping.

Mapped once, at import (a class is mapped once per process); the names are unique to these tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from pydantic import Field

from andamios.adapters.sqlalchemy import Mapping
from andamios.application import Command, MessageBus, Query
from andamios.domain import AggregateRoot, DomainEvent
from andamios.ports import Repository, UnitOfWork

__all__ = [
    "AddNote",
    "CountNotes",
    "Ledger",
    "Note",
    "NoteAdded",
    "Notebook",
    "Sketch",
    "Sketchbook",
    "Tally",
    "mapping",
    "notes",
    "register_notes",
    "sketch_mapping",
]


@dataclass(frozen=True, kw_only=True)
class NoteAdded(DomainEvent):
    text: str


@dataclass(eq=False, kw_only=True)
class Note(AggregateRoot[UUID]):
    text: str

    @classmethod
    def write(cls, text: str) -> Note:
        note = cls(text=text)
        note.record(NoteAdded(text=text))
        return note


@dataclass(eq=False, kw_only=True)
class Tally(AggregateRoot[str]):
    """An aggregate the mapping below does not map (for the misconfiguration tests)."""

    count: int = 0


class Notebook(UnitOfWork):
    notes: Repository[Note, UUID]


class Ledger(UnitOfWork):
    notes: Repository[Note, UUID]
    tallies: Repository[Tally, str]


mapping = Mapping()
notes = sa.Table(
    "composition_notes",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("text", sa.String, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
mapping.map(Note, notes)


class AddNote(Command[UUID]):
    text: str = Field(min_length=1)


class CountNotes(Query[int]):
    pass


async def add_note(command: AddNote, uow: Notebook) -> UUID:
    async with uow:
        note = Note.write(command.text)
        await uow.notes.add(note)
        await uow.commit()
    return note.id


async def count_notes(query: CountNotes, uow: Notebook) -> int:
    async with uow:
        return await uow.notes.count()


async def echo(event: NoteAdded, uow: Notebook, *, seen: list[str]) -> None:
    seen.append(event.text)


def register_notes(bus: MessageBus[Notebook], *, seen: list[str] | None = None) -> None:
    bus.register(AddNote, add_note)
    bus.register(CountNotes, count_notes)
    if seen is not None:
        bus.subscribe(NoteAdded, echo, seen=seen)


@dataclass(eq=False, kw_only=True)
class Sketch(AggregateRoot[UUID]):
    """Mapped by its own mapping, which no session ever uses (so it can still be deep-copied)."""

    title: str


class Sketchbook(UnitOfWork):
    sketches: Repository[Sketch, UUID]


sketch_mapping = Mapping()
sketch_mapping.map(
    Sketch,
    sa.Table(
        "composition_sketches",
        sketch_mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
)
