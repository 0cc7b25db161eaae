"""Sign-in by a one-time email link through the served intake (uvicorn, the local outbox as its
mailer) on PostgreSQL: an administrator invites a watch coordinator, who signs in by the emailed
link; the link works once even when two browsers race with it; disabling the account ends the
session at once; asking for a link answers the same for any address."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness.processes import served_in_thread
from infra.ports import free_port
from services.intake.app import create_app
from services.intake.auth import COOKIE, serializer
from services.intake.settings import IntakeSettings
from services.store import staff
from services.store.db import make_engine, make_sessions
from tests.fakes.intake import RecordingPublisher

pytestmark = pytest.mark.integration


@dataclass
class Served:
    base: str
    outbox: Path
    admin_cookie: str


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    outbox = tmp_path_factory.mktemp("outbox") / "outbox.jsonl"
    settings = IntakeSettings(database_url=database_url, public_base_url=base, session_secret="test-session-secret",
                              show_outbox=False, outbox_path=outbox, sign_in_link_minutes=15)
    app = create_app(settings, publisher=RecordingPublisher())
    ctx = app.state.context
    admin = f"ada-{uuid.uuid4().hex[:6]}"
    claims = {"sub": admin, "name": "Ada", "groups": ["mecc-administrators"]}
    principal = ctx.access.staff(claims)
    token = f"admin-{uuid.uuid4().hex}"
    engine = make_engine(database_url)
    with make_sessions(engine)() as s:
        staff.start(s, token, person=admin, principal_id=principal.id, role=str(principal.role), claims=claims,
                    client="127.0.0.1", now=ctx.clock())
    engine.dispose()
    with served_in_thread(app, port):
        yield Served(base, outbox, serializer(ctx).dumps({"csrf": "admin-csrf", "sid": token}))


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def _emails_to(served: Served, to: str, count: int) -> list[str]:
    """The sign-in links emailed to ``to``, once there are ``count`` of them (sent after the answer)."""
    deadline = time.monotonic() + 10
    while True:
        lines = served.outbox.read_text("utf-8").splitlines() if served.outbox.exists() else []
        bodies = [m["body"] for m in map(json.loads, lines) if m["to"] == to]
        if len(bodies) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    found = [re.search(r"(http://\S+/sign-in/link\?token=[A-Za-z0-9_-]+)", body) for body in bodies]
    return [m.group(1) for m in found if m]


def _browser(served: Served) -> httpx.Client:
    return httpx.Client(base_url=served.base, follow_redirects=False, timeout=10)


def _use(browser: httpx.Client, link: str) -> httpx.Response:
    page = browser.get(link)
    assert page.status_code == 200
    token = link.rsplit("=", 1)[1]
    return browser.post("/sign-in/link", data={"csrf_token": _csrf(page.text), "token": token})


def _ask(browser: httpx.Client, email: str) -> httpx.Response:
    return browser.post("/sign-in/email", data={"csrf_token": _csrf(browser.get("/sign-in/email").text),
                                                "email": email})


def test_an_invited_coordinator_signs_in_by_link_once_until_disabled(served: Served) -> None:
    email = f"wendy-{uuid.uuid4().hex[:6]}@speedwatch.example.org"
    with _browser(served) as admin, _browser(served) as wendy:
        admin.cookies.set(COOKIE, served.admin_cookie)
        page = admin.get("/admin/link-accounts")
        assert page.status_code == 200
        invited = admin.post("/admin/link-accounts", data={
            "csrf_token": _csrf(page.text), "name": "Wendy", "email": email, "role": "watch_coordinator",
            "unit": "kempston-speed-watch"})
        assert invited.status_code == 303
        (link,) = _emails_to(served, email, 1)
        assert link.startswith(served.base)
        signed_in = _use(wendy, link)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/inbox"
        assert wendy.get("/inbox").status_code == 200
        with _browser(served) as other:
            assert _use(other, link).status_code == 401, "a link works once"

        # Two browsers race with one new link: one of them signs in.
        known, unknown = _ask(wendy, email), _ask(wendy, f"nobody-{uuid.uuid4().hex[:6]}@example.org")
        assert known.status_code == unknown.status_code == 200
        assert _csrf(known.text) and known.text.replace(_csrf(known.text), "") == unknown.text.replace(
            _csrf(unknown.text), "")
        link2 = _emails_to(served, email, 2)[1]
        racers = [_browser(served) for _ in range(4)]
        pages = [(r, _csrf(r.get(link2).text)) for r in racers]
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda rp: rp[0].post("/sign-in/link", data={
                "csrf_token": rp[1], "token": link2.rsplit("=", 1)[1]}).status_code, pages))
        for r in racers:
            r.close()
        assert sorted(answers) == [303, 401, 401, 401]

        page = admin.get("/admin/link-accounts")
        person = re.search(r'/admin/link-accounts/([^/"]+)/disable"', page.text.split(email, 1)[1])
        assert person
        assert admin.post(f"/admin/link-accounts/{person.group(1)}/disable",
                          data={"csrf_token": _csrf(page.text)}).status_code == 303
        assert wendy.get("/inbox").status_code == 303, "disabling ends the session at once"
