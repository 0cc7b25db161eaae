"""The intake's HTTP contract, with the Kafka publisher replaced by a recorder (the real one is
exercised against a real broker in tests/integration)."""

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest

from schemas import CaseUpdate, PublicContact, RoutedItem, ThirdPartyContact
from services.router.config import load_routing_config
from services.router.routing import routed_item
from services.store.routing import MemberRow, NewCluster, add_clusters
from tests.fakes.intake import intake_client
from tests.fakes.store import record_routing

REPORT = {
    "category": "speeding",
    "description": "Cars racing on Bedford Road every night",
    "location": {"postcode": "MK42 8AA"},
    "informant": {"phone": "07700 900123"},
}


@pytest.fixture
def api(tmp_path):
    with intake_client(tmp_path) as client:
        yield client


def test_a_report_is_accepted_with_a_reference_and_the_999_reminder(api):
    r = api.post("/v1/reports", json=REPORT)
    assert r.status_code == 202
    body = r.json()
    assert "call 999" in body["message"]
    ((topic, key, event),) = api.recorder.events
    assert topic == "contacts.public" and key == body["reference"]
    assert isinstance(event, PublicContact) and event.informant is not None
    assert event.informant.phone == "+447700900123"


def test_invalid_fields_get_422_naming_each_field_without_echoing_values(api):
    bad = {**REPORT, "location": {}, "informant": {"phone": "12345"}, "colour": "red"}
    r = api.post("/v1/reports", json=bad)
    assert r.status_code == 422
    fields = {f["field"] for f in r.json()["fields"]}
    assert fields == {"location", "informant.phone", "colour"}
    assert "12345" not in r.text
    assert api.recorder.events == []


def test_unknown_category_is_named_with_the_allowed_ones(api):
    r = api.post("/v1/reports", json={**REPORT, "category": "parking"})
    assert r.status_code == 422
    (field,) = r.json()["fields"]
    assert field["field"] == "category" and "speeding" in field["allowed"]


def test_oversized_body_is_refused(api):
    r = api.post("/v1/reports", json={**REPORT, "description": "x" * 70_000})
    assert r.status_code == 413


def test_broker_down_gives_503_and_nothing_is_recorded(api):
    api.recorder.down = True
    r = api.post("/v1/reports", json=REPORT)
    assert r.status_code == 503
    assert r.headers["Retry-After"]
    assert api.get("/readyz").status_code == 503
    assert api.get("/healthz").status_code == 200


def test_retrying_with_the_same_idempotency_key_gives_the_same_report(api):
    first = api.post("/v1/reports", json=REPORT, headers={"Idempotency-Key": "k-1"}).json()
    again = api.post("/v1/reports", json=REPORT, headers={"Idempotency-Key": "k-1"}).json()
    other = api.post("/v1/reports", json=REPORT, headers={"Idempotency-Key": "k-2"}).json()
    assert first["reference"] == again["reference"] != other["reference"]
    assert api.recorder.events[0][2].event_id == api.recorder.events[1][2].event_id


def test_third_party_reports_need_an_organisation_key(api):
    body = {k: v for k, v in REPORT.items() if k != "informant"} | {
        "reporter": {"email": "caseworker@example.org"}, "category": "hate-incident"}
    assert api.post("/v1/third-party/reports", json=body).status_code == 401
    assert api.post("/v1/third-party/reports", json=body,
                    headers={"X-API-Key": "dev-team-kempston"}).status_code == 403
    r = api.post("/v1/third-party/reports", json=body, headers={"X-API-Key": "dev-org-stop-hate"})
    assert r.status_code == 202
    event = api.recorder.events[-1][2]
    assert isinstance(event, ThirdPartyContact) and event.organisation_id == "stop-hate-beds"


def _routed(api, category="speeding") -> str:
    api.post("/v1/reports", json={**REPORT, "category": category})
    contact = api.recorder.events[-1][2]
    item: RoutedItem = routed_item(contact, load_routing_config())
    with api.sessions() as s:
        record_routing(s, item)
    return contact.reference


def test_a_team_records_an_action_on_a_report_routed_to_it(api):
    ref = _routed(api)
    r = api.post(f"/v1/reports/{ref}/actions", json={"public_text": "Patrols on Bedford Road"},
                 headers={"X-API-Key": "dev-team-kempston"})
    assert r.status_code == 202
    update = api.recorder.events[-1][2]
    assert isinstance(update, CaseUpdate)
    assert (update.actor_id, update.actor_name) == ("kempston-npt", "Kempston neighbourhood team")


