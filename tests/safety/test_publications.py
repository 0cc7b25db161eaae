"""Nothing free-text is public unless a person approved it: a "you said, we did" is shown on the
public pages (``/neighbourhoods``, ``/neighbourhoods/{area}``, ``GET /v1/publications``) only once
a supervisor other than its author approved it; a draft, or a withdrawn one, never is; and what
a team wrote to informants (``actions.public_text``) never reaches those pages at all."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from schemas import CaseUpdate, UpdateKind
from services.store.repository import record_action
from tests.fakes.intake import IntakeTestClient, intake_client, route
from tests.unit.staff import sign_in_as
from tests.unit.test_pages import csrf, sign_in

TARA = ("tara", ["mecc-team-members", "mecc-unit:kempston-npt"])
SAM = ("sam", ["mecc-supervisors", "mecc-unit:kempston-npt"])
#: Dates long past, so the draft is valid whatever day the tests run.
DRAFT = {"neighbourhood": "kempston-north", "issue_date": "2020-01-06", "action_date": "2020-02-03"}
#: What a team wrote to one informant: never on a public page.
TOLD_INFORMANT = "Jo, we spoke to the driver outside your house at 12 Bedford Road MARKER-TOLD-5e1"


def public_pages(web: IntakeTestClient) -> str:
    """Everything the public reads of publications, as anyone (nobody signed in) gets it."""
    web.cookies.clear()
    pages = [web.get(path) for path in ("/neighbourhoods", "/neighbourhoods/kempston-north",
                                        "/v1/publications?neighbourhood=kempston-north")]
    assert [p.status_code for p in pages] == [200, 200, 200]
    return "\n".join(p.text for p in pages)


def draft(web: IntakeTestClient, who: tuple[str, list[str]], issue: str, action: str) -> int:
    sign_in_as(web, *who)
    answer = web.post("/publications", data={"csrf_token": csrf(web.get("/publications").text), **DRAFT,
                                              "issue": issue, "action": action}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    with web.sessions() as s:
        found = s.execute(text("SELECT max(id) FROM publications")).scalar_one()
    return int(found)


def decide(web: IntakeTestClient, who: tuple[str, list[str]], publication: int, what: str) -> int:
    sign_in_as(web, *who)
    answer = web.post(f"/publications/{publication}/{what}",
                      data={"csrf_token": csrf(web.get("/publications").text)}, follow_redirects=False)
    return int(answer.status_code)


def test_only_what_another_person_approved_is_public(tmp_path):
    with intake_client(tmp_path, session_secret="s", show_outbox=False) as web:
        waiting = draft(web, TARA, "Speeding near the school MARKER-DRAFT-1a", "Speed checks MARKER-DRAFT-1b")
        dropped = draft(web, TARA, "Litter in the park MARKER-WITHDRAWN-2a", "Clean-up MARKER-WITHDRAWN-2b")
        assert decide(web, SAM, dropped, "withdraw") == 303
        assert "MARKER-" not in public_pages(web)
        assert "0 published" in public_pages(web)

        # The author may not approve their own words, even as a supervisor.
        own = draft(web, SAM, "Parking on pavements MARKER-OWN-3a", "Leaflets and warnings MARKER-OWN-3b")
        assert decide(web, SAM, own, "approve") == 403
        assert "MARKER-OWN" not in public_pages(web)

        assert decide(web, SAM, waiting, "approve") == 303
        shown = public_pages(web)
        assert "MARKER-DRAFT-1a" in shown and "MARKER-DRAFT-1b" in shown
        assert "Kempston neighbourhood team (team member)" in shown, "the author's team and role"
        assert "6 January 2020" in shown and "3 February 2020" in shown
        assert "tara" not in shown.lower(), "never who wrote it"
        assert "MARKER-WITHDRAWN" not in shown and "MARKER-OWN" not in shown
        assert web.get("/v1/publications", params={"neighbourhood": "kempston-north"}).json() == [
            {"issue": "Speeding near the school MARKER-DRAFT-1a", "issue-date": "2020-01-06T00:00:00",
             "action": "Speed checks MARKER-DRAFT-1b", "action-date": "2020-02-03T00:00:00"}]
        # Another neighbourhood shows none of it.
        assert web.get("/v1/publications", params={"neighbourhood": "kempston-south"}).json() == []

        # Withdrawn after approval: off the public pages at once.
        assert decide(web, SAM, waiting, "withdraw") == 303
        assert "MARKER-" not in public_pages(web)
        assert decide(web, SAM, waiting, "approve") == 409


def test_what_was_told_to_informants_never_reaches_the_public_pages(tmp_path):
    with intake_client(tmp_path, session_secret="s", show_outbox=False) as web:
        for _ in range(3):
            reference = route(web)
            with web.sessions() as s:
                record_action(s, CaseUpdate(
                    reference=reference, kind=UpdateKind.ACTION, actor_id="kempston-npt",
                    actor_name="Kempston neighbourhood team", public_text=TOLD_INFORMANT,
                    emitted_at=datetime(2020, 2, 1, tzinfo=UTC)))
        # Copying an informant's update into a draft is refused, naming the field; nothing is stored.
        sign_in_as(web, *TARA)
        refused = web.post("/publications", data={"csrf_token": csrf(web.get("/publications").text), **DRAFT,
                                                   "issue": "Speeding", "action": TOLD_INFORMANT})
        assert refused.status_code == 422
        assert 'id="action-error"' in refused.text and "personal details" in refused.text
        published = draft(web, TARA, "Speeding on Bedford Road", "Speed checks on three mornings")
        assert decide(web, SAM, published, "approve") == 303
        shown = public_pages(web)
        assert "Speed checks on three mornings" in shown
        for told in ("MARKER-TOLD", "12 Bedford Road", "Jo,", "your house"):
            assert told not in shown
        with web.sessions() as s:
            stored = s.execute(text("SELECT issue || action FROM publications")).scalars()
            assert not any("MARKER-TOLD" in words for words in stored)


def test_an_unknown_neighbourhood_is_named(tmp_path):
    with intake_client(tmp_path, session_secret="s", show_outbox=False) as web:
        assert web.get("/neighbourhoods/atlantis").status_code == 404
        answer = web.get("/v1/publications", params={"neighbourhood": "atlantis"})
        assert answer.status_code == 422
        assert answer.json()["fields"][0]["field"] == "neighbourhood"
        assert "kempston-north" in answer.json()["fields"][0]["allowed"]
        assert web.get("/v1/publications").json()["fields"][0]["field"] == "neighbourhood"


def test_a_shared_keys_session_neither_drafts_nor_approves(tmp_path):
    """A team's shared key is nobody in particular: four eyes cannot tell its author from its approver."""
    with intake_client(tmp_path, session_secret="s", show_outbox=False) as web:
        waiting = draft(web, TARA, "Speeding on Bedford Road", "Speed checks MARKER-KEY-4a")
        web.cookies.clear()
        sign_in(web, "dev-team-kempston")
        assert web.get("/publications", follow_redirects=False).status_code == 303  # to sign in as a person
        token = csrf(web.get("/sign-in").text)
        for path in ("/publications", f"/publications/{waiting}/approve"):
            answer = web.post(path, data={"csrf_token": token, **DRAFT, "issue": "Speeding", "action": "Checks"},
                              follow_redirects=False)
            assert answer.status_code == 303 and "/sign-in" in answer.headers["location"]
        assert "MARKER-KEY" not in public_pages(web)
        with web.sessions() as s:
            assert s.execute(text("SELECT count(*), min(state) FROM publications")).one() == (1, "draft")
