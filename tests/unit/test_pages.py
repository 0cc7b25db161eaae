"""The pages, through FastAPI's TestClient with a recording publisher: the public form (errors next
to fields and in the summary, values kept, the same event as the API), track (right secret only),
sign-in and CSRF, inbox scoping (redacted for watches), and recording an action."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest

from schemas import CaseUpdate, PublicContact
from services.common.metrics import parse, total
from services.common.track import track_secret, track_url
from services.store import repository
from services.store.dashboard import refresh_touched
from services.store.models import Message
from tests.fakes.intake import intake_client, route

SECRET = "test-track-secret"
FORM = {"category": "speeding", "description": "Cars racing on Bedford Road every night", "postcode": "MK42 8AA",
        "contact": "sms", "phone": "07700 900123", "idempotency_key": "k1"}


@pytest.fixture
def web(tmp_path):
    with intake_client(tmp_path, track_secret=SECRET, session_secret="s", outbox_path=tmp_path / "o",
                       show_outbox=False) as client:
        yield client



def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(web, key: str) -> None:
    page = web.get("/sign-in").text
    r = web.post("/sign-in", data={"api_key": key, "csrf_token": csrf(page), "next": "/inbox"},
                 follow_redirects=False)
    assert r.status_code == 303, r.text


def summary(page: str) -> list[tuple[str, str]]:
    box = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a href="#([a-z_]+)">([^<]+)</a>', box)


# ---- the public form -----------------------------------------------------------------------------


def test_the_999_warning_comes_before_the_form(web):
    page = web.get("/report").text
    assert page.index("call 999") < page.index("<form")
    assert 'value="sms" checked' in page  # feedback is on by default
    for label in ("Speeding and road safety", "Vehicles going too fast", "Report anonymously",
                  "cannot tell you what happens", "Is it safe for us to contact you"):
        assert label in page


def test_errors_are_summarised_and_shown_next_to_each_field_keeping_what_was_typed(web):
    r = web.post("/report", data={"contact": "sms", "description": "", "phone": "12345", "where": "",
                                  "postcode": "not <a> postcode"})
    assert r.status_code == 400
    page = r.text
    assert page.startswith("<!DOCTYPE html>") and "<title>Error:" in page
    fields = dict(summary(page))
    assert set(fields) == {"category", "description", "postcode", "phone"}
    assert fields["phone"] == "Enter a UK mobile number, like 07700 900123"
    for name, message in fields.items():
        assert f'id="{name}-error"' in page and message in page.split(f'id="{name}-error"', 1)[1][:300]
    assert 'value="12345"' in page  # kept
    assert "not &lt;a&gt; postcode" in page and "not <a> postcode" not in page  # escaped
    assert web.recorder.events == []


def test_a_sensitive_report_asks_whether_contact_is_safe(web):
    r = web.post("/report", data={**FORM, "category": "domestic-abuse"})
    assert r.status_code == 400
    assert dict(summary(r.text)) == {"safe": "Tell us whether it is safe for us to contact you"}
    r = web.post("/report", data={**FORM, "category": "domestic-abuse", "safe": "yes", "safe_times": "weekdays 9-3"})
    assert r.status_code == 200
    ((_, _, event),) = web.recorder.events
    assert event.informant.preferences.safe_to_contact is True
    assert event.informant.preferences.safe_times == "weekdays 9-3"


def test_a_future_date_is_an_error_on_the_date(web):
    future = datetime.now(UTC) + timedelta(days=30)
    r = web.post("/report", data={**FORM, "when_day": str(future.day), "when_month": str(future.month),
                                  "when_year": str(future.year)})
    assert dict(summary(r.text)) == {"when": "The date it happened must be today or in the past"}
    r = web.post("/report", data={**FORM, "when_day": "31", "when_month": "2", "when_year": "2026"})
    assert list(dict(summary(r.text))) == ["when"]
    # A year no calendar has, or one before 1900, is an error on the date too, never a 500.
    r = web.post("/report", data={**FORM, "when_day": "1", "when_month": "1", "when_year": "9" * 30})
    assert r.status_code == 400 and list(dict(summary(r.text))) == ["when"]
    r = web.post("/report", data={**FORM, "when_day": "1", "when_month": "1", "when_year": "1899"})
    assert dict(summary(r.text)) == {"when": "The date it happened must be in 1900 or later"}


def test_a_valid_form_publishes_the_same_event_as_the_api_and_shows_the_reference(web):
    r = web.post("/report", data={**FORM, "when_day": "3", "when_month": "11", "when_year": "2026",
                                  "when_time": "22:15"})
    assert r.status_code == 200, r.text
    ((topic, _, event),) = web.recorder.events
    assert topic == "contacts.public" and isinstance(event, PublicContact) and event.informant is not None
    assert event.informant.phone == "+447700900123" and event.informant.preferences.channel == "sms"
    assert event.report.happened_at == datetime(2026, 11, 3, 22, 15, tzinfo=UTC)  # GMT in November
    assert event.reference in r.text
    assert f'href="/track/{event.reference}?secret={track_secret(SECRET, event.reference)}"' in r.text
    # Sending the same form twice (a double click) makes one report.
    again = web.post("/report", data={**FORM, "when_day": "3", "when_month": "11", "when_year": "2026",
                                      "when_time": "22:15"})
    assert web.recorder.events[1][2].reference == event.reference and event.reference in again.text


def test_an_anonymous_report_has_no_informant_and_says_what_that_costs(web):
    r = web.post("/report", data={**FORM, "contact": "anonymous", "phone": ""})
    assert r.status_code == 200
    ((_, _, event),) = web.recorder.events
    assert event.informant is None
    assert "cannot send you updates" in r.text


def test_a_broker_that_does_not_answer_keeps_the_form(web):
    web.recorder.down = True
    r = web.post("/report", data=FORM)
    assert r.status_code == 503 and "nothing was recorded" in r.text and 'value="07700 900123"' in r.text


# ---- track ---------------------------------------------------------------------------------------


def test_track_shows_the_timeline_with_the_right_secret_only(web):
    ref = route(web, text="Cars <script>racing</script> on Bedford Road")
    update = CaseUpdate(reference=ref, actor_id="kempston-npt", actor_name="Kempston neighbourhood team",
                        public_text="We patrolled Bedford Road on three evenings")
    with web.sessions() as s:
        repository.record_action(s, update)
    url = track_url("", SECRET, ref)
    page = web.get(url)
    assert page.status_code == 200
    text = page.text
    assert "Kempston neighbourhood team" in text and "We patrolled Bedford Road on three evenings" in text
    assert "&lt;script&gt;racing&lt;/script&gt;" in text and "<script>racing" not in text
    for personal in ("Jo Bloggs", "07700", "jo@example.org"):
        assert personal not in text
    assert web.get(url[:-1] + ("0" if url[-1] != "0" else "1")).status_code == 404
    assert web.get(f"/track/{ref}").status_code == 404
    other = route(web)
    assert web.get(f"/track/{other}?secret={track_secret(SECRET, ref)}").status_code == 404
    assert web.get(f"/track/{ref}?secret={track_secret('another-secret', ref)}").status_code == 404


def test_track_shows_the_outcome_of_a_closure(web):
    ref = route(web)
    with web.sessions() as s:
        repository.record_action(s, CaseUpdate(reference=ref, kind="closure", actor_id="kempston-npt",
                                               actor_name="Kempston neighbourhood team", public_text="We looked",
                                               outcome="no_further_action", outcome_reason="No offence seen"))
    text = web.get(track_url("", SECRET, ref)).text
    assert "Outcome: No further action" in text and "No offence seen" in text


#: 22:30 UK time (GMT): SMS quiet hours until 08:00 the next morning.
NIGHT = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)
NEXT_8AM = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def message_row(ref: str, status: str, *, trigger: str = "ack", channel: str = "sms", at: datetime = NIGHT,
                due_at: datetime | None = None, detail: str | None = None) -> Message:
    return Message(key=f"{ref}:{trigger}:informant:{channel}", reference=ref, trigger=trigger, role="informant",
                   channel=channel, recipient="07700 900123" if channel == "sms" else "jo@example.org" if
                   channel == "email" else "", body="b", status=status, due_at=due_at, detail=detail,
                   created_at=at, updated_at=at)


def at_night(web) -> None:
    web.app.state.context = dataclasses.replace(web.app.state.context, clock=lambda: NIGHT)


def test_track_says_an_acknowledgement_held_for_quiet_hours_is_waiting_until_8am(web):
    ref = route(web)
    with web.sessions() as s, s.begin():
        s.add(message_row(ref, "scheduled", due_at=NEXT_8AM))
        s.add(message_row(ref, "standby", channel="email"))
    at_night(web)
    text = web.get(track_url("", SECRET, ref)).text
    assert "Acknowledgement waiting to be sent" in text
    assert "By text message: waiting until 08:00 tomorrow (quiet hours for text messages)." in text
    assert "We sent" not in text and "by email" not in text.lower()


def test_track_says_a_failed_text_message_was_sent_by_email_instead(web):
    ref = route(web)
    with web.sessions() as s, s.begin():
        s.add(message_row(ref, "failed", detail="twilio 21211 invalid 'To' number"))
        s.add(message_row(ref, "sent", channel="email", at=NIGHT + timedelta(minutes=1)))
    at_night(web)
    text = web.get(track_url("", SECRET, ref)).text
    assert "We sent you an acknowledgement" in text
    assert "Sending by text message failed. Sent by email instead." in text
    assert "twilio" not in text and "21211" not in text


def test_track_says_a_suppressed_message_was_not_sent_without_saying_why(web):
    ref = route(web, category="domestic-abuse")
    with web.sessions() as s, s.begin():
        s.add(message_row(ref, "suppressed", channel="none",
                          detail="sensitive category and the channel was not confirmed safe"))
    at_night(web)
    text = web.get(track_url("", SECRET, ref)).text
    assert "Acknowledgement not sent" in text
    assert "We have not sent you this by text message or email." in text
    assert "We sent" not in text and "not confirmed safe" not in text and "safe to" not in text


# ---- sign-in, CSRF, inbox --------------------------------------------------------------------------


def test_the_inbox_needs_signing_in(web):
    r = web.get("/inbox", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")


def test_a_wrong_key_is_an_error_next_to_the_field(web):
    page = web.get("/sign-in").text
    r = web.post("/sign-in", data={"api_key": "nope", "csrf_token": csrf(page)})
    assert r.status_code == 401 and dict(summary(r.text)) == {"api_key": "Enter the key you were given; that one "
                                                                         "is not recognised"}


def test_post_forms_without_the_csrf_token_are_refused(web):
    web.get("/sign-in")
    r = web.post("/sign-in", data={"api_key": "dev-team-kempston", "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    ref = route(web)
    sign_in(web, "dev-team-kempston")
    r = web.post(f"/inbox/{ref}", data={"public_text": "done", "kind": "action", "send": "yes"})
    assert r.status_code == 403 and web.recorder.events == []
    # A cookie signed with another secret is not a session.
    web.cookies.set("mecc_session", "forged.cookie.value")
    assert web.get("/inbox", follow_redirects=False).status_code == 303


def test_a_coordinator_sees_only_their_own_watchs_items_redacted(web):
    speeding = route(web)
    burglary = route(web, category="burglary-concern", text="Someone trying doors on Bedford Road")
    sign_in(web, "dev-watch-kempston-speed")
    page = web.get("/inbox").text
    assert speeding in page and burglary not in page
    item = web.get(f"/inbox/{speeding}").text
    assert "Cars racing on Bedford Road, I&#39;m [name] on [phone]" in item
    for personal in ("Bloggs", "07700", "900123", "jo@example.org", "52.125", "12 Bedford"):
        assert personal not in page and personal not in item
    assert web.get(f"/inbox/{burglary}").status_code == 404
    assert "Close the report" not in item  # closing is for the police


def test_an_inbox_filters_by_open_or_closed_and_category_with_counts(web):
    speeding = route(web)
    other = route(web, category="anti-social-behaviour", text="Shouting on Bedford Road at night")
    with web.sessions() as s:
        repository.record_action(s, CaseUpdate(reference=speeding, kind="closure", actor_id="kempston-npt",
                                               actor_name="Kempston", public_text="Done", outcome="resolved"))
    sign_in(web, "dev-watch-kempston-speed")
    assert speeding in web.get("/inbox?status=closed").text
    assert speeding not in web.get("/inbox?status=open").text
    sign_in(web, "dev-team-kempston")
    page = web.get("/inbox").text
    assert speeding in page and other in page and "2 items, 1 open" in page
    page = web.get("/inbox?status=open&category=anti-social-behaviour").text
    assert other in page and speeding not in page and "1 item, 1 open" in page


def test_a_team_sees_only_what_was_routed_to_it(web):
    speeding = route(web)
    hate = route(web, category="hate-incident", text="Shouted at in the street")
    sign_in(web, "dev-team-roads")
    page = web.get("/inbox").text
    assert speeding in page and hate not in page
    assert web.get(f"/inbox/{hate}").status_code == 404


def test_recording_an_action_previews_the_message_then_publishes_the_same_case_update(web):
    ref = route(web)
    sign_in(web, "dev-watch-kempston-speed")
    page = web.get(f"/inbox/{ref}").text
    form = {"csrf_token": csrf(page), "kind": "action", "idempotency_key": "a1",
            "public_text": "We ran a <b>speed</b> check on Bedford Road"}
    r = web.post(f"/inbox/{ref}", data={**form, "send": "no"})
    assert r.status_code == 200 and web.recorder.events == []
    sms = r.text.split('id="preview-sms">', 1)[1].split("</div>", 1)[0]
    assert f"Update on {ref} from Kempston Speed Watch, a volunteer watch, not the police:" in sms
    assert "&lt;b&gt;speed&lt;/b&gt;" in sms
    assert "Update from Kempston Speed Watch on your report" in r.text.split('id="preview-email">', 1)[1]
    r = web.post(f"/inbox/{ref}", data={**form, "send": "yes"}, follow_redirects=False)
    assert r.status_code == 303
    ((topic, key, update),) = web.recorder.events
    assert topic == "cases.updates" and key == ref and isinstance(update, CaseUpdate)
    assert update.actor_id == "kempston-speed-watch" and update.public_text.startswith("We ran a <b>speed</b>")
    assert "Recorded" in web.get(r.headers["location"]).text


def test_a_watch_cannot_close_and_a_closure_needs_an_honest_outcome(web):
    ref = route(web)
    sign_in(web, "dev-watch-kempston-speed")
    token = csrf(web.get(f"/inbox/{ref}").text)
    r = web.post(f"/inbox/{ref}", data={"csrf_token": token, "kind": "closure", "outcome": "resolved",
                                        "public_text": "done", "send": "yes"})
    assert r.status_code == 400 and web.recorder.events == []
    web.cookies.clear()
    sign_in(web, "dev-team-kempston")
    token = csrf(web.get(f"/inbox/{ref}").text)
    r = web.post(f"/inbox/{ref}", data={"csrf_token": token, "kind": "closure", "outcome": "no_further_action",
                                        "public_text": "We looked", "send": "yes"})
    assert r.status_code == 400 and "outcome_reason" in dict(summary(r.text))
    r = web.post(f"/inbox/{ref}", data={"csrf_token": token, "kind": "closure", "outcome": "no_further_action",
                                        "outcome_reason": "Nobody was seen", "public_text": "We looked",
                                        "send": "yes"}, follow_redirects=False)
    assert r.status_code == 303
    ((_, _, update),) = web.recorder.events
    assert update.kind == "closure" and update.outcome == "no_further_action"


# ---- third-party reports, dashboard, outbox ----------------------------------------------------------


def test_an_organisation_reports_on_someones_behalf_with_consent(web):
    assert web.get("/third-party/report", follow_redirects=False).status_code == 303
    sign_in(web, "dev-org-stop-hate")
    page = web.get("/third-party/report").text
    base = {"csrf_token": csrf(page), "category": "hate-incident", "description": "Abuse shouted at a neighbour",
            "postcode": "MK42 8AA", "reporter_contact": "email", "reporter_email": "caseworker@example.org",
            "subject_phone": "07700 900456"}
    r = web.post("/third-party/report", data=base)
    assert r.status_code == 400 and dict(summary(r.text)) == {
        "consent": "Tell us whether the person agreed to us contacting them"}
    r = web.post("/third-party/report", data={**base, "consent": "yes"})
    assert "subject_safe" in dict(summary(r.text))
    r = web.post("/third-party/report", data={**base, "consent": "yes", "subject_safe": "yes"})
    assert r.status_code == 200, r.text
    ((topic, _, event),) = web.recorder.events
    assert topic == "contacts.third-party" and event.organisation_id == "stop-hate-beds"
    assert event.subject_consents_to_contact and event.subject.preferences.safe_to_contact


def received(web, kind: str) -> float:
    return total(parse(web.get("/metrics").text), "mecc_reports_received_total", kind=kind)


def test_reports_and_actions_made_through_the_pages_count_as_received(web):
    before = {kind: received(web, kind) for kind in ("public", "third_party", "action")}
    assert web.post("/report", data=FORM).status_code == 200
    ref = route(web)
    sign_in(web, "dev-team-kempston")
    token = csrf(web.get(f"/inbox/{ref}").text)
    r = web.post(f"/inbox/{ref}", data={"csrf_token": token, "kind": "action", "public_text": "Patrols tonight",
                                        "send": "yes"}, follow_redirects=False)
    assert r.status_code == 303
    web.cookies.clear()
    sign_in(web, "dev-org-stop-hate")
    token = csrf(web.get("/third-party/report").text)
    r = web.post("/third-party/report", data={
        "csrf_token": token, "category": "hate-incident", "description": "Abuse shouted at a neighbour",
        "postcode": "MK42 8AA", "reporter_contact": "email", "reporter_email": "caseworker@example.org",
        "consent": "no"})
    assert r.status_code == 200, r.text
    assert [topic for topic, _, _ in web.recorder.events] == ["contacts.public", "cases.updates",
                                                              "contacts.third-party"]
    assert {kind: received(web, kind) - before[kind] for kind in before} == {
        "public": 1, "third_party": 1, "action": 1}


def test_a_team_key_cannot_report_for_an_organisation(web):
    sign_in(web, "dev-team-kempston")
    assert web.get("/third-party/report", follow_redirects=False).status_code == 303


def refresh_dashboard(web) -> None:
    """What the router's timer does: bring the stored dashboard figures up to date."""
    refresh_touched(web.sessions, datetime.now(UTC), None)


