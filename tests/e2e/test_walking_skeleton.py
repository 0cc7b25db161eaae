"""One report from the public to "you said, we did", through the three services as processes,
a real broker, PostgreSQL, and the real twilio/sendgrid clients talking to fake providers."""

from __future__ import annotations

import time

import pytest
from twilio.request_validator import RequestValidator

from harness.processes import PUBLIC_BASE_URL, Stack
from harness.providers import FakeSendGrid, FakeTwilio

pytestmark = pytest.mark.e2e

TEAM_KEY = {"X-API-Key": "dev-team-kempston"}
ACTION = "Officers from the Kempston neighbourhood team patrolled Bedford Road on three evenings this week"


def report(informant: dict) -> dict:
    return {
        "category": "speeding",
        "description": "Cars racing on Bedford Road every night after 10pm",
        "location": {"postcode": "MK42 8AA", "description": "Bedford Road, Kempston"},
        "informant": informant,
    }


def settle() -> None:
    """Give a duplicate, if any were coming, time to arrive before counting."""
    time.sleep(3)


def test_sms_informant_hears_you_said_and_we_did_exactly_once(stack: Stack, twilio: FakeTwilio,
                                                                sendgrid: FakeSendGrid):
    number = "+447700900123"
    with stack.client() as http:
        r = http.post("/v1/reports", json=report({"phone": "07700 900123"}))
        assert r.status_code == 202, r.text
        ref = r.json()["reference"]

        def mine() -> list:
            return [m for m in twilio.messages(to=number) if ref in (m.body or "")]

        twilio.wait_for(lambda: len(mine()) >= 1, timeout=60)
        settle()
        (ack,) = mine()
        assert "999" in ack.body and "Kempston neighbourhood team" in ack.body
        assert ack.from_ == "+447700900001"
        # The Speed Watch for that patch asked for each item: its coordinator has it, redacted.
        coordinator = "speedwatch.kempston@example.org"
        sendgrid.wait_for(lambda: any(ref in (m.text or "") for m in sendgrid.mails(to=coordinator)), timeout=60)
        (item,) = [m for m in sendgrid.mails(to=coordinator) if ref in (m.text or "")]
        assert "900123" not in (item.text or "") + (item.html or "")

        r = http.post(f"/v1/reports/{ref}/actions", json={"public_text": ACTION}, headers=TEAM_KEY)
        assert r.status_code == 202, r.text
        twilio.wait_for(lambda: len(mine()) >= 2, timeout=60)
        settle()
        updates = [m for m in mine() if m is not ack]
        assert len(updates) == 1
        assert ACTION in updates[0].body


def test_email_informant_hears_you_said_and_we_did_exactly_once(stack: Stack, sendgrid: FakeSendGrid):
    address = "resident@example.org"
    with stack.client() as http:
        r = http.post("/v1/reports", json=report({"email": address}))
        assert r.status_code == 202, r.text
        ref = r.json()["reference"]

        def mine() -> list:
            return [m for m in sendgrid.mails(to=address) if ref in (m.subject or "")]

        sendgrid.wait_for(lambda: len(mine()) >= 1, timeout=60)
        settle()
        (ack,) = mine()
        assert ref in (ack.text or "") and "999" in (ack.text or "") and ack.html

        r = http.post(f"/v1/reports/{ref}/actions", json={"public_text": ACTION}, headers=TEAM_KEY)
        assert r.status_code == 202, r.text
        sendgrid.wait_for(lambda: len(mine()) >= 2, timeout=60)
        settle()
        updates = [m for m in mine() if m is not ack]
        assert len(updates) == 1
        assert ACTION in (updates[0].text or "")


def test_retried_submission_with_the_same_key_is_one_report_and_one_message(stack: Stack, twilio: FakeTwilio):
    number = "+447700900124"
    with stack.client() as http:
        body = report({"phone": number})
        first = http.post("/v1/reports", json=body, headers={"Idempotency-Key": "e2e-retry-1"})
        again = http.post("/v1/reports", json=body, headers={"Idempotency-Key": "e2e-retry-1"})
        assert first.status_code == again.status_code == 202
        ref = first.json()["reference"]
        assert again.json()["reference"] == ref
        twilio.wait_for(lambda: any(ref in (m.body or "") for m in twilio.messages(to=number)), timeout=60)
        settle()
        assert len([m for m in twilio.messages(to=number) if ref in (m.body or "")]) == 1


def test_stop_by_sms_reply_means_no_more_texts(stack: Stack, twilio: FakeTwilio):
    """The informant replies STOP; Twilio posts it to our signed webhook; the next report they make
    gets no SMS, and the store says why."""
    number = "+447700900125"
    with stack.client() as http:
        first = http.post("/v1/reports", json=report({"phone": number})).json()["reference"]
        twilio.wait_for(lambda: any(first in (m.body or "") for m in twilio.messages(to=number)), timeout=60)
        form = {"From": number, "To": "+447700900001", "Body": "STOP", "MessageSid": "SM" + "1" * 32}
        signature = RequestValidator("test-token").compute_signature(
            f"{PUBLIC_BASE_URL}/webhooks/twilio/inbound", form)
        unsigned = http.post("/webhooks/twilio/inbound", data=form)
        assert unsigned.status_code == 403
        r = http.post("/webhooks/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature})
        assert r.status_code == 200
        time.sleep(3)  # the opt-out travels through Kafka to the feedback worker
        second = http.post("/v1/reports", json=report({"phone": number})).json()["reference"]
        time.sleep(8)
        assert [m for m in twilio.messages(to=number) if second in (m.body or "")] == []
        assert len(twilio.messages(to=number)) == 1
