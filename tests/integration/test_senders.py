"""The Twilio and SendGrid adapters against the local fake providers (``harness.providers``):
real clients, real HTTP on 127.0.0.1, and the provider's failures sorted into transient (retry) and
permanent (give up). No broker or database needed."""

from __future__ import annotations

import base64
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from twilio.rest import Client as TwilioClient

from harness.providers import FakeSendGrid, FakeTwilio
from schemas import Channel
from services.feedback.senders import (
    AmbiguousSendError,
    Found,
    NotFound,
    Outgoing,
    PermanentSendError,
    SendGridEmail,
    TransientSendError,
    TwilioSms,
    Unknown,
)
from services.feedback.senders.base import LeasePassed
from services.feedback.senders.fenced_http import FencedHTTPConnection

pytestmark = pytest.mark.integration

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
FROM_NUMBER = "+447700900001"
TO_NUMBER = "+447700900123"
OTHER_NUMBER = "+447700900456"
FROM_EMAIL = "updates@example.police.uk"
TO_EMAIL = "informant@example.org"


def sms(to: str = TO_NUMBER, body: str = "Update on MECC-0001: an officer will call you.") -> Outgoing:
    return Outgoing(channel=Channel.SMS, to=to, body=body, reference="MECC-0001")


def email(to: str = TO_EMAIL, html: str | None = "<p>An officer will call you.</p>") -> Outgoing:
    return Outgoing(channel=Channel.EMAIL, to=to, subject="Your report MECC-0001",
                    body="An officer will call you.", html=html, reference="MECC-0001")


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


@pytest.fixture
async def twilio(fake_twilio: FakeTwilio) -> AsyncIterator[TwilioSms]:
    sender = TwilioSms(ACCOUNT_SID, "test-token", FROM_NUMBER, base_url=fake_twilio.url, timeout=2.0)
    yield sender
    await sender.close()


@pytest.fixture
def sendgrid(fake_sendgrid: FakeSendGrid) -> SendGridEmail:
    return SendGridEmail("SG.test-key", FROM_EMAIL, host=fake_sendgrid.url, timeout=2.0)


# -- Twilio ---------------------------------------------------------------------------------------------


async def test_twilio_send_is_recorded(twilio: TwilioSms, fake_twilio: FakeTwilio) -> None:
    sent = await twilio.send(sms())
    assert sent.provider == "twilio"
    assert re.fullmatch(r"SM[0-9a-f]{32}", sent.provider_id)
    [message] = fake_twilio.wait_for(1)
    assert (message.sid, message.account_sid, message.to, message.from_) == (
        sent.provider_id, ACCOUNT_SID, TO_NUMBER, FROM_NUMBER)
    assert message.body == "Update on MECC-0001: an officer will call you."
    assert fake_twilio.messages(to=OTHER_NUMBER) == []
    assert fake_twilio.failures == []


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_twilio_throttling_and_server_errors_are_transient(
        twilio: TwilioSms, fake_twilio: FakeTwilio, status: int) -> None:
    fake_twilio.fail_next(1, status=status)
    with pytest.raises(TransientSendError):
        await twilio.send(sms())
    assert [f.status for f in fake_twilio.failures] == [status]
    assert fake_twilio.messages() == []
    # The injected failure is used up: the retry goes through.
    await twilio.send(sms())
    assert len(fake_twilio.messages()) == 1


@pytest.mark.parametrize("code", [21610, 21211, 21614])
async def test_twilio_recipient_errors_are_permanent_with_their_code(
        twilio: TwilioSms, fake_twilio: FakeTwilio, code: int) -> None:
    fake_twilio.fail_next(1, status=400, code=code)
    with pytest.raises(PermanentSendError) as caught:
        await twilio.send(sms())
    assert caught.value.code == str(code)
    assert fake_twilio.failures[0].code == code


