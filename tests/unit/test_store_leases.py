"""Send leases in the store (SQLite here; ``tests/integration/test_feedback_store_postgres.py``
runs the same checks on PostgreSQL): an outcome is recorded only by the worker that still holds
the message's lease; a worker that wakes after its lease passed changes nothing but the record of
its late outcome; a late "the provider accepted it" confirms an ambiguous message as sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from schemas import MessageStatus as S
from services.store import messages as store
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import Message

NOW = datetime(2031, 3, 10, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def _message(sessions: sessionmaker[Session], key: str, now: datetime) -> int:
    draft = store.Draft(key=f"{key}:ack:informant:sms", reference=key[:20], trigger="ack", role="informant",
                        channel="sms", recipient="+447700900123", body="Thank you", due_at=now)
    with sessions() as s:
        ((claimed,), _) = store.claim_and_take(s, [store.ClaimRequest(draft)], now, lambda _: [])
    assert claimed.claim is not None
    return claimed.claim.message_id


def _row(sessions: sessionmaker[Session], message_id: int) -> Message:
    with sessions() as s:
        return s.get_one(Message, message_id)


def check_a_woken_worker_cannot_overwrite_the_outcome_of_the_one_that_took_over(
        sessions: sessionmaker[Session], key: str, now: datetime = NOW) -> None:
    """(``expire_interrupted_sends`` looks at every message of the store; this reads only its own.)"""
    message_id = _message(sessions, key, now)
    with sessions() as s:
        (a,) = store.start_attempts(s, [message_id], now, "worker-a")
    with sessions() as s:  # A froze: its lease passes; B looks it up, finds it absent, sends it
        # (the lease has not passed a second before it ends; it has a second after)
        store.expire_interrupted_sends(s, now - timedelta(seconds=1), now + LEASE - timedelta(seconds=1))
    assert _row(sessions, message_id).status == S.SENDING
    with sessions() as s:
        store.expire_interrupted_sends(s, now + timedelta(seconds=1), now + LEASE + timedelta(seconds=1))
    assert _row(sessions, message_id).status == S.AMBIGUOUS
    with sessions() as s:
        (b,) = [m for m in store.take_ambiguous(s, now + LEASE * 2, "worker-b") if m.id == message_id]
        # one look-up at a time
        assert message_id not in [m.id for m in store.take_ambiguous(s, now + LEASE * 2, "worker-c")]
    assert b.lease_generation == a.lease_generation + 1
    with sessions() as s:
        assert store.settle_many(s, [store.Outcome(message_id, S.RETRYING, due_at=now + LEASE * 2,
                                                   generation=b.lease_generation)], now + LEASE * 2, "worker-b") == []
    with sessions() as s:
        (b2,) = store.start_attempts(s, [message_id], now + LEASE * 2, "worker-b")
        assert store.settle_many(s, [store.Outcome(message_id, S.SENT, "twilio", "SM-b",
                                                   generation=b2.lease_generation)], now + LEASE * 3, "worker-b") == []
    # A wakes, its outcome in hand: nothing of B's is overwritten, and the late outcome is recorded
    with sessions() as s:
        (late,) = store.settle_many(s, [store.Outcome(message_id, S.RETRYING, "twilio", detail="twilio 503",
                                                      due_at=now + LEASE * 4, generation=a.lease_generation)],
                                    now + LEASE * 4, "worker-a")
    assert (late.status_now, late.confirmed) == (S.SENT, False)
    row = _row(sessions, message_id)
    assert (row.status, row.provider_id, row.due_at, row.attempts) == (S.SENT, "SM-b", None, 2)
    assert row.late_outcome and "worker-a" in row.late_outcome and "twilio 503" in row.late_outcome
    # nor can B settle again under a lease that is not its latest
    with sessions() as s:
        assert len(store.settle_many(s, [store.Outcome(message_id, S.FAILED, generation=b.lease_generation)],
                                     now + LEASE * 5, "worker-b")) == 1
    assert _row(sessions, message_id).status == S.SENT


def check_a_late_accepted_send_confirms_an_ambiguous_message_as_sent(
        sessions: sessionmaker[Session], key: str, now: datetime = NOW) -> None:
    """(``expire_interrupted_sends`` looks at every message of the store; this reads only its own.)"""
    message_id = _message(sessions, key, now)
    with sessions() as s:
        (a,) = store.start_attempts(s, [message_id], now, "worker-a")
    with sessions() as s:
        store.expire_interrupted_sends(s, now + timedelta(seconds=1), now + LEASE * 2)
    assert _row(sessions, message_id).status == S.AMBIGUOUS
    with sessions() as s:
        (late,) = store.settle_many(s, [store.Outcome(message_id, S.SENT, "twilio", "SM-a",
                                                      generation=a.lease_generation)], now + LEASE * 2, "worker-a")
    assert (late.status_now, late.confirmed) == (S.SENT, True)
    row = _row(sessions, message_id)
    assert (row.status, row.provider_id, row.due_at) == (S.SENT, "SM-a", None)
    with sessions() as s:  # nothing left to look up, nor to send
        assert message_id not in [m.id for m in store.take_ambiguous(s, now + LEASE * 3, "worker-b")]
        assert message_id not in store.due_message_ids(s, now + LEASE * 3)


def _sqlite(tmp_path) -> sessionmaker[Session]:
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url)
    return make_sessions(make_engine(url))


def test_a_woken_worker_cannot_overwrite_the_outcome_of_the_one_that_took_over(tmp_path) -> None:
    check_a_woken_worker_cannot_overwrite_the_outcome_of_the_one_that_took_over(_sqlite(tmp_path), "MECC-LEAS-0001")


def test_a_late_accepted_send_confirms_an_ambiguous_message_as_sent(tmp_path) -> None:
    check_a_late_accepted_send_confirms_an_ambiguous_message_as_sent(_sqlite(tmp_path), "MECC-LEAS-0002")
