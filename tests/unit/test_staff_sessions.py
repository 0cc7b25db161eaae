"""Page sessions live on the server: signing out, an account disabled by an administrator and a
role change end them at once (a copied cookie signs nobody in afterwards); idle and absolute
time-outs apply; failed sign-ins are throttled per client (behind a set number of trusted proxies)
and per account, by every method."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.access import Access, AccessConfig
from services.intake.auth import COOKIE
from services.intake.guards import client_address
from services.intake.ratelimit import FailureThrottle
from services.store import staff
from services.store.models import StaffSession
from tests.fakes.intake import intake_client
from tests.unit.staff import sign_in_as
from tests.unit.test_pages import csrf, sign_in

TEAM = ["mecc-team-members", "mecc-unit:kempston-npt"]
ADMIN = ["mecc-administrators"]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def web(tmp_path, clock):
    with intake_client(tmp_path, session_secret="s", outbox_path=tmp_path / "o", show_outbox=False,
                       session_idle_seconds=1800, session_max_age_seconds=8 * 3600,
                       sign_in_failures_per_client=5, sign_in_failures_per_account=3) as client:
        app: Any = client.app
        app.state.context = dataclasses.replace(app.state.context, clock=clock)
        yield client


def signed_in(web) -> bool:
    return web.get("/inbox", follow_redirects=False).status_code == 200


def test_signing_out_ends_the_session_on_the_server_so_a_copied_cookie_is_worthless(web):
    sign_in(web, "dev-team-kempston")
    copied = web.cookies.get(COOKIE)
    assert signed_in(web)
    web.post("/sign-out", data={"csrf_token": csrf(web.get("/inbox").text)})
    assert not signed_in(web)
    web.cookies.clear()
    web.cookies.set(COOKIE, copied)
    assert not signed_in(web), "the cookie from before signing out still signed in"
    with web.sessions() as s:
        (row,) = s.query(StaffSession).all()
        assert row.ended_reason == "signed_out"


def test_a_session_ends_after_the_idle_time_out_and_the_absolute_one(web, clock):
    sign_in_as(web, "tara", TEAM)
    clock.now += timedelta(minutes=29)
    assert signed_in(web), "29 minutes idle is within the 30"
    clock.now += timedelta(minutes=31)
    assert not signed_in(web), "31 minutes idle ends it"
    sign_in_as(web, "tara", TEAM)
    started = clock.now
    for _ in range(20):  # busy all day: never idle 30 minutes, but 8 hours is the most
        clock.now += timedelta(minutes=29)
        if not signed_in(web):
            break
    assert timedelta(hours=8) <= clock.now - started < timedelta(hours=8, minutes=29)
    with web.sessions() as s:
        assert sorted(r.ended_reason for r in s.query(StaffSession).all()) == ["expired", "idle"]


def test_an_administrator_disables_an_account_and_its_sessions_end_at_once(web, tmp_path):
    sign_in_as(web, "tara", TEAM)
    tara = web.cookies.get(COOKIE)
    assert signed_in(web)
    web.cookies.clear()
    sign_in_as(web, "ada", ADMIN)
    page = web.get("/admin/people")
    assert page.status_code == 200 and "tara" in page.text
    r = web.post("/admin/people/tara/disable", data={"csrf_token": csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert "Disabled" in web.get("/admin/people").text
    web.cookies.clear()
    web.cookies.set(COOKIE, tara)
    assert not signed_in(web)
    with web.sessions() as s:
        assert staff.disabled(s, "tara")


def test_only_an_administrator_may_end_sessions(web):
    sign_in_as(web, "sam", ["mecc-supervisors", "mecc-unit:kempston-npt"])
    assert web.get("/admin/people", follow_redirects=False).status_code == 303
    r = web.post("/admin/people/tara/disable", data={"csrf_token": "test-csrf-token"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")
    with web.sessions() as s:
        assert not staff.disabled(s, "tara")


def test_a_role_change_ends_the_session(web):
    sign_in_as(web, "tara", TEAM)
    assert signed_in(web)
    ctx = web.app.state.context
    config = ctx.access._config.model_dump()
    config["oidc"]["roles"]["mecc-team-members"] = "watch_coordinator"  # the groups now mean another role
    web.app.state.context = dataclasses.replace(ctx, access=Access(AccessConfig.model_validate(config)))
    assert not signed_in(web)
    web.app.state.context = ctx  # even with the old mapping back, that session stays ended
    assert not signed_in(web)
    with web.sessions() as s:
        (row,) = s.query(StaffSession).all()
        assert row.ended_reason == "role_changed"


def test_failed_sign_ins_are_throttled_per_client_on_the_page_and_the_api(web):
    for _ in range(5):
        page = web.get("/sign-in").text
        assert web.post("/sign-in", data={"api_key": "guess", "csrf_token": csrf(page)}).status_code == 401
    page = web.get("/sign-in").text
    r = web.post("/sign-in", data={"api_key": "dev-team-kempston", "csrf_token": csrf(page)})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0, "even the right key waits"
    r = web.post("/v1/reports/MECC-0000-0000/actions", json={"public_text": "x"},
                 headers={"X-API-Key": "dev-team-kempston"})
    assert r.status_code == 429, "the same client is throttled on the API too"


def test_unknown_api_keys_count_as_failed_sign_ins(web):
    for _ in range(5):
        assert web.get("/v1/watches/kempston-speed-watch/items", headers={"X-API-Key": "guess"}).status_code == 401
    r = web.get("/v1/watches/kempston-speed-watch/items", headers={"X-API-Key": "dev-watch-kempston-speed"})
    assert r.status_code == 429


def test_behind_trusted_proxies_only_the_rightmost_entries_count():
    # One proxy of ours appended the address it saw; whatever the client wrote before it is ignored.
    assert client_address(("10.0.0.1", 1), "1.2.3.4, 203.0.113.7", 1) == "203.0.113.7"
    assert client_address(("10.0.0.1", 1), "1.2.3.4, 203.0.113.7, 10.0.0.9", 2) == "203.0.113.7"
    assert client_address(("10.0.0.1", 1), "1.2.3.4, 203.0.113.7", 0) == "10.0.0.1", "no proxy trusted"
    assert client_address(None, None, 1) == "unknown"


def test_a_client_cannot_dodge_the_throttle_by_writing_its_own_forwarded_for(tmp_path):
    with intake_client(tmp_path, session_secret="s", outbox_path=tmp_path / "o", show_outbox=False,
                       trusted_proxy_hops=1, sign_in_failures_per_client=3) as web:
        for n in range(3):
            r = web.get("/v1/watches/x/items", headers={"X-API-Key": "guess", "X-Forwarded-For": f"1.1.1.{n}, 9.9.9.9"})
            assert r.status_code == 401
        r = web.get("/v1/watches/x/items", headers={"X-API-Key": "guess", "X-Forwarded-For": "1.1.1.99, 9.9.9.9"})
        assert r.status_code == 429
        r = web.get("/v1/watches/x/items", headers={"X-API-Key": "guess", "X-Forwarded-For": "9.9.9.9, 8.8.8.8"})
        assert r.status_code == 401, "another client (by the proxy's entry) is not held up"


def test_the_failure_window_slides():
    now = [0.0]
    throttle = FailureThrottle(3, 60.0, clock=lambda: now[0])
    for _ in range(3):
        throttle.failed("a")
        now[0] += 10
    assert throttle.wait("a") == pytest.approx(30.0)
    now[0] += 30
    assert throttle.wait("a") == 0.0
    throttle.forget("a")
    assert throttle.wait("a") == 0.0


def test_wrong_open311_api_keys_count_as_failed_sign_ins(web):
    for _ in range(5):
        assert web.get("/open311/v2/requests.json", params={"api_key": "guess"}).status_code == 403
    r = web.get("/open311/v2/requests.json", params={"api_key": "dev-org-stop-hate"})
    assert r.status_code == 429
