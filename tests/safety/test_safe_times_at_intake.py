"""Promise 6 at the front door: the API and both forms take safe times as days and times
(``safe_windows``), keep the words as a note for the team, and refuse a set of safe times that
could never open (texts only inside SMS quiet hours) with an error naming the problem."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

import pytest

from tests.fakes.intake import intake_client

FORM = {"category": "domestic-abuse", "description": "He shouts at me and takes my phone", "postcode": "MK42 8AA",
        "contact": "sms", "phone": "07700 900123", "idempotency_key": "k1", "safe": "yes"}
INFORMANT: dict[str, Any] = {"phone": "07700 900123", "preferences": {"channel": "sms", "safe_to_contact": True}}
REPORT: dict[str, Any] = {"category": "domestic-abuse", "description": "He shouts at me",
                          "location": {"postcode": "MK42 8AA"}}


@pytest.fixture
def web(tmp_path):
    with intake_client(tmp_path, session_secret="s", outbox_path=tmp_path / "o", show_outbox=False) as client:
        yield client


def summary(page: str) -> dict[str, str]:
    box = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    return dict(re.findall(r'<a href="#([a-z_]+)">([^<]+)</a>', box))


def test_the_form_offers_days_and_times_and_they_become_safe_windows(web):
    page = web.get("/report").text
    assert 'name="safe_day_mon" type="checkbox"' in page and 'name="safe_from"' in page and 'name="safe_to"' in page
    r = web.post("/report", data={**FORM, "safe_day_mon": "yes", "safe_day_wed": "yes", "safe_from": "09:00",
                                  "safe_to": "15:00", "safe_times": "not in school holidays"})
    assert r.status_code == 200, r.text
    ((_, _, event),) = web.recorder.events
    prefs = event.informant.preferences
    assert [(w.days, w.start, w.end) for w in prefs.safe_windows] == [(("mon", "wed"), time(9), time(15))]
    assert prefs.safe_times == "not in school holidays"


def test_the_form_refuses_texts_only_in_quiet_hours_and_says_why(web):
    r = web.post("/report", data={**FORM, "safe_day_fri": "yes", "safe_from": "22:00", "safe_to": "23:00"})
    assert r.status_code == 400
    assert "do not send text messages" in summary(r.text)["safe_window"]
    assert web.recorder.events == []


def test_the_form_refuses_a_time_that_ends_before_it_starts(web):
    r = web.post("/report", data={**FORM, "safe_day_fri": "yes", "safe_from": "15:00", "safe_to": "09:00"})
    assert r.status_code == 400 and "safe_window" in summary(r.text)
    assert web.recorder.events == []


def test_the_api_refuses_sms_safe_windows_inside_quiet_hours_with_a_422_naming_the_field(web):
    informant = {**INFORMANT, "preferences": {**INFORMANT["preferences"],
                                              "safe_windows": [{"start": "22:00", "end": "23:00"}]}}
    r = web.post("/v1/reports", json={**REPORT, "informant": informant})
    assert r.status_code == 422, r.text
    (field,) = r.json()["fields"]
    assert field["field"] == "informant.preferences.safe_windows" and "text messages" in field["message"]
    assert web.recorder.events == []
    # by email the same hours are fine: email has no quiet hours
    by_email = {"email": "me@example.org", "preferences": {**informant["preferences"], "channel": "email"}}
    assert web.post("/v1/reports", json={**REPORT, "informant": by_email}).status_code == 202


def test_the_intake_reads_quiet_hours_from_its_settings(tmp_path):
    informant = {**INFORMANT, "preferences": {**INFORMANT["preferences"],
                                              "safe_windows": [{"start": "22:00", "end": "23:00"}]}}
    with intake_client(tmp_path, sms_quiet_start=time(23, 30), sms_quiet_end=time(7)) as api:
        assert api.post("/v1/reports", json={**REPORT, "informant": informant}).status_code == 202


def test_the_third_party_form_refuses_the_persons_texts_only_in_quiet_hours(web):
    page = web.get("/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    web.post("/sign-in", data={"api_key": "dev-org-stop-hate", "csrf_token": token, "next": "/third-party/report"})
    page = web.get("/third-party/report").text
    assert 'name="subject_safe_day_sat"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    base = {"csrf_token": token, "category": "domestic-abuse", "description": "Her partner controls her money",
            "postcode": "MK42 8AA", "reporter_contact": "email", "reporter_email": "caseworker@example.org",
            "subject_phone": "07700 900456", "consent": "yes", "subject_safe": "yes",
            "subject_safe_day_sat": "yes", "subject_safe_from": "21:30", "subject_safe_to": "23:00"}
    r = web.post("/third-party/report", data=base)
    assert r.status_code == 400 and "text messages" in summary(r.text)["subject_safe_window"]
    r = web.post("/third-party/report", data={**base, "subject_safe_from": "10:00", "subject_safe_to": "12:00"})
    assert r.status_code == 200, r.text
    ((_, _, event),) = web.recorder.events
    assert [(w.days, w.start) for w in event.subject.preferences.safe_windows] == [(("sat",), time(10))]
