"""Every inbox lists everything routed to it, however many newer reports other teams have had:
newest first, a page at a time, filtered on what is stored beside each report (never by decrypting
contacts), with counts. The routing facts the lists need are stored when the router records them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from schemas import (
    AreaRef,
    AreaType,
    CaseUpdate,
    Destination,
    DestinationKind,
    Informant,
    Location,
    Outcome,
    PublicContact,
    ReportDetails,
    RoutedItem,
    UpdateKind,
)
from schemas.events import new_reference
from services.intake import pages_store
from services.store.crypto import encrypt
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import Report
from services.store.repository import record_action
from services.store.routing import add_routed

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
KEMPSTON = (AreaRef(id="force", name="Bedfordshire", type=AreaType.FORCE),
            AreaRef(id="kempston-north", name="Kempston North", type=AreaType.NEIGHBOURHOOD))


def sessions_in(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url)
    return make_sessions(make_engine(url))


def routed(at: datetime, team: str, category: str = "speeding", areas=KEMPSTON) -> RoutedItem:
    contact = PublicContact(reference=new_reference(), received_at=at,
                            report=ReportDetails(category=category, description="Cars racing",
                                                 location=Location(postcode="MK42 8AA")),
                            informant=Informant(phone="+447700900123"))
    return RoutedItem(reference=contact.reference, contact=contact, areas=areas,
                      destinations=(Destination(kind=DestinationKind.TEAM, id=team, name=team),))


def add(sessions, items: list[RoutedItem]) -> None:
    with sessions() as s, s.begin():
        add_routed(s, items, [])


def walk(sessions, team: str, size: int, **filters) -> list[str]:
    """Every reference an inbox lists, following its pages to the end."""
    seen, cursor = [], None
    while True:
        with sessions() as s:
            page = pages_store.team_items(s, team, everything=False, limit=size, cursor=cursor,
                                          filters=pages_store.Filters(**filters))
        seen += [r["reference"] for r in page.rows]
        if page.next is None:
            return seen
        cursor = pages_store.Cursor.parse(page.next)


def test_a_teams_older_items_stay_listed_after_other_teams_have_hundreds_of_newer_ones(tmp_path):
    sessions = sessions_in(tmp_path)
    mine = [routed(T0 + timedelta(minutes=i), "kempston-team") for i in range(3)]
    others = [routed(T0 + timedelta(hours=1, seconds=i), "roads-team") for i in range(600)]
    add(sessions, mine + others)
    with sessions() as s:
        page = pages_store.team_items(s, "kempston-team", everything=False)
    assert [r["reference"] for r in page.rows] == [i.reference for i in reversed(mine)]
    assert (page.total, page.open, page.next) == (3, 3, None)


def test_pages_walk_every_item_once_newest_first_even_when_times_tie(tmp_path):
    sessions = sessions_in(tmp_path)
    items = [routed(T0 + timedelta(minutes=i // 3), "kempston-team") for i in range(23)]
    add(sessions, items)
    expected = [i.reference for i in sorted(items, key=lambda i: (i.contact.received_at, i.reference), reverse=True)]
    assert walk(sessions, "kempston-team", 5) == expected


def test_filters_by_status_category_and_area_with_counts(tmp_path):
    sessions = sessions_in(tmp_path)
    elsewhere = (AreaRef(id="biddenham", name="Biddenham", type=AreaType.NEIGHBOURHOOD),)
    speeding = routed(T0, "kempston-team")
    dumped = routed(T0 + timedelta(minutes=1), "kempston-team", category="fly-tipping")
    far = routed(T0 + timedelta(minutes=2), "kempston-team", areas=elsewhere)
    add(sessions, [speeding, dumped, far])
    with sessions() as s:
        record_action(s, CaseUpdate(reference=speeding.reference, kind=UpdateKind.CLOSURE, actor_id="kempston-team",
                                    actor_name="Kempston", public_text="Done", outcome=Outcome.RESOLVED))
    assert walk(sessions, "kempston-team", 2, status="closed") == [speeding.reference]
    assert walk(sessions, "kempston-team", 2, status="open") == [far.reference, dumped.reference]
    assert walk(sessions, "kempston-team", 2, category="fly-tipping") == [dumped.reference]
    assert walk(sessions, "kempston-team", 2, area="biddenham") == [far.reference]
    with sessions() as s:
        page = pages_store.team_items(s, "kempston-team", everything=False)
        assert (page.total, page.open) == (3, 2)
        assert s.get(Report, speeding.reference).area == "Kempston North"
        assert s.get(Report, far.reference).area == "Biddenham"


def test_the_migration_fills_the_inbox_facts_of_reports_routed_before_it(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url, "0004")
    engine = make_engine(url)
    contact = '{"kind": "third_party", "organisation_id": "mencap", "report": {"category": "speeding"}}'
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO reports (reference, kind, category, received_at, contact, status) VALUES "
            "('MECC-AAAA-BBBB', 'third_party', 'speeding', '2026-03-01 09:00:00', ?, 'closed')",
            (json.dumps(encrypt(contact)),))  # as it was stored: the JSON string of its Fernet token
        conn.exec_driver_sql(
            "INSERT INTO routing_decisions (reference, event_id, destinations, reasons, rules_version, decided_at) "
            "VALUES ('MECC-AAAA-BBBB', 'e1', '[{\"kind\": \"team\", \"id\": \"kempston-team\", \"name\": \"K\"}]', "
            "'[]', 'v1', '2026-03-01 09:00:01')")
    engine.dispose()
    migrate(url)
    sessions = make_sessions(make_engine(url))
    assert walk(sessions, "kempston-team", 5) == ["MECC-AAAA-BBBB"]
    assert walk(sessions, "kempston-team", 5, status="closed") == ["MECC-AAAA-BBBB"]
    with sessions() as s:
        assert [r["reference"] for r in pages_store.organisation_reports(s, "mencap", None).rows] == ["MECC-AAAA-BBBB"]
    with sessions() as s:
        page = pages_store.team_items(s, "kempston-team", everything=False)
        assert (page.total, page.open) == (1, 0)
