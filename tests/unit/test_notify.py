"""The feedback worker's delivery logic over a real (SQLite) store, recording senders and a
clock the test moves."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest

from schemas import (
    CaseUpdate,
    Channel,
    ContactPreferences,
    DeliveryStatus,
    InboundMessage,
    Informant,
    Location,
    Outcome,
    PreferenceChange,
    PublicContact,
    ReportDetails,
    SafeWindow,
    UpdateKind,
    WatchItem,
    WatchLocation,
)
from schemas.events import new_reference
from services.common.config_files import DEFAULT_ROUTING_DIR, load_categories
from services.common.sql import Store
from services.feedback.coordinators import load_directory
from services.feedback.notify import DeliveryRules, Notifier, survey_answers
from services.feedback.senders import Outgoing, PermanentSendError, Sent, TransientSendError
from services.router.config import load_routing_config
from services.router.routing import routed_item
from services.store import messages as store
from services.store.db import make_engine, make_sessions, migrate
from tests.fakes.store import record_routing, record_watch_items

PHONE = "+447700900123"
EMAIL = "resident@example.org"
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday; 12:00 in the UK


class RecordingSender:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Outgoing] = []
        self.failures: list[Exception] = []

    async def send(self, message: Outgoing) -> Sent:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return Sent(self.name, f"{self.name}-{len(self.sent)}")

    async def close(self) -> None:
        pass


class World:
    def __init__(self, tmp_path) -> None:
        url = f"sqlite:///{tmp_path}/store.db"
        migrate(url)
        self.sessions = make_sessions(make_engine(url))
        self.sms, self.email = RecordingSender("twilio"), RecordingSender("sendgrid")
        self.published: list = []
        self.contacts: list[PublicContact] = []
        self.now = NOON

        async def publish(messages):
            self.published.extend(messages)

        async def publish_contact(contact):
            self.contacts.append(contact)

        self.notifier = Notifier(
            store=Store(self.sessions), senders={Channel.SMS: self.sms, Channel.EMAIL: self.email},
            publish=publish, publish_contact=publish_contact, categories=load_categories(),
            rules=DeliveryRules(attempts=3, backoff_base=1.0, backoff_cap=10.0, survey_delay=timedelta(days=3)),
            unsubscribe_url=lambda digest: f"https://report.example/v1/unsubscribe/{digest[:8]}",
            clock=lambda: self.now,
        )

    def run(self, coro):
        return asyncio.run(coro)

    def routed(self, category="speeding", informant=None):
        contact = PublicContact(
            reference=new_reference(),
            report=ReportDetails(category=category, description="x", location=Location(postcode="MK42 8AA")),
            informant=informant or Informant(phone=PHONE), received_at=self.now, emitted_at=self.now,
        )
        item = routed_item(contact, load_routing_config())
        with self.sessions() as s:
            record_routing(s, item)
        return item

    def messages(self, reference):
        with self.sessions() as s:
            return store.messages_for(s, reference)

    def tick(self, delta: timedelta) -> int:
        self.now += delta
        return self.run(self.notifier.send_due())


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


def test_a_redelivered_routed_item_sends_the_acknowledgement_once(world):
    item = world.routed()
    world.run(world.notifier.on_routed(item))
    world.run(world.notifier.on_routed(item))
    assert len(world.sms.sent) == 1
    assert item.reference in world.sms.sent[0].body and world.sms.sent[0].to == PHONE
    assert [m.status for m in world.published] == ["sent"]


def test_each_action_reaches_the_informant_once(world):
    item = world.routed()
    update = CaseUpdate(reference=item.reference, actor_id="kempston-npt", actor_name="Kempston team",
                        public_text="We patrolled", emitted_at=world.now)
    world.run(world.notifier.on_update(update))
    world.run(world.notifier.on_update(update))
    world.run(world.notifier.on_update(update.model_copy(update={"event_id": uuid.uuid4()})))
    assert [m.body.count("We patrolled") for m in world.sms.sent] == [1, 1]


def test_a_send_interrupted_by_a_crash_is_marked_unconfirmed_not_repeated(world):
    item = world.routed()
    with world.sessions() as s:  # what a worker killed after taking the message leaves behind
        claim = store.claim_message(s, key=f"{item.reference}:ack:informant:sms", reference=item.reference,
                                    trigger="ack", role="informant", channel="sms", recipient=PHONE, body="b",
                                    due_at=world.now, at=world.now)
    with world.sessions() as s:
        assert store.start_attempt(s, claim.message_id, world.now) is not None
    world.run(world.notifier.on_routed(item))  # the event is redelivered after the restart
    world.tick(timedelta(minutes=5))
    assert world.sms.sent == []
    (message,) = [m for m in world.messages(item.reference) if m.channel == "sms"]
    assert message.status == "unconfirmed"


def test_transient_failures_are_retried_later_without_blocking(world):
    world.sms.failures = [TransientSendError("twilio 429"), TransientSendError("twilio 503")]
    item = world.routed()
    world.run(world.notifier.on_routed(item))
    assert world.sms.sent == []
    (message,) = world.messages(item.reference)
    assert message.status == "retrying" and message.due_at is not None
    world.tick(timedelta(seconds=0.1))  # not yet due: nothing happens
    assert world.sms.sent == [] and world.messages(item.reference)[0].attempts == 1
    world.tick(timedelta(seconds=30))
    world.tick(timedelta(seconds=30))
    assert len(world.sms.sent) == 1
    (message,) = world.messages(item.reference)
    assert (message.status, message.attempts) == ("sent", 3)


def test_permanent_failures_are_not_retried_and_fall_back_to_email(world):
    world.sms.failures = [PermanentSendError("twilio 400 code 21211", "21211")]
    item = world.routed(informant=Informant(phone=PHONE, email=EMAIL))
    world.run(world.notifier.on_routed(item))
    world.tick(timedelta(minutes=10))
    assert world.sms.sent == [] and len(world.email.sent) == 1
    by_channel = {m.channel: m for m in world.messages(item.reference)}
    assert by_channel["sms"].status == "failed" and by_channel["sms"].attempts == 1
    assert by_channel["email"].status == "sent"


def test_without_a_failure_the_standby_copy_is_never_sent(world):
    item = world.routed(informant=Informant(phone=PHONE, email=EMAIL))
    world.run(world.notifier.on_routed(item))
    world.tick(timedelta(days=1))
    assert len(world.sms.sent) == 1 and world.email.sent == []
    assert {m.channel: m.status for m in world.messages(item.reference)} == {"sms": "sent", "email": "standby"}


def test_an_undelivered_sms_callback_falls_back_to_email(world):
    item = world.routed(informant=Informant(phone=PHONE, email=EMAIL))
    world.run(world.notifier.on_routed(item))
    world.run(world.notifier.on_delivery_status(
        DeliveryStatus(provider="twilio", provider_id="twilio-1", status="undelivered", error_code="30003")))
    assert len(world.email.sent) == 1 and item.reference in (world.email.sent[0].subject or "")
    assert {m.channel: m.status for m in world.messages(item.reference)} == {"sms": "undelivered", "email": "sent"}


def test_sms_waits_for_the_end_of_quiet_hours_and_email_does_not(world):
    world.now = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    texted = world.routed()
    emailed = world.routed(informant=Informant(email=EMAIL))
    world.run(world.notifier.on_routed(texted))
    world.run(world.notifier.on_routed(emailed))
    assert world.sms.sent == [] and len(world.email.sent) == 1
    (waiting,) = world.messages(texted.reference)
    assert waiting.status == "scheduled" and waiting.due_at.hour == 8
    world.tick(timedelta(hours=9))  # 07:30
    assert world.sms.sent == []
    world.tick(timedelta(hours=1))  # 08:30
    assert len(world.sms.sent) == 1


def test_a_sensitive_report_is_sent_only_in_the_safe_window(world):
    window = SafeWindow(days=("mon", "tue", "wed", "thu", "fri"), start=time(9), end=time(15))
    safe = Informant(email=EMAIL, phone=PHONE, preferences=ContactPreferences(
        channel="email", safe_to_contact=True, safe_windows=(window,)))
    world.now = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # Saturday
    item = world.routed("domestic-abuse", safe)
    world.run(world.notifier.on_routed(item))
    assert world.email.sent == []
    world.tick(timedelta(days=1, hours=12))  # Sunday 22:00
    assert world.email.sent == []
    world.tick(timedelta(hours=11, minutes=30))  # Monday 09:30
    assert len(world.email.sent) == 1
    # a sensitive report never falls back to a channel the informant did not confirm
    assert {m.channel for m in world.messages(item.reference)} == {"email"}


def test_a_sensitive_report_without_a_safe_channel_is_recorded_as_suppressed(world):
    item = world.routed("domestic-abuse", Informant(phone=PHONE))
    world.run(world.notifier.on_routed(item))
    assert world.sms.sent == [] and world.email.sent == []
    (message,) = world.messages(item.reference)
    assert message.status == "suppressed" and "not confirmed safe" in (message.detail or "")


def test_stop_suppresses_sms_and_start_resubscribes(world):
    first = world.routed()
    world.run(world.notifier.on_routed(first))
    world.run(world.notifier.on_inbound(InboundMessage(channel=Channel.SMS, sender=PHONE, body="Stop",
                                                                      emitted_at=world.now)))
    second = world.routed()
    world.run(world.notifier.on_routed(second))
    assert len(world.sms.sent) == 1
    (opted,) = world.messages(second.reference)
    assert opted.status == "opted_out" and "STOP" in (opted.detail or "")
    world.run(world.notifier.on_inbound(InboundMessage(channel=Channel.SMS, sender=PHONE, body="START",
                                                                      emitted_at=world.now)))
    world.run(world.notifier.on_routed(world.routed()))
    assert len(world.sms.sent) == 2


def test_twilio_21610_records_the_opt_out_and_uses_email_instead(world):
    world.sms.failures = [PermanentSendError("twilio 400 code 21610", "21610")]
    item = world.routed(informant=Informant(phone=PHONE, email=EMAIL))
    world.run(world.notifier.on_routed(item))
    assert len(world.email.sent) == 1
    assert {m.channel: m.status for m in world.messages(item.reference)}["sms"] == "opted_out"
    later = world.routed(informant=Informant(phone=PHONE))
    world.run(world.notifier.on_routed(later))
    assert world.sms.sent == [] and world.messages(later.reference)[0].status == "opted_out"


def test_every_email_carries_a_one_click_unsubscribe(world):
    item = world.routed(informant=Informant(email=EMAIL))
    world.run(world.notifier.on_routed(item))
    (mail,) = world.email.sent
    headers = dict(mail.headers)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<https://report.example/v1/unsubscribe/")
    assert "To stop these emails" in mail.body and "Stop these emails" in (mail.html or "")
    digest = store.address_digest(EMAIL)
    world.run(world.notifier.on_preference(PreferenceChange(channel=Channel.EMAIL, address_digest=digest,
                                                            opted_out=True, source="email unsubscribe link",
                                                            emitted_at=world.now)))
    world.run(world.notifier.on_routed(world.routed(informant=Informant(email=EMAIL))))
    assert len(world.email.sent) == 1


def test_closure_sends_the_outcome_then_a_survey_whose_answers_are_recorded(world):
    item = world.routed()
    closure = CaseUpdate(reference=item.reference, actor_id="kempston-npt", actor_name="Kempston team",
                         kind=UpdateKind.CLOSURE, outcome=Outcome.NO_FURTHER_ACTION, public_text="We looked.",
                         outcome_reason="The car could not be identified.", emitted_at=world.now)
    world.run(world.notifier.on_update(closure))
    assert len(world.sms.sent) == 1 and "No further action" in world.sms.sent[0].body
    world.tick(timedelta(days=2))
    assert len(world.sms.sent) == 1
    world.tick(timedelta(days=1, hours=1))
    assert len(world.sms.sent) == 2 and "Reply 1" in world.sms.sent[1].body
    world.run(world.notifier.on_inbound(InboundMessage(channel=Channel.SMS, sender=PHONE, body="4 y",
                                                                      emitted_at=world.now)))
    with world.sessions() as s:
        from services.store.models import SurveyAnswer
        answers = {a.question: a.answer for a in s.query(SurveyAnswer).filter_by(reference=item.reference)}
    assert answers == {"satisfaction": "4", "kept_informed": "Y"}
    assert world.contacts == []


def test_a_reply_that_is_not_a_keyword_becomes_a_new_linked_contact(world):
    item = world.routed()
    world.run(world.notifier.on_routed(item))
    reply = InboundMessage(channel=Channel.SMS, sender=PHONE, body="They were back again tonight, a blue van",
                           emitted_at=world.now)
    world.run(world.notifier.on_inbound(reply))
    world.run(world.notifier.on_inbound(reply))
    assert len({c.event_id for c in world.contacts}) == 1
    contact = world.contacts[0]
    assert contact.related_reference == item.reference
    assert contact.report.description == "They were back again tonight, a blue van"
    assert contact.informant is not None and contact.informant.phone == PHONE


def test_a_quiet_report_gets_one_holding_update_per_silence(world):
    item = world.routed()
    world.run(world.notifier.on_routed(item))
    world.now += timedelta(days=6)
    assert world.run(world.notifier.send_holding_updates()) == 0
    world.now += timedelta(days=2)
    world.run(world.notifier.send_holding_updates())
    world.run(world.notifier.send_holding_updates())
    assert len(world.sms.sent) == 2 and "still open" in world.sms.sent[1].body


@pytest.mark.parametrize(("body", "expected"), [
    ("4 Y", {"satisfaction": "4", "kept_informed": "Y"}), ("5", {"satisfaction": "5"}),
    ("no", {"kept_informed": "N"}), ("3, yes thanks", {"satisfaction": "3", "kept_informed": "Y"}),
    ("They came back at 10pm", {}),
])
def test_survey_replies_are_read(body, expected):
    assert survey_answers(body) == expected


def watch_item(reference: str, watch_id="kempston-speed-watch", delivery="per_item", received_at=NOON):
    return WatchItem(reference=reference, watch_id=watch_id, watch_name="Kempston Speed Watch", delivery=delivery,
                     category="speeding", category_label="Speeding and road safety",
                     description="Cars racing most evenings", location=WatchLocation(street="Bedford Road",
                                                                                      postcode_sector="MK42 8"),
                     received_at=received_at)


@pytest.fixture
def coordinated(tmp_path) -> World:
    world = World(tmp_path)
    world.notifier._directory = load_directory(DEFAULT_ROUTING_DIR)
    return world


def test_a_per_item_watch_tells_its_coordinator_once_without_the_informant(coordinated):
    world = coordinated
    report = world.routed()
    item = watch_item(report.reference)
    world.run(world.notifier.on_watch_item(item))
    world.run(world.notifier.on_watch_item(item))
    (mail,) = world.email.sent
    assert mail.to == "speedwatch.kempston@example.org"
    assert "Bedford Road" in mail.body and report.reference in mail.body
    assert PHONE not in mail.body and "900123" not in mail.body
    assert world.sms.sent == []


def test_digest_watches_get_one_message_a_day_after_the_digest_time(coordinated):
    world = coordinated
    reports = [world.routed("burglary-concern") for _ in range(3)]
    items = [watch_item(r.reference, "kempston-south-nhw", "daily_digest") for r in reports]
    with world.sessions() as s:
        record_watch_items(s, items)
    for item in items:
        world.run(world.notifier.on_watch_item(item))  # no message per item
    assert world.email.sent == [] and world.sms.sent == []
    world.now = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert world.run(world.notifier.send_digests()) == 0
    world.now = datetime(2026, 11, 23, 18, 5, tzinfo=UTC)
    world.run(world.notifier.send_digests())
    world.run(world.notifier.send_digests())
    # the watch has an email-only and an SMS-only coordinator: one digest each
    assert len(world.email.sent) == 1 and len(world.sms.sent) == 1
    assert all(r.reference in world.email.sent[0].body for r in reports)
    assert "3 new report(s)" in world.sms.sent[0].body


# ---- batches of routed reports ---------------------------------------------------------------

class FailingFor(RecordingSender):
    """Fails the next send to each listed recipient once, with the given error."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.fail_once: dict[str, Exception] = {}
        self.calls: list[str] = []

    async def send(self, message: Outgoing) -> Sent:
        self.calls.append(message.to)
        if message.to in self.fail_once:
            raise self.fail_once.pop(message.to)
        self.sent.append(message)
        return Sent(self.name, f"{self.name}-{len(self.sent)}")


