"""Reports full of marker personal data, taken through the router and the feedback worker
in-process (their use cases over a real store: SQLite in unit tests, PostgreSQL in integration
tests), and a scan of every text and JSON column of every table for the markers, decrypting
what is encrypted at rest. Shared by the retention and subject-access tests."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, MetaData, String, select
from sqlalchemy.orm import Session, sessionmaker

from schemas import (
    CaseUpdate,
    Channel,
    ContactPreferences,
    Informant,
    Location,
    Outcome,
    PublicContact,
    ReportDetails,
    RoutedItem,
    ThirdPartyContact,
    UpdateKind,
)
from schemas.events import InboundMessage, new_reference
from services.common.config_files import load_categories
from services.common.sql import Store
from services.feedback.delivery import Delivery
from services.feedback.handlers import Handlers
from services.feedback.policy import DeliveryRules
from services.feedback.replies import Replies
from services.feedback.timers import Timers
from services.router.adapters import SqlRoutingStore
from services.router.config import load_routing_config
from services.router.usecase import RouteContacts
from services.store import dashboard
from services.store.crypto import TOKEN_PREFIX, decrypt
from tests.unit.feedback_world import RecordingSender

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday
KEMPSTON_NORTH = (52.125, -0.495)
TOKEN = re.compile(TOKEN_PREFIX + r"[A-Za-z0-9_\-=]+")


@dataclass(frozen=True)
class Person:
    name: str
    phone: str  # E.164
    email: str

    @property
    def phone_forms(self) -> tuple[str, ...]:
        national = self.phone.removeprefix("+44")
        return (self.phone, national, "0" + national, f"0{national[:4]} {national[4:]}")


def person(tag: str, number: int) -> Person:
    """A person whose every detail is a marker no fixture or template could produce."""
    word = f"Qx{tag}{uuid.uuid4().hex[:8]}"
    return Person(name=f"{word} Vantablack", phone=f"+447700900{number:03d}", email=f"{word.lower()}@example.org")


class RecordingPublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send(self, topic: str, key: bytes, value: bytes) -> Awaitable[Any]:
        self.sent.append((topic, key, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class PersonalWorld:
    """The router and the feedback worker on one store, a clock the test moves, and reports
    whose name, phone, email, postcode and free text are markers."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.now = NOON
        db = Store(sessions)
        self.sms, self.email = RecordingSender("twilio"), RecordingSender("sendgrid")
        self.replied: list[PublicContact] = []
        rules = DeliveryRules(attempts=3, backoff_base=1.0, backoff_cap=10.0, survey_delay=timedelta(days=3))

        async def publish(_messages: Any) -> None:
            pass

        async def publish_contact(contact: PublicContact) -> None:
            self.replied.append(contact)

        categories = load_categories()
        self.delivery = Delivery(
            store=db, senders={Channel.SMS: self.sms, Channel.EMAIL: self.email}, publish=publish, rules=rules,
            unsubscribe_url=lambda digest: f"https://report.example/v1/unsubscribe/{digest[:8]}",
            clock=lambda: self.now)
        self.handlers = Handlers(delivery=self.delivery, categories=categories)
        self.replies = Replies(store=db, publish_contact=publish_contact, rules=rules)
        self.timers = Timers(delivery=self.delivery, categories=categories)
        self.router = RouteContacts(load_routing_config(), SqlRoutingStore(db), RecordingPublisher(),
                                    clock=lambda: self.now)
        self.markers: list[str] = []
        #: The other ways a marker phone may be written (national, spaced), looked for too.
        self.variants: list[str] = []

    def run(self, coro: Any) -> Any:
        return asyncio.run(coro)

    def mark(self, *texts: str) -> None:
        self.markers.extend(texts)

    def mark_person(self, who: Person) -> None:
        self.mark(who.name, who.email, who.phone)
        self.variants.extend(who.phone_forms[1:])

    def route(self, *contacts: PublicContact | ThirdPartyContact) -> list[RoutedItem]:
        routed = self.run(self.router(list(contacts)))
        self.run(self.handlers.on_routed_batch(routed.items))
        return list(routed.items)

    def text(self, tag: str) -> str:
        """Free text that is a marker (no digits 1-5 or yes/no words: it is never read as a survey answer)."""
        marker = f"Zq{tag}{uuid.uuid4().hex[:10]}"
        self.mark(marker)
        return f"Cars racing past again tonight, {marker} saw it all"

    def public(self, who: Person | None, category: str = "speeding", *, postcode: str | None = None,
               point: tuple[float, float] | None = KEMPSTON_NORTH, tag: str = "") -> PublicContact:
        if who is not None:
            self.mark_person(who)
        if postcode:
            self.mark(postcode)
        place_words = f"by the Qp{tag}{uuid.uuid4().hex[:8]} bus shelter"
        self.mark(place_words)
        return PublicContact(
            reference=new_reference(), received_at=self.now, emitted_at=self.now,
            report=ReportDetails(category=category, description=self.text(tag), location=Location(
                latitude=point[0] if point else None, longitude=point[1] if point else None,
                postcode=postcode, description=place_words)),
            informant=None if who is None else Informant(
                name=who.name, phone=who.phone, email=who.email,
                preferences=ContactPreferences(channel=Channel.SMS, safe_times=f"after six, ask for {who.name}")))

    def third_party(self, reporter: Person, subject: Person, tag: str = "") -> ThirdPartyContact:
        self.mark_person(reporter)
        self.mark_person(subject)
        return ThirdPartyContact(
            reference=new_reference(), received_at=self.now, emitted_at=self.now, organisation_id="bedford-refuge",
            report=ReportDetails(category="anti-social-behaviour", description=self.text(tag),
                                 location=Location(latitude=KEMPSTON_NORTH[0], longitude=KEMPSTON_NORTH[1])),
            reporter=Informant(name=reporter.name, phone=reporter.phone, email=reporter.email),
            subject=Informant(name=subject.name, phone=subject.phone, email=subject.email),
            subject_consents_to_contact=True)

    def update(self, reference: str, kind: UpdateKind, tag: str = "", outcome: Outcome | None = None) -> None:
        said = f"Zw{tag}{uuid.uuid4().hex[:8]}"
        reason = f"Zr{tag}{uuid.uuid4().hex[:8]}" if outcome else None
        self.mark(said, *([reason] if reason else []))
        self.run(self.handlers.on_case_update(CaseUpdate(
            reference=reference, kind=kind, actor_id="kempston-npt", actor_name="Kempston NPT",
            public_text=f"We spoke to the driver ({said})", outcome=outcome, outcome_reason=reason,
            emitted_at=self.now)))

    def reply(self, who: Person, body: str) -> PublicContact:
        """An SMS from ``who``: attached to the report last written to them, and routed."""
        self.run(self.replies.on_inbound(InboundMessage(channel=Channel.SMS, sender=who.phone, body=body,
                                                        emitted_at=self.now)))
        contact = self.replied.pop()
        self.route(contact)
        return contact

    def reply_stop(self, who: Person) -> None:
        self.run(self.replies.on_inbound(InboundMessage(channel=Channel.SMS, sender=who.phone, body="STOP",
                                                        emitted_at=self.now)))

    def tick(self, delta: timedelta) -> None:
        self.now += delta
        self.run(self.timers.send_due())


