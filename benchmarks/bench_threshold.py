"""Where the Arrow bulk path starts to pay: ORM against Arrow for N = 1 ... 500 aggregates.

Measures, on one DuckDB file, ``add_many(N)`` + ``commit`` and "change N loaded aggregates" +
``commit`` in a unit of work forced onto the ORM path (``bulk_threshold`` = never) and forced onto
the Arrow path (``bulk_threshold=1``). The crossover is ``BULK_THRESHOLD`` (ADR 0006).

    uv run python -m benchmarks.bench_threshold
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from andamios._benchmarks._harness import measure_async
from andamios._benchmarks._model import Shop, build_mapping, new_products
from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork

SIZES = (1, 5, 10, 20, 50, 100, 500)
PATHS = {"ORM": sys.maxsize, "Arrow": 1}


async def measure(path: Path, iterations: int) -> dict[tuple[str, str, int], float]:
    mapping = build_mapping()
    found: dict[tuple[str, str, int], float] = {}
    try:
        async with Database(f"duckdb+async:///{path}") as db:
            await db.create_all(mapping.metadata)
            for label, threshold in PATHS.items():
                new_uow = SqlAlchemyUnitOfWork.factory(
                    Shop, database=db, mapping=mapping, bulk_threshold=threshold
                )
                for size in SIZES:
                    batches = iter([new_products(size) for _ in range(iterations + 5)])

                    async def insert(_: int) -> None:
                        async with new_uow() as uow:  # noqa: B023 - awaited in this iteration
                            await uow.products.add_many(next(batches))  # noqa: B023
                            await uow.commit()

                    found["insert", label, size] = await measure_async(insert, iterations)
                    async with new_uow() as uow:
                        loaded = await uow.products.find(limit=size)

                        async def update(i: int) -> None:
                            for product in loaded:  # noqa: B023
                                product.name = f"renamed {i}"
                            await uow.commit()

                        found["update", label, size] = await measure_async(update, iterations)
                    async with db.engine.begin() as conn:
                        await conn.execute(sa.text("DELETE FROM products"))
    finally:
        mapping.clear()
    return found


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        found = asyncio.run(measure(Path(tmp) / "threshold.duckdb", 30))
    print(
        f"{'N':>5}  {'insert ORM':>11}  {'insert Arrow':>12}  "
        f"{'update ORM':>11}  {'update Arrow':>12}"
    )
    for size in SIZES:
        cells = [found[op, label, size] / 1000 for op in ("insert", "update") for label in PATHS]
        print(f"{size:>5}  " + "  ".join(f"{c:>9.2f} ms" for c in cells))


if __name__ == "__main__":
    main()