def contact(category: str, informant: Informant | None, reference: str) -> PublicContact:
    return PublicContact(
        reference=reference,
        report=ReportDetails(category=category, description="x", location=Location(postcode="MK42 8AA")),
        informant=informant,
    )


def mixed_batch() -> tuple[list, list[str]]:
    """Routed items covering each way an acknowledgement can go, and the numbers that opted out of SMS."""
    window = SafeWindow(days=("mon", "tue", "wed", "thu", "fri"), start=time(9), end=time(15))
    safe_email = Informant(email="safe@example.org", phone="+447700900210", preferences=ContactPreferences(
        channel="email", safe_to_contact=True, safe_windows=(window,)))
    people = [
        ("speeding", Informant(phone="+447700900201")),                                  # SMS
        ("speeding", Informant(phone="+447700900202", email="both@example.org")),        # SMS, email on standby
        ("speeding", Informant(email="only@example.org")),                               # email
        ("speeding", Informant(phone="+447700900203", email="fallback@example.org")),    # SMS opted out: email
        ("speeding", Informant(phone="+447700900204")),                                  # SMS opted out
        ("domestic-abuse", Informant(phone="+447700900205")),                            # sensitive, not safe
        ("domestic-abuse", safe_email),                                                  # sensitive, in a window
        ("speeding", None),                                                              # anonymous
    ]
    config = load_routing_config()
    items = [routed_item(contact(category, person, new_reference()), config) for category, person in people]
    return items, ["+447700900203", "+447700900204"]


