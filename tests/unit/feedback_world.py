"""The feedback worker's pieces over a real (SQLite) store, with recording senders and a clock
the test moves: shared by the unit tests of handlers, delivery, replies and timers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from schemas import Channel, Informant, Location, PublicContact, ReportDetails, RoutedItem, WatchItem, WatchLocation
from schemas.events import new_reference
from services.common.config_files import load_categories
from services.common.sql import Store
from services.feedback.delivery import Delivery
from services.feedback.handlers import Handlers
from services.feedback.policy import DeliveryRules
from services.feedback.replies import Replies
from services.feedback.senders import AmbiguousSendError, Found, Lookup, NotFound, Outgoing, Sent
from services.feedback.timers import Timers
from services.router.config import load_routing_config
from services.router.routing import routed_item
from services.store import messages as store
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import Message
from tests.fakes.store import record_routing

PHONE = "+447700900123"
EMAIL = "resident@example.org"
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday; 12:00 in the UK


class RecordingSender:
    """Records what it was handed. ``failures`` are raised instead of sending; ``answers_lost``
    sends are accepted (recorded) and then answered with ``AmbiguousSendError``, as when the
    provider's answer never reaches the worker. ``find`` looks through what was accepted, unless
    ``lookup`` says otherwise."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Outgoing] = []
        self.failures: list[Exception] = []
        self.answers_lost = 0
        self.lookup: Lookup | None = None
        self.lookups: list[Outgoing] = []

    async def send(self, message: Outgoing) -> Sent:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        if self.answers_lost:
            self.answers_lost -= 1
            raise AmbiguousSendError(f"{self.name} no answer: ReadTimeout")
        return Sent(self.name, f"{self.name}-{len(self.sent)}")

    async def find(self, message: Outgoing, since: datetime) -> Lookup:
        self.lookups.append(message)
        if self.lookup is not None:
            return self.lookup
        for i, sent in enumerate(self.sent, start=1):
            if (sent.to, sent.body) == (message.to, message.body):
                return Found(f"{self.name}-{i}")
        return NotFound()

    async def close(self) -> None:
        pass


class World:
    def __init__(self, tmp_path, directory=None) -> None:
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

        db = Store(self.sessions)
        rules = DeliveryRules(attempts=3, backoff_base=1.0, backoff_cap=10.0, survey_delay=timedelta(days=3))
        categories = load_categories()
        self.delivery = Delivery(
            store=db, senders={Channel.SMS: self.sms, Channel.EMAIL: self.email}, publish=publish, rules=rules,
            unsubscribe_url=lambda digest: f"https://report.example/v1/unsubscribe/{digest[:8]}",
            clock=lambda: self.now,
        )
        self.handlers = Handlers(delivery=self.delivery, categories=categories, directory=directory)
        self.replies = Replies(store=db, publish_contact=publish_contact, rules=rules)
        self.timers = Timers(delivery=self.delivery, categories=categories, directory=directory)

    def use_sender(self, channel: Channel, sender: RecordingSender) -> None:
        self.delivery.senders[channel] = sender
        if channel is Channel.SMS:
            self.sms = sender
        else:
            self.email = sender

    def run(self, coro):
        return asyncio.run(coro)

    def acknowledge(self, *items: RoutedItem) -> None:
        self.run(self.handlers.on_routed_batch(list(items)))

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

    def messages(self, reference) -> list[Message]:
        with self.sessions() as s:
            return store.messages_for(s, reference)

    def tick(self, delta: timedelta) -> int:
        self.now += delta
        return self.run(self.timers.send_due())


def claim_one(session, draft: store.Draft, at: datetime) -> store.Claim:
    """Claim one message as the worker does (another worker's claim, in a test)."""
    ((claimed,), _) = store.claim_and_take(session, [store.ClaimRequest(draft)], at, lambda _: [])
    assert claimed.claim is not None
    return claimed.claim


def ack_draft(reference: str, at: datetime, channel: str = "sms", recipient: str = PHONE) -> store.Draft:
    return store.Draft(key=f"{reference}:ack:informant:{channel}", reference=reference, trigger="ack",
                       role="informant", channel=channel, recipient=recipient, body="b", due_at=at)


def watch_item(reference: str, watch_id="kempston-speed-watch", delivery="per_item", received_at=NOON):
    return WatchItem(reference=reference, watch_id=watch_id, watch_name="Kempston Speed Watch", delivery=delivery,
                     category="speeding", category_label="Speeding and road safety",
                     description="Cars racing most evenings", location=WatchLocation(street="Bedford Road",
                                                                                      postcode_sector="MK42 8"),
                     received_at=received_at)
