"""Open311 GeoReport v2: our responses have the specification's shape (its examples are fixtures in
tests/unit/open311/), POST needs an organisation's api_key and becomes the same event as the
third-party API, reads show only that organisation's requests, and statuses are honest."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from schemas import CaseUpdate, ThirdPartyContact
from services.intake.open311 import status_of
from services.router.config import load_routing_config
from services.router.routing import routed_item
from services.store import repository
from tests.fakes.intake import intake_client
from tests.fakes.store import record_routing

SPEC = Path(__file__).resolve().parent / "open311"
KEY = "dev-org-stop-hate"


@pytest.fixture
def api(tmp_path):
    with intake_client(tmp_path) as client:
        yield client


def spec_post(**changes: str) -> dict[str, str]:
    """The specification's example POST, moved to Bedfordshire and to one of our services."""
    form = dict(parse_qsl((SPEC / "post_request.txt").read_text().strip()))
    form.update({"api_key": KEY, "service_code": "speeding", "lat": "52.125", "long": "-0.495",
                 "address_string": "Bedford Road, Kempston MK42 8AA", "phone": "07700 900123"})
    form.update(changes)
    return form


def shape(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def fixture(name: str) -> ET.Element:
    return ET.fromstring((SPEC / name).read_bytes())


def test_services_have_the_specifications_fields_in_json_and_xml(api):
    spec_json = json.loads((SPEC / "services.json").read_text())
    r = api.get("/open311/v2/services.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    services = r.json()
    assert [list(s) for s in services[:1]] == [list(spec_json[0])]
    speeding = next(s for s in services if s["service_code"] == "speeding")
    assert speeding["service_name"] == "Speeding and road safety" and speeding["metadata"] is False
    r = api.get("/open311/v2/services.xml")
    assert r.headers["content-type"].startswith("text/xml")
    ours = ET.fromstring(r.content)
    assert ours.tag == fixture("services.xml").tag
    assert shape(ours[0]) == shape(fixture("services.xml")[0])


def test_a_service_definition_and_an_unknown_service(api):
    r = api.get("/open311/v2/services/speeding.xml")
    assert r.status_code == 200
    assert shape(ET.fromstring(r.content)) == shape(fixture("service_definition.xml"))
    assert api.get("/open311/v2/services/speeding.json").json() == {"service_code": "speeding", "attributes": []}
    r = api.get("/open311/v2/services/parking.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    assert api.get("/open311/v2/services.csv").status_code == 404


def test_post_needs_an_organisations_api_key_with_the_specs_error_shape(api):
    for key in ("", "wrong", "dev-team-kempston"):
        r = api.post("/open311/v2/requests.xml", data=spec_post(api_key=key))
        assert r.status_code == 403
        ours = ET.fromstring(r.content)
        assert ours.tag == "errors" and shape(ours[0]) == shape(fixture("error.xml")[0])
    assert api.recorder.events == []


def test_the_specs_own_example_post_is_refused_for_its_location_outside_the_uk(api):
    form = dict(parse_qsl((SPEC / "post_request.txt").read_text().strip()))
    r = api.post("/open311/v2/requests.json", data={**form, "api_key": KEY, "service_code": "speeding"})
    assert r.status_code == 400
    (err,) = r.json()
    assert err["code"] == 400 and "lat" in err["description"] and "long" in err["description"]


def test_post_creates_the_same_event_as_the_third_party_api(api):
    r = api.post("/open311/v2/requests.xml", data=spec_post())
    assert r.status_code == 200, r.text
    ours = ET.fromstring(r.content)
    assert ours.tag == "service_requests" and shape(ours[0]) == shape(fixture("post_response.xml")[0])
    reference = ours[0].findtext("service_request_id")
    ((topic, key, event),) = api.recorder.events
    assert topic == "contacts.third-party" and key == reference and isinstance(event, ThirdPartyContact)
    assert event.organisation_id == "stop-hate-beds"
    assert event.report.location.postcode == "MK42 8AA" and event.report.location.latitude == 52.125
    assert event.reporter.name == "john smith" and event.reporter.email == "smit222@sfgov.edu"
    assert event.reporter.preferences.channel == "email"
    assert "999" in (ours[0].findtext("service_notice") or "")


def test_post_errors_name_what_is_missing(api):
    assert "service_code" in api.post("/open311/v2/requests.json", data=spec_post(service_code="")).json()[0][
        "description"]
    r = api.post("/open311/v2/requests.json", data=spec_post(service_code="parking"))
    assert r.status_code == 400 and "unknown" in r.json()[0]["description"]
    r = api.post("/open311/v2/requests.json", data=spec_post(email="", phone=""))
    assert r.status_code == 400 and "email or phone" in r.json()[0]["description"]
    r = api.post("/open311/v2/requests.json", data=spec_post(lat="", long="", address_string=""))
    assert r.status_code == 400 and "location" in r.json()[0]["description"]


def store_request(api, **changes: str) -> str:
    r = api.post("/open311/v2/requests.json", data=spec_post(**changes))
    event = api.recorder.events[-1][2]
    item = routed_item(event, load_routing_config())
    with api.sessions() as s:
        record_routing(s, item)
    return str(r.json()[0]["service_request_id"])


def test_reads_show_the_organisations_own_requests_with_honest_statuses(api):
    ref = store_request(api, description="Cars racing <every> night")
    r = api.get(f"/open311/v2/requests/{ref}.json", params={"api_key": KEY})
    assert r.status_code == 200
    (doc,) = r.json()
    assert list(doc) == shape(fixture("requests.xml")[0])
    assert doc["status"] == "open" and doc["service_code"] == "speeding"
    assert "Roads policing unit" in doc["agency_responsible"]
    r = api.get(f"/open311/v2/requests/{ref}.xml", params={"api_key": KEY})
    assert shape(ET.fromstring(r.content)[0]) == shape(fixture("requests.xml")[0])
    assert ET.fromstring(r.content)[0].findtext("description") == "Cars racing <every> night"

    with api.sessions() as s:
        repository.record_action(s, CaseUpdate(reference=ref, actor_id="roads-policing", actor_name="Roads",
                                               public_text="Speed checks are booked for next week"))
    doc = api.get(f"/open311/v2/requests/{ref}.json", params={"api_key": KEY}).json()[0]
    assert doc["status"] == "open" and doc["status_notes"] == "Speed checks are booked for next week"
    extended = api.get(f"/open311/v2/requests/{ref}.json", params={"api_key": KEY, "extended_statuses": "true"})
    assert extended.json()[0]["status"] == "in_progress"
    with api.sessions() as s:
        repository.record_action(s, CaseUpdate(
            reference=ref, kind="closure", actor_id="roads-policing", actor_name="Roads", public_text="We checked",
            outcome="no_further_action", outcome_reason="No vehicles over the limit"))
    doc = api.get("/open311/v2/requests.json", params={"api_key": KEY, "extended_statuses": "true"}).json()[0]
    assert doc["status"] == "no_further_action" and "No vehicles over the limit" in doc["status_notes"]
    assert api.get("/open311/v2/requests.json", params={"api_key": KEY}).json()[0]["status"] == "closed"


def test_reads_need_the_key_and_never_show_other_reports(api):
    ref = store_request(api)
    assert api.get(f"/open311/v2/requests/{ref}.json").status_code == 403
    assert api.get("/open311/v2/requests.json", params={"api_key": "dev-team-kempston"}).status_code == 403
    assert api.get("/open311/v2/requests/MECC-0000-0000.json", params={"api_key": KEY}).status_code == 404
    listed = api.get("/open311/v2/requests.json", params={"api_key": KEY, "service_request_id": ref}).json()
    assert [d["service_request_id"] for d in listed] == [ref]
    assert api.get("/open311/v2/requests.json", params={"api_key": KEY, "status": "closed"}).json() == []


@pytest.mark.parametrize(("outcome", "extended"), [("resolved", "fixed"), ("action_taken", "closed"),
                                                   ("passed_to_partner", "internal_referral"),
                                                   ("no_further_action", "no_further_action")])
def test_outcomes_map_to_extended_statuses(outcome, extended):
    row = {"status": "closed", "actions": [{"kind": "closure", "outcome": outcome, "public_text": "x",
                                            "outcome_reason": None}]}
    assert status_of(row, extended=True)[0] == extended
    assert status_of(row, extended=False)[0] == "closed"


def open311_error(r, fmt: str) -> str:
    """The one error of a GeoReport error answer (its list of code and description), in ``fmt``."""
    if fmt == "json":
        assert r.headers["content-type"].startswith("application/json")
        (err,) = r.json()
        assert err["code"] == r.status_code
        return str(err["description"])
    assert r.headers["content-type"].startswith("text/xml")
    ours = ET.fromstring(r.content)
    assert ours.tag == "errors" and shape(ours[0]) == shape(fixture("error.xml")[0])
    assert ours[0].findtext("code") == str(r.status_code)
    return ours[0].findtext("description") or ""


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("param", "value"), [
    ("start_date", "yesterday"), ("start_date", "2026-13-45T00:00:00Z"), ("end_date", "2026-03-01T25:00"),
    ("end_date", "not a date"), ("start_date", "0001-01-01T00:00:00+01:00"),
    ("end_date", "9999-12-31T23:59:59-01:00"), ("lat", "north"), ("long", "-0.49°"), ("lat", "nan"), ("long", "inf"),
    ("service_request_id", "MECC-0000-0000,nonsense"), ("status", "lost"),
])
def test_a_bad_read_parameter_is_a_400_naming_it_in_the_requested_format(api, fmt, param, value):
    store_request(api)
    r = api.get(f"/open311/v2/requests.{fmt}", params={"api_key": KEY, param: value})
    assert r.status_code == 400
    assert param in open311_error(r, fmt)


def test_dates_filter_the_organisations_requests(api):
    ref = store_request(api)
    listed = api.get("/open311/v2/requests.json", params={"api_key": KEY, "start_date": "2000-01-01T00:00:00Z",
                                                          "end_date": "2999-01-01"}).json()
    assert [d["service_request_id"] for d in listed] == [ref]
    assert api.get("/open311/v2/requests.json", params={"api_key": KEY, "start_date": "2999-01-01T00:00:00+01:00"}
                   ).json() == []


def test_requests_come_a_page_at_a_time_following_the_link_header(api):
    refs = [store_request(api, description=f"Cars racing, night {i}") for i in range(5)]
    seen: list[str] = []
    url: str | None = f"/open311/v2/requests.json?api_key={KEY}&page_size=2"
    while url:
        r = api.get(url)
        assert r.status_code == 200 and len(r.json()) <= 2, (url, r.text)
        seen += [d["service_request_id"] for d in r.json()]
        link = r.headers.get("link")
        assert link is None or link.endswith('>; rel="next"')
        url = link.split(">", 1)[0].lstrip("<") if link else None
    assert sorted(seen) == sorted(refs) and len(seen) == 5
    for bad in ("0", "1001", "ten"):
        r = api.get("/open311/v2/requests.json", params={"api_key": KEY, "page_size": bad})
        assert r.status_code == 400 and "page_size" in r.json()[0]["description"]
    r = api.get("/open311/v2/requests.json", params={"api_key": KEY, "page": "not-a-page"})
    assert r.status_code == 400 and "page" in r.json()[0]["description"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("param", "value"), [("lat", "north"), ("long", "west"), ("lat", "nan")])
def test_a_post_with_coordinates_that_are_not_numbers_is_a_400_naming_them(api, fmt, param, value):
    r = api.post(f"/open311/v2/requests.{fmt}", data=spec_post(**{param: value}))
    assert r.status_code == 400
    assert param in open311_error(r, fmt)
    assert api.recorder.events == []


def test_one_request_with_an_id_that_is_not_a_reference_is_not_found(api):
    r = api.get("/open311/v2/requests/nonsense.xml", params={"api_key": KEY})
    assert r.status_code == 404 and "nonsense" in open311_error(r, "xml")


def test_a_non_ascii_api_key_is_refused_like_a_wrong_one(api):
    r = api.get("/open311/v2/requests.json", params={"api_key": "clé-de-l'organisation"})
    assert r.status_code == 403 and "api_key" in open311_error(r, "json")