def prepared(tmp_path, name: str, items, stopped: list[str], now: datetime) -> World:
    path = tmp_path / name
    path.mkdir()
    world = World(path)
    world.now = now
    with world.sessions() as s:
        for item in items:
            record_routing(s, item)
    for number in stopped:
        world.run(world.notifier.on_inbound(InboundMessage(channel=Channel.SMS, sender=number, body="STOP",
                                                                          emitted_at=world.now)))
    return world


def outcome(world: World, items) -> list[tuple]:
    rows = [m for item in items for m in world.messages(item.reference)]
    return sorted((m.key, m.role, m.channel, m.status, m.body, m.subject, m.html, m.due_at, m.attempts, m.detail,
                   m.recipient) for m in rows)


def sent(sender: RecordingSender) -> list[tuple]:
    return sorted((m.to, m.body, m.subject) for m in sender.sent)


@pytest.mark.parametrize("now", [NOON, datetime(2026, 11, 23, 22, 30, tzinfo=UTC)], ids=["noon", "quiet-hours"])
def test_a_batch_gives_exactly_the_messages_of_one_at_a_time(tmp_path, now):
    items, stopped = mixed_batch()
    alone = prepared(tmp_path, "alone", items, stopped, now)
    batched = prepared(tmp_path, "batched", items, stopped, now)
    for item in items:
        alone.run(alone.notifier.on_routed(item))
    batched.run(batched.notifier.on_routed_batch(items))
    assert outcome(batched, items) == outcome(alone, items)
    assert sent(batched.sms) == sent(alone.sms) and sent(batched.email) == sent(alone.email)
    assert sorted((m.message_key, m.status) for m in batched.published) == sorted(
        (m.message_key, m.status) for m in alone.published)
    statuses = {(m.reference, m.channel): m.status for item in items for m in batched.messages(item.reference)}
    assert set(statuses.values()) >= {"suppressed", "opted_out", "standby"}  # the batch covered every way
    # and the timer, later, sends what waited (quiet hours, the safe window) the same way
    alone.tick(timedelta(days=1))
    batched.tick(timedelta(days=1))
    assert outcome(batched, items) == outcome(alone, items)
    assert sent(batched.sms) == sent(alone.sms) and sent(batched.email) == sent(alone.email)


