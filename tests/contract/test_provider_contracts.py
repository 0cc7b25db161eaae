"""The real provider clients, as the feedback worker's adapters drive them, against Stoplight Prism
serving Twilio's and SendGrid's own OpenAPI descriptions, pinned in the repository
(``contracts/``, see ``contracts/README.md``).

Prism refuses a request that breaks the description (a 4xx), so a send that succeeds here is one the
provider documents; each file also has a test that sends a deliberately broken request through the
same client and expects the refusal, which shows the check is real and not a mock that takes anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from infra import prism
from schemas import CaseUpdate, Channel, Destination, Outcome, UpdateKind
from services.feedback import templates
from services.feedback.senders import Outgoing, PermanentSendError, SendGridEmail, TwilioSms

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
TWILIO_SPEC = CONTRACTS / "twilio" / "twilio_api_v2010.json"
SENDGRID_SPEC = CONTRACTS / "sendgrid" / "tsg_mail_v3.json"

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2  # the description's pattern: ^AC[0-9a-fA-F]{32}$
AUTH_TOKEN = "test-auth-token"
FROM_NUMBER = "+447700900001"
TO_NUMBER = "+447700900123"
API_KEY = "SG.test-key.not-a-real-one"
FROM_EMAIL = "updates@example.police.uk"
TO_EMAIL = "informant@example.org"


def _serve(spec: Path) -> Iterator[str]:
    if not spec.is_file():
        pytest.fail(f"provider contract {spec} is missing from the checkout (see contracts/README.md)")
    if not prism.is_installed() and not prism.npm_available():
        pytest.skip("npm is not installed, so Stoplight Prism cannot be installed (apt-get install npm)")
    with prism.serve(spec) as url:
        yield url


@pytest.fixture(scope="module")
def twilio_prism() -> Iterator[str]:
    yield from _serve(TWILIO_SPEC)


@pytest.fixture(scope="module")
def sendgrid_prism() -> Iterator[str]:
    yield from _serve(SENDGRID_SPEC)


# -- Twilio ---------------------------------------------------------------------------------------------


async def test_twilio_sms_send_matches_the_contract(twilio_prism: str) -> None:
    sms = TwilioSms(ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, base_url=twilio_prism)
    try:
        sent = await sms.send(Outgoing(channel=Channel.SMS, to=TO_NUMBER,
                                       body="Update on your report MECC-0001: an officer will call you."))
    finally:
        await sms.close()
    assert sent.provider == "twilio"
    assert re.fullmatch(r"SM[0-9a-fA-F]{32}", sent.provider_id)


async def test_twilio_request_missing_to_is_refused(twilio_prism: str) -> None:
    """CreateMessage requires ``To`` in its form body: Prism must refuse a request without it."""
    sms = TwilioSms(ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, base_url=twilio_prism)
    try:
        client = sms._client()
        response = client.api.request(
            "POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
            data={"From": FROM_NUMBER, "Body": "no recipient"})
    finally:
        await sms.close()
    assert 400 <= response.status_code < 500, response.text
    problem = json.loads(response.text)
    assert any("'To'" in v["message"] for v in problem.get("validation", [])), problem


async def test_twilio_bad_account_sid_is_refused_as_permanent(twilio_prism: str) -> None:
    """The adapter's own request, broken (an account SID the description's pattern forbids)."""
    sms = TwilioSms("not-an-account-sid", AUTH_TOKEN, FROM_NUMBER, base_url=twilio_prism)
    try:
        with pytest.raises(PermanentSendError):
            await sms.send(Outgoing(channel=Channel.SMS, to=TO_NUMBER, body="hello"))
    finally:
        await sms.close()


class _RecordingHttp(TwilioHttpClient):
    """The real client's HTTP layer, keeping each request it made and Prism's answer."""

    def __init__(self) -> None:
        super().__init__(timeout=10)
        self.exchanges: list[tuple[str, str, dict[str, Any], Any]] = []

    def request(self, method: str, url: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        response = super().request(method, url, params, *args, **kwargs)
        self.exchanges.append((method, url, dict(params or {}), response))
        return response


async def test_twilio_message_look_up_matches_the_contract(twilio_prism: str) -> None:
    """The look-up of an ambiguous send (the Messages list, filtered by To, From and DateSent>),
    as the adapter makes it through the real client: Prism finds nothing wrong with the request.
    (Prism's own example answer to ListMessage breaks the description, relative ``*_uri`` fields
    where it says ``format: uri``, so with ``--errors`` it answers 500 naming only the response.)"""
    http = _RecordingHttp()
    client = TwilioClient(ACCOUNT_SID, AUTH_TOKEN, http_client=http, environment={})
    client.api.base_url = twilio_prism
    sms = TwilioSms(ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, client=lambda: client)
    try:
        await sms.find(Outgoing(channel=Channel.SMS, to=TO_NUMBER, body="Update on your report MECC-0001"),
                       datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    finally:
        await sms.close()
    method, url, params, response = http.exchanges[0]
    assert (method, url) == ("GET", f"{twilio_prism}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
    assert (params["To"], params["From"], params["DateSent>"]) == (TO_NUMBER, FROM_NUMBER, "2026-11-23T00:00:00Z")
    if response.status_code != 200:
        problem = json.loads(response.text)
        violations = problem.get("validation", [])
        assert violations and all(v["location"][0] == "response" for v in violations), problem


async def test_twilio_look_up_with_a_page_size_out_of_range_is_refused(twilio_prism: str) -> None:
    """ListMessage's PageSize is 1 to 1000: Prism must refuse 0."""
    sms = TwilioSms(ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, base_url=twilio_prism)
    try:
        response = sms._client().api.request(
            "GET", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json", params={"To": TO_NUMBER, "PageSize": 0})
    finally:
        await sms.close()
    assert 400 <= response.status_code < 500, response.text


# -- SendGrid -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("html", ["<p>An officer will call you.</p>", None], ids=["text+html", "text"])
async def test_sendgrid_email_send_matches_the_contract(sendgrid_prism: str, html: str | None) -> None:
    email = SendGridEmail(API_KEY, FROM_EMAIL, host=sendgrid_prism)
    try:
        sent = await email.send(Outgoing(channel=Channel.EMAIL, to=TO_EMAIL, subject="Your report MECC-0001",
                                         body="An officer will call you.", html=html))
    finally:
        await email.close()
    assert sent.provider == "sendgrid"
    assert sent.provider_id


def test_sendgrid_mail_without_personalizations_is_refused(sendgrid_prism: str) -> None:
    client = SendGridAPIClient(API_KEY, host=sendgrid_prism)
    broken = {"from": {"email": FROM_EMAIL}, "subject": "no recipients",
              "content": [{"type": "text/plain", "value": "hello"}]}
    with pytest.raises(HTTPError) as caught:
        client.client.mail.send.post(request_body=broken)
    assert 400 <= caught.value.status_code < 500
    # Prism names the broken rule in this header when it answers with the description's own 400.
    violations = caught.value.headers.get("sl-violations") if caught.value.headers else None
    assert violations and "personalizations" in violations, violations


def test_sendgrid_mail_without_credentials_is_refused(sendgrid_prism: str) -> None:
    client = SendGridAPIClient(API_KEY, host=sendgrid_prism)
    client.client.request_headers.pop("Authorization", None)
    mail = {"personalizations": [{"to": [{"email": TO_EMAIL}]}], "from": {"email": FROM_EMAIL},
            "subject": "s", "content": [{"type": "text/plain", "value": "hello"}]}
    with pytest.raises(HTTPError) as caught:
        client.client.mail.send.post(request_body=mail)
    assert caught.value.status_code == 401


# -- What the feedback worker actually sends --------------------------------------------------------


def _every_message(channel: Channel) -> list[templates.Rendered]:
    """One rendering of every template the feedback worker sends on ``channel``."""
    reference = "MECC-7K3Q-9XJD"
    teams = (Destination(kind="team", id="kempston-npt", name="Kempston neighbourhood team"),)
    action = CaseUpdate(reference=reference, actor_id="kempston-npt", actor_name="Kempston neighbourhood team",
                        public_text="Officers patrolled Bedford Road \u2013 \u201cquiet\u201d since.")
    closure = action.model_copy(update={"kind": UpdateKind.CLOSURE, "outcome": Outcome.NO_FURTHER_ACTION,
                                        "outcome_reason": "The car could not be identified."})
    return [
        templates.acknowledgement(channel, reference=reference, category_label="Speeding", destinations=teams),
        templates.update(channel, reference=reference, update=action),
        templates.update(channel, reference=reference, update=closure),
        templates.holding(channel, reference=reference, days=7),
        templates.survey(channel, reference=reference),
    ]


async def test_every_sms_the_worker_sends_matches_the_contract(twilio_prism: str) -> None:
    sms = TwilioSms(ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, base_url=twilio_prism,
                    status_callback="https://report.example/webhooks/twilio/status")
    try:
        for rendered in _every_message(Channel.SMS):
            sent = await sms.send(Outgoing(channel=Channel.SMS, to=TO_NUMBER, body=rendered.body))
            assert sent.provider_id.startswith("SM")
    finally:
        await sms.close()


async def test_every_email_the_worker_sends_with_its_unsubscribe_headers_matches_the_contract(
    sendgrid_prism: str,
) -> None:
    email = SendGridEmail(API_KEY, FROM_EMAIL, host=sendgrid_prism)
    unsubscribe = (("List-Unsubscribe", "<https://report.example/v1/unsubscribe/abc.def>"),
                   ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    try:
        for rendered in _every_message(Channel.EMAIL):
            sent = await email.send(Outgoing(channel=Channel.EMAIL, to=TO_EMAIL, subject=rendered.subject,
                                             body=rendered.body, html=rendered.html, headers=unsubscribe))
            assert sent.provider == "sendgrid"
    finally:
        await email.close()
