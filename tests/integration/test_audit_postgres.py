"""The audit log on PostgreSQL: writers appending at the same time (several intake processes)
still make one unbroken chain, because each append holds the log's advisory lock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from services import audit
from services.audit import AuditAction, Entry
from services.store.db import make_engine, make_sessions
from services.store.models import AuditEntry

pytestmark = pytest.mark.integration


def test_concurrent_writers_make_one_unbroken_chain(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    at = datetime(2030, 1, 1, tzinfo=UTC)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(25):
                with sessions() as s:
                    audit.append(s, [Entry(at=at + timedelta(seconds=i), action=AuditAction.CONSULTATION,
                                           what="report_item", actor=f"person:w{n}",
                                           reference=f"MECC-{n:04d}-{i:04d}")])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with sessions() as s:
        total = s.query(AuditEntry).count()
        result = audit.verify(s)
    assert result.problem is None and result.entries == total >= 100
    engine.dispose()
