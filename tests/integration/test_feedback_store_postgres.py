"""The feedback worker's batch store calls on PostgreSQL, with workers racing for the same
batch: each message is claimed by exactly one of them and taken for sending by exactly one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from harness.processes import wait_until
from schemas import MessageStatus
from services.store import messages
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import Message
from services.store.repository import insert_new_rows
from tests.fixtures import fresh_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def database_url(postgres_server: str) -> Iterator[str]:
    """This module's own database: its workers take messages for sending and never settle them,
    and a feedback worker of another test on a shared database would, once their leases passed,
    look them up and send them (to its own fake provider, in the middle of that test)."""
    with fresh_database(postgres_server) as url:
        yield url


def requests(run: str, count: int, now: datetime) -> list[messages.ClaimRequest]:
    found = []
    for i in range(count):
        reference = f"MECC-{run}-{i:04d}"

        def draft(channel: str, recipient: str, reference: str = reference) -> messages.Draft:
            return messages.Draft(key=f"{reference}:ack:informant:{channel}", reference=reference, trigger="ack",
                                  role="informant", channel=channel, recipient=recipient, body=f"hello {channel}",
                                  due_at=now - timedelta(seconds=1))

        found.append(messages.ClaimRequest(draft("sms", f"+4477009097{i:02d}"), draft("email", f"race{i}@example.org")))
    return found


def test_racing_batches_claim_and_take_each_message_once(database_url: str) -> None:
    migrate(database_url)
    sessions = make_sessions(make_engine(database_url))
    run = uuid.uuid4().hex[:4].upper()
    now = datetime.now(UTC)  # one clock for the whole test, as a worker passes its own
    batch = requests(run, 40, now)
    stopped = messages.address_digest("+447700909707")
    with sessions() as s:
        messages.set_opt_out(s, channel="sms", digest=stopped, opted_out=True, source="sms STOP",
                             at=now)

    def claim(n: int) -> list[messages.Claimed]:
        with sessions() as s:  # each worker sees the batch in its own order
            return messages.claim_and_take(s, batch[n % 7:] + batch[:n % 7], now, lambda _: [])[0]

    with ThreadPoolExecutor(8) as pool:
        results = [c for claimed in pool.map(claim, range(16)) for c in claimed]
    new = [c.claim.key for c in results if c.claim is not None and c.claim.new]
    assert sorted(new) == sorted({c.claim.key for c in results if c.claim is not None})  # each once
    assert len(new) == 40
    ids = sorted({c.claim.message_id for c in results if c.claim is not None})
    with sessions() as s:
        rows = {m.key: m.status for r in batch for m in messages.messages_for(s, r.first.reference)}
    assert len(rows) == 80
    assert rows[f"MECC-{run}-0007:ack:informant:sms"] == "opted_out"
    assert rows[f"MECC-{run}-0007:ack:informant:email"] == "scheduled"
    assert sum(status == "standby" for status in rows.values()) == 39

    def take(n: int) -> list[tuple[int, int, str]]:
        with sessions() as s:
            taken = messages.start_attempts(s, ids, now, f"worker-{n}")
            return [(m.id, m.lease_generation, f"worker-{n}") for m in taken]

    with ThreadPoolExecutor(8) as pool:
        leases = [lease for got in pool.map(take, range(16)) for lease in got]
    assert sorted(i for i, _, _ in leases) == ids  # every message taken, none twice

    for message_id, generation, owner in leases:  # each outcome by the worker holding the lease
        outcome = (messages.Outcome(message_id, MessageStatus.SENT, "twilio", provider_id=f"SM{message_id}",
                                    generation=generation) if message_id != ids[-1]
                   else messages.Outcome(message_id, MessageStatus.RETRYING, "twilio", detail="twilio 429",
                                         due_at=now + timedelta(days=30), generation=generation))
        with sessions() as s:
            assert messages.settle_many(s, [outcome], now, owner) == []
    with sessions() as s:
        settled = {m.id: (m.status, m.provider_id, m.attempts) for r in batch
                   for m in messages.messages_for(s, r.first.reference) if m.id in ids}
    assert settled[ids[0]] == ("sent", f"SM{ids[0]}", 1)
    assert settled[ids[-1]] == ("retrying", None, 1)
    with sessions() as s:  # nothing left for a feedback worker sharing this database to send
        messages.settle(s, ids[-1], status=MessageStatus.FAILED, detail="test over", at=now)


def test_fenced_settles_on_postgresql(database_url: str) -> None:
    """A worker that wakes after its lease passed overwrites nothing on PostgreSQL either, and its
    late "the provider accepted it" confirms an ambiguous message as sent."""
    from tests.unit.test_store_leases import (
        check_a_late_accepted_send_confirms_an_ambiguous_message_as_sent,
        check_a_woken_worker_cannot_overwrite_the_outcome_of_the_one_that_took_over,
    )

    migrate(database_url)
    sessions = make_sessions(make_engine(database_url))
    run = uuid.uuid4().hex[:4].upper()
    now = datetime.now(UTC)
    check_a_woken_worker_cannot_overwrite_the_outcome_of_the_one_that_took_over(sessions, f"MECC-{run}-LEA1", now)
    check_a_late_accepted_send_confirms_an_ambiguous_message_as_sent(sessions, f"MECC-{run}-LEA2", now)


def test_a_worker_claiming_keys_another_is_inserting_waits_for_it_and_never_deadlocks(database_url: str) -> None:
    """Worker A has inserted the lowest key of B's batch and not yet committed; B, claiming a
    batch that lists that key last, waits for A without holding any of its own keys, so A can
    go on to insert another of B's keys and commit. (Inserting in the order asked, B would hold
    that key while waiting for A, and PostgreSQL would abort one of them as a deadlock.)"""
    migrate(database_url)
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    run = uuid.uuid4().hex[:4].upper()
    now = datetime.now(UTC)
    low, high = requests(run, 2, now)  # keys of `low` sort before those of `high`
    assert low.fallback is not None and low.fallback.key < high.first.key

    def b_claims() -> list[messages.Claimed]:
        with sessions() as s:
            return messages.claim_and_take(s, [high, low], now, lambda _: [])[0]

    with sessions() as a, ThreadPoolExecutor(1) as pool:
        a.begin()
        lowest = min((d for d in (low.first, low.fallback) if d is not None), key=lambda d: d.key)
        insert_new_rows(a, Message, [messages._values(lowest, now)], "id")
        b = pool.submit(b_claims)
        _wait_for_a_backend_waiting_on_a_lock(engine)
        insert_new_rows(a, Message, [messages._values(high.first, now)], "id")  # B must not hold it
        a.commit()
        claimed = b.result(timeout=30)
    # high's text is A's; low's text is B's own (A took only low's email, its standby copy)
    assert [c.claim is not None and c.claim.new for c in claimed] == [False, True]


def _wait_for_a_backend_waiting_on_a_lock(engine: Engine) -> None:
    """Until a connection to this database waits on a lock (B blocked behind A's insert). Asked
    on a connection of its own each time: a transaction sees one snapshot of the statistics."""
    def waiting() -> bool:
        with engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar_one())

    wait_until(waiting, 30, "the second worker to wait for the first", interval=0.02)
