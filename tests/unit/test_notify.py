"""The feedback worker's delivery logic over a real (SQLite) store and recording senders."""

import asyncio

import pytest

from schemas import CaseUpdate, Channel, ContactPreferences, Informant, Location, PublicContact, ReportDetails
from schemas.events import new_reference
from services.common.config_files import load_categories
from services.common.sql import Store
from services.feedback.notify import Notifier
from services.feedback.senders import Outgoing, PermanentSendError, Sent, TransientSendError
from services.router.config import load_routing_config
from services.router.routing import routed_item
from services.store import repository
from services.store.db import make_engine, make_sessions, migrate


class RecordingSender:
    name = "fake"

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.failures: list[Exception] = []

    async def send(self, message: Outgoing) -> Sent:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return Sent(self.name, f"id-{len(self.sent)}")

    async def close(self) -> None:
        pass


@pytest.fixture
def world(tmp_path):
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url)
    sessions = make_sessions(make_engine(url))
    sms, email, published = RecordingSender(), RecordingSender(), []

    async def publish(message):
        published.append(message)

    notifier = Notifier(store=Store(sessions), senders={Channel.SMS: sms, Channel.EMAIL: email},
                        publish=publish, categories=load_categories(), attempts=3, backoff=0.001)
    return notifier, sms, email, published, sessions


def routed(category="speeding", informant=None):
    contact = PublicContact(
        reference=new_reference(),
        report=ReportDetails(category=category, description="x", location=Location(postcode="MK42 8AA")),
        informant=informant or Informant(phone="07700900123"),
    )
    return routed_item(contact, load_routing_config())


def run(coro):
    return asyncio.run(coro)


def test_a_redelivered_routed_item_sends_the_acknowledgement_once(world):
    notifier, sms, _, published, _ = world
    item = routed()
    run(notifier.on_routed(item))
    run(notifier.on_routed(item))
    assert len(sms.sent) == 1
    assert item.reference in sms.sent[0].body and sms.sent[0].to == "+447700900123"
    assert [m.status for m in published] == ["sent"]


def test_an_update_goes_to_the_informant_once_per_action(world):
    notifier, sms, _, _, sessions = world
    item = routed()
    with sessions() as s:
        repository.record_routing(s, item)
    update = CaseUpdate(reference=item.reference, actor_id="kempston-npt", actor_name="Kempston team",
                        public_text="We patrolled")
    run(notifier.on_update(update))
    run(notifier.on_update(update))
    second = update.model_copy(update={"event_id": __import__("uuid").uuid4()})
    run(notifier.on_update(second))
    assert [m.body.count("We patrolled") for m in sms.sent] == [1, 1]


def test_a_claim_left_by_a_crashed_send_is_not_sent_again(world):
    notifier, sms, _, _, sessions = world
    item = routed()
    with sessions() as s:  # what a worker killed between claim and provider call leaves behind
        repository.claim_message(s, key=f"{item.reference}:ack:informant:sms", reference=item.reference,
                                 trigger="ack", channel="sms", recipient="+447700900123", body="b", subject=None)
    run(notifier.on_routed(item))
    assert sms.sent == []
    with sessions() as s:
        (message,) = repository.messages_for(s, item.reference)
    assert message.status == "unconfirmed"


def test_transient_failures_are_retried_and_permanent_ones_are_not(world):
    notifier, sms, _, _, sessions = world
    sms.failures = [TransientSendError("429"), TransientSendError("503")]
    ok = routed()
    run(notifier.on_routed(ok))
    assert len(sms.sent) == 1
    sms.failures = [PermanentSendError("twilio 400 code 21211", "21211")]
    bad = routed()
    run(notifier.on_routed(bad))
    assert len(sms.sent) == 1
    with sessions() as s:
        (first,) = repository.messages_for(s, ok.reference)
        (second,) = repository.messages_for(s, bad.reference)
    assert (first.status, first.attempts) == ("sent", 3)
    assert (second.status, second.attempts, second.detail) == ("failed", 1, "twilio 400 code 21211")


def test_a_sensitive_report_without_a_safe_channel_is_recorded_as_suppressed(world):
    notifier, sms, email, _, sessions = world
    item = routed("domestic-abuse", Informant(phone="07700900123"))
    run(notifier.on_routed(item))
    assert sms.sent == [] and email.sent == []
    with sessions() as s:
        (message,) = repository.messages_for(s, item.reference)
    assert message.status == "suppressed" and "not confirmed safe" in (message.detail or "")
    safe = routed("domestic-abuse", Informant(email="a@example.org",
                                              preferences=ContactPreferences(safe_to_contact=True)))
    run(notifier.on_routed(safe))
    assert len(email.sent) == 1 and email.sent[0].html
