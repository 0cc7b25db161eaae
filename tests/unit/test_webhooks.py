"""Provider webhooks and unsubscribe links, with real signatures and a recording publisher."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

from schemas import DeliveryOutcome, DeliveryStatus, InboundMessage, PreferenceChange
from services.common.unsubscribe import make_token
from services.feedback.settings import FeedbackSettings
from services.intake.settings import IntakeSettings
from services.store import crypto
from services.store.messages import address_digest
from tests.fakes.intake import intake_client

TOKEN = "twilio-auth-token"
BASE = "https://report.example"
PRIVATE = ec.generate_private_key(ec.SECP256R1())
PUBLIC_B64 = base64.b64encode(PRIVATE.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


@pytest.fixture
def api(tmp_path):
    with intake_client(tmp_path, public_base_url=BASE, twilio_auth_token=TOKEN,
                       sendgrid_webhook_public_key=PUBLIC_B64, sendgrid_inbound_token="inbound-secret",
                       unsubscribe_secret="s3cret", track_secret="t", session_secret="s",
                       allow_development_keys=True, store_encryption_key=Fernet.generate_key().decode(),
                       address_digest_key="a-test-address-digest-key-32-chars-long") as client:
        yield client
    crypto.configure("")  # the app configured this process's keys: the next test starts without them
    crypto.configure_digests("")


def twilio_post(api, path: str, form: dict[str, str], token: str = TOKEN):
    signature = RequestValidator(token).compute_signature(BASE + path, form)
    return api.post(path, data=form, headers={"X-Twilio-Signature": signature})


def test_a_signed_twilio_status_callback_becomes_a_delivery_status(api):
    r = twilio_post(api, "/webhooks/twilio/status",
                    {"MessageSid": "SM123", "MessageStatus": "undelivered", "ErrorCode": "30003"})
    assert r.status_code == 204
    ((topic, key, event),) = api.recorder.events
    assert topic == "feedback.delivery-status" and key == "SM123"
    assert isinstance(event, DeliveryStatus) and event.schema_version == 2
    assert (event.outcome, event.opted_out, event.error_code) == (DeliveryOutcome.UNDELIVERED, False, "30003")


@pytest.mark.parametrize(("state", "code", "outcome", "opted_out"), [
    ("delivered", None, DeliveryOutcome.DELIVERED, False),
    ("failed", "21610", DeliveryOutcome.UNDELIVERED, True),
    ("sent", None, DeliveryOutcome.PENDING, False),
])
def test_twilio_statuses_are_translated_into_provider_neutral_outcomes(api, state, code, outcome, opted_out):
    form = {"MessageSid": "SM7", "MessageStatus": state, **({"ErrorCode": code} if code else {})}
    assert twilio_post(api, "/webhooks/twilio/status", form).status_code == 204
    ((_, _, event),) = api.recorder.events
    assert (event.outcome, event.opted_out, event.provider_status) == (outcome, opted_out, state)


@pytest.mark.parametrize("headers", [{}, {"X-Twilio-Signature": "forged"}])
def test_unsigned_or_badly_signed_twilio_requests_are_refused(api, headers):
    r = api.post("/webhooks/twilio/status", data={"MessageSid": "SM1", "MessageStatus": "delivered"},
                 headers=headers)
    assert r.status_code == 403
    assert api.recorder.events == []


def test_a_signature_made_with_another_token_is_refused(api):
    r = twilio_post(api, "/webhooks/twilio/inbound", {"From": "+447700900123", "Body": "STOP"}, token="other")
    assert r.status_code == 403


def test_an_inbound_sms_is_published_and_answered_with_empty_twiml(api):
    r = twilio_post(api, "/webhooks/twilio/inbound",
                    {"From": "+447700900123", "Body": "STOP", "MessageSid": "SM9", "OptOutType": "STOP"})
    assert r.status_code == 200 and "<Response>" in r.text
    event = api.recorder.events[0][2]
    assert isinstance(event, InboundMessage) and (event.body, event.opt_out_type) == ("STOP", "STOP")


def sendgrid_post(api, events, *, key=PRIVATE, timestamp=None):
    payload = json.dumps(events)
    timestamp = timestamp or str(int(time.time()))
    signature = base64.b64encode(key.sign((timestamp + payload).encode(), ec.ECDSA(hashes.SHA256()))).decode()
    return api.post("/webhooks/sendgrid/events", content=payload, headers={
        "X-Twilio-Email-Event-Webhook-Signature": signature,
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp, "content-type": "application/json"})


def test_signed_sendgrid_events_become_delivery_statuses(api):
    r = sendgrid_post(api, [
        {"email": "a@example.org", "event": "bounce", "sg_message_id": "abc123.filter0001", "status": "5.1.1"},
        {"email": "a@example.org", "event": "delivered", "sg_message_id": "def456.filter0002"},
    ])
    assert r.status_code == 204
    events = [e for _, _, e in api.recorder.events]
    assert [(e.provider_id, e.outcome) for e in events] == [("abc123", DeliveryOutcome.BOUNCED),
                                                           ("def456", DeliveryOutcome.DELIVERED)]


def test_a_sendgrid_spam_report_is_an_opt_out_without_a_delivery_outcome(api):
    assert sendgrid_post(api, [{"event": "spamreport", "sg_message_id": "ghi789.filter3"}]).status_code == 204
    ((_, _, event),) = api.recorder.events
    assert (event.provider_id, event.outcome, event.opted_out) == ("ghi789", DeliveryOutcome.PENDING, True)


def test_sendgrid_events_with_a_bad_or_old_signature_are_refused(api):
    other = ec.generate_private_key(ec.SECP256R1())
    assert sendgrid_post(api, [{"event": "bounce", "sg_message_id": "x"}], key=other).status_code == 403
    old = str(int(time.time()) - 3600)
    assert sendgrid_post(api, [{"event": "bounce", "sg_message_id": "x"}], timestamp=old).status_code == 403
    assert api.recorder.events == []


def test_inbound_email_needs_the_secret_path(api):
    form = {"from": "Sam Smith <Sam@Example.org>", "text": "There is more I can tell you"}
    assert api.post("/webhooks/sendgrid/inbound/guess", data=form).status_code == 403
    assert api.post("/webhooks/sendgrid/inbound/inbound-secret", data=form).status_code == 200
    event = api.recorder.events[0][2]
    assert isinstance(event, InboundMessage) and event.sender == "sam@example.org"


def test_one_click_unsubscribe_publishes_the_opt_out_and_forged_links_fail(api):
    digest = address_digest("resident@example.org")
    token = make_token("s3cret", digest)
    page = api.get(f"/v1/unsubscribe/{token}")
    assert page.status_code == 200 and "<form method=\"post\"" in page.text
    assert api.recorder.events == []  # looking at the page changes nothing
    r = api.post(f"/v1/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200
    event = api.recorder.events[0][2]
    assert isinstance(event, PreferenceChange) and event.address_digest == digest and event.opted_out
    forged = make_token("not-our-secret", digest)
    assert api.post(f"/v1/unsubscribe/{forged}").status_code == 404


def test_webhooks_are_refused_when_not_configured(tmp_path):
    with intake_client(tmp_path) as api:
        assert api.post("/webhooks/twilio/status", data={"MessageSid": "SM1"}).status_code == 403
        assert api.post("/webhooks/sendgrid/events", content="[]").status_code == 403
        assert api.post("/webhooks/sendgrid/inbound/x", data={"from": "a@b.org"}).status_code == 403


def test_a_public_deployment_refuses_to_start_with_development_secrets():
    with pytest.raises(ValueError, match="set UNSUBSCRIBE_SECRET, TRACK_SECRET, SESSION_SECRET"):
        IntakeSettings(public_base_url=BASE)
    with pytest.raises(ValueError, match="set TRACK_SECRET"):
        FeedbackSettings(public_base_url=BASE, unsubscribe_secret="u")
    assert FeedbackSettings(public_base_url="http://localhost:8000").track_secret  # a laptop may use the default


@pytest.mark.parametrize("token", ["inbound-secrét", "ключ", "inbound-secret\u2028"])
def test_inbound_email_with_a_non_ascii_token_is_refused_like_a_wrong_one(api, token):
    form = {"from": "sam@example.org", "text": "More"}
    assert api.post(f"/webhooks/sendgrid/inbound/{token}", data=form).status_code == 403
    assert api.recorder.events == []


def test_an_unsubscribe_link_with_a_non_ascii_token_is_not_found(api):
    token = make_token("s3cret", address_digest("resident@example.org"))
    for forged in (token[:-1] + "é", "é" * 97, token + "\u00a0"):
        assert api.get(f"/v1/unsubscribe/{forged}").status_code == 404
        assert api.post(f"/v1/unsubscribe/{forged}").status_code == 404
    assert api.recorder.events == []


@pytest.mark.parametrize(("path", "form", "field"), [
    ("/webhooks/twilio/status", {"MessageSid": "SM" + "1" * 300, "MessageStatus": "delivered"}, "MessageSid"),
    ("/webhooks/twilio/status", {"MessageSid": "SM1", "MessageStatus": "d" * 300}, "MessageStatus"),
    ("/webhooks/twilio/inbound", {"From": "12", "Body": "hi"}, "From"),
    ("/webhooks/twilio/inbound", {"From": "+447700900123", "Body": "x" * 10_001}, "Body"),
    ("/webhooks/twilio/inbound", {"From": "+447700900123", "Body": "STOP", "OptOutType": "S" * 50}, "OptOutType"),
])
def test_a_signed_twilio_request_past_the_events_limits_is_a_422_naming_the_field(api, path, form, field):
    r = twilio_post(api, path, form)
    assert r.status_code == 422
    assert [f["field"] for f in r.json()["fields"]] == [field]
    assert api.recorder.events == []


def test_an_inbound_email_from_an_address_too_short_to_be_one_is_a_422_naming_from(api):
    r = api.post("/webhooks/sendgrid/inbound/inbound-secret", data={"from": "<a@>", "text": "More"})
    assert r.status_code == 422 and [f["field"] for f in r.json()["fields"]] == ["from"]
    assert api.recorder.events == []


def test_a_sendgrid_event_past_the_limits_is_skipped_and_the_rest_kept(api):
    r = sendgrid_post(api, [
        {"email": "a@example.org", "event": "bounce", "sg_message_id": "x" * 300 + ".filter0001"},
        {"email": "a@example.org", "event": "d" * 300, "sg_message_id": "abc123.filter0001"},
        {"email": "a@example.org", "event": "delivered", "sg_message_id": "def456.filter0002"},
    ])
    assert r.status_code == 204
    assert [e.provider_id for _, _, e in api.recorder.events] == ["def456"]
