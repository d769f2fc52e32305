"""A small shop built on Andamios: the sample application that ``andamios demo`` runs.

It ships inside the package, so the demo works after a plain install; it is not part of
Andamios' API (nothing else imports it). ``python -m andamios._shop [--memory]`` runs its
scenario on its own. The folders are the architecture:

- ``domain/``: the model, standard library and ``andamios.domain`` only. Two aggregates,
  :class:`~andamios._shop.domain.Product` and :class:`~andamios._shop.domain.Order`, and the
  events they record.
- ``application/``: the unit-of-work shape, the notifications port, commands, queries and their
  handlers. It imports ``andamios.application`` and ``andamios.ports``, never a database, an
  adapter or the container (``tests/e2e/shop/test_layers.py`` checks it).
- ``adapters/``: the SQLAlchemy mapping (the only module that imports SQLAlchemy) and an outbox
  that implements the notifications port.
- ``bootstrap/``: the composition root, a dependency-injector container that nests Andamios'
  :class:`~andamios.containers.PersistenceContainer`.
- ``scenario.py``: the entry point, wired with ``@inject`` (``__main__.py`` runs it).
"""

__all__: list[str] = []
