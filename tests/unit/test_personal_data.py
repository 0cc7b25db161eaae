"""Personal data: encrypted at rest in the store, removed by the retention job a set time after
closure while the anonymous statistics stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from schemas import CaseUpdate, Informant, Location, Outcome, PublicContact, ReportDetails, UpdateKind
from schemas.events import CONTACT, new_reference
from services.retention.__main__ import main as retention_main
from services.retention.purge import REMOVED, purge
from services.router.config import load_routing_config
from services.router.routing import routed_item
from services.store import messages as store
from services.store import repository
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import Message, Report, RoutingDecision
from tests.fakes.store import record_routing

PHONE = "+447700900321"
EMAIL = "jo.bloggs@example.org"


def world(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url)
    return url, make_sessions(make_engine(url))


def routed(sessions, closed_at: datetime | None = None) -> str:
    contact = PublicContact(
        reference=new_reference(),
        report=ReportDetails(category="speeding", description="Jo Bloggs at number 12 races every night",
                             location=Location(latitude=52.1234, longitude=-0.4567)),
        informant=Informant(name="Jo Bloggs", phone=PHONE, email=EMAIL),
    )
    with sessions() as s:
        record_routing(s, routed_item(contact, load_routing_config()))
    with sessions() as s:
        draft = store.Draft(key=f"{contact.reference}:ack:sms", reference=contact.reference, trigger="ack",
                            role="informant", channel="sms", recipient=PHONE, body="Thanks Jo, ref ...")
        store.claim_and_take(s, [store.ClaimRequest(draft)], contact.received_at, lambda _: [])
    if closed_at is not None:
        update = CaseUpdate(reference=contact.reference, kind=UpdateKind.CLOSURE, actor_id="kempston-npt",
                            actor_name="Kempston", public_text="Patrols done", outcome=Outcome.RESOLVED,
                            emitted_at=closed_at)
        with sessions() as s:
            repository.record_action(s, update)
    return contact.reference


def test_contact_details_are_encrypted_at_rest_and_read_back_plain(tmp_path) -> None:
    _, sessions = world(tmp_path)
    reference = routed(sessions)
    with sessions() as s:
        raw_contact, raw_recipient = s.execute(text(
            "SELECT r.contact, m.recipient FROM reports r JOIN messages m ON m.reference = r.reference "
            "WHERE r.reference = :r"), {"r": reference}).one()
        for raw in (str(raw_contact), str(raw_recipient)):
            assert "gAAAA" in raw
            for personal in ("Bloggs", "7700900321", "example.org"):
                assert personal not in raw
        assert s.get(Report, reference).contact["informant"]["phone"] == PHONE
        assert s.query(Message).filter_by(reference=reference).one().recipient == PHONE


def test_retention_removes_personal_data_after_closure_and_keeps_the_statistics(tmp_path, monkeypatch) -> None:
    url, sessions = world(tmp_path)
    now = datetime.now(UTC)
    old = routed(sessions, closed_at=now - timedelta(days=400))
    recent = routed(sessions, closed_at=now - timedelta(days=10))
    still_open = routed(sessions)
    with sessions() as s:
        done = purge(s, now=now, after=timedelta(days=365))
    assert (done.reports, done.messages) == (1, 1)
    with sessions() as s:
        contact = s.get(Report, old).contact
        assert contact["informant"] == {"preferences": {}} and contact["report"]["description"] == REMOVED
        assert contact["report"]["location"] == {"latitude": 52.12, "longitude": -0.46}
        CONTACT.validate_python(contact)  # still a valid event for anything that reads it
        message = s.query(Message).filter_by(reference=old).one()
        assert (message.recipient, message.body, message.address_digest) == ("", REMOVED, None)
        assert message.provider_id is None
        assert message.status == "scheduled" and message.channel == "sms"  # statistics stay
        assert s.get(RoutingDecision, old) is not None and s.get(Report, old).category == "speeding"
        for kept in (recent, still_open):
            assert s.get(Report, kept).contact["informant"]["phone"] == PHONE
    monkeypatch.setenv("DATABASE_URL", url)
    assert retention_main(["--days", "5"]) == 0
    with sessions() as s:
        assert s.get(Report, recent).contact["informant"] == {"preferences": {}}
        assert s.get(Report, still_open).contact["informant"]["phone"] == PHONE