def test_replaying_a_batch_sends_nothing_new(world):
    items = [world.routed(informant=Informant(phone=f"+4477009002{i:02d}", email=f"r{i}@example.org"))
             for i in range(5)]
    world.run(world.notifier.on_routed_batch(items))
    before = outcome(world, items), len(world.sms.sent), len(world.email.sent), len(world.published)
    world.run(world.notifier.on_routed_batch(items))
    world.run(world.notifier.on_routed_batch(items[::-1] + items))
    assert (outcome(world, items), len(world.sms.sent), len(world.email.sent), len(world.published)) == before
    assert before[1] == 5 and before[2] == 0


def test_the_same_report_twice_in_one_batch_is_sent_once(world):
    item = world.routed()
    world.run(world.notifier.on_routed_batch([item, item, item]))
    assert len(world.sms.sent) == 1 and [m.status for m in world.published] == ["sent"]


def test_a_429_for_one_message_of_a_batch_retries_only_that_one(world):
    world.sms = world.notifier._senders[Channel.SMS] = FailingFor("twilio")
    numbers = [f"+4477009003{i:02d}" for i in range(4)]
    world.sms.fail_once[numbers[2]] = TransientSendError("twilio 429", "20429")
    items = [world.routed(informant=Informant(phone=n)) for n in numbers]
    world.run(world.notifier.on_routed_batch(items))
    by_number = {m.recipient: (m.status, m.attempts) for item in items for m in world.messages(item.reference)}
    assert by_number == {numbers[0]: ("sent", 1), numbers[1]: ("sent", 1), numbers[2]: ("retrying", 1),
                         numbers[3]: ("sent", 1)}
    assert sorted(m.status for m in world.published) == ["sent"] * 3
    world.tick(timedelta(seconds=30))
    assert sorted(world.sms.calls) == sorted([*numbers, numbers[2]])  # one more call, for that one only
    assert sorted(m.to for m in world.sms.sent) == numbers
    (retried,) = world.messages(items[2].reference)
    assert (retried.status, retried.attempts) == ("sent", 2)


