"""Observability built on the hooks: slow-operation logs, in-process metrics, OpenTelemetry traces.

Each is a :class:`~andamios.ports.Hooks`; give any of them to a factory (or the container)::

    from andamios.observability import Metrics, OpenTelemetryHooks, SlowOperationLog

    metrics = Metrics()
    new_uow = SqlAlchemyUnitOfWork.factory(
        Shop, database=db, mapping=mapping,
        hooks=[SlowOperationLog(threshold=0.2), metrics, OpenTelemetryHooks()],
    )
    bus = MessageBus(new_uow, middleware=[metrics.middleware])   # handler runs and retries
    ...
    snapshot = metrics.snapshot()
    print(snapshot.committed, snapshot.conflicted, snapshot.operation("find").p99)

- :class:`SlowOperationLog` logs each operation, SQL statement and commit slower than a
  threshold, one line each (logger ``andamios.slow``).
- :class:`Metrics` counts units of work, commits, rollbacks, conflicts, statements and rows,
  and times each operation kind, commits, blocks and (through its bus middleware) handlers;
  :meth:`Metrics.snapshot` returns a :class:`MetricsSnapshot` of :class:`Timing`.
- :class:`OpenTelemetryHooks` records a span per unit of work, operation, commit and SQL
  statement, following OpenTelemetry's database conventions. It needs the ``opentelemetry``
  extra (``pip install 'andamios[opentelemetry]'``), imported only when it is instantiated.
"""

from __future__ import annotations

from andamios.observability._metrics import Metrics, MetricsSnapshot, Timing
from andamios.observability._opentelemetry import OpenTelemetryHooks
from andamios.observability._slow_log import SlowOperationLog

__all__ = ["Metrics", "MetricsSnapshot", "OpenTelemetryHooks", "SlowOperationLog", "Timing"]