def test_the_dashboard_counts_per_area_with_an_svg_chart(web):
    route(web)
    route(web, text="Another <b>car</b>")
    refresh_dashboard(web)
    page = web.get("/dashboard")
    assert page.status_code == 200
    assert "Kempston North" in page.text and "<svg" in page.text and "fewer than 5 reports" in page.text


def test_the_dashboard_is_read_from_the_stored_figures_and_is_cacheable(web):
    route(web)
    refresh_dashboard(web)
    first = web.get("/dashboard")
    assert "fewer than 5 reports in all" in first.text
    assert first.headers["cache-control"].startswith("public, max-age=") and "set-cookie" not in first.headers
    assert web.get("/dashboard", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    for _ in range(5):
        route(web)  # not counted until the figures are refreshed: the page reads nothing else
    assert web.get("/dashboard", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    refresh_dashboard(web)
    again = web.get("/dashboard", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200 and "6 reports in all" in again.text


def test_the_dashboard_shows_an_acknowledgement_held_for_quiet_hours_as_waiting_not_acknowledged(tmp_path):
    with intake_client(tmp_path, session_secret="s", show_outbox=False, dashboard_min_count=1) as web:
        ref = route(web)
        with web.sessions() as s, s.begin():
            s.add(message_row(ref, "scheduled", due_at=NEXT_8AM))
        refresh_dashboard(web)
        cells = re.findall(r'govuk-table__cell--numeric">([^<]*)(?:<br><span class="govuk-body-s">([^<]*))?',
                           web.get("/dashboard").text)
    assert cells[1] == ("0%", "1 waiting")  # received, then acknowledged


def test_the_outbox_is_hidden_unless_local(web):
    assert web.get("/outbox").status_code == 404


def test_the_acknowledgement_carries_the_track_link_and_still_fits_two_sms_segments():
    from schemas import Channel, Destination
    from services.feedback import sms, templates

    ref = "MECC-7K3Q-9XJD"
    link = track_url("https://report.example", SECRET, ref)
    assert link == f"https://report.example/track/{ref}?secret={track_secret(SECRET, ref)}"
    dest = (Destination(kind="team", id="kempston-npt", name="Kempston neighbourhood team"),
            Destination(kind="team", id="roads-policing", name="Roads policing unit"))
    text = templates.acknowledgement(Channel.SMS, reference=ref, category_label="Speeding and road safety",
                                     destinations=dest, track_url=link).body
    assert link in text and "999" in text and sms.segments(text) <= 2
    email = templates.acknowledgement(Channel.EMAIL, reference=ref, category_label="Speeding",
                                      destinations=dest, track_url=link)
    assert link in email.body and link in (email.html or "")
    assert track_secret(SECRET, ref) != track_secret("other", ref) and len(track_secret(SECRET, ref)) == 16