def test_a_team_cannot_act_on_a_report_routed_elsewhere(api):
    ref = _routed(api, category="rural-crime")
    r = api.post(f"/v1/reports/{ref}/actions", json={"public_text": "x"},
                 headers={"X-API-Key": "dev-team-kempston"})
    assert r.status_code == 403
    # the force contact centre may act on any report
    r = api.post(f"/v1/reports/{ref}/actions", json={"public_text": "x"},
                 headers={"X-API-Key": "dev-team-contact-centre"})
    assert r.status_code == 202


def test_actions_on_unknown_or_malformed_references(api):
    headers = {"X-API-Key": "dev-team-kempston"}
    assert api.post("/v1/reports/MECC-0000-0000/actions", json={"public_text": "x"},
                    headers=headers).status_code == 404
    r = api.post("/v1/reports/nonsense/actions", json={"public_text": "x"}, headers=headers)
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "reference"


def test_openapi_document_describes_the_endpoints(api):
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/v1/reports", "/v1/third-party/reports", "/v1/reports/{reference}/actions"} <= set(paths)


def _clustered(api, references: list[str]) -> str:
    cluster_id = str(uuid.uuid4())
    first = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    with api.sessions() as s, s.begin():
        add_clusters(s, [NewCluster(cluster_id, "speeding", "Bedford Road", first)], [
            MemberRow(cluster_id, ref, "speeding", 52.12, -0.5, None, first.replace(minute=i))
            for i, ref in enumerate(references)])
    return cluster_id


def test_an_action_on_a_cluster_reaches_every_report_routed_to_the_team(api):
    refs = [_routed(api) for _ in range(3)]
    cluster_id = _clustered(api, refs)
    before = len(api.recorder.events)
    r = api.post(f"/v1/clusters/{cluster_id}/actions", json={"public_text": "Speed checks on Bedford Road"},
                 headers={"X-API-Key": "dev-team-kempston", "Idempotency-Key": "c-1"})
    assert r.status_code == 202 and r.json()["reports"] == 3
    updates = [e for _, _, e in api.recorder.events[before:]]
    assert sorted(u.reference for u in updates) == sorted(refs)
    assert len({u.event_id for u in updates}) == 3
    # retried with the same key: the same events, which the feedback worker sends only once
    api.post(f"/v1/clusters/{cluster_id}/actions", json={"public_text": "Speed checks on Bedford Road"},
             headers={"X-API-Key": "dev-team-kempston", "Idempotency-Key": "c-1"})
    again = [e for _, _, e in api.recorder.events[before + 3:]]
    assert {u.event_id for u in again} == {u.event_id for u in updates}


def test_a_cluster_action_needs_a_report_routed_to_the_caller(api):
    cluster_id = _clustered(api, [_routed(api, "speeding")])
    r = api.post(f"/v1/clusters/{cluster_id}/actions", json={"public_text": "x"},
                 headers={"X-API-Key": "dev-team-roads"})
    assert r.status_code == 202  # speeding goes to roads policing too
    unknown = api.post(f"/v1/clusters/{uuid.uuid4()}/actions", json={"public_text": "x"},
                       headers={"X-API-Key": "dev-team-roads"})
    assert unknown.status_code == 404
    rural = _clustered(api, [_routed(api, "rural-crime")])
    r = api.post(f"/v1/clusters/{rural}/actions", json={"public_text": "x"}, headers={"X-API-Key": "dev-team-kempston"})
    assert r.status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "closure", "outcome": "no_further_action"}, "outcome_reason"),
    ({"kind": "closure", "outcome": "no_further_action", "outcome_reason": "   "}, "outcome_reason"),
    ({"kind": "closure"}, "outcome"),
    ({"outcome": "no_further_action"}, "outcome_reason"),
])
def test_a_closure_missing_what_the_informant_must_read_is_a_422_naming_the_field(api, body, field):
    ref = _routed(api)
    before = len(api.recorder.events)
    r = api.post(f"/v1/reports/{ref}/actions", json={"public_text": "We looked into it", **body},
                 headers={"X-API-Key": "dev-team-kempston"})
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["fields"]] == [field]
    assert len(api.recorder.events) == before


