"""Promise 8: a report passed on is never lost while the informant is told it was received.

Every 202 names a reference that is this report's alone. An ``Idempotency-Key`` is the caller's
own (two people who both send ``1`` make two reports) and is bound to what was sent with it (the
same key with another report is refused, 422, never answered with the first report's reference).
References are 40 random bits: one already given out is never given out again.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from schemas import PublicContact
from services.intake import reports
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
