"""The intake's use cases without HTTP: a recording publisher and a SQLite store as the ports. What
each refuses is a domain error (the API, the pages and Open311 each say it their own way), and a
refusal publishes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.orm import Session, sessionmaker

from schemas import PublicContact, UpdateKind
from services.common import metrics
from services.common.config_files import Categories, load_categories
from services.common.sql import Store
from services.intake import usecases
from services.intake.access import Principal, PrincipalKind
from services.intake.audit import AuditLog
from services.intake.permissions import Permission
from services.intake.reports import ActionRequest, PublicReportRequest, ThirdPartyReportRequest
from services.router.config import load_routing_config
from services.router.routing import routed_item
from services.store.db import make_engine, make_sessions, migrate
from tests.fakes.intake import RecordingPublisher
from tests.fakes.store import record_routing

T = TypeVar("T")
TEAM = Principal("kempston-npt", PrincipalKind.TEAM, "Kempston neighbourhood team")
OTHER_TEAM = Principal("rural-crime-team", PrincipalKind.TEAM, "Rural crime team")
WATCH = Principal("kempston-speed-watch", PrincipalKind.WATCH, "Kempston Speed Watch")
ORG = Principal("stop-hate-beds", PrincipalKind.ORGANISATION, "Stop Hate Bedfordshire")
REPORT = {"category": "speeding", "description": "Cars racing on Bedford Road every night",
          "location": {"postcode": "MK42 8AA"}, "informant": {"phone": "07700 900123"}}


@dataclass(frozen=True)
class Ports:
    publisher: RecordingPublisher
    store: Store
    categories: Categories
    #: The store's sessions, to seed it as the router would.
    sessions: sessionmaker[Session]
    audit: AuditLog
    clock: Callable[[], datetime] = lambda: datetime(2030, 1, 2, 3, 4, tzinfo=UTC)


@pytest.fixture
def ports(tmp_path: Path) -> Ports:
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url)
    sessions = make_sessions(make_engine(url))
    store = Store(sessions)
    return Ports(RecordingPublisher(), store, load_categories(), sessions, AuditLog(store))


def run(call: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(call)


def received(kind: str) -> float:
    return metrics.total(metrics.parse(metrics.render()[0].decode()), "mecc_reports_received_total", kind=kind)


def routed(ports: Ports) -> str:
    """A speeding report near Bedford Road, routed as the router would (to Kempston's team and watch)."""
    run(usecases.submit_public_report(ports, PublicReportRequest.model_validate(REPORT), None, scope="test"))
    contact = ports.publisher.events.pop()[2]
    assert isinstance(contact, PublicContact)
    with ports.sessions() as session:
        record_routing(session, routed_item(contact, load_routing_config()))
    return contact.reference


def test_a_public_report_is_published_and_counted_once(ports: Ports) -> None:
    before = received("public")
    accepted = run(usecases.submit_public_report(ports, PublicReportRequest.model_validate(REPORT), "k1", scope="test"))
    ((topic, key, event),) = ports.publisher.events
    assert (topic, key, event.reference) == ("contacts.public", accepted.reference, accepted.reference)
    assert "We will tell you" in accepted.message
    assert received("public") == before + 1


def test_an_unknown_category_names_the_field_and_the_allowed_ones(ports: Ports) -> None:
    body = PublicReportRequest.model_validate({**REPORT, "category": "parking"})
    with pytest.raises(usecases.UnknownCategory) as refused:
        run(usecases.submit_public_report(ports, body, None, scope="test"))
    assert refused.value.field == "category" and "speeding" in refused.value.allowed
    assert ports.publisher.events == []


def test_only_an_organisation_reports_on_someones_behalf(ports: Ports) -> None:
    body = ThirdPartyReportRequest.model_validate(
        {**{k: v for k, v in REPORT.items() if k != "informant"}, "reporter": {"email": "caseworker@example.org"}})
    with pytest.raises(usecases.Forbidden):
        run(usecases.submit_third_party_report(ports, TEAM, body, None))
    accepted = run(usecases.submit_third_party_report(ports, ORG, body, None))
    ((topic, _, event),) = ports.publisher.events
    assert topic == "contacts.third-party" and event.organisation_id == ORG.id
    assert event.reference == accepted.reference


def test_who_may_do_what(ports: Ports) -> None:
    with pytest.raises(usecases.Unauthenticated):
        usecases.authorise(None, Permission.RECORD_ACTION)
    with pytest.raises(usecases.Forbidden, match="may not record action"):
        usecases.authorise(ORG, Permission.RECORD_ACTION)
    assert usecases.authorise(WATCH, Permission.RECORD_ACTION) is WATCH


def test_an_action_needs_a_report_routed_to_the_actor(ports: Ports) -> None:
    action = ActionRequest(public_text="Patrols on Bedford Road")
    with pytest.raises(usecases.NotRoutedYet):
        run(usecases.record_action(ports, TEAM, "MECC-0000-0000", action, None))
    reference = routed(ports)
    with pytest.raises(usecases.Forbidden, match="not routed to rural-crime-team"):
        run(usecases.record_action(ports, OTHER_TEAM, reference, action, None))
    assert ports.publisher.events == []
    run(usecases.record_action(ports, TEAM, reference, action, "a1"))
    ((topic, key, update),) = ports.publisher.events
    assert (topic, key, update.actor_id) == ("cases.updates", reference, TEAM.id)


def test_a_watch_records_actions_but_cannot_close(ports: Ports) -> None:
    reference = routed(ports)
    closure = ActionRequest(public_text="Done", kind=UpdateKind.CLOSURE, outcome="resolved")
    with pytest.raises(usecases.Forbidden, match="closing a report is for the police"):
        run(usecases.record_action(ports, WATCH, reference, closure, None))
    run(usecases.record_action(ports, WATCH, reference, ActionRequest(public_text="Speed check"), None))
    assert [update.actor_id for _, _, update in ports.publisher.events] == [WATCH.id]
