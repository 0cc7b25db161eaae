"""Which months a dashboard refresh recomputes, on SQLite and on PostgreSQL: the database reduces
the changed moments to hours, and a report received late on a month's last evening in summer
(after midnight in the UK) counts in the next month, whatever the database session's time zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from schemas import CaseUpdate, Outcome, UpdateKind
from services.store import dashboard
from services.store.db import make_engine, make_sessions, migrate
from services.store.repository import record_action
from tests.fixtures import fresh_database
from tests.unit.test_inbox_paging import add, routed

pytestmark = pytest.mark.integration

SUMMER_EVENING = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # 00:30 on 1 July in the UK (BST)
WINTER_EVENING = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # still 31 January in the UK (GMT)


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/store.db"
        migrate(url)
        engine = make_engine(url)
        yield make_sessions(engine)
        engine.dispose()
        return
    with fresh_database(request.getfixturevalue("postgres_server")) as url:
        # A session time zone far from the UK's, and not a whole number of hours from UTC.
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f"ALTER DATABASE {make_url(url).database} SET timezone TO 'Asia/Kolkata'"))
        admin.dispose()
        engine = make_engine(url)
        yield make_sessions(engine)
        engine.dispose()


def test_new_reports_touch_their_uk_months(sessions: sessionmaker[Session]) -> None:
    add(sessions, [routed(SUMMER_EVENING, "kempston-team"), routed(WINTER_EVENING, "kempston-team")])
    with sessions() as session:
        assert dashboard.touched_months(session, WINTER_EVENING - timedelta(minutes=1)) == {"2026-01", "2026-07"}
        assert dashboard.touched_months(session, SUMMER_EVENING + timedelta(minutes=1)) == set()


def test_a_closure_touches_the_month_its_report_was_received_in(sessions: sessionmaker[Session]) -> None:
    old = routed(WINTER_EVENING, "kempston-team")
    add(sessions, [old, routed(SUMMER_EVENING, "kempston-team")])
    later = SUMMER_EVENING + timedelta(days=1)
    with sessions() as session:
        record_action(session, CaseUpdate(reference=old.reference, kind=UpdateKind.CLOSURE, actor_id="kempston-team",
                                          actor_name="Kempston", public_text="Done", outcome=Outcome.RESOLVED,
                                          emitted_at=later))
    with sessions() as session:
        assert dashboard.touched_months(session, later - timedelta(minutes=1)) == {"2026-01"}