def test_a_cluster_closure_without_a_reason_is_a_422_naming_it(api):
    cluster_id = _clustered(api, [_routed(api)])
    before = len(api.recorder.events)
    r = api.post(f"/v1/clusters/{cluster_id}/actions",
                 json={"public_text": "We looked into it", "kind": "closure", "outcome": "no_further_action"},
                 headers={"X-API-Key": "dev-team-kempston"})
    assert r.status_code == 422 and [f["field"] for f in r.json()["fields"]] == ["outcome_reason"]
    assert len(api.recorder.events) == before


def test_a_closure_with_its_reason_is_accepted(api):
    ref = _routed(api)
    r = api.post(f"/v1/reports/{ref}/actions",
                 json={"public_text": "We looked into it", "kind": "closure", "outcome": "no_further_action",
                       "outcome_reason": "No vehicles were over the limit"},
                 headers={"X-API-Key": "dev-team-kempston"})
    assert r.status_code == 202
    update = api.recorder.events[-1][2]
    assert isinstance(update, CaseUpdate) and update.outcome_reason == "No vehicles were over the limit"


@pytest.mark.parametrize("key", ["dev-team-kempstön", "ключ", "dev-team-kempston\u00e9"])
def test_a_non_ascii_api_key_is_an_unknown_key(api, key):
    ref = _routed(api)
    # Sent as UTF-8 bytes (httpx refuses a non-ASCII str header).
    r = api.post(f"/v1/reports/{ref}/actions", json={"public_text": "x"}, headers={"X-API-Key": key.encode()})
    assert r.status_code == 401


def test_a_track_page_with_a_non_ascii_secret_is_not_found(tmp_path):
    with intake_client(tmp_path, track_secret="t") as client:
        ref = _routed(client)
        for secret in ("é", "ü" * 16, "".join(chr(0xFF10 + i) for i in range(10)) + "abcdef"):
            assert client.get(f"/track/{ref}", params={"secret": secret}).status_code == 404


def test_a_sign_in_form_with_a_non_ascii_csrf_token_is_refused(api):
    r = api.post("/sign-in", data={"api_key": "dev-team-kempston", "csrf_token": "jeton-é"}, follow_redirects=False)
    assert r.status_code == 403


def test_a_report_of_something_in_the_future_is_a_422_naming_happened_at(api):
    r = api.post("/v1/reports", json={**REPORT, "happened_at": "2999-01-01T00:00:00Z"})
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["fields"]] == ["happened_at"]


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00", "1899-12-31T23:59:59Z"])
def test_a_report_of_something_before_1900_is_a_422_naming_happened_at(api, when):
    r = api.post("/v1/reports", json={**REPORT, "happened_at": when})
    assert r.status_code == 422 and [f["field"] for f in r.json()["fields"]] == ["happened_at"]
    assert api.post("/v1/reports", json={**REPORT, "happened_at": "1900-01-01T00:00:00Z"}).status_code == 202


def test_every_event_the_intake_publishes_carries_its_clock_s_time(api):
    # a clock far from today's: an event stamped by the wall clock instead would not match it
    then = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    api.app.state.context = dataclasses.replace(api.app.state.context, clock=lambda: then)
    reference = api.post("/v1/reports", json=REPORT).json()["reference"]
    body = {k: v for k, v in REPORT.items() if k != "informant"} | {
        "reporter": {"email": "caseworker@example.org"}, "category": "hate-incident"}
    assert api.post("/v1/third-party/reports", json=body, headers={"X-API-Key": "dev-org-stop-hate"}
                    ).status_code == 202
    routed = _routed(api)
    assert api.post(f"/v1/reports/{routed}/actions", json={"public_text": "Speed checks on Bedford Road"},
                    headers={"X-API-Key": "dev-team-kempston"}).status_code == 202
    events = [e for _, _, e in api.recorder.events]
    kinds = {type(e) for e in events}
    assert {PublicContact, ThirdPartyContact, CaseUpdate} <= kinds and reference
    assert {e.emitted_at for e in events if not isinstance(e, RoutedItem)} == {then}
    assert {e.received_at for e in events if isinstance(e, PublicContact | ThirdPartyContact)} == {then}
