"""The read side's hot queries use indexes, not sequential scans of the big tables: at 20,000
seeded reports (ANALYZE'd, as autovacuum would have), each statement a page or API runs is
planned by PostgreSQL and no plan reads a large table from end to end. A scan like that grows
with the force's history: fast at a demo's size, seconds at a million reports.

Two checks per statement: the plan PostgreSQL chooses reads none of the tables with a row per
report (or more) sequentially; and with sequential scans priced out (``enable_seqscan = off``)
no table that grows with the reports is read sequentially either: there is an index for it, so
when a smaller table (clusters, watch items) is scanned at this size it is the planner's choice
for a small table, not the lack of an index."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from bench import dataset
from infra import postgres as local_postgres
from services.intake import pages_store
from services.store import dashboard
from services.store import routing as routing_store
from services.store.db import make_engine, make_sessions, migrate
from services.store.paging import Cursor

pytestmark = pytest.mark.integration

REPORTS = 20_000
#: Tables with a row per report or more.
LARGEST = {"reports", "routing_decisions", "report_destinations", "report_areas", "actions", "messages"}
#: Tables that grow with the reports (the dashboard's figures and the inbox counts do not).
LARGE = LARGEST | {"survey_answers", "cluster_members", "watch_items", "clusters"}


@pytest.fixture(scope="module")
def seeded(postgres_server: str) -> Iterator[tuple[str, sessionmaker[Session]]]:
    name = f"mecc_plans_{uuid.uuid4().hex[:8]}"
    url = local_postgres.create_database(postgres_server, name)
    engine = make_engine(url)
    try:
        migrate(url)
        dataset.fill(url, REPORTS, seed=11)
        yield url, make_sessions(engine)
    finally:
        engine.dispose()
        with suppress(Exception):
            local_postgres.drop_database(postgres_server, name)


def statements_of(call: Callable[[], Any]) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return seen


def full_scans(engine: Engine, statement: str, parameters: Any, tables: set[str], *, priced_out: bool = False
               ) -> list[str]:
    """Which of ``tables`` a statement's plan reads with a sequential scan."""
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        try:
            if priced_out:
                cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            row = cur.fetchone()
            assert row is not None
            plan: Any = row[0]
        finally:
            cur.close()
            raw.rollback()
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in tables:
            found.append(node["Relation Name"])
        for child in node.get("Plans", ()):
            walk(child)

    walk((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    return found


def hot_reads(sessions: sessionmaker[Session], engine: Engine) -> dict[str, Callable[[], Any]]:
    with engine.connect() as conn:
        deep = conn.execute(text(
            "SELECT reference, received_at FROM report_destinations WHERE destination_id = 'kempston-npt' "
            "ORDER BY received_at DESC, reference DESC OFFSET 2000 LIMIT 1")).one()
        newest = conn.execute(text("SELECT max(received_at) FROM reports")).scalar_one()
        reference = conn.execute(text("SELECT reference FROM reports ORDER BY received_at DESC LIMIT 1")).scalar_one()
    after = Cursor(deep.received_at, deep.reference)

    def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
        def call() -> Any:
            with sessions() as session:
                return fn(session, *args, **kwargs)
        return call

    team = pages_store.team_items
    return {
        "team inbox": run(team, "kempston-npt", everything=False),
        "team inbox, a deep page": run(team, "kempston-npt", everything=False, cursor=after),
        "team inbox, open": run(team, "kempston-npt", everything=False, filters=pages_store.Filters(status="open")),
        "team inbox, closed": run(team, "kempston-npt", everything=False,
                                  filters=pages_store.Filters(status="closed")),
        "team inbox, a category": run(team, "kempston-npt", everything=False,
                                      filters=pages_store.Filters(category="speeding")),
        "team inbox, an area": run(team, "roads-policing", everything=False,
                                   filters=pages_store.Filters(area="kempston-north")),
        "contact centre (every report)": run(team, "force-contact-centre", everything=True),
        "watch inbox": run(pages_store.watch_items, "kempston-speed-watch"),
        "watch inbox, open": run(pages_store.watch_items, "kempston-speed-watch", 50, None,
                                 pages_store.Filters(status="open")),
        "watch items API": run(routing_store.watch_items_for, "kempston-speed-watch", limit=51),
        "Open311 requests": run(pages_store.organisation_reports, dataset.ORGANISATION, None),
        "Open311 requests, dated": run(pages_store.organisation_reports, dataset.ORGANISATION, None, 50, None,
                                       pages_store.Filters(since=newest - timedelta(days=400),
                                                           until=newest - timedelta(days=370))),
        "track page": run(pages_store.track_rows, reference),
        "dashboard": run(dashboard.read),
        "dashboard refresh: what changed": run(dashboard.touched_months, newest - timedelta(hours=1)),
    }


def test_no_hot_read_scans_a_large_table(seeded: tuple[str, sessionmaker[Session]]) -> None:
    url, sessions = seeded
    engine = make_engine(url)
    try:
        scans = {}
        for name, call in hot_reads(sessions, engine).items():
            ran = statements_of(call)
            assert ran, name
            for statement, parameters in ran:
                found = full_scans(engine, statement, parameters, LARGEST) + full_scans(
                    engine, statement, parameters, LARGE, priced_out=True)
                if found:
                    scans[name] = (found, statement[:400])
        assert scans == {}, "\n".join(f"{k}: {v}" for k, v in scans.items())
    finally:
        engine.dispose()


def test_the_seeded_inboxes_are_complete_and_counted(seeded: tuple[str, sessionmaker[Session]]) -> None:
    url, sessions = seeded
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            routed = conn.execute(text("SELECT count(*) FROM report_destinations "
                                       "WHERE destination_id = 'kempston-npt'")).scalar_one()
        with sessions() as session:
            page = pages_store.team_items(session, "kempston-npt", everything=False)
        assert page.total == routed and len(page.rows) == pages_store.PAGE_SIZE and page.next
    finally:
        engine.dispose()
