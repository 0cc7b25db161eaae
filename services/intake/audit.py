"""The intake's audit writer: requests hand entries to a queue and go on; one background task
chains them onto the log in batches (``services.audit.append``), so writing the log never holds a
request up for long. Only when the queue is full (the store down for a long while) does a request
wait for room: the log is not dropped.

The writer gathers what arrives for ``linger`` seconds after an entry before it writes: each
append is a transaction under the chain's lock (lock the head, insert, move the head), and at a
steady hundred reports a second, one append per report cost the intake more CPU than the report's
own reference claim. Entries reach the log at most that much later; ``flush`` and ``stop`` still
wait for every one.

Until ``start`` (or after ``stop``) entries are written at once, in the caller's request."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from services.audit import AuditAction, Entry, append
from services.common.logging import get_logger
from services.common.sql import Store
from services.intake.access import Principal
from services.intake.guards import CLIENT

log = get_logger(__name__)


def by(principal: Principal | None) -> dict[str, str | None]:
    """Who did it, as the log names them: the person (and their unit and role), or the key's unit."""
    if principal is None:
        return {"actor": "public", "actor_name": None, "unit": None, "role": None}
    return {"actor": principal.actor, "actor_name": principal.person_name or principal.name,
            "unit": principal.id, "role": str(principal.role) if principal.role else None}


class AuditLog:
    def __init__(self, store: Store, *, max_queued: int = 10_000, batch: int = 500, linger: float = 0.0) -> None:
        self._store = store
        self._max_queued = max_queued
        self._batch = batch
        self._linger = linger
        self._queue: asyncio.Queue[Entry] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue(self._max_queued)
        self._task = asyncio.create_task(self._run(self._queue), name="audit-writer")

    async def record(self, action: AuditAction, what: str, principal: Principal | None, *, at: datetime,
                     reference: str | None = None, client: str | None = None,
                     justification: str | None = None) -> None:
        who = by(principal)
        client = client or CLIENT.get()
        entry = Entry(at=at, action=action, what=what, reference=reference, client=client,
                      justification=justification, actor=who["actor"] or "public", actor_name=who["actor_name"],
                      unit=who["unit"], role=who["role"])
        if self._queue is None:
            await self._store.run(append, [entry])
        else:
            await self._queue.put(entry)

    async def _run(self, queue: asyncio.Queue[Entry]) -> None:
        while True:
            batch = [await queue.get()]
            if self._linger > 0 and queue.qsize() < self._batch - 1:
                await asyncio.sleep(self._linger)  # let a batch gather
            while len(batch) < self._batch and not queue.empty():
                batch.append(queue.get_nowait())
            while True:
                try:
                    await self._store.run(append, batch)
                    break
                except Exception:  # the store is down: keep the entries, try again shortly
                    log.exception("audit_write_failed", entries=len(batch))
                    await asyncio.sleep(1.0)
            for _ in batch:
                queue.task_done()

    async def flush(self) -> None:
        """Wait until everything recorded so far is in the log."""
        if self._queue is not None:
            await self._queue.join()

    async def stop(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._queue, self._task = None, None
