"""Ambiguous sends (the provider may have the message) and frozen workers: a message is sent
again only when the provider confirms it is not there, never to a guarded recipient without that
confirmation, and a worker that wakes after its lease passed overwrites nobody's outcome.
Over a real (SQLite) store, with recording senders and a clock the test moves."""

from __future__ import annotations

import time as clock
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from schemas import Channel, ContactPreferences, Informant, SafeWindow
from schemas import MessageStatus as S
from services.common.sql import Store
from services.feedback.delivery import Delivery
from services.feedback.senders import Outgoing, Sent, Unknown
from services.feedback.senders.base import LeasePassed, check_write_deadline
from services.store import messages as store
from tests.unit.feedback_world import EMAIL, PHONE, RecordingSender, World

LEASE = timedelta(seconds=60)  # DeliveryRules' default


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


def _sms(world: World, reference: str):
    (message,) = [m for m in world.messages(reference) if m.channel == "sms"]
    return message


def test_an_answer_lost_after_the_provider_accepted_is_looked_up_not_sent_again(world):
    world.sms.answers_lost = 1
    item = world.routed()
    world.acknowledge(item)
    message = _sms(world, item.reference)
    assert message.status == S.AMBIGUOUS and world.published == []
    world.tick(LEASE / 2)  # before the lease passes: neither looked up nor sent
    assert (len(world.sms.sent), world.sms.lookups) == (1, [])
    world.tick(LEASE)
    message = _sms(world, item.reference)
    assert len(world.sms.sent) == 1, "sent twice"
    assert (message.status, message.provider_id, message.attempts) == (S.SENT, "twilio-1", 1)
    assert [e.status for e in world.published] == [S.SENT]


def test_an_ambiguous_send_the_provider_confirms_absent_is_sent_once_more(world):
    world.sms.answers_lost = 1
    item = world.routed()
    world.acknowledge(item)
    world.sms.sent.clear()  # the provider never took it after all
    world.tick(LEASE * 2)
    world.tick(LEASE * 2)
    assert [m.to for m in world.sms.sent] == [PHONE]
    assert _sms(world, item.reference).status == S.SENT


def _guarded(world: World):
    window = SafeWindow(days=("mon", "tue", "wed", "thu", "fri"), start=time(9), end=time(15))
    safe = Informant(email=EMAIL, preferences=ContactPreferences(channel="email", safe_to_contact=True,
                                                                 safe_windows=(window,)))
    return world.routed("domestic-abuse", safe)


def test_an_ambiguous_email_to_a_guarded_recipient_is_never_sent_again_unconfirmed(world):
    world.email.answers_lost = 1
    world.email.lookup = Unknown("sendgrid cannot be asked whether it has a message", no_look_up=True)
    item = _guarded(world)
    world.acknowledge(item)
    for _ in range(5):
        world.tick(LEASE * 2)
    (message,) = world.messages(item.reference)
    assert len(world.email.sent) == 1
    assert message.guarded and message.status == S.UNCONFIRMED
    assert "never sent again to a guarded recipient" in (message.detail or "")


def test_an_ambiguous_email_to_anyone_else_goes_again_once_the_lease_has_passed(world):
    world.email.answers_lost = 1
    world.email.lookup = Unknown("sendgrid cannot be asked whether it has a message", no_look_up=True)
    item = world.routed(informant=Informant(email=EMAIL))
    world.acknowledge(item)
    world.tick(LEASE / 2)
    assert len(world.email.sent) == 1
    for _ in range(3):
        world.tick(LEASE * 2)
    (message,) = world.messages(item.reference)
    assert len(world.email.sent) == 2 and message.status == S.SENT and not message.guarded


def test_a_failed_look_up_is_tried_again_and_a_guarded_message_ends_unconfirmed(world):
    world.sms.answers_lost = 1
    world.sms.lookup = Unknown("twilio look-up failed: ReadTimeout", retryable=True)
    window = SafeWindow(days=("mon", "tue", "wed", "thu", "fri"), start=time(9), end=time(15))
    safe = Informant(phone=PHONE, preferences=ContactPreferences(channel="sms", safe_to_contact=True,
                                                                 safe_windows=(window,)))
    item = world.routed("domestic-abuse", safe)
    world.acknowledge(item)
    world.tick(LEASE * 2)
    assert _sms(world, item.reference).status == S.AMBIGUOUS and len(world.sms.lookups) == 1
    world.tick(LEASE * 2)
    assert len(world.sms.lookups) == 2
    world.tick(timedelta(hours=2))  # beyond DeliveryRules.reconcile_for
    message = _sms(world, item.reference)
    assert message.status == S.UNCONFIRMED and len(world.sms.sent) == 1


@pytest.mark.parametrize("lookup", [
    Unknown("twilio look-up failed: HTTP 503", retryable=True),
    Unknown("twilio: more than 500 messages to the number since the send"),
])
def test_an_ambiguous_sms_to_anyone_is_sent_again_only_on_the_provider_s_word(world, lookup):
    # Twilio can be asked: however long its look-ups fail, no second text without its "not there"
    world.sms.answers_lost = 1
    world.sms.lookup = lookup
    item = world.routed(informant=Informant(phone=PHONE))
    world.acknowledge(item)
    for _ in range(3):
        world.tick(LEASE * 2)
    world.tick(timedelta(hours=2))  # beyond DeliveryRules.reconcile_for
    world.tick(LEASE * 2)
    message = _sms(world, item.reference)
    assert not message.guarded and message.status == S.UNCONFIRMED and len(world.sms.sent) == 1
    assert "never sent again without its confirming" in (message.detail or "")