def test_a_permanent_failure_in_a_batch_falls_back_for_that_person_only(world):
    world.sms = world.notifier._senders[Channel.SMS] = FailingFor("twilio")
    world.sms.fail_once["+447700900401"] = PermanentSendError("twilio 400 code 21610", "21610")
    items = [world.routed(informant=Informant(phone=f"+4477009004{i:02d}", email=f"p{i}@example.org"))
             for i in range(3)]
    world.run(world.notifier.on_routed_batch(items))
    assert [m.to for m in world.email.sent] == ["p1@example.org"]
    assert {m.channel: m.status for m in world.messages(items[1].reference)} == {"sms": "opted_out", "email": "sent"}
    for other in (items[0], items[2]):
        assert {m.channel: m.status for m in world.messages(other.reference)} == {"sms": "sent", "email": "standby"}
    with world.sessions() as s:
        assert store.opt_out_reason(s, "sms", store.address_digest("+447700900401")) is not None


def test_attempt_many_never_sends_what_another_call_took(world):
    world.now = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # quiet hours: the SMS wait, claimed
    items = [world.routed(informant=Informant(phone=f"+4477009005{i:02d}")) for i in range(6)]
    world.run(world.notifier.on_routed_batch(items))
    ids = [m.id for item in items for m in world.messages(item.reference)]
    assert world.sms.sent == [] and len(ids) == 6
    world.now = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    with world.sessions() as s:  # another worker took two of them
        taken = store.start_attempts(s, ids[:2], world.now)
    assert [m.id for m in taken] == ids[:2]

    async def race():
        await asyncio.gather(*(world.notifier.attempt_many(ids) for _ in range(4)))

    world.run(race())
    assert sorted(m.to for m in world.sms.sent) == sorted(f"+4477009005{i:02d}" for i in range(2, 6))
    statuses = [world.messages(item.reference)[0].status for item in items]
    assert statuses == ["sending", "sending", "sent", "sent", "sent", "sent"]
    world.run(world.notifier.attempt_many(ids))
    assert len(world.sms.sent) == 4


