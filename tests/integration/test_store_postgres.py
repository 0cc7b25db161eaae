"""The store on PostgreSQL: migrations apply, and a message can be claimed, and taken for
sending, only once even by workers racing for it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, inspect

from schemas import MessageStatus
from services.store import claims, messages
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import Base, Message, UTCDateTime
from tests.fixtures import fresh_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def database_url(postgres_server: str) -> Iterator[str]:
    """This module's own database: a message it takes for sending is never settled, and a feedback
    worker of another test on a shared database would look it up and send it once its lease passed."""
    with fresh_database(postgres_server) as url:
        yield url


def test_migrations_create_the_tables_and_are_idempotent(database_url: str) -> None:
    migrate(database_url)
    tables = set(inspect(make_engine(database_url)).get_table_names())
    assert {"reports", "routing_decisions", "actions", "messages", "alembic_version"} <= tables


def test_only_one_of_many_racing_claims_wins(database_url: str) -> None:
    sessions = make_sessions(make_engine(database_url))
    now = datetime.now(UTC)  # one clock for the whole test, as a service passes its own

    draft = messages.Draft(key="MECC-RACE-0001:ack:informant:sms", reference="MECC-RACE-0001", trigger="ack",
                           role="informant", channel="sms", recipient="+447700900123", body="hello")

    def claim_one(at: datetime) -> messages.Claim:
        with sessions() as s:
            ((claimed,), _) = messages.claim_and_take(s, [messages.ClaimRequest(draft)], at, lambda _: [])
        assert claimed.claim is not None
        return claimed.claim

    def claim(_: int) -> bool:
        return claim_one(now).new

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(claim, range(16)))
    assert results.count(True) == 1
    message_id = claim_one(now).message_id

    def attempt(_: int) -> bool:
        with sessions() as s:
            return messages.start_attempts(s, [message_id], now) != []

    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(attempt, range(16)))
    assert taken.count(True) == 1  # two workers can never both send the same message


def test_racing_requests_with_one_idempotency_key_get_one_reference_and_a_taken_one_is_drawn_again(
        database_url: str) -> None:
    """Sixteen retries of one request racing on PostgreSQL: one claims a reference, every other
    is told that one; and a request whose first draw is taken gets its second draw."""
    sessions = make_sessions(make_engine(database_url))
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:4].upper()
    key = f"key-{run}"

    def retry(_: int) -> claims.Claimed:
        with sessions() as s:
            return claims.claim(s, lambda n: f"MECC-{run}-{n:04d}", now, key, "body")

    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(retry, range(16)))
    assert {c.reference for c in found} == {f"MECC-{run}-0000"}
    assert sum(c.new for c in found) == 1 and all(c.same_body for c in found)
    with sessions() as s:  # another request, whose first draw is the reference just claimed
        again = claims.claim(s, lambda n: f"MECC-{run}-{n:04d}", now)
    assert again == claims.Claimed(f"MECC-{run}-0001", new=True)


def test_every_time_column_is_zoned_and_reads_back_in_utc(database_url: str) -> None:
    zoned = {(table, column["name"]): getattr(column["type"], "timezone", None)
             for table in Base.metadata.tables
             for column in inspect(make_engine(database_url)).get_columns(table)
             if "TIMESTAMP" in str(column["type"])}
    expected = {(table.name, column.name) for table in Base.metadata.tables.values() for column in table.columns
                if isinstance(column.type, UTCDateTime)}
    assert expected and set(zoned) == expected and set(zoned.values()) == {True}, zoned  # timestamptz, every one

    engine = make_engine(database_url)

    @event.listens_for(engine, "connect")
    def _new_york(conn: Any, _record: Any) -> None:
        with conn.cursor() as cur:  # a session whose zone is not UTC must not change what is read
            cur.execute("SET TIME ZONE 'America/New_York'")

    sessions = make_sessions(engine)
    then = datetime(2031, 3, 9, 23, 30, tzinfo=UTC)
    draft = messages.Draft(key="MECC-ZONE-0001:ack:informant:sms", reference="MECC-ZONE-0001", trigger="ack",
                           role="informant", channel="sms", recipient="+447700900123", body="hello",
                           due_at=then + timedelta(days=400))
    with sessions() as s:
        ((claimed,), _) = messages.claim_and_take(
            s, [messages.ClaimRequest(draft)], then.astimezone(timezone(timedelta(hours=5, minutes=30))),
            lambda _: [])
    assert claimed.claim is not None
    message_id = claimed.claim.message_id
    with sessions() as s:
        row = s.get_one(Message, message_id)
        assert row.created_at == then and row.created_at.tzinfo is UTC
    with sessions() as s:
        messages.settle(s, message_id, status=MessageStatus.FAILED, detail="test over", at=then)
