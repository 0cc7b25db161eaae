"""The store keeps the caller's time, in UTC, and gives it back aware: rows are stamped with
the clock a service passes down (never the machine's), and a time without a zone is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from schemas import MessageStatus
from services.store import messages as store
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import Message, OptOut

#: Far from any real "now", so a row stamped by the machine's clock would show.
THEN = datetime(2031, 3, 9, 23, 30, tzinfo=UTC)
PHONE = "+447700900123"


@pytest.fixture
def sessions(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url)
    return make_sessions(make_engine(url))


def claim(sessions, at: datetime, due_at: datetime | None = None) -> int:
    draft = store.Draft(key="MECC-AAAA-BBBB:ack:informant:sms", reference="MECC-AAAA-BBBB", trigger="ack",
                        role="informant", channel="sms", recipient=PHONE, body="b", due_at=due_at)
    with sessions() as s:
        ((claimed,), _) = store.claim_and_take(s, [store.ClaimRequest(draft)], at, lambda _: [])
    assert claimed.claim is not None
    return claimed.claim.message_id


def test_every_stamp_is_the_callers_clock(sessions):
    message_id = claim(sessions, THEN)
    with sessions() as s:
        row = s.get_one(Message, message_id)
        assert (row.created_at, row.updated_at, row.due_at) == (THEN, THEN, THEN)
    with sessions() as s:
        (taken,) = store.start_attempts(s, [message_id], THEN + timedelta(seconds=1), "w1")
        assert taken.attempted_at == THEN + timedelta(seconds=1)
    with sessions() as s:
        store.settle_many(s, [store.Outcome(message_id, MessageStatus.RETRYING, due_at=THEN + timedelta(minutes=3),
                                            generation=taken.lease_generation)], THEN + timedelta(minutes=2), "w1")
    with sessions() as s:
        row = s.get_one(Message, message_id)
        assert (row.updated_at, row.due_at) == (THEN + timedelta(minutes=2), THEN + timedelta(minutes=3))
    with sessions() as s:
        assert store.start_attempts(s, [message_id], THEN + timedelta(minutes=3), "w1") != []
    with sessions() as s:
        assert store.expire_interrupted_sends(s, THEN + timedelta(minutes=4), THEN + timedelta(minutes=5)) == 1
    with sessions() as s:
        row = s.get_one(Message, message_id)
        assert (row.status, row.updated_at, row.due_at) == ("ambiguous", THEN + timedelta(minutes=5),
                                                            THEN + timedelta(minutes=5))


def test_times_come_back_aware_in_utc_whatever_zone_they_were_given_in(sessions):
    local = THEN.astimezone(timezone(timedelta(hours=-5)))  # the same moment, written elsewhere
    message_id = claim(sessions, local)
    with sessions() as s:
        row = s.get_one(Message, message_id)
        assert row.created_at == THEN and row.created_at.utcoffset() == timedelta(0)
        (stored,) = s.execute(text("SELECT created_at FROM messages")).scalars()
        assert str(stored).startswith("2031-03-09 23:30")  # kept as UTC, so it compares as UTC
    with sessions() as s:  # a due time given in another zone is still compared as the same moment
        assert store.due_message_ids(s, local - timedelta(seconds=1)) == []
        assert store.due_message_ids(s, local) == [message_id]


def test_a_time_without_a_zone_is_refused(sessions):
    with pytest.raises(StatementError, match="naive datetime"):
        claim(sessions, THEN.replace(tzinfo=None))
    with sessions() as s, pytest.raises(StatementError, match="naive datetime"):
        store.set_opt_out(s, channel="sms", digest=store.address_digest(PHONE), opted_out=True, source="sms STOP",
                          at=THEN.replace(tzinfo=None))
    with sessions() as s:
        assert s.query(Message).count() == 0 and s.query(OptOut).count() == 0


def test_an_older_opt_in_never_undoes_a_newer_opt_out(sessions):
    digest = store.address_digest(PHONE)
    with sessions() as s:
        store.set_opt_out(s, channel="sms", digest=digest, opted_out=True, source="sms STOP", at=THEN)
    with sessions() as s:
        store.set_opt_out(s, channel="sms", digest=digest, opted_out=False, source="sms START",
                          at=THEN - timedelta(minutes=1))
    with sessions() as s:
        assert store.opt_out_reason(s, "sms", digest) == "opted out (sms STOP)"
