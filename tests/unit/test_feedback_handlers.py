"""The feedback worker's event handlers: what a routed report, a case update, a delivery status, a
preference and a watch item each lead to, over a real (SQLite) store and recording senders."""

from __future__ import annotations

import uuid

import pytest

from schemas import (
    CaseUpdate,
    Channel,
    DeliveryOutcome,
    DeliveryStatus,
    DeliveryStatusV1,
    Informant,
    PreferenceChange,
)
from schemas import MessageStatus as S
from services.common.config_files import DEFAULT_ROUTING_DIR
from services.feedback.coordinators import load_directory
from services.feedback.handlers import decode_delivery_status
from services.store import messages as store
from tests.unit.feedback_world import (
    EMAIL,
    PHONE,
    World,
    watch_item,
)


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


def test_a_redelivered_routed_item_sends_the_acknowledgement_once(world):
    item = world.routed()
    world.acknowledge(item)
    world.acknowledge(item)
    assert len(world.sms.sent) == 1
    assert item.reference in world.sms.sent[0].body and world.sms.sent[0].to == PHONE
    assert [m.status for m in world.published] == [S.SENT]


def test_each_action_reaches_the_informant_once(world):
    item = world.routed()
    update = CaseUpdate(reference=item.reference, actor_id="kempston-npt", actor_name="Kempston team",
                        public_text="We patrolled", emitted_at=world.now)
    world.run(world.handlers.on_case_update(update))
    world.run(world.handlers.on_case_update(update))
    world.run(world.handlers.on_case_update(update.model_copy(update={"event_id": uuid.uuid4()})))
    assert [m.body.count("We patrolled") for m in world.sms.sent] == [1, 1]


def test_a_sensitive_report_without_a_safe_channel_is_recorded_as_suppressed(world):
    item = world.routed("domestic-abuse", Informant(phone=PHONE))
    world.acknowledge(item)
    assert world.sms.sent == [] and world.email.sent == []
    (message,) = world.messages(item.reference)
    assert message.status == S.SUPPRESSED and "not confirmed safe" in (message.detail or "")


def test_an_undelivered_sms_callback_falls_back_to_email(world):
    item = world.routed(informant=Informant(phone=PHONE, email=EMAIL))
    world.acknowledge(item)
    world.run(world.handlers.on_delivery_status(
        DeliveryStatus(provider="twilio", provider_id="twilio-1", outcome=DeliveryOutcome.UNDELIVERED,
                       provider_status="undelivered", error_code="30003")))
    assert len(world.email.sent) == 1 and item.reference in (world.email.sent[0].subject or "")
    assert {m.channel: m.status for m in world.messages(item.reference)} == {"sms": S.UNDELIVERED, "email": S.SENT}


def test_every_email_carries_a_one_click_unsubscribe(world):
    item = world.routed(informant=Informant(email=EMAIL))
    world.acknowledge(item)
    (mail,) = world.email.sent
    headers = dict(mail.headers)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<https://report.example/v1/unsubscribe/")
    assert "To stop these emails" in mail.body and "Stop these emails" in (mail.html or "")
    digest = store.address_digest(EMAIL)
    world.run(world.handlers.on_preference(PreferenceChange(channel=Channel.EMAIL, address_digest=digest,
                                                            opted_out=True, source="email unsubscribe link",
                                                            emitted_at=world.now)))
    world.acknowledge(world.routed(informant=Informant(email=EMAIL)))
    assert len(world.email.sent) == 1


@pytest.fixture
def coordinated(tmp_path) -> World:
    return World(tmp_path, directory=load_directory(DEFAULT_ROUTING_DIR))


def test_a_per_item_watch_tells_its_coordinator_once_without_the_informant(coordinated):
    world = coordinated
    report = world.routed()
    item = watch_item(report.reference)
    world.run(world.handlers.on_watch_item(item))
    world.run(world.handlers.on_watch_item(item))
    (mail,) = world.email.sent
    assert mail.to == "speedwatch.kempston@example.org"
    assert "Bedford Road" in mail.body and report.reference in mail.body
    assert PHONE not in mail.body and "900123" not in mail.body
    assert world.sms.sent == []


def test_a_delivered_callback_is_recorded_and_an_opt_out_callback_stops_the_channel(world):
    first = world.routed()
    world.acknowledge(first)
    world.run(world.handlers.on_delivery_status(DeliveryStatus(
        provider="twilio", provider_id="twilio-1", outcome=DeliveryOutcome.DELIVERED, provider_status="delivered")))
    assert [m.status for m in world.messages(first.reference)] == [S.DELIVERED]
    world.run(world.handlers.on_delivery_status(DeliveryStatus(
        provider="twilio", provider_id="twilio-1", outcome=DeliveryOutcome.PENDING, opted_out=True,
        provider_status="read")))
    assert [m.status for m in world.messages(first.reference)] == [S.DELIVERED]
    later = world.routed()
    world.acknowledge(later)
    assert len(world.sms.sent) == 1 and world.messages(later.reference)[0].status == S.OPTED_OUT


@pytest.mark.parametrize(("provider", "status", "code", "outcome", "opted_out"), [
    ("twilio", "undelivered", "30003", DeliveryOutcome.UNDELIVERED, False),
    ("twilio", "failed", "21610", DeliveryOutcome.UNDELIVERED, True),
    ("twilio", "delivered", None, DeliveryOutcome.DELIVERED, False),
    ("sendgrid", "bounce", "5.1.1", DeliveryOutcome.BOUNCED, False),
    ("sendgrid", "spamreport", None, DeliveryOutcome.PENDING, True),
    ("sendgrid", "open", None, DeliveryOutcome.PENDING, False),
])
def test_a_version_1_delivery_status_is_read_as_version_2(provider, status, code, outcome, opted_out):
    old = DeliveryStatusV1(provider=provider, provider_id="P1", status=status, error_code=code)
    new = decode_delivery_status(old.model_dump_json().encode())
    assert (new.schema_version, new.event_id, new.emitted_at) == (2, old.event_id, old.emitted_at)
    assert (new.outcome, new.opted_out, new.provider_status, new.error_code) == (outcome, opted_out, status, code)
    current = DeliveryStatus(provider=provider, provider_id="P2", outcome=outcome, provider_status=status)
    assert decode_delivery_status(current.model_dump_json()) == current
