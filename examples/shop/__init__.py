"""A small shop built on Andamios: the sample application, run with ``python -m examples.shop``.

The folders are the architecture:

- ``domain/``: the model, standard library and ``andamios.domain`` only. Two aggregates,
  :class:`~examples.shop.domain.Product` and :class:`~examples.shop.domain.Order`, and the
  events they record.
- ``application/``: the unit-of-work shape, the notifications port, commands, queries and their
  handlers. It imports ``andamios.application`` and ``andamios.ports``, never a database, an
  adapter or the container (``tests/e2e/shop/test_layers.py`` checks it).
- ``adapters/``: the SQLAlchemy mapping (the only module that imports SQLAlchemy) and an outbox
  that implements the notifications port.
- ``bootstrap/``: the composition root, a dependency-injector container that nests Andamios'
  :class:`~andamios.containers.PersistenceContainer`.
- ``__main__.py``: the entry point, wired with ``@inject``.
"""
