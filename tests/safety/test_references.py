"""Promise 8: a report passed on is never lost while the informant is told it was received.

Every 202 names a reference that is this report's alone. An ``Idempotency-Key`` is the caller's
own (two people who both send ``1`` make two reports) and is bound to what was sent with it (the
same key with another report is refused, 422, never answered with the first report's reference).
References are 40 random bits: one already given out is never given out again, and should a
contact made elsewhere arrive under a reference another report has, the router dead-letters it
with the reason and counts it; it is never recorded over the first, nor skipped as a redelivery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas import Location, PublicContact, ReportDetails
from services.common import metrics
from services.common.sql import Store
from services.common.streams import PermanentFailure, failure_reason
from services.intake import reports
from services.router.adapters import SqlRoutingStore
from services.router.config import load_routing_config
from services.router.usecase import RouteContacts
from services.store.db import make_engine, make_sessions, migrate
from services.store.repository import report_contact
from tests.fakes.intake import intake_client

REPORT = {"category": "speeding", "description": "Cars racing on Bedford Road every night",
          "location": {"postcode": "MK42 8AA"}, "informant": {"phone": "07700 900123"}}
OTHER = {**REPORT, "description": "A van parked on the pavement outside the school every morning",
         "informant": {"email": "someone.else@example.org"}}


@pytest.fixture
def api(tmp_path):
    with intake_client(tmp_path) as client:
        yield client


def published(api) -> list[PublicContact]:
    return [event for topic, _, event in api.recorder.events if topic == "contacts.public"]


def test_two_people_who_send_the_same_idempotency_key_make_two_reports(api):
    neighbour = TestClient(api.app, client=("203.0.113.7", 50123))
    first = api.post("/v1/reports", json=REPORT, headers={"Idempotency-Key": "1"})
    second = neighbour.post("/v1/reports", json=OTHER, headers={"Idempotency-Key": "1"})
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["reference"] != second.json()["reference"]
    events = published(api)
    assert [e.report.description for e in events] == [REPORT["description"], OTHER["description"]]
    assert len({e.event_id for e in events}) == 2


def test_a_key_is_bound_to_its_report_a_retry_is_the_same_report(api):
    first = api.post("/v1/reports", json=REPORT, headers={"Idempotency-Key": "k-1"})
    retry = api.post("/v1/reports", json=REPORT, headers={"Idempotency-Key": "k-1"})
    assert retry.status_code == 202 and retry.json()["reference"] == first.json()["reference"]
    other = api.post("/v1/reports", json=OTHER, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert [f["field"] for f in other.json()["fields"]] == ["Idempotency-Key"]
    assert first.json()["reference"] not in other.text
    # Nothing was published for the refused one; the retry is the same event (harmless to redeliver).
    assert len({e.event_id for e in published(api)}) == 1


def test_a_key_sent_with_an_api_key_is_that_principals_not_everyone_behind_the_same_address(api):
    # A contact-centre call handler passing on a phoned-in report, and a member of the public on
    # the same network: the same address, the same key, two reports.
    keyed = api.post("/v1/reports", json=REPORT, headers={"X-API-Key": "dev-team-contact-centre",
                                                          "Idempotency-Key": "1"})
    anonymous = api.post("/v1/reports", json=OTHER, headers={"Idempotency-Key": "1"})
    assert (keyed.status_code, anonymous.status_code) == (202, 202)
    assert keyed.json()["reference"] != anonymous.json()["reference"]
    assert len(published(api)) == 2


def test_a_reference_already_given_out_is_never_given_to_another_report(api, monkeypatch):
    # Two draws of 40 random bits that happen to agree (a birthday collision, made certain here).
    monkeypatch.setattr(reports, "new_reference", lambda: "MECC-AAAA-AAAA")
    first = api.post("/v1/reports", json=REPORT)
    monkeypatch.setattr(reports, "new_reference", iter(["MECC-AAAA-AAAA", "MECC-BBBB-BBBB"]).__next__)
    second = api.post("/v1/reports", json=OTHER)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["reference"] == "MECC-AAAA-AAAA" and second.json()["reference"] == "MECC-BBBB-BBBB"
    assert [e.reference for e in published(api)] == ["MECC-AAAA-AAAA", "MECC-BBBB-BBBB"]


class Broker:
    """Takes what the router publishes, acknowledging at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def send(self, topic: str, key: bytes, value: bytes) -> Awaitable[Any]:
        self.sent.append((topic, key))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_a_second_report_under_a_taken_reference_is_dead_lettered_and_counted_never_dropped(tmp_path):
    # Defence in depth behind the intake's claims: a contact made elsewhere (a reply that became
    # a new contact, a replay) whose reference another report already has.
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url)
    sessions = make_sessions(make_engine(url))
    broker = Broker()
    router = RouteContacts(load_routing_config(), SqlRoutingStore(Store(sessions)), broker)
    location = Location(postcode="MK42 8AA")
    first = PublicContact(reference="MECC-AAAA-AAAA", report=ReportDetails(
        category="speeding", description=REPORT["description"], location=location))
    second = PublicContact(reference="MECC-AAAA-AAAA", report=ReportDetails(
        category="speeding", description=OTHER["description"], location=location))
    asyncio.run(router([first]))
    asyncio.run(router([first]))  # a redelivery is still harmless
    sent = len(broker.sent)
    before = metrics.total(metrics.parse(metrics.render()[0].decode()), "mecc_reference_conflicts_total")
    with pytest.raises(PermanentFailure) as refused:
        asyncio.run(router([second]))
    # The dead letter's reason (what ``process`` writes) says which reference and why.
    assert "MECC-AAAA-AAAA already names another report" in failure_reason(refused.value)
    assert metrics.total(metrics.parse(metrics.render()[0].decode()), "mecc_reference_conflicts_total") == before + 1
    assert len(broker.sent) == sent  # nothing of the second was published as routed
    with sessions() as session:
        contact, _ = report_contact(session, "MECC-AAAA-AAAA") or ({}, False)
    assert contact["event_id"] == str(first.event_id)
