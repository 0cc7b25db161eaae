"""Staff sign-in against a real OpenID provider process (``infra.oidc``): a browser (httpx,
following redirects) goes from the intake to the provider's login form, signs in with a local
account, and comes back signed in with the role and unit the account's groups give. No token is
made up here: the intake validates what the provider signed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from harness.processes import served_in_thread
from infra.oidc import OidcProvider
from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from services.store.db import migrate
from tests.fakes.intake import RecordingPublisher
from tests.fixtures import intake_base_url

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def intake(oidc_provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The intake, served by uvicorn where the provider sends browsers back, pointed at the provider."""
    base = intake_base_url(oidc_provider)
    db = tmp_path_factory.mktemp("intake") / "store.db"
    migrate(f"sqlite:///{db}")
    settings = IntakeSettings(
        database_url=f"sqlite:///{db}", public_base_url=base, session_secret="test-session-secret",
        oidc_issuer=oidc_provider.issuer, oidc_client_id=oidc_provider.client_id,
        oidc_client_secret=oidc_provider.client_secret, show_outbox=False, outbox_path=Path(db).parent / "o")
    app = create_app(settings, publisher=RecordingPublisher())
    port = int(base.rsplit(":", 1)[1])
    with served_in_thread(app, port):
        yield base


def sign_in(browser: httpx.Client, username: str, password: str, next_url: str = "/inbox") -> httpx.Response:
    """Click "Sign in with your organisation account", fill in the provider's form, submit it."""
    login = browser.get(f"/sign-in/oidc?next={next_url}")
    assert login.status_code == 200 and 'name="password"' in login.text, login.text[:500]
    action = re.search(r'<form method="post" action="([^"]+)"', login.text)
    assert action, login.text[:500]
    return browser.post(urljoin(str(login.url), action.group(1)), data={"login": username, "password": password})


@pytest.fixture
def browser(intake: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=intake, follow_redirects=True, timeout=20) as client:
        yield client


def test_the_sign_in_page_offers_the_organisation_account(browser: httpx.Client) -> None:
    page = browser.get("/sign-in").text
    assert "Sign in with your organisation account" in page


def test_a_team_member_signs_in_at_the_provider_and_sees_their_team_inbox(browser: httpx.Client,
                                                                             intake: str) -> None:
    page = sign_in(browser, "tara.member", "local-team-member")
    assert page.status_code == 200, page.text[:500]
    assert str(page.url) == f"{intake}/inbox"
    assert "Kempston neighbourhood team" in page.text


def test_a_supervisor_and_a_watch_coordinator_get_their_own_units(intake: str) -> None:
    with httpx.Client(base_url=intake, follow_redirects=True, timeout=20) as browser:
        page = sign_in(browser, "wendy.watch", "local-watch-coordinator")
        assert str(page.url) == f"{intake}/inbox" and "Kempston Speed Watch" in page.text
    with httpx.Client(base_url=intake, follow_redirects=True, timeout=20) as browser:
        page = sign_in(browser, "carl.caseworker", "local-caseworker")
        assert str(page.url) == f"{intake}/third-party/report", page.text[:300]


def test_a_wrong_password_stays_at_the_provider_and_signs_nobody_in(browser: httpx.Client, intake: str) -> None:
    page = sign_in(browser, "tara.member", "not-the-password")
    assert page.status_code == 401 and "wrong password" in page.text
    assert not str(page.url).startswith(intake)
    inbox = browser.get("/inbox")
    assert str(inbox.url).startswith(f"{intake}/sign-in"), "not signed in, so sent to sign in"


def test_a_callback_with_a_forged_state_is_refused(browser: httpx.Client) -> None:
    browser.get("/sign-in/oidc?next=/inbox")  # a sign-in started in this browser
    answer = browser.get("/sign-in/callback?code=made-up&state=forged")
    assert answer.status_code == 401 and "did not complete" in answer.text
    assert "/sign-in" in str(browser.get("/inbox").url)


def test_a_callback_with_a_code_the_provider_did_not_issue_is_refused(browser: httpx.Client) -> None:
    started = browser.get("/sign-in/oidc?next=/inbox")
    state = re.search(r"state=([^&]+)", str(started.history[0].headers["location"]))
    assert state
    answer = browser.get(f"/sign-in/callback?code=made-up&state={state.group(1)}")
    assert answer.status_code == 401


def test_wrong_passwords_for_one_account_are_throttled_at_the_provider(intake: str) -> None:
    with httpx.Client(base_url=intake, follow_redirects=True, timeout=20) as browser:
        for _ in range(5):
            assert sign_in(browser, "rory.roads", "guess").status_code == 401
        page = sign_in(browser, "rory.roads", "local-team-member")
        assert page.status_code == 429 and "Too many failed attempts" in page.text, "even the right password waits"
        assert "/sign-in" in str(browser.get("/inbox").url)


def test_signing_out_ends_the_session_for_a_copy_of_the_cookie_too(intake: str) -> None:
    with httpx.Client(base_url=intake, follow_redirects=True, timeout=20) as browser:
        page = sign_in(browser, "sam.supervisor", "local-supervisor")
        assert str(page.url) == f"{intake}/inbox" and "Sam Supervisor" in page.text
        copied = dict(browser.cookies.items())
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        browser.post("/sign-out", data={"csrf_token": token.group(1)})
    with httpx.Client(base_url=intake, follow_redirects=True, timeout=20, cookies=copied) as thief:
        assert "/sign-in" in str(thief.get("/inbox").url)
