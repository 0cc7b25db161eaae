"""The audit log on PostgreSQL: writers appending at the same time (threads, and several processes
as several intake processes would be) still make one unbroken chain ending at the log's head,
because each append locks the head's row before reading the hash it chains onto."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import threading
from datetime import UTC, datetime, timedelta

import pytest

from services import audit
from services.audit import AuditAction, Entry
from services.store.db import make_engine, make_sessions
from services.store.models import AuditEntry, AuditHead

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


def _process_writer(database_url: str, n: int, count: int, go: multiprocessing.synchronize.Event) -> None:
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    go.wait(30)
    for i in range(count):
        with sessions() as s:
            audit.append(s, [Entry(at=datetime(2031, 1, 1, tzinfo=UTC) + timedelta(seconds=i),
                                   action=AuditAction.CONSULTATION, what="report_item", actor=f"process:{n}",
                                   reference=f"MECC-{n:04d}-{i:04d}") for _ in range(1 + i % 3)])
    engine.dispose()


def test_two_writer_processes_make_one_chain_ending_at_the_head(database_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    go = spawn.Event()
    writers = [spawn.Process(target=_process_writer, args=(database_url, n, 30, go)) for n in range(2)]
    for w in writers:
        w.start()
    go.set()
    for w in writers:
        w.join(120)
    assert [w.exitcode for w in writers] == [0, 0]
    engine = make_engine(database_url)
    with make_sessions(engine)() as s:
        mine = s.query(AuditEntry).filter(AuditEntry.actor.like("process:%")).count()
        last = s.query(AuditEntry).order_by(AuditEntry.seq.desc()).first()
        head = s.get(AuditHead, audit.HEAD)
        assert head is not None and last is not None and (head.seq, head.hash) == (last.seq, last.hash)
        result = audit.verify(s)
    engine.dispose()
    assert mine == 2 * sum(1 + i % 3 for i in range(30))
    assert result.problem is None