def test_a_worker_that_wakes_after_its_lease_overwrites_nothing_and_its_late_answer_is_recorded(world):
    """Worker A takes the message and freezes mid-send; its lease passes, worker B (this world's
    delivery) finds the message ambiguous and asks the provider, which has no answer yet for it
    (A had not made the request): B sends it. A wakes, finds its lease passed before it made the
    request (so it makes none), and its outcome comes too late to change B's."""
    item = world.routed()
    frozen = Delivery(store=world.delivery.store, senders=world.delivery.senders, publish=world.delivery._publish,
                      rules=world.delivery.rules, clock=lambda: world.now, instance="worker-a")
    with world.sessions() as s:
        ((claimed,), _) = store.claim_and_take(s, world.handlers._requests(
            item.reference, "ack", item.contact, world.handlers._acknowledgement(item, item.sensitive),
            world.now), world.now, lambda _: [], "worker-a")
        assert claimed.claim is not None
        (taken,) = store.start_attempts(s, [claimed.claim.message_id], world.now, "worker-a")
    world.tick(LEASE * 2)  # B: the lease passed; not at the provider; sent again by B
    assert len(world.sms.sent) == 1
    settled = _sms(world, item.reference)
    assert (settled.status, settled.provider_id, settled.lease_owner) == (S.SENT, "twilio-1", world.delivery.instance)
    # A wakes: its sender refused to make the request, the lease having passed
    retry = store.Outcome(taken.id, S.RETRYING, "twilio", detail="the send's lease passed before the request was made",
                          due_at=world.now + timedelta(seconds=2), generation=taken.lease_generation)
    assert world.run(frozen._settle([taken], [retry])) == set()
    after = _sms(world, item.reference)
    assert (after.status, after.provider_id, after.due_at) == (S.SENT, "twilio-1", None), \
        "the woken worker overwrote B's outcome"
    assert "worker-a" in (after.late_outcome or "") and "retrying" in (after.late_outcome or "")
    world.tick(LEASE * 2)
    assert len(world.sms.sent) == 1


def test_a_late_answer_that_the_provider_accepted_confirms_an_unconfirmed_message_as_sent(world):
    item = _guarded(world)
    world.now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday, inside the safe window
    frozen = Delivery(store=world.delivery.store, senders=world.delivery.senders, publish=world.delivery._publish,
                      rules=world.delivery.rules, clock=lambda: world.now, instance="worker-a")
    world.email.lookup = Unknown("sendgrid cannot be asked whether it has a message", no_look_up=True)
    with world.sessions() as s:
        ((claimed,), _) = store.claim_and_take(s, world.handlers._requests(
            item.reference, "ack", item.contact, world.handlers._acknowledgement(item, item.sensitive), world.now),
            world.now, lambda _: [], "worker-a")
        assert claimed.claim is not None
        (taken,) = store.start_attempts(s, [claimed.claim.message_id], world.now, "worker-a")
    for _ in range(3):
        world.tick(LEASE * 2)
    assert world.messages(item.reference)[0].status == S.UNCONFIRMED and world.email.sent == []
    world.run(frozen._settle([taken], [store.Outcome(taken.id, S.SENT, "sendgrid", "abc",
                                                     generation=taken.lease_generation)]))
    (message,) = world.messages(item.reference)
    assert (message.status, message.provider_id) == (S.SENT, "abc")
    assert message.late_outcome and world.email.sent == []
    assert [e.status for e in world.published][-1] == S.SENT


def test_a_send_whose_lease_passed_before_the_request_is_not_made():
    late = Outgoing(channel=Channel.SMS, to=PHONE, body="b", deadline=clock.monotonic() - 1)
    with pytest.raises(LeasePassed, match="lease passed before its request"), late.fenced():
        pass
    with Outgoing(channel=Channel.SMS, to=PHONE, body="b").fenced():  # no lease: nothing to check
        check_write_deadline()


def test_every_write_inside_a_fenced_send_checks_its_deadline_and_nothing_outside_does():
    soon = Outgoing(channel=Channel.SMS, to=PHONE, body="b", deadline=clock.monotonic() + 0.05)
    with soon.fenced():
        check_write_deadline()  # not yet
        clock.sleep(0.1)
        with pytest.raises(LeasePassed):
            check_write_deadline()
    check_write_deadline()  # after the send (a look-up, another send): unfenced


class _FencedSender(RecordingSender):
    """Writes (records) a message only as a fenced provider client would: inside its deadline."""

    async def send(self, message: Outgoing) -> Sent:
        with message.fenced():
            check_write_deadline()  # the request's write
            return await super().send(message)


class _FrozenAfterEachTake:
    """The worker's store, with the worker frozen for ``seconds`` right after each take for sending."""

    def __init__(self, inner: Store, seconds: float) -> None:
        self.inner, self.seconds = inner, seconds

    async def run(self, fn, *args, **kwargs):
        result = await self.inner.run(fn, *args, **kwargs)
        if fn in (store.claim_and_take, store.start_attempts):
            clock.sleep(self.seconds)
        return result


def test_a_worker_frozen_between_its_take_and_its_request_past_half_the_lease_sends_nothing(world):
    """The send's deadline counts from the take, not from when the worker got round to sending: a
    worker frozen in between (for more than half the lease, when another may soon look the message
    up at the provider) writes nothing, and its message waits for another try."""
    lease = timedelta(seconds=0.2)
    world.delivery.rules = replace(world.delivery.rules, send_lease=lease)
    world.delivery.store = _FrozenAfterEachTake(world.delivery.store, lease.total_seconds())
    world.use_sender(Channel.SMS, _FencedSender("twilio"))
    item = world.routed()
    world.acknowledge(item)
    assert world.sms.sent == []
    assert _sms(world, item.reference).status == S.RETRYING
