"""Promise 9: a replayed provider callback changes nothing. A signed Twilio STOP or status
callback sent again later, or a SendGrid batch sent again within its window, is the same event
(its id comes from the provider's ids) and the worker, which remembers the callbacks it acted
on, does not act again: an old STOP never overrides a newer START. Opt-outs follow the
provider's time of the event, not the time it reached us (Twilio gives none: its replays are
known by MessageSid)."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

from harness.processes import TEST_DIGEST_KEY, TEST_STORE_KEY
from schemas import Channel, DeliveryStatus, InboundMessage, Informant, PreferenceChange
from services.store import messages as store
from tests.fakes.intake import intake_client
from tests.unit.feedback_world import EMAIL, PHONE, World

TOKEN = "twilio-auth-token"
BASE = "https://report.example"
PRIVATE = ec.generate_private_key(ec.SECP256R1())
PUBLIC_B64 = base64.b64encode(PRIVATE.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


@pytest.fixture
def api(tmp_path):
    with intake_client(tmp_path / "intake", public_base_url=BASE, twilio_auth_token=TOKEN,
                       sendgrid_webhook_public_key=PUBLIC_B64, unsubscribe_secret="u", track_secret="t",
                       session_secret="s", allow_development_keys=True, store_encryption_key=TEST_STORE_KEY,
                       address_digest_key=TEST_DIGEST_KEY) as client:
        yield client


@pytest.fixture
def world(tmp_path) -> World:
    (tmp_path / "worker").mkdir()
    return World(Path(tmp_path / "worker"))


def twilio_post(api, path: str, form: dict[str, str]):
    signature = RequestValidator(TOKEN).compute_signature(BASE + path, form)
    assert api.post(path, data=form, headers={"X-Twilio-Signature": signature}).status_code in (200, 204)
    return api.recorder.events[-1][2]


def sendgrid_post(api, events: list[dict]) -> list:
    payload, stamp = json.dumps(events), str(int(time.time()))
    signature = base64.b64encode(PRIVATE.sign((stamp + payload).encode(), ec.ECDSA(hashes.SHA256()))).decode()
    before = len(api.recorder.events)
    r = api.post("/webhooks/sendgrid/events", content=payload, headers={
        "X-Twilio-Email-Event-Webhook-Signature": signature, "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        "content-type": "application/json"})
    assert r.status_code == 204
    return [e for _, _, e in api.recorder.events[before:]]


def opted_out(world: World, channel: str, address: str) -> bool:
    with world.sessions() as s:
        return store.opt_out_reason(s, channel, store.address_digest(address)) is not None


def test_an_old_stop_replayed_after_a_start_does_not_opt_the_person_out_again(api, world):
    stop = {"From": PHONE, "Body": "STOP", "MessageSid": "SM-stop-1", "OptOutType": "STOP"}
    start = {"From": PHONE, "Body": "START", "MessageSid": "SM-start-2", "OptOutType": "START"}
    for form in (stop, start, stop):  # the third is an attacker's replay of the signed STOP
        event = twilio_post(api, "/webhooks/twilio/inbound", form)
        assert isinstance(event, InboundMessage)
        world.run(world.replies.on_inbound(event))
    assert not opted_out(world, "sms", PHONE)
    world.acknowledge(world.routed())
    assert [m.to for m in world.sms.sent] == [PHONE]


def test_a_replayed_opt_out_status_callback_does_not_undo_a_later_start(api, world):
    world.acknowledge(world.routed())
    provider_id = "twilio-1"  # what the recording sender returned for the acknowledgement
    callback = {"MessageSid": provider_id, "MessageStatus": "failed", "ErrorCode": "21610"}
    first = twilio_post(api, "/webhooks/twilio/status", callback)
    assert isinstance(first, DeliveryStatus) and first.opted_out
    world.run(world.handlers.on_delivery_status(first))
    assert opted_out(world, "sms", PHONE)
    world.now += timedelta(minutes=5)
    start = twilio_post(api, "/webhooks/twilio/inbound", {"From": PHONE, "Body": "START", "MessageSid": "SM-2"})
    world.run(world.replies.on_inbound(start))
    assert not opted_out(world, "sms", PHONE)
    replay = twilio_post(api, "/webhooks/twilio/status", callback)
    assert replay.event_id == first.event_id
    world.now += timedelta(minutes=5)
    world.run(world.handlers.on_delivery_status(replay))
    assert not opted_out(world, "sms", PHONE)


def test_a_sendgrid_opt_out_counts_from_when_it_happened_not_when_it_arrived(api, world):
    world.acknowledge(world.routed(informant=Informant(email=EMAIL)))
    assert len(world.email.sent) == 1
    happened = world.now - timedelta(hours=2)
    # an hour later the person asked for emails again (a newer opt-in on record)
    world.run(world.handlers.on_preference(PreferenceChange(
        channel=Channel.EMAIL, address_digest=store.address_digest(EMAIL), opted_out=False,
        source="opted back in", emitted_at=happened + timedelta(hours=1))))
    spam = {"email": EMAIL, "event": "spamreport", "sg_message_id": "sendgrid-1.filter0001",
            "sg_event_id": "ev-1", "timestamp": int(happened.timestamp())}
    (event,) = sendgrid_post(api, [spam])  # arrives now, two hours after it happened
    assert event.occurred_at == happened.replace(microsecond=0).astimezone(UTC)
    world.run(world.handlers.on_delivery_status(event))
    assert not opted_out(world, "email", EMAIL)


def test_a_sendgrid_batch_replayed_within_its_window_is_the_same_events(api):
    batch = [{"email": EMAIL, "event": "unsubscribe", "sg_message_id": "abc.filter1", "sg_event_id": "ev-9",
              "timestamp": 1764590000},
             {"email": EMAIL, "event": "delivered", "sg_message_id": "def.filter2", "sg_event_id": "ev-10",
              "timestamp": 1764590001}]
    first, again = sendgrid_post(api, batch), sendgrid_post(api, batch)
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert len({e.event_id for e in first}) == 2