async def test_twilio_fail_for_hits_only_that_recipient(twilio: TwilioSms, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_for(OTHER_NUMBER, 400, 21610)
    for _ in range(2):
        with pytest.raises(PermanentSendError) as caught:
            await twilio.send(sms(to=OTHER_NUMBER))
        assert caught.value.code == "21610"
    await twilio.send(sms(to=TO_NUMBER))
    assert [m.to for m in fake_twilio.messages()] == [TO_NUMBER]
    assert [f.recipients for f in fake_twilio.failures] == [(OTHER_NUMBER,), (OTHER_NUMBER,)]


async def test_twilio_fail_next_kept_for_a_recipient_lets_other_requests_through(
        twilio: TwilioSms, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(1, status=429, to=OTHER_NUMBER)
    await twilio.send(sms(to=TO_NUMBER))  # another recipient's send: not the one the failure is kept for
    with pytest.raises(TransientSendError):
        await twilio.send(sms(to=OTHER_NUMBER))
    await twilio.send(sms(to=OTHER_NUMBER))  # used up
    assert [m.to for m in fake_twilio.messages()] == [TO_NUMBER, OTHER_NUMBER]
    assert [f.recipients for f in fake_twilio.failures] == [(OTHER_NUMBER,)]


async def test_twilio_rejected_credentials_are_permanent(fake_twilio: FakeTwilio) -> None:
    fake_twilio.auth_token = "the-right-token"
    sender = TwilioSms(ACCOUNT_SID, "a-wrong-token", FROM_NUMBER, base_url=fake_twilio.url)
    try:
        with pytest.raises(PermanentSendError) as caught:
            await sender.send(sms())
    finally:
        await sender.close()
    assert caught.value.code == "20003"
    assert fake_twilio.failures[0].status == 401


async def test_twilio_slow_provider_is_an_ambiguous_send_not_a_failure(fake_twilio: FakeTwilio) -> None:
    """The request was written and the answer never came in time: Twilio may have it."""
    fake_twilio.delay = 3.0
    sender = TwilioSms(ACCOUNT_SID, "test-token", FROM_NUMBER, base_url=fake_twilio.url, timeout=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(AmbiguousSendError):
            await sender.send(sms())
    finally:
        await sender.close()
    assert time.monotonic() - started < 2.0


async def test_twilio_unreachable_is_transient() -> None:
    sender = TwilioSms(ACCOUNT_SID, "test-token", FROM_NUMBER, base_url=_closed_port_url(), timeout=2.0)
    try:
        with pytest.raises(TransientSendError):
            await sender.send(sms())
    finally:
        await sender.close()


async def test_twilio_keeps_its_connection_and_finds_a_stopped_provider_gone(fake_twilio: FakeTwilio) -> None:
    # One sending thread, so one pooled connection: three sends over it, as with the real Twilio.
    sender = TwilioSms(ACCOUNT_SID, "test-token", FROM_NUMBER, base_url=fake_twilio.url, timeout=2.0, threads=1)
    try:
        for _ in range(3):
            await sender.send(sms())
        assert fake_twilio.connections == 1
        # A provider that goes away hangs up its kept-alive connections: the next send is refused
        # (never made), not answered by a connection left over from before.
        fake_twilio.stop()
        with pytest.raises(TransientSendError):
            await sender.send(sms())
        assert len(fake_twilio.messages()) == 3
    finally:
        await sender.close()


# -- SendGrid -------------------------------------------------------------------------------------------


async def test_sendgrid_send_is_recorded(sendgrid: SendGridEmail, fake_sendgrid: FakeSendGrid) -> None:
    sent = await sendgrid.send(email())
    [mail] = fake_sendgrid.wait_for(1)
    assert sent.provider == "sendgrid"
    assert sent.provider_id == mail.message_id
    assert (mail.to, mail.from_, mail.subject) == ((TO_EMAIL,), FROM_EMAIL, "Your report MECC-0001")
    assert mail.text == "An officer will call you."
    assert mail.html == "<p>An officer will call you.</p>"
    assert fake_sendgrid.mails(to=TO_EMAIL.upper()) == [mail]


async def test_sendgrid_plain_text_only(sendgrid: SendGridEmail, fake_sendgrid: FakeSendGrid) -> None:
    await sendgrid.send(email(html=None))
    [mail] = fake_sendgrid.mails()
    assert (mail.text, mail.html) == ("An officer will call you.", None)


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_sendgrid_throttling_and_server_errors_are_transient(
        sendgrid: SendGridEmail, fake_sendgrid: FakeSendGrid, status: int) -> None:
    fake_sendgrid.fail_next(1, status=status)
    with pytest.raises(TransientSendError) as caught:
        await sendgrid.send(email())
    assert caught.value.code == str(status)
    await sendgrid.send(email())
    assert len(fake_sendgrid.mails()) == 1
    assert [f.status for f in fake_sendgrid.failures] == [status]


async def test_sendgrid_bad_request_is_permanent(
        sendgrid: SendGridEmail, fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.fail_for(TO_EMAIL, 400, message="Does not contain a valid address.")
    with pytest.raises(PermanentSendError) as caught:
        await sendgrid.send(email())
    assert caught.value.code == "400"
    await sendgrid.send(email(to="someone.else@example.org"))
    assert [m.to for m in fake_sendgrid.mails()] == [("someone.else@example.org",)]


async def test_sendgrid_rejected_key_is_permanent(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.api_key = "SG.the-right-key"
    sender = SendGridEmail("SG.a-wrong-key", FROM_EMAIL, host=fake_sendgrid.url)
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(email())
    assert caught.value.code == "401"
    assert fake_sendgrid.mails() == []


async def test_sendgrid_slow_provider_is_an_ambiguous_send_not_a_failure(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.delay = 3.0
    sender = SendGridEmail("SG.test-key", FROM_EMAIL, host=fake_sendgrid.url, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(AmbiguousSendError):
        await sender.send(email())
    assert time.monotonic() - started < 2.0


async def test_sendgrid_unreachable_is_transient() -> None:
    sender = SendGridEmail("SG.test-key", FROM_EMAIL, host=_closed_port_url(), timeout=2.0)
    with pytest.raises(TransientSendError):
        await sender.send(email())


# -- the fakes themselves -------------------------------------------------------------------------------


def test_fake_wait_for_times_out_with_what_it_saw(fake_twilio: FakeTwilio) -> None:
    with pytest.raises(TimeoutError, match="accepted 0"):
        fake_twilio.wait_for(1, timeout=0.1)
    assert fake_twilio.wait_for(lambda: True, timeout=0.1) == []


async def test_fake_reset_forgets_records_and_injections(twilio: TwilioSms, fake_twilio: FakeTwilio) -> None:
    await twilio.send(sms())
    fake_twilio.fail_next(5, status=503)
    fake_twilio.fail_for(OTHER_NUMBER, 400, 21211)
    fake_twilio.reset()
    await twilio.send(sms(to=OTHER_NUMBER))
    assert [m.to for m in await fake_twilio.wait_for_async(1)] == [OTHER_NUMBER]
    assert fake_twilio.failures == []


# -- Looking up an ambiguous send ----------------------------------------------------------------------


async def test_twilio_finds_a_message_whose_answer_was_lost(fake_twilio: FakeTwilio) -> None:
    fake_twilio.delay = 1.0
    sender = TwilioSms(ACCOUNT_SID, "test-token", FROM_NUMBER, base_url=fake_twilio.url, timeout=0.2)
    since = datetime.now(UTC)
    try:
        with pytest.raises(AmbiguousSendError):
            await sender.send(sms())
        [accepted] = await fake_twilio.wait_for_async(1)  # Twilio took it all the same
        fake_twilio.delay = 0.0
        sender_with_time = TwilioSms(ACCOUNT_SID, "test-token", FROM_NUMBER, base_url=fake_twilio.url, timeout=2.0)
        try:
            assert await sender_with_time.find(sms(), since) == Found(accepted.sid)
            assert await sender_with_time.find(sms(body="Another message"), since) == NotFound()
            assert await sender_with_time.find(sms(to=OTHER_NUMBER), since) == NotFound()
        finally:
            await sender_with_time.close()
    finally:
        await sender.close()
    query = fake_twilio.lookups[0]
    assert (query["To"], query["From"]) == ([TO_NUMBER], [FROM_NUMBER])
    assert query["DateSent>"][0].startswith(since.date().isoformat())


async def test_twilio_reads_every_page_of_the_list_before_saying_not_there(
        twilio: TwilioSms, fake_twilio: FakeTwilio) -> None:
    since = datetime.now(UTC)
    for i in range(120):  # more than two pages of 50
        await twilio.send(sms(body=f"Update {i} on MECC-0001"))
    assert await twilio.find(sms(body="Update 0 on MECC-0001"), since) != NotFound()  # the oldest, on page 3
    assert await twilio.find(sms(body="Never sent"), since) == NotFound()
    assert [q.get("Page", ["0"])[0] for q in fake_twilio.lookups[-3:]] == ["0", "1", "2"]


async def test_twilio_look_up_that_fails_is_unknown_not_absent(twilio: TwilioSms, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(1, status=503)
    found = await twilio.find(sms(), datetime.now(UTC))
    assert isinstance(found, Unknown) and found.retryable


async def test_sendgrid_cannot_look_up_a_message(sendgrid: SendGridEmail) -> None:
    found = await sendgrid.find(email(), datetime.now(UTC))
    assert isinstance(found, Unknown) and not found.retryable


# -- The send's deadline: a worker frozen before its request was written ------------------------------

#: How long the worker is "frozen" after its send began; its deadline passes meanwhile.
FROZEN = 0.3


async def test_twilio_request_not_written_by_the_deadline_is_never_written(fake_twilio: FakeTwilio) -> None:
    """The worker froze after the send began and before its request was on the wire (here, while
    its client was being built): it wakes after the deadline, when another worker may already have
    been told "not there", and writes nothing. With time to spare, the same send goes out."""

    def built_while_frozen() -> TwilioClient:
        time.sleep(FROZEN)
        return sender._new_client()

    sender = TwilioSms(ACCOUNT_SID, "test-token", FROM_NUMBER, base_url=fake_twilio.url, timeout=2.0,
                       client=built_while_frozen)
    try:
        with pytest.raises(LeasePassed):
            await sender.send(replace(sms(), deadline=time.monotonic() + FROZEN / 3))
        assert fake_twilio.messages() == [] and fake_twilio.failures == []
        await sender.send(replace(sms(), deadline=time.monotonic() + 30))
    finally:
        await sender.close()
    assert len(fake_twilio.messages(to=TO_NUMBER)) == 1


async def test_sendgrid_request_not_written_by_the_deadline_is_never_written(
        sendgrid: SendGridEmail, fake_sendgrid: FakeSendGrid) -> None:
    """SendGrid's own client, through the adapter's connections: frozen after the send began, past
    its deadline, it writes nothing."""
    message = replace(email(), deadline=time.monotonic() + FROZEN / 3)
    with pytest.raises(LeasePassed), message.fenced():
        time.sleep(FROZEN)
        sendgrid._client.send(sendgrid._mail(message))
    assert fake_sendgrid.mails() == [] and fake_sendgrid.failures == []
    await sendgrid.send(replace(email(), deadline=time.monotonic() + 30))
    assert len(fake_sendgrid.mails(to=TO_EMAIL)) == 1


def test_a_request_cut_off_after_its_headers_is_acted_on_by_no_provider(fake_twilio: FakeTwilio) -> None:
    """The deadline passed between the headers and the body: the provider (here the fake, as any
    HTTP server) gets an incomplete request and sends nothing."""
    body = urlencode({"To": TO_NUMBER, "From": FROM_NUMBER, "Body": "Update on MECC-0001"}).encode()
    deadline = time.monotonic() + FROZEN / 3

    def frozen_after_the_headers() -> Iterator[bytes]:
        time.sleep(FROZEN)
        yield body

    connection = FencedHTTPConnection("127.0.0.1", fake_twilio.port, timeout=2.0)
    auth = base64.b64encode(f"{ACCOUNT_SID}:test-token".encode()).decode()
    with pytest.raises(LeasePassed), replace(sms(), deadline=deadline).fenced():
        connection.request("POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                           body=frozen_after_the_headers(),
                           headers={"Content-Length": str(len(body)), "Authorization": f"Basic {auth}",
                                    "Content-Type": "application/x-www-form-urlencoded"})
    connection.close()
    fake_twilio.wait_for(lambda: fake_twilio.cut_off == 1)  # it read to the end of what came, and dropped it
    assert fake_twilio.messages() == [] and fake_twilio.failures == []
