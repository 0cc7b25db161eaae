"""Each role against each endpoint and page: allowed or refused, as the issue's table says.

People are signed in as the provider's validated claims would sign them in (``sub``, ``name``,
groups; the code flow itself is tested against the real provider in
tests/integration/test_staff_sign_in.py); machine clients use their API keys. The expected answers
are written out here by hand, not derived from ``permissions.TABLE``, so a change to the table
that changes who may do what fails this test."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.intake.access import Access
from services.intake.permissions import TABLE
from services.store import links, publications, staff
from tests.fakes.intake import intake_client, route
from tests.unit.staff import sign_in_as
from tests.unit.test_pages import csrf

PEOPLE = {
    "team_member": ("tara", ["mecc-team-members", "mecc-unit:kempston-npt"]),
    "supervisor": ("sam", ["mecc-supervisors", "mecc-unit:kempston-npt"]),
    "watch_coordinator": ("wendy", ["mecc-watch-coordinators", "mecc-unit:kempston-speed-watch"]),
    "organisation_caseworker": ("carl", ["mecc-organisation-caseworkers", "mecc-unit:stop-hate-beds"]),
    "administrator": ("ada", ["mecc-administrators"]),
    "nobody": ("", []),
}

ALLOW, DENY = True, False
#: page -> role -> may they? (a refusal is a redirect to sign in, or 403 / the form refusing to close)
PAGES: dict[str, dict[str, bool]] = {
    "open the inbox": {"team_member": ALLOW, "supervisor": ALLOW, "watch_coordinator": ALLOW,
                       "organisation_caseworker": DENY, "administrator": ALLOW, "nobody": DENY},
    "open an item": {"team_member": ALLOW, "supervisor": ALLOW, "watch_coordinator": ALLOW,
                     "organisation_caseworker": DENY, "administrator": ALLOW, "nobody": DENY},
    "record an action": {"team_member": ALLOW, "supervisor": ALLOW, "watch_coordinator": ALLOW,
                         "organisation_caseworker": DENY, "administrator": DENY, "nobody": DENY},
    "close a report": {"team_member": DENY, "supervisor": ALLOW, "watch_coordinator": DENY,
                       "organisation_caseworker": DENY, "administrator": DENY, "nobody": DENY},
    "report for someone else": {"team_member": DENY, "supervisor": DENY, "watch_coordinator": DENY,
                                "organisation_caseworker": ALLOW, "administrator": DENY, "nobody": DENY},
    "see people who sign in by email link": {"team_member": DENY, "supervisor": DENY, "watch_coordinator": DENY,
                                             "organisation_caseworker": DENY, "administrator": ALLOW,
                                             "nobody": DENY},
    "invite someone to sign in by email link": {"team_member": DENY, "supervisor": DENY,
                                                "watch_coordinator": DENY, "organisation_caseworker": DENY,
                                                "administrator": ALLOW, "nobody": DENY},
    "disable someone who signs in by email link": {"team_member": DENY, "supervisor": DENY,
                                                   "watch_coordinator": DENY, "organisation_caseworker": DENY,
                                                   "administrator": ALLOW, "nobody": DENY},
    # Open to all: asking for a link (the same answer for any address) and using one.
    "ask for a sign-in link": {role: ALLOW for role in ("team_member", "supervisor", "watch_coordinator",
                                                        "organisation_caseworker", "administrator", "nobody")},
    "open a sign-in link": {role: ALLOW for role in ("team_member", "supervisor", "watch_coordinator",
                                                     "organisation_caseworker", "administrator", "nobody")},
    "draft a publication": {"team_member": ALLOW, "supervisor": ALLOW, "watch_coordinator": DENY,
                            "organisation_caseworker": DENY, "administrator": DENY, "nobody": DENY},
    # Someone else's draft (four eyes: the author never approves their own, tests/unit/test_publications.py).
    "approve a publication": {"team_member": DENY, "supervisor": ALLOW, "watch_coordinator": DENY,
                              "organisation_caseworker": DENY, "administrator": DENY, "nobody": DENY},
}

KEYS = {"team key": "dev-team-kempston", "watch key": "dev-watch-kempston-speed",
        "organisation key": "dev-org-stop-hate", "no key": ""}
#: API endpoint -> key -> may it?
API: dict[str, dict[str, bool]] = {
    "record an action": {"team key": ALLOW, "watch key": ALLOW, "organisation key": DENY, "no key": DENY},
    "close a report": {"team key": ALLOW, "watch key": DENY, "organisation key": DENY, "no key": DENY},
    "list a watch's items": {"team key": DENY, "watch key": ALLOW, "organisation key": DENY, "no key": DENY},
    "report for someone else": {"team key": DENY, "watch key": DENY, "organisation key": ALLOW, "no key": DENY},
}


@pytest.fixture
def web(tmp_path):
    with intake_client(tmp_path, session_secret="s", outbox_path=tmp_path / "o", show_outbox=False) as client:
        yield client


def _page(web: Any, what: str, ref: str) -> bool:
    if what == "open the inbox":
        return web.get("/inbox", follow_redirects=False).status_code == 200
    if what == "open an item":
        return web.get(f"/inbox/{ref}", follow_redirects=False).status_code == 200
    if what == "report for someone else":
        return web.get("/third-party/report", follow_redirects=False).status_code == 200
    if what == "see people who sign in by email link":
        return web.get("/admin/link-accounts", follow_redirects=False).status_code == 200
    if what == "ask for a sign-in link":
        answer = web.post("/sign-in/email", data={"csrf_token": csrf(web.get("/sign-in/email").text),
                                                  "email": "someone@example.org"}, follow_redirects=False)
        return answer.status_code == 200 and "Check your email" in answer.text
    if what == "open a sign-in link":
        return web.get("/sign-in/link?token=x", follow_redirects=False).status_code == 200
    if what in ("invite someone to sign in by email link", "disable someone who signs in by email link"):
        return _link_accounts(web, what)
    if what in ("draft a publication", "approve a publication"):
        return _publication(web, what)
    form = {"csrf_token": csrf(web.get("/sign-in").text), "public_text": "We patrolled Bedford Road", "send": "yes"}
    if what == "close a report":
        form |= {"kind": "closure", "outcome": "resolved"}
    else:
        form |= {"kind": "action"}
    before = len(web.recorder.events)
    answer = web.post(f"/inbox/{ref}", data=form, follow_redirects=False)
    recorded = len(web.recorder.events) > before
    assert recorded == (answer.status_code == 303 and "done=1" in answer.headers.get("location", ""))
    return recorded


def _link_accounts(web: Any, what: str) -> bool:
    """Whether the signed-in person's invitation, or disabling of an invited person, took effect."""
    with web.sessions() as s:
        if what.startswith("invite"):
            before = len(links.accounts(s))
        else:
            wendy = links.by_email(s, "wendy@example.org") or links.invite(
                s, email="wendy@example.org", name="Wendy", role="watch_coordinator",
                principal_id="kempston-speed-watch", by="test", now=web.app.state.context.clock())
    token = csrf(web.get("/sign-in").text)
    if what.startswith("invite"):
        web.post("/admin/link-accounts", data={"csrf_token": token, "name": "Carol", "email": "carol@example.org",
                                               "role": "organisation_caseworker", "unit": "stop-hate-beds"},
                 follow_redirects=False)
        with web.sessions() as s:
            return len(links.accounts(s)) > before
    web.post(f"/admin/link-accounts/{wendy.person}/disable", data={"csrf_token": token}, follow_redirects=False)
    with web.sessions() as s:
        return bool(staff.disabled(s, wendy.person))
