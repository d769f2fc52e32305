"""A small library service: FastAPI over Andamios, wired by the container.

``domain.py`` is the aggregate and the unit-of-work shape (no FastAPI, no database);
``adapters.py`` maps it onto a table; ``services.py`` is an application service that opens its
own unit of work; ``app.py`` builds the FastAPI application: the container, one unit of work per
request, the routes (one of them calls the service) and how domain errors become HTTP statuses.

Run a scripted session on memory and on a DuckDB file (no server needed)::

    uv run python -m examples.fastapi_service

Serve it (with uvicorn installed: ``uv add uvicorn``)::

    ANDAMIOS_ADAPTER=memory uv run uvicorn --factory examples.fastapi_service.app:create_app

Tested by ``tests/e2e/test_fastapi_service.py``; walked through in ``docs/guides/fastapi.md``.
"""
