"""Promises 6 and 7: what a watch reads was written for a watch, and a watch's words reach an
informant as the watch's.

The police write an update for the informant in the informant's terms: it can name them, their
address, the person they reported and what was done to that person. A watch reads none of it:
only the note the police wrote for watches, and its own entries. And when a watch's volunteers
write to the informant, the informant reads it as from the watch, never as a police update; one
text to a whole cluster of informants is the police's to send.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from schemas import CaseUpdate, Channel
from services.feedback import templates
from services.store import repository
from services.store.routing import MemberRow, NewCluster, add_clusters
from tests.fakes.intake import IntakeTestClient, intake_client, route

TEAM = {"X-API-Key": "dev-team-kempston"}
WATCH = {"X-API-Key": "dev-watch-kempston-speed"}

#: What the police tell an informant: their name and address, who was stopped and his car.
PROBE = ("Mrs Jo Bloggs of 12 Bedford Road: we stopped her neighbour Dave Smith (AB12 CDE) and gave him a "
         "warning about his driving; he will not know it was you.")
PROBE_PIECES = ("Jo Bloggs", "12 Bedford Road", "Dave Smith", "AB12 CDE", "warning about his driving",
                "will not know it was you")
NOTE = "Speed checks on Bedford Road found one driver; please keep logging times."


@pytest.fixture
def web(tmp_path):
    with intake_client(tmp_path, session_secret="s") as client:
        yield client


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def sign_in(web: IntakeTestClient, key: str) -> None:
    page = web.get("/sign-in").text
    r = web.post("/sign-in", data={"api_key": key, "csrf_token": csrf(page), "next": "/inbox"},
                 follow_redirects=False)
    assert r.status_code == 303


def police_update(web: IntakeTestClient, reference: str, **extra: str) -> CaseUpdate:
    """The police record an action through the API; the feedback worker records it in the store."""
    r = web.post(f"/v1/reports/{reference}/actions", json={"public_text": PROBE, **extra}, headers=TEAM)
    assert r.status_code == 202, r.text
    update = web.recorder.events[-1][2]
    assert isinstance(update, CaseUpdate)
    with web.sessions() as session:
        repository.record_action(session, update)
    return update


def test_a_watch_never_reads_what_the_police_told_the_informant(web):
    reference = route(web)
    police_update(web, reference)
    sign_in(web, "dev-watch-kempston-speed")
    page = web.get(f"/inbox/{reference}").text
    assert [piece for piece in PROBE_PIECES if piece in page] == []
    listed = web.get("/v1/watches/kempston-speed-watch/items", headers=WATCH).text
    assert [piece for piece in PROBE_PIECES if piece in listed] == []


def test_a_watch_reads_the_note_the_police_wrote_for_watches_and_its_own_entries(web):
    reference = route(web)
    update = police_update(web, reference, watch_note=NOTE)
    assert update.watch_note == NOTE and update.public_text == PROBE
    r = web.post(f"/v1/reports/{reference}/actions", json={"public_text": "We logged 14 cars over 40 mph."},
                 headers=WATCH)
    assert r.status_code == 202
    with web.sessions() as session:
        repository.record_action(session, web.recorder.events[-1][2])
    sign_in(web, "dev-watch-kempston-speed")
    done = web.get(f"/inbox/{reference}").text.split('id="actions"', 1)[1].split("</ul>", 1)[0]
    assert "<strong>The police</strong>" in done and NOTE in done
    assert "<strong>Kempston Speed Watch</strong>" in done and "We logged 14 cars over 40 mph." in done
    assert [piece for piece in PROBE_PIECES if piece in done] == []
    (listed,) = web.get("/v1/watches/kempston-speed-watch/items", headers=WATCH).json()["items"]
    assert sorted((u["by"], u["text"]) for u in listed["updates"]) == [
        ("Kempston Speed Watch", "We logged 14 cars over 40 mph."), ("The police", NOTE)]


def test_the_police_write_the_note_for_watches_on_the_inbox_form(web):
    reference = route(web)
    sign_in(web, "dev-team-kempston")
    page = web.get(f"/inbox/{reference}").text
    assert "Note for watches (optional)" in page
    r = web.post(f"/inbox/{reference}", data={"csrf_token": csrf(page), "kind": "action", "idempotency_key": "n1",
                                              "public_text": PROBE, "watch_note": NOTE, "send": "yes"},
                 follow_redirects=False)
    assert r.status_code == 303, r.text
    ((_, _, update),) = web.recorder.events
    assert (update.public_text, update.watch_note) == (PROBE, NOTE)
    # What the informant is sent carries the police's text, never the note for watches.
    for channel in Channel:
        assert NOTE not in templates.update(channel, reference=reference, update=update).body


def test_an_informant_reads_a_watchs_update_as_the_watchs_not_the_polices(web):
    reference = route(web)
    r = web.post(f"/v1/reports/{reference}/actions", json={"public_text": "We logged 14 cars over 40 mph."},
                 headers=WATCH)
    assert r.status_code == 202
    update = web.recorder.events[-1][2]
    sms = templates.update(Channel.SMS, reference=reference, update=update)
    email = templates.update(Channel.EMAIL, reference=reference, update=update)
    for text in (sms.body, email.body, email.subject or ""):
        assert "Police update" not in text and "Kempston Speed Watch" in text
    assert "not the police" in sms.body


def test_only_the_police_send_one_text_to_a_whole_cluster(web):
    references = [route(web) for _ in range(2)]
    cluster_id = str(uuid.uuid4())
    first = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    with web.sessions() as s, s.begin():
        add_clusters(s, [NewCluster(cluster_id, "speeding", "Bedford Road", first)], [
            MemberRow(cluster_id, ref, "speeding", 52.12, -0.5, None, first.replace(minute=i))
            for i, ref in enumerate(references)])
    r = web.post(f"/v1/clusters/{cluster_id}/actions", json={"public_text": "We are on it"}, headers=WATCH)
    assert r.status_code == 403
    assert web.recorder.events == []
    r = web.post(f"/v1/clusters/{cluster_id}/actions", json={"public_text": "We are on it"}, headers=TEAM)
    assert r.status_code == 202 and r.json()["reports"] == 2