def _publication(web: Any, what: str) -> bool:
    token = csrf(web.get("/sign-in").text)
    if what == "draft a publication":
        answer = web.post("/publications", data={
            "csrf_token": token, "neighbourhood": "kempston-north", "issue": "Speeding on Bedford Road",
            "issue_date": "2020-01-06", "action": "Speed checks", "action_date": "2020-02-03"},
            follow_redirects=False)
        return bool(answer.status_code == 303 and "done=drafted" in answer.headers.get("location", ""))
    with web.sessions() as s:
        drafted = publications.draft(
            s, neighbourhood="kempston-north", issue="Speeding", issue_date=date(2020, 1, 6), action="Checks",
            action_date=date(2020, 2, 3), drafted_by="person:zoe", unit="kempston-npt",
            unit_name="Kempston neighbourhood team", author_role="team_member", now=web.app.state.context.clock())
    answer = web.post(f"/publications/{drafted.id}/approve", data={"csrf_token": token}, follow_redirects=False)
    approved = answer.status_code == 303 and "done=approved" in answer.headers.get("location", "")
    with web.sessions() as s:
        assert (publications.get(s, drafted.id).state == "approved") == approved  # type: ignore[union-attr]
    return bool(approved)


@pytest.mark.parametrize("role", list(PEOPLE))
def test_each_role_against_each_page(web, role: str) -> None:
    ref = route(web)
    person, groups = PEOPLE[role]
    if person:
        sign_in_as(web, person, groups)
    got = {what: _page(web, what, ref) for what in PAGES}
    assert got == {what: PAGES[what][role] for what in PAGES}


def _api(web: Any, what: str, key: str, ref: str) -> int:
    headers = {"X-API-Key": key} if key else {}
    if what == "list a watch's items":
        return int(web.get("/v1/watches/kempston-speed-watch/items", headers=headers).status_code)
    if what == "report for someone else":
        body = {"category": "hate-incident", "description": "Shouted at in the street", "location":
                {"postcode": "MK42 8AA"}, "reporter": {"email": "caseworker@example.org"}}
        return int(web.post("/v1/third-party/reports", json=body, headers=headers).status_code)
    body = {"public_text": "We patrolled Bedford Road"}
    if what == "close a report":
        body |= {"kind": "closure", "outcome": "resolved"}
    return int(web.post(f"/v1/reports/{ref}/actions", json=body, headers=headers).status_code)


@pytest.mark.parametrize("key", list(KEYS))
def test_each_api_key_against_each_endpoint(web, key: str) -> None:
    ref = route(web)
    got = {what: _api(web, what, KEYS[key], ref) for what in API}
    for what, status in got.items():
        expected = API[what][key]
        assert (status < 300) == expected, (what, status)
        if not expected:
            assert status == (401 if key == "no key" else 403), (what, status)


def test_every_role_has_a_row_and_the_config_maps_a_group_to_each() -> None:
    from services.common.config_files import ROOT

    access = Access.from_file(ROOT / "config" / "access.yaml")
    for role, (person, groups) in PEOPLE.items():
        if role == "nobody":
            continue
        principal = access.staff({"sub": person, "groups": groups})
        assert principal is not None and principal.role == role and principal.role in TABLE
    assert access.staff({"sub": "x", "groups": ["mecc-team-members"]}) is None, "a role but no unit: no access"
    assert access.staff({"sub": "x", "groups": ["mecc-team-members", "mecc-unit:kempston-speed-watch"]}) is None, (
        "a team member's unit must be a team")
