"""People without a force account sign in by a one-time link sent to their email: administrators
invite, disable and enable them; a link is 256 random bits of which only the SHA-256 is kept,
works once (a conditional UPDATE) and for a few minutes, and stops at once when the account is
disabled, as do its sessions; asking for a link answers the same whatever the address, and is
throttled per address and per client."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from services.intake.ratelimit import TokenBucket
from services.store import links, staff
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import AuditEntry, SignInLink
from tests.fakes.intake import intake_client
from tests.unit.staff import sign_in_as
from tests.unit.test_pages import csrf

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
ADMIN = ["mecc-administrators"]
WENDY = "wendy@speedwatch.example.org"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


# ---- the store: issue, consume, expiry, reuse, disabled -----------------------------------------------


@pytest.fixture
def sessions(tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path}/links.db"
    migrate(url)
    engine = make_engine(url)
    yield make_sessions(engine)
    engine.dispose()


def _invite(s: Any, email: str = WENDY) -> links.Account:
    return links.invite(s, email=email, name="Wendy", role="watch_coordinator", principal_id="kempston-speed-watch",
                        by="person:ada", now=T0)


def test_a_link_signs_in_once_and_only_its_digest_is_kept(sessions: Any) -> None:
    with sessions() as s:
        wendy = _invite(s, "  Wendy@SpeedWatch.example.org ")
        assert wendy.email == WENDY and wendy.person.startswith("link:")
        # the address is encrypted at rest, found by its keyed digest
        stored = s.execute(text("SELECT email, email_digest FROM link_accounts")).one()
        assert WENDY not in stored.email and WENDY not in stored.email_digest
        assert links.by_email(s, "WENDY@speedwatch.example.org ") == wendy
        token = links.issue(s, wendy.person, now=T0, valid=timedelta(minutes=15))
        assert len(token) >= 43  # 256 bits, url-safe base64
        (row,) = s.query(SignInLink).all()
        assert row.id == staff.digest(token) and token not in (row.id, row.person)
        used = links.consume(s, token, now=T0 + timedelta(minutes=1))
        assert used is not None and used.person == wendy.person
        assert links.consume(s, token, now=T0 + timedelta(minutes=2)) is None, "a link works once"
        assert links.consume(s, "not-a-token", now=T0) is None


def test_a_link_stops_when_its_minutes_are_up(sessions: Any) -> None:
    with sessions() as s:
        wendy = _invite(s)
        token = links.issue(s, wendy.person, now=T0, valid=timedelta(minutes=15))
        assert links.consume(s, token, now=T0 + timedelta(minutes=15)) is None
        fresh = links.issue(s, wendy.person, now=T0, valid=timedelta(minutes=15))
        assert links.consume(s, fresh, now=T0 + timedelta(minutes=14, seconds=59)) is not None


def test_a_disabled_accounts_links_stop_at_once_and_work_again_only_if_new(sessions: Any) -> None:
    with sessions() as s:
        wendy = _invite(s)
        token = links.issue(s, wendy.person, now=T0, valid=timedelta(minutes=15))
        staff.set_disabled(s, wendy.person, True, by="person:ada", now=T0)
        assert links.consume(s, token, now=T0 + timedelta(minutes=1)) is None
        assert links.by_email(s, WENDY).disabled  # type: ignore[union-attr]
        staff.set_disabled(s, wendy.person, False, by="person:ada", now=T0)
        assert links.consume(s, token, now=T0 + timedelta(minutes=2)) is None, "spent while disabled: still spent"
        again = links.issue(s, wendy.person, now=T0, valid=timedelta(minutes=15))
        assert links.consume(s, again, now=T0 + timedelta(minutes=3)) is not None


def test_one_address_one_account(sessions: Any) -> None:
    with sessions() as s:
        _invite(s)
        with pytest.raises(links.AlreadyInvited):
            _invite(s, WENDY.upper())


def test_racing_uses_of_one_link_sign_in_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/race.db"
    migrate(url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    with sessions() as s:
        token = links.issue(s, _invite(s).person, now=T0, valid=timedelta(minutes=15))
    start, got = threading.Barrier(4), []

    def use() -> None:
        start.wait()
        with sessions() as s:
            got.append(links.consume(s, token, now=T0 + timedelta(minutes=1)))

    threads = [threading.Thread(target=use) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert sum(a is not None for a in got) == 1


# ---- through the app -------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def web(tmp_path: Path, clock: Clock) -> Any:
    with intake_client(tmp_path, session_secret="s", outbox_path=tmp_path / "outbox.jsonl", show_outbox=False,
                       sign_in_link_minutes=15, sign_in_link_address_burst=3, sign_in_link_client_burst=6) as client:
        app: Any = client.app
        app.state.context = dataclasses.replace(app.state.context, clock=clock)
        client.outbox = tmp_path / "outbox.jsonl"
        yield client


def _emails(web: Any) -> list[dict[str, Any]]:
    try:
        return [json.loads(line) for line in web.outbox.read_text("utf-8").splitlines()]
    except FileNotFoundError:
        return []


def _link(email: dict[str, Any]) -> str:
    match = re.search(r"/sign-in/link\?token=([A-Za-z0-9_-]+)", email["body"])
    assert match, email["body"]
    return match.group(1)


def _invite_page(web: Any, **fields: str) -> Any:
    sign_in_as(web, "ada", ADMIN)
    form = {"name": "Wendy", "email": WENDY, "role": "watch_coordinator", "unit": "kempston-speed-watch"} | fields
    return web.post("/admin/link-accounts", data={"csrf_token": csrf(web.get("/admin/link-accounts").text), **form},
                    follow_redirects=False)


def _use(web: Any, token: str) -> Any:
    web.cookies.clear()
    page = web.get(f"/sign-in/link?token={token}")
    assert page.status_code == 200
    return web.post("/sign-in/link", data={"csrf_token": csrf(page.text), "token": token}, follow_redirects=False)


def test_an_invited_coordinator_signs_in_by_the_emailed_link_once(web: Any, clock: Clock) -> None:
    assert _invite_page(web).status_code == 303
    (email,) = _emails(web)
    assert email["to"] == WENDY and email["channel"] == "email" and "15 minutes" in email["body"]
    token = _link(email)
    answer = _use(web, token)
    assert answer.status_code == 303 and answer.headers["location"] == "/inbox"
    inbox = web.get("/inbox", follow_redirects=False)
    assert inbox.status_code == 200 and "Wendy" in inbox.text
    assert _use(web, token).status_code == 401, "a link works once"
    assert web.get("/inbox", follow_redirects=False).status_code == 303


def test_a_stale_link_does_not_sign_in(web: Any, clock: Clock) -> None:
    _invite_page(web)
    (email,) = _emails(web)
    clock.now += timedelta(minutes=16)
    assert _use(web, _link(email)).status_code == 401


def test_disabling_ends_the_session_and_the_links_at_once(web: Any, clock: Clock) -> None:
    web.app.state.context = dataclasses.replace(web.app.state.context, link_requests_by_address=TokenBucket(60, 10))
    _invite_page(web)
    web.post("/sign-in/email", data={"csrf_token": csrf(web.get("/sign-in/email").text), "email": WENDY})
    first, second = (_link(e) for e in _emails(web))
    web.post("/sign-in/email", data={"csrf_token": csrf(web.get("/sign-in/email").text), "email": WENDY})
    third = _link(_emails(web)[-1])
    assert _use(web, first).status_code == 303
    wendy_cookies = dict(web.cookies)
    sign_in_as(web, "ada", ADMIN)
    page = web.get("/admin/link-accounts")
    person = re.search(r'/admin/link-accounts/(link%3A[0-9a-f]+|link:[0-9a-f]+)/disable', page.text)
    assert person, page.text
    web.post(f"/admin/link-accounts/{person.group(1)}/disable", data={"csrf_token": csrf(page.text)})
    web.cookies.clear()
    for name, value in wendy_cookies.items():
        web.cookies.set(name, value)
    assert web.get("/inbox", follow_redirects=False).status_code == 303, "the session ended with the account"
    assert _use(web, second).status_code == 401, "a disabled account's link signs nobody in"
    before = len(_emails(web))
    web.post("/sign-in/email", data={"csrf_token": csrf(web.get("/sign-in/email").text), "email": WENDY})
    assert len(_emails(web)) == before, "no link for a disabled account"
    sign_in_as(web, "ada", ADMIN)
    page = web.get("/admin/link-accounts")
    assert "Disabled" in page.text
    web.post(f"/admin/link-accounts/{person.group(1)}/enable", data={"csrf_token": csrf(page.text)})
    assert _use(web, third).status_code == 401, "a link from before the account was disabled stays spent"
    web.cookies.clear()
    web.post("/sign-in/email", data={"csrf_token": csrf(web.get("/sign-in/email").text), "email": WENDY})
    assert _use(web, _link(_emails(web)[-1])).status_code == 303


def test_asking_for_a_link_answers_the_same_for_any_address_and_is_throttled(web: Any) -> None:
    _invite_page(web)
    web.cookies.clear()

    def ask(email: str) -> Any:
        return web.post("/sign-in/email", data={"csrf_token": csrf(web.get("/sign-in/email").text), "email": email})

    known, unknown = ask(WENDY), ask("nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    strip = re.compile(r'name="csrf_token" value="[^"]+"')
    assert strip.sub("", known.text) == strip.sub("", unknown.text)
    assert [e["to"] for e in _emails(web)] == [WENDY, WENDY]  # the invitation's and this one
    assert [ask(WENDY).status_code for _ in range(3)] == [200, 200, 429], "3 a while per address"
    assert ask("nobody@example.org").status_code == 200, "another address is not held up"
    refused = ask("someone-else@example.org")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0, "6 a while per client"


def test_an_invitation_needs_a_unit_of_the_roles_kind_and_a_new_address(web: Any) -> None:
    assert _invite_page(web, unit="kempston-npt").status_code == 400
    assert _invite_page(web, role="administrator").status_code == 400
    assert _invite_page(web, email="not-an-address").status_code == 400
    assert _invite_page(web).status_code == 303
    again = _invite_page(web, email=WENDY.upper())
    assert again.status_code == 400 and "has an account already" in again.text
    caseworker = _invite_page(web, email="carol@stophate.example.org", role="organisation_caseworker",
                              unit="stop-hate-beds")
    assert caseworker.status_code == 303
    answer = _use(web, _link(_emails(web)[-1]))
    assert answer.headers["location"] == "/third-party/report"
    assert web.get("/third-party/report", follow_redirects=False).status_code == 200


def test_inviting_and_disabling_are_in_the_audit_log_under_the_administrators_name(web: Any) -> None:
    _invite_page(web)
    page = web.get("/admin/link-accounts")
    person = re.search(r'/admin/link-accounts/(link(?:%3A|:)[0-9a-f]+)/disable', page.text)
    assert person
    web.post(f"/admin/link-accounts/{person.group(1)}/disable", data={"csrf_token": csrf(page.text)})
    web.portal.call(web.app.state.context.audit.flush)
    with web.sessions() as s:
        rows = [(r.action, r.what, r.actor) for r in s.query(AuditEntry).order_by(AuditEntry.seq).all()
                if r.what == "link_account"]
    assert rows == [("collection", "link_account", "person:ada"), ("alteration", "link_account", "person:ada")]