def test_start_attempts_takes_only_due_messages_once(world):
    world.now = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    texted, emailed = world.routed(), world.routed(informant=Informant(email=EMAIL))
    world.email.failures = [TransientSendError("sendgrid 503")]
    world.run(world.notifier.on_routed_batch([texted, emailed]))
    ids = [world.messages(texted.reference)[0].id, world.messages(emailed.reference)[0].id]
    with world.sessions() as s:  # the SMS waits for 08:00, the email for its retry
        assert store.start_attempts(s, ids, world.now) == []
    with world.sessions() as s:
        assert [m.id for m in store.start_attempts(s, ids, world.now + timedelta(hours=10))] == ids
    with world.sessions() as s:
        assert store.start_attempts(s, ids, world.now + timedelta(hours=10)) == []


def test_the_channel_choice_is_the_first_not_opted_out():
    def draft(channel: str, recipient: str) -> store.Draft:
        return store.Draft(key=f"R:ack:informant:{channel}", reference="R", trigger="ack", role="informant",
                           channel=channel, recipient=recipient, body=channel, due_at=NOON)

    sms, email = draft("sms", PHONE), draft("email", EMAIL)
    stopped = {("sms", store.address_digest(PHONE)): "opted out (sms STOP)"}
    both = {**stopped, ("email", store.address_digest(EMAIL)): "opted out (email link)"}

    first = store.choose(store.ClaimRequest(sms, email), {})
    assert first.chosen == sms and [(r.channel, r.status) for r in first.rows] == [("sms", "scheduled"),
                                                                                   ("email", "standby")]
    assert first.rows[1].due_at is None
    other = store.choose(store.ClaimRequest(sms, email), stopped)
    assert other.chosen == email
    assert [(r.channel, r.status, r.detail) for r in other.rows] == [("sms", "opted_out", "opted out (sms STOP)"),
                                                                     ("email", "scheduled", None)]
    assert store.choose(store.ClaimRequest(sms), stopped).chosen is None
    none = store.choose(store.ClaimRequest(sms, email), both)
    assert none.chosen is None and [r.status for r in none.rows] == ["opted_out", "opted_out"]
    skipped = store.Draft(key="R:ack:informant:none", reference="R", trigger="ack", role="informant",
                          channel="none", recipient="", body="", status="suppressed", detail="anonymous")
    assert store.choose(store.ClaimRequest(skipped), both) == store.Choice((skipped,), None)


