"""The store on PostgreSQL: migrations apply, and a message can be claimed, and taken for
sending, only once even by workers racing for it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from services.store import messages
from services.store.db import make_engine, make_sessions, migrate

pytestmark = pytest.mark.integration


def test_migrations_create_the_tables_and_are_idempotent(database_url: str) -> None:
    migrate(database_url)
    tables = set(inspect(make_engine(database_url)).get_table_names())
    assert {"reports", "routing_decisions", "actions", "messages", "alembic_version"} <= tables


def test_only_one_of_many_racing_claims_wins(database_url: str) -> None:
    sessions = make_sessions(make_engine(database_url))
    now = datetime.now(UTC)  # one clock for the whole test, as a service passes its own

    def claim(_: int) -> bool:
        with sessions() as s:
            return messages.claim_message(
                s, key="MECC-RACE-0001:ack:informant:sms", reference="MECC-RACE-0001", trigger="ack",
                role="informant", channel="sms", recipient="+447700900123", body="hello", at=now,
            ).new

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(claim, range(16)))
    assert results.count(True) == 1
    message_id = messages.claim_message(
        sessions(), key="MECC-RACE-0001:ack:informant:sms", reference="MECC-RACE-0001", trigger="ack",
        role="informant", channel="sms", recipient="+447700900123", body="hello", at=now).message_id

    def attempt(_: int) -> bool:
        with sessions() as s:
            return messages.start_attempt(s, message_id, now) is not None

    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(attempt, range(16)))
    assert taken.count(True) == 1  # two workers can never both send the same message
