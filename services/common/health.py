"""``/metrics``, ``/healthz`` and ``/readyz`` on a faust worker's web server (router, feedback).

Ready means: the consumer holds at least one partition, and the database answers. Lag is
computed on each ``/metrics`` (and ``/readyz``) request from the consumer's high-water marks
and its committed offsets.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.web import Request, Response, View
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common import metrics
from services.common.sql import Store


def _ping(session: Session) -> None:
    session.execute(text("SELECT 1"))


def _assignment(app: faust.App) -> set[Any]:
    try:
        return set(app.consumer.assignment())
    except Exception:  # no consumer yet (starting) or it is being rebalanced
        return set()


def update_lag(app: faust.App) -> int:
    """Refresh the lag gauge for every assigned partition; the total lag."""
    total = 0
    consumer: Any = app.consumer
    for tp in _assignment(app):
        try:
            high = consumer.highwater(tp)
        except Exception:
            continue
        if high is None:
            continue
        committed = consumer._committed_offset.get(tp)  # faust keeps no public accessor
        done = committed if committed is not None else 0
        lag = max(0, int(high) - int(done))
        metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)
        total += lag
    return total


def add_pages(app: faust.App, store: Store) -> None:
    async def db_answers() -> bool:
        try:
            await store.run(_ping)
            return True
        except Exception:
            return False

    page = app.page

    @page("/metrics")
    async def metrics_page(self: View, request: Request) -> Response:
        update_lag(app)
        body, content_type = metrics.render()
        return self.bytes(body, content_type=content_type.split(";")[0])

    @page("/healthz")
    async def healthz(self: View, request: Request) -> Response:
        return self.json({"status": "ok"})

    @page("/readyz")
    async def readyz(self: View, request: Request) -> Response:
        assigned = len(_assignment(app))
        db = await db_answers()
        ready = assigned > 0 and db
        return self.json({"status": "ready" if ready else "not ready", "partitions": assigned, "database": db},
                         status=200 if ready else 503)