def test_a_claim_made_elsewhere_between_the_lookup_and_the_insert_is_found(world, monkeypatch):
    item = world.routed(informant=Informant(phone=PHONE, email=EMAIL))
    other = world.routed(informant=Informant(phone="+447700900601"))
    with world.sessions() as s:  # another worker's claim of the first report's SMS
        elsewhere = store.claim_message(s, key=f"{item.reference}:ack:informant:sms", reference=item.reference,
                                        trigger="ack", role="informant", channel="sms", recipient=PHONE, body="b",
                                        due_at=world.now, at=world.now)
    real = store._chunks
    missed: list[object] = []

    def first_lookup_misses(values, size=store.CHUNK):
        # the first lookup of existing keys misses it, as if it were committed just after
        if not missed and values and isinstance(values[0], str) and ":ack:" in values[0]:
            missed.append(values)
            return iter(())
        return real(values, size)

    monkeypatch.setattr(store, "_chunks", first_lookup_misses)
    world.run(world.notifier.on_routed_batch([item, other]))
    assert [m.to for m in world.sms.sent] == ["+447700900601"]
    statuses = {m.channel: (m.id, m.status) for m in world.messages(item.reference)}
    assert statuses == {"sms": (elsewhere.message_id, "scheduled"), "email": (statuses["email"][0], "standby")}


def test_a_batch_is_taken_for_sending_a_slice_at_a_time(tmp_path):
    """Only the messages whose provider call is under way are ``sending``: a crash mid-batch
    leaves at most one slice unconfirmed, and the rest are still ``scheduled`` for the timer."""
    world = World(tmp_path)
    world.notifier._rules = DeliveryRules(send_concurrency=3)
    items = [world.routed() for _ in range(8)]
    in_flight: list[list[str]] = []

    class Watching(RecordingSender):
        async def send(self, message: Outgoing) -> Sent:
            with world.sessions() as s:
                statuses = [m.status for i in items for m in store.messages_for(s, i.reference)]
            in_flight.append(sorted(statuses))
            return await super().send(message)

    world.notifier._senders[Channel.SMS] = world.sms = Watching("twilio")
    world.run(world.notifier.on_routed_batch(items))
    assert len(world.sms.sent) == 8
    assert max(statuses.count("sending") for statuses in in_flight) == 3
    assert in_flight[0].count("scheduled") == 5  # the first slice is out; the others wait their turn
