"""One report from the public to "you said, we did", through the three services as processes,
a real broker, PostgreSQL, and the real twilio/sendgrid clients talking to fake providers."""

from __future__ import annotations

import time

import pytest

from tests.fakes.providers import FakeSendGrid, FakeTwilio
from tests.harness import Stack

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


def test_sms_informant_hears_you_said_and_we_did_exactly_once(stack: Stack, twilio: FakeTwilio):
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
