"""The delivery engine: claim, send, settle, fall back, in batches, never twice, over a real
(SQLite) store, recording senders and a clock the test moves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest

from schemas import (
    Channel,
    ContactPreferences,
    InboundMessage,
    Informant,
    Location,
    PublicContact,
    ReportDetails,
    SafeWindow,
)
from schemas import MessageStatus as S
from schemas.events import new_reference
from services.feedback.policy import DeliveryRules
from services.feedback.senders import Outgoing, PermanentSendError, SendFailure, Sent, TransientSendError
from services.router.config import load_routing_config
from services.router.routing import routed_item
from services.store import messages as store
from tests.fakes.store import record_routing
from tests.unit.feedback_world import (
    EMAIL,
    NOON,
    PHONE,
    RecordingSender,
    World,
    ack_draft,
    claim_one,
)


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


def test_a_send_interrupted_by_a_crash_is_sent_again_only_once_the_provider_confirms_it_is_not_there(world):
    item = world.routed()
    with world.sessions() as s:  # what a worker killed after taking the message leaves behind
        claim = claim_one(s, ack_draft(item.reference, world.now), world.now)
    with world.sessions() as s:
        assert store.start_attempts(s, [claim.message_id], world.now, "killed-worker") != []
    world.acknowledge(item)  # the event is redelivered after the restart
    assert world.sms.sent == []  # still within the lease: nothing
    world.tick(timedelta(minutes=5))
    assert [m.to for m in world.sms.sent] == [PHONE] and len(world.sms.lookups) == 1
    (message,) = [m for m in world.messages(item.reference) if m.channel == "sms"]
    assert message.status == S.SENT


def test_a_send_interrupted_by_a_crash_that_the_provider_has_is_settled_sent_not_repeated(world):
    item = world.routed()
    with world.sessions() as s:
        claim = claim_one(s, ack_draft(item.reference, world.now), world.now)
    with world.sessions() as s:
        (taken,) = store.start_attempts(s, [claim.message_id], world.now, "killed-worker")
    # the killed worker's request had reached the provider
    world.sms.sent.append(Outgoing(channel=Channel.SMS, to=PHONE, body=taken.body))
    world.tick(timedelta(minutes=5))
    assert len(world.sms.sent) == 1
    (message,) = [m for m in world.messages(item.reference) if m.channel == "sms"]
    assert (message.status, message.provider_id) == (S.SENT, "twilio-1")


def test_transient_failures_are_retried_later_without_blocking(world):
    world.sms.failures = [TransientSendError("twilio 429"), TransientSendError("twilio 503")]
    item = world.routed()
    world.acknowledge(item)
    assert world.sms.sent == []
    (message,) = world.messages(item.reference)
    assert message.status == S.RETRYING and message.due_at is not None
    world.tick(timedelta(seconds=0.1))  # not yet due: nothing happens
    assert world.sms.sent == [] and world.messages(item.reference)[0].attempts == 1
    world.tick(timedelta(seconds=30))
    world.tick(timedelta(seconds=30))
    assert len(world.sms.sent) == 1
    (message,) = world.messages(item.reference)
    assert (message.status, message.attempts) == (S.SENT, 3)


def test_permanent_failures_are_not_retried_and_fall_back_to_email(world):
    world.sms.failures = [PermanentSendError("twilio 400 code 21211", "21211")]
    item = world.routed(informant=Informant(phone=PHONE, email=EMAIL))
    world.acknowledge(item)
    world.tick(timedelta(minutes=10))
    assert world.sms.sent == [] and len(world.email.sent) == 1
    by_channel = {m.channel: m for m in world.messages(item.reference)}
    assert by_channel["sms"].status == S.FAILED and by_channel["sms"].attempts == 1
    assert by_channel["email"].status == S.SENT


def test_without_a_failure_the_standby_copy_is_never_sent(world):
    item = world.routed(informant=Informant(phone=PHONE, email=EMAIL))
    world.acknowledge(item)
    world.tick(timedelta(days=1))
    assert len(world.sms.sent) == 1 and world.email.sent == []
    assert {m.channel: m.status for m in world.messages(item.reference)} == {"sms": S.SENT, "email": S.STANDBY}


def test_sms_waits_for_the_end_of_quiet_hours_and_email_does_not(world):
    world.now = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    texted = world.routed()
    emailed = world.routed(informant=Informant(email=EMAIL))
    world.acknowledge(texted)
    world.acknowledge(emailed)
    assert world.sms.sent == [] and len(world.email.sent) == 1
    (waiting,) = world.messages(texted.reference)
    assert waiting.status == S.SCHEDULED and waiting.due_at.hour == 8
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
    world.acknowledge(item)
    assert world.email.sent == []
    world.tick(timedelta(days=1, hours=12))  # Sunday 22:00
    assert world.email.sent == []
    world.tick(timedelta(hours=11, minutes=30))  # Monday 09:30
    assert len(world.email.sent) == 1
    # a sensitive report never falls back to a channel the informant did not confirm
    assert {m.channel for m in world.messages(item.reference)} == {"email"}


def test_a_send_refused_as_opted_out_records_the_opt_out_and_uses_email_instead(world):
    world.sms.failures = [PermanentSendError("twilio 400 code 21610", "21610", SendFailure.OPTED_OUT)]
    item = world.routed(informant=Informant(phone=PHONE, email=EMAIL))
    world.acknowledge(item)
    assert len(world.email.sent) == 1
    assert {m.channel: m.status for m in world.messages(item.reference)}["sms"] == S.OPTED_OUT
    later = world.routed(informant=Informant(phone=PHONE))
    world.acknowledge(later)
    assert world.sms.sent == [] and world.messages(later.reference)[0].status == S.OPTED_OUT


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
        world.run(world.replies.on_inbound(InboundMessage(channel=Channel.SMS, sender=number, body="STOP",
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
        alone.acknowledge(item)
    batched.run(batched.handlers.on_routed_batch(items))
    assert outcome(batched, items) == outcome(alone, items)
    assert sent(batched.sms) == sent(alone.sms) and sent(batched.email) == sent(alone.email)
    assert sorted((m.message_key, m.status) for m in batched.published) == sorted(
        (m.message_key, m.status) for m in alone.published)
    statuses = {(m.reference, m.channel): m.status for item in items for m in batched.messages(item.reference)}
    assert set(statuses.values()) >= {S.SUPPRESSED, S.OPTED_OUT, S.STANDBY}  # the batch covered every way
    # and the timer, later, sends what waited (quiet hours, the safe window) the same way
    alone.tick(timedelta(days=1))
    batched.tick(timedelta(days=1))
    assert outcome(batched, items) == outcome(alone, items)
    assert sent(batched.sms) == sent(alone.sms) and sent(batched.email) == sent(alone.email)


def test_replaying_a_batch_sends_nothing_new(world):
    items = [world.routed(informant=Informant(phone=f"+4477009002{i:02d}", email=f"r{i}@example.org"))
             for i in range(5)]
    world.run(world.handlers.on_routed_batch(items))
    before = outcome(world, items), len(world.sms.sent), len(world.email.sent), len(world.published)
    world.run(world.handlers.on_routed_batch(items))
    world.run(world.handlers.on_routed_batch(items[::-1] + items))
    assert (outcome(world, items), len(world.sms.sent), len(world.email.sent), len(world.published)) == before
    assert before[1] == 5 and before[2] == 0


def test_the_same_report_twice_in_one_batch_is_sent_once(world):
    item = world.routed()
    world.run(world.handlers.on_routed_batch([item, item, item]))
    assert len(world.sms.sent) == 1 and [m.status for m in world.published] == [S.SENT]


def test_a_429_for_one_message_of_a_batch_retries_only_that_one(world):
    world.use_sender(Channel.SMS, FailingFor("twilio"))
    numbers = [f"+4477009003{i:02d}" for i in range(4)]
    world.sms.fail_once[numbers[2]] = TransientSendError("twilio 429", "20429")
    items = [world.routed(informant=Informant(phone=n)) for n in numbers]
    world.run(world.handlers.on_routed_batch(items))
    by_number = {m.recipient: (m.status, m.attempts) for item in items for m in world.messages(item.reference)}
    assert by_number == {numbers[0]: (S.SENT, 1), numbers[1]: (S.SENT, 1), numbers[2]: (S.RETRYING, 1),
                         numbers[3]: (S.SENT, 1)}
    assert sorted(m.status for m in world.published) == [S.SENT] * 3
    world.tick(timedelta(seconds=30))
    assert sorted(world.sms.calls) == sorted([*numbers, numbers[2]])  # one more call, for that one only
    assert sorted(m.to for m in world.sms.sent) == numbers
    (retried,) = world.messages(items[2].reference)
    assert (retried.status, retried.attempts) == (S.SENT, 2)


def test_a_permanent_failure_in_a_batch_falls_back_for_that_person_only(world):
    world.use_sender(Channel.SMS, FailingFor("twilio"))
    world.sms.fail_once["+447700900401"] = PermanentSendError("twilio 400 code 21610", "21610", SendFailure.OPTED_OUT)
    items = [world.routed(informant=Informant(phone=f"+4477009004{i:02d}", email=f"p{i}@example.org"))
             for i in range(3)]
    world.run(world.handlers.on_routed_batch(items))
    assert [m.to for m in world.email.sent] == ["p1@example.org"]
    assert {m.channel: m.status for m in world.messages(items[1].reference)} == {"sms": S.OPTED_OUT, "email": S.SENT}
    for other in (items[0], items[2]):
        assert {m.channel: m.status for m in world.messages(other.reference)} == {"sms": S.SENT, "email": S.STANDBY}
    with world.sessions() as s:
        assert store.opt_out_reason(s, "sms", store.address_digest("+447700900401")) is not None


def test_attempt_many_never_sends_what_another_call_took(world):
    world.now = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # quiet hours: the SMS wait, claimed
    items = [world.routed(informant=Informant(phone=f"+4477009005{i:02d}")) for i in range(6)]
    world.run(world.handlers.on_routed_batch(items))
    ids = [m.id for item in items for m in world.messages(item.reference)]
    assert world.sms.sent == [] and len(ids) == 6
    world.now = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    with world.sessions() as s:  # another worker took two of them
        taken = store.start_attempts(s, ids[:2], world.now)
    assert [m.id for m in taken] == ids[:2]

    async def race():
        await asyncio.gather(*(world.delivery.attempt_many(ids) for _ in range(4)))

    world.run(race())
    assert sorted(m.to for m in world.sms.sent) == sorted(f"+4477009005{i:02d}" for i in range(2, 6))
    statuses = [world.messages(item.reference)[0].status for item in items]
    assert statuses == [S.SENDING, S.SENDING, S.SENT, S.SENT, S.SENT, S.SENT]
    world.run(world.delivery.attempt_many(ids))
    assert len(world.sms.sent) == 4


def test_start_attempts_takes_only_due_messages_once(world):
    world.now = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    texted, emailed = world.routed(), world.routed(informant=Informant(email=EMAIL))
    world.email.failures = [TransientSendError("sendgrid 503")]
    world.run(world.handlers.on_routed_batch([texted, emailed]))
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
    assert first.chosen == sms and [(r.channel, r.status) for r in first.rows] == [("sms", S.SCHEDULED),
                                                                                   ("email", S.STANDBY)]
    assert first.rows[1].due_at is None
    other = store.choose(store.ClaimRequest(sms, email), stopped)
    assert other.chosen == email
    assert [(r.channel, r.status, r.detail) for r in other.rows] == [("sms", S.OPTED_OUT, "opted out (sms STOP)"),
                                                                     ("email", S.SCHEDULED, None)]
    assert store.choose(store.ClaimRequest(sms), stopped).chosen is None
    none = store.choose(store.ClaimRequest(sms, email), both)
    assert none.chosen is None and [r.status for r in none.rows] == [S.OPTED_OUT, S.OPTED_OUT]
    skipped = store.Draft(key="R:ack:informant:none", reference="R", trigger="ack", role="informant",
                          channel="none", recipient="", body="", status=S.SUPPRESSED, detail="anonymous")
    assert store.choose(store.ClaimRequest(skipped), both) == store.Choice((skipped,), None)


def test_a_claim_made_elsewhere_between_the_lookup_and_the_insert_is_found(world, monkeypatch):
    item = world.routed(informant=Informant(phone=PHONE, email=EMAIL))
    other = world.routed(informant=Informant(phone="+447700900601"))
    with world.sessions() as s:  # another worker's claim of the first report's SMS
        elsewhere = claim_one(s, ack_draft(item.reference, world.now), world.now)
    real = store._chunks
    missed: list[object] = []

    def first_lookup_misses(values, size=store.CHUNK):
        # the first lookup of existing keys misses it, as if it were committed just after
        if not missed and values and isinstance(values[0], str) and ":ack:" in values[0]:
            missed.append(values)
            return iter(())
        return real(values, size)

    monkeypatch.setattr(store, "_chunks", first_lookup_misses)
    world.run(world.handlers.on_routed_batch([item, other]))
    assert [m.to for m in world.sms.sent] == ["+447700900601"]
    statuses = {m.channel: (m.id, m.status) for m in world.messages(item.reference)}
    assert statuses == {"sms": (elsewhere.message_id, S.SCHEDULED), "email": (statuses["email"][0], S.STANDBY)}


def test_a_batch_is_taken_for_sending_a_slice_at_a_time(tmp_path):
    """Only the messages whose provider call is under way are ``sending``: a crash mid-batch
    leaves at most one slice unconfirmed, and the rest are still ``scheduled`` for the timer."""
    world = World(tmp_path)
    world.delivery.rules = DeliveryRules(send_concurrency=3)
    items = [world.routed() for _ in range(8)]
    in_flight: list[list[str]] = []

    class Watching(RecordingSender):
        async def send(self, message: Outgoing) -> Sent:
            with world.sessions() as s:
                statuses = [m.status for i in items for m in store.messages_for(s, i.reference)]
            in_flight.append(sorted(statuses))
            return await super().send(message)

    world.use_sender(Channel.SMS, Watching("twilio"))
    world.run(world.handlers.on_routed_batch(items))
    assert len(world.sms.sent) == 8
    assert max(statuses.count(S.SENDING) for statuses in in_flight) == 3
    assert in_flight[0].count(S.SCHEDULED) == 5  # the first slice is out; the others wait their turn