@dataclass(frozen=True)
class Seeded:
    closed: str
    replies: tuple[str, str]
    redirect: str
    abandoned: str
    third_party: str
    informant: Person
    reporter: Person


def seed(world: PersonalWorld, tag: str = "") -> Seeded:
    """A closed report with an action, a survey answer and a chain of two replies; a
    redirect-only report; an abandoned report; a closed third-party report."""
    jo, ali, sam, kim, lee = (person(tag + t, n) for t, n in (("a", 401), ("b", 402), ("c", 403), ("d", 404),
                                                               ("e", 405)))
    closed = world.public(jo, postcode="MK42 7QX", tag=tag)
    redirect = world.public(ali, "fly-tipping", point=(52.136, -0.467), tag=tag)
    abandoned = world.public(sam, "anti-social-behaviour", tag=tag)
    third = world.third_party(kim, lee, tag=tag)
    world.route(closed, redirect, abandoned, third)
    world.tick(timedelta(hours=1))
    world.update(closed.reference, UpdateKind.ACTION, tag)
    world.update(third.reference, UpdateKind.CLOSURE, tag, Outcome.ACTION_TAKEN)
    world.tick(timedelta(hours=1))
    world.update(closed.reference, UpdateKind.CLOSURE, tag, Outcome.RESOLVED)
    world.tick(timedelta(days=3, hours=1))  # the survey goes
    world.run(world.replies.on_inbound(InboundMessage(channel=Channel.SMS, sender=jo.phone, body="5 Y",
                                                      emitted_at=world.now)))
    world.tick(timedelta(days=10))  # past the survey's reply window: a reply is new information
    first = world.reply(jo, world.text(tag))
    world.tick(timedelta(hours=2))
    second = world.reply(jo, world.text(tag))
    world.tick(timedelta(hours=1))
    assert first.related_reference == closed.reference and second.related_reference == first.reference
    return Seeded(closed.reference, (first.reference, second.reference), redirect.reference, abandoned.reference,
                  third.reference, jo, kim)


def scan(session: Session, markers: list[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, marker) where a marker is found in a text or JSON column of any
    table in the database (reflected, so no table is missed), with every Fernet token decrypted."""
    metadata = MetaData()
    metadata.reflect(session.get_bind())
    found = []
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | JSON) or "JSON" in str(c.type).upper()]
        if not columns:
            continue
        for row in session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                text = value if isinstance(value, str) else json.dumps(value)
                plain = text + " " + " ".join(decrypt(token) for token in TOKEN.findall(text))
                for marker in markers:
                    if marker.lower() in plain.lower():
                        found.append((table.name, column.name, marker))
    return found


def aggregates(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """What the confidence dashboard counts, month by month, from the rows it reads (no text, no
    addresses): the figures the public page shows."""
    with sessions() as s:
        months = dashboard.every_month(s)
        with s.begin():
            # The figures, without the sample of "we did" texts (free text, which retention removes).
            return {month: [replace(f, we_did=[]) for f in dashboard.figures(dashboard.month_rows(s, month))]
                    for month in months}
