"""On PostgreSQL: reports full of marker personal data go through the router and the feedback
worker (their use cases, in-process), with a reply chain, a redirect-only report, an abandoned
report and a report from an organisation; past their retention dates the purge leaves no marker
in any text or JSON column of any table (ciphertext decrypted for the scan), and the dashboard's
figures stay. Subject access and erasure work end to end on the same database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import suppress
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from infra import postgres as local_postgres
from services.retention.purge import Policy, purge
from services.store.db import make_engine, make_sessions, migrate, schema_drift
from tests.unit.personal_world import PersonalWorld, aggregates, scan, seed
from tests.unit.test_subject import check_find_export_erase

pytestmark = pytest.mark.integration


@pytest.fixture
def sessions(postgres_server: str) -> Iterator[sessionmaker[Session]]:
    """A database of its own: the scan reads every row of every table, and only this test's."""
    name = f"mecc_personal_{uuid.uuid4().hex[:8]}"
    url = local_postgres.create_database(postgres_server, name)
    migrate(url)
    assert schema_drift(url) == []
    engine = make_engine(url)
    try:
        yield make_sessions(engine)
    finally:
        engine.dispose()
        with suppress(Exception):
            local_postgres.drop_database(postgres_server, name)


def test_past_retention_no_marker_is_left_in_any_column_of_any_table(sessions: sessionmaker[Session]) -> None:
    world = PersonalWorld(sessions)
    seeded = seed(world)
    with sessions() as s:
        seen = scan(s, world.markers)
    assert {m for _, _, m in seen} == set(world.markers)
    assert {t for t, _, _ in seen} >= {"reports", "actions", "messages", "cluster_members", "watch_items"}
    before = aggregates(sessions)
    policy = Policy(retention=timedelta(days=365), abandoned=timedelta(days=365))

    done = purge(sessions(), now=world.now + timedelta(days=400), policy=policy, batch=3)

    assert set(done.due) == {seeded.closed, *seeded.replies, seeded.redirect, seeded.abandoned, seeded.third_party}
    with sessions() as s:
        assert scan(s, world.markers + world.variants) == []
    assert aggregates(sessions) == before
    again = purge(sessions(), now=world.now + timedelta(days=400), policy=policy, batch=3)
    assert (again.reports, again.messages, again.actions, again.cluster_members, again.watch_items,
            again.clusters) == (0, 0, 0, 0, 0, 0)


def test_subject_access_and_erasure_on_postgresql(sessions: sessionmaker[Session]) -> None:
    world = PersonalWorld(sessions)
    check_find_export_erase(sessions, world, seed(world))
