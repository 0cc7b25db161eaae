"""Pydantic v2 models for every event on every topic.

Every event carries ``event_id`` (unique, the key that makes redelivery harmless),
``schema_version`` and ``emitted_at``. Models are strict about unknown fields so that a
producer that drifts from the contract is caught, not silently half-read.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Annotated, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

#: A report reference as informants see it, e.g. ``MECC-7K3Q-9XJD``.
REFERENCE_PATTERN = r"^MECC-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _e164(value: str) -> str:
    """Normalise a phone number to E.164, reading national numbers as UK ones."""
    try:
        parsed = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number") from exc
    # Ofcom's drama ranges (07700 900xxx) are "possible" but not "valid"; accept them so
    # trials and tests never need a real person's number.
    if not (phonenumbers.is_valid_number(parsed) or _is_uk_drama_number(parsed)):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _is_uk_drama_number(parsed: phonenumbers.PhoneNumber) -> bool:
    national = str(parsed.national_number)
    return parsed.country_code == 44 and national.startswith("7700900") and len(national) == 10


PhoneNumber = Annotated[str, Field(max_length=32), AfterValidator(_e164)]
Reference = Annotated[str, Field(pattern=REFERENCE_PATTERN)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
FreeText = Annotated[str, Field(min_length=1, max_length=5000)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


#: What a category id looks like; the routing config refuses a category that does not match.
CATEGORY_ID_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"
#: A category id from the routing configuration's taxonomy (``config/routing/categories.yaml``);
#: the intake checks it against that file, the router sends ids it does not know to the fallback.
CategoryId = Annotated[str, Field(pattern=CATEGORY_ID_PATTERN)]


class Location(Model):
    """Where it happened: a point, a postcode, or words; at least one of them."""

    latitude: float | None = Field(default=None, ge=49.8, le=60.9)
    longitude: float | None = Field(default=None, ge=-8.7, le=1.8)
    postcode: str | None = Field(
        default=None, max_length=10, pattern=r"^[A-Za-z]{1,2}[0-9][0-9A-Za-z]?\s*[0-9][A-Za-z]{2}$"
    )
    description: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _some_place(self) -> Location:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        if self.latitude is None and not self.postcode and not self.description:
            raise ValueError("give a point, a postcode or a description of the place")
        return self


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class SafeWindow(Model):
    """A time it is safe to contact someone, in UK local time (e.g. weekdays 09:00-15:00)."""

    days: tuple[Weekday, ...] = tuple(Weekday)
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> SafeWindow:
        if self.start >= self.end:
            raise ValueError("start must be before end (split a window that crosses midnight in two)")
        if not self.days:
            raise ValueError("give at least one day")
        return self


class ContactPreferences(Model):
    """How, and whether, the informant wants to hear back. Feedback is on by default."""

    channel: Channel | None = None
    #: For sensitive categories: the informant confirmed this channel is safe to use.
    safe_to_contact: bool = False
    #: For sensitive categories: when it is safe, in words the team can read (e.g. "weekdays 9-3").
    safe_times: str | None = Field(default=None, max_length=200)
    #: For sensitive categories: when messages may be sent; none means any time it is safe.
    safe_windows: tuple[SafeWindow, ...] = Field(default=(), max_length=14)
    #: Put a link to follow the report online in messages. Unset: yes for an ordinary report,
    #: no for a sensitive one (a link someone else sees tells them a report was made).
    track_link: bool | None = None


class Informant(Model):
    """Who passed the information on. Police-only: never shown to watch coordinators."""

    name: str | None = Field(default=None, max_length=200)
    phone: PhoneNumber | None = None
    email: EmailStr | None = None
    preferences: ContactPreferences = ContactPreferences()

    @model_validator(mode="after")
    def _channel_has_address(self) -> Informant:
        channel = self.preferences.channel
        if channel is Channel.SMS and not self.phone:
            raise ValueError("phone is required to hear back by SMS")
        if channel is Channel.EMAIL and not self.email:
            raise ValueError("email is required to hear back by email")
        return self

    def channel_to_use(self) -> Channel | None:
        """The channel feedback goes to: the one chosen, else whichever address was given."""
        if self.preferences.channel is not None:
            return self.preferences.channel
        if self.phone:
            return Channel.SMS
        if self.email:
            return Channel.EMAIL
        return None


class ReportDetails(Model):
    category: CategoryId
    description: FreeText
    location: Location
    happened_at: datetime | None = None

    @field_validator("happened_at")
    @classmethod
    def _not_in_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and (value if value.tzinfo else value.replace(tzinfo=UTC)) > utcnow():
            raise ValueError("happened_at is in the future")
        return value


class Event(Model):
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    #: Bumped on a breaking change; a consumer dead-letters versions it does not know.
    schema_version: Literal[1] = 1
    emitted_at: datetime = Field(default_factory=utcnow)


class PublicContact(Event):
    """Topic ``contacts.public``: a member of the public passed something on."""

    kind: Literal["public"] = "public"
    reference: Reference
    received_at: datetime = Field(default_factory=utcnow)
    report: ReportDetails
    #: None for an anonymous report (which cannot be sent updates).
    informant: Informant | None = None
    #: Set when this contact is a reply to one of our messages about an earlier report.
    related_reference: Reference | None = None


class ThirdPartyContact(Event):
    """Topic ``contacts.third-party``: an organisation reports on someone's behalf."""

    kind: Literal["third_party"] = "third_party"
    reference: Reference
    received_at: datetime = Field(default_factory=utcnow)
    report: ReportDetails
    organisation_id: ShortText
    #: The organisation's case worker who gets feedback on the person's behalf.
    reporter: Informant
    #: The person reported for; contacted only with their consent.
    subject: Informant | None = None
    subject_consents_to_contact: bool = False


#: Either kind of contact, told apart by ``kind``: ``CONTACT.validate_json(raw)``.
CONTACT: TypeAdapter[PublicContact | ThirdPartyContact] = TypeAdapter(
    Annotated[PublicContact | ThirdPartyContact, Field(discriminator="kind")]
)


class DestinationKind(StrEnum):
    TEAM = "team"
    WATCH = "watch"
    REDIRECT = "redirect"


class Destination(Model):
    kind: DestinationKind
    id: ShortText
    name: ShortText
    #: For a redirect: what the informant is told about who handles it and how.
    public_message: str | None = Field(default=None, max_length=1000)


class AreaType(StrEnum):
    FORCE = "force"
    SECTOR = "sector"
    NEIGHBOURHOOD = "neighbourhood"
    WARD = "ward"
    PARISH = "parish"


class AreaRef(Model):
    """An area a report was placed in (from ``config/routing/areas.geojson``)."""

    id: ShortText
    name: ShortText
    type: AreaType


class Flag(StrEnum):
    #: The text suggests someone is in danger now: the force control room has it.
    DANGER = "danger"


class ClusterRef(Model):
    """Reports of the same thing close in place and time, linked so a team sees the pattern."""

    id: uuid.UUID
    #: How many reports of the cluster had been received up to and including this one.
    reports: int = Field(ge=1)
    first_received_at: datetime
    #: The street, postcode sector or area the cluster is about, e.g. "Bedford Road".
    label: ShortText
    #: e.g. "9 reports of speeding near Bedford Road since 3 Nov".
    summary: ShortText


#: Why a routed report is sensitive: the category the informant chose is, or its words suggest a
#: sensitive matter (domestic abuse described under "anti-social behaviour").
SensitiveReason = Literal["category", "content"]


class RoutedItem(Event):
    """Topic ``reports.routed``: a report with the routing decision and its reasons.

    Police-internal: it carries the full contact. What watch coordinators see is a
    ``WatchItem``, redacted.
    """

    reference: Reference
    contact: PublicContact | ThirdPartyContact = Field(discriminator="kind")
    destinations: tuple[Destination, ...] = Field(min_length=1)
    reasons: tuple[str, ...] = ()
    #: Never to a watch, never messaged unless the informant said the channel is safe.
    sensitive: bool = False
    #: None on events from before it was recorded (their sensitivity came from the category).
    sensitive_reason: SensitiveReason | None = None
    rules_version: str = ""
    #: Every area the report is in, outermost first (force, sector, neighbourhood...).
    areas: tuple[AreaRef, ...] = ()
    flags: tuple[Flag, ...] = ()
    #: Added to what the informant is told, e.g. to call 999 when someone may be in danger now.
    informant_notice: str | None = Field(default=None, max_length=500)
    cluster: ClusterRef | None = None


class WatchDelivery(StrEnum):
    """How a watch's coordinators want items: each as it comes, once a day, or only in the API."""

    PER_ITEM = "per_item"
    DAILY_DIGEST = "daily_digest"
    INBOX_ONLY = "inbox_only"


class WatchLocation(Model):
    """Where, coarsened: a street or a postcode sector and the area, never a point or address."""

    street: str | None = Field(default=None, max_length=200)
    postcode_sector: str | None = Field(default=None, max_length=8)
    area: str | None = Field(default=None, max_length=200)


class WatchItem(Event):
    """Topic ``watch.items`` (keyed by watch id): what one watch scheme's coordinators receive.

    Redacted: no informant identity or contact, the place coarsened to a street or postcode
    sector, and phone numbers, emails and names scrubbed from the text. Sensitive categories
    never produce one.
    """

    reference: Reference
    watch_id: ShortText
    watch_name: ShortText
    delivery: WatchDelivery
    #: Ids of the coordinators to tell (their contact details live in the routing config).
    coordinator_ids: tuple[ShortText, ...] = ()
    category: CategoryId
    category_label: ShortText
    description: str = Field(max_length=5000)
    location: WatchLocation
    happened_at: datetime | None = None
    received_at: datetime
    #: What was taken out or coarsened, by kind (e.g. "informant", "phone", "name").
    redactions: tuple[str, ...] = ()
    cluster: ClusterRef | None = None
    rules_version: str = ""


class UpdateKind(StrEnum):
    ACTION = "action"
    CLOSURE = "closure"


class Outcome(StrEnum):
    RESOLVED = "resolved"
    ACTION_TAKEN = "action_taken"
    PASSED_TO_PARTNER = "passed_to_partner"
    NO_FURTHER_ACTION = "no_further_action"


#: Who recorded a case update: a police team, or a watch scheme's volunteers.
ActorKind = Literal["team", "watch"]


class CaseUpdate(Event):
    """Topic ``cases.updates``: a team or coordinator recorded what they did ("we did").

    ``public_text`` is written for the informant and only ever shown to them and the police;
    ``watch_note`` is what the police wrote for the watches the report went to, the only words of
    the police a watch reads."""

    reference: Reference
    kind: UpdateKind = UpdateKind.ACTION
    actor_id: ShortText
    #: The team or watch as the informant will read it, e.g. "Kempston neighbourhood team".
    actor_name: ShortText
    public_text: FreeText
    outcome: Outcome | None = None
    #: Why, when the outcome is no further action; never a bare "closed".
    outcome_reason: str | None = Field(default=None, max_length=1000)
    #: A police team or a watch; None on events from before it was recorded (read as a team).
    actor_kind: ActorKind | None = None
    #: For the watches the report went to (never sent to the informant); optional.
    watch_note: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _closure_is_honest(self) -> CaseUpdate:
        if self.kind is UpdateKind.CLOSURE and self.outcome is None:
            raise ValueError("a closure needs an outcome")
        if self.outcome is Outcome.NO_FURTHER_ACTION and not self.outcome_reason:
            raise ValueError("no further action needs a reason the informant can read")
        return self


class MessageStatus(StrEnum):
    """Where one message to one person stands: the store's ``messages.status``, and the
    ``status`` of a ``FeedbackMessage`` event. The groups below are the only lists of them."""

    #: Claimed, to go at its due time (quiet hours, a safe window, the survey delay).
    SCHEDULED = "scheduled"
    #: Failed for a passing reason; to be tried again at its due time.
    RETRYING = "retrying"
    #: Taken by a worker; the provider call is under way.
    SENDING = "sending"
    #: A copy on the person's other channel, sent only if the first fails for good.
    STANDBY = "standby"
    #: Handed to the provider.
    SENT = "sent"
    #: Written to the local outbox (a run without provider credentials).
    OUTBOX = "outbox"
    #: The provider reported it delivered.
    DELIVERED = "delivered"
    #: The provider reported an SMS that never arrived.
    UNDELIVERED = "undelivered"
    #: The provider reported an email that bounced or was dropped.
    BOUNCED = "bounced"
    #: The provider refused it for good, or retries were given up.
    FAILED = "failed"
    #: Not sent: the address opted out of the channel.
    OPTED_OUT = "opted_out"
    #: Not sent on purpose (no contact details, a sensitive report not confirmed safe).
    SUPPRESSED = "suppressed"
    #: The provider may or may not have it (no answer to a send, or its worker stopped or froze
    #: mid-send): at its due time the provider is asked, and only a confirmed "not there" is sent again.
    AMBIGUOUS = "ambiguous"
    #: The provider may or may not have it and could not say (a guarded recipient, or the look-up
    #: gave nothing): never sent again; the reason is in ``detail``.
    UNCONFIRMED = "unconfirmed"


#: States a message may be taken for sending from (when due).
SENDABLE_STATUSES = frozenset({MessageStatus.SCHEDULED, MessageStatus.RETRYING})
#: Still to go: sendable, being sent, or to be looked up at the provider.
OPEN_STATUSES = SENDABLE_STATUSES | {MessageStatus.SENDING, MessageStatus.AMBIGUOUS}
#: Settled: nothing more will be attempted.
SETTLED_STATUSES = frozenset({
    MessageStatus.SENT, MessageStatus.OUTBOX, MessageStatus.FAILED, MessageStatus.SUPPRESSED,
    MessageStatus.OPTED_OUT, MessageStatus.UNCONFIRMED, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED,
    MessageStatus.BOUNCED,
})
#: Handed to a provider (or the local outbox): the person was sent it, as far as we know.
SENT_STATUSES = frozenset({MessageStatus.SENT, MessageStatus.OUTBOX, MessageStatus.DELIVERED})
#: Gave up on this channel: the provider refused it, or said it never arrived.
FAILED_STATUSES = frozenset({MessageStatus.FAILED, MessageStatus.UNDELIVERED, MessageStatus.BOUNCED})
#: Reached (or was handed to) a provider: counts as having written to the person.
WRITTEN_STATUSES = SENT_STATUSES | FAILED_STATUSES | {MessageStatus.UNCONFIRMED, MessageStatus.AMBIGUOUS}
#: The outcomes of a send published on ``feedback.messages``.
PUBLISHED_STATUSES = frozenset({MessageStatus.SENT, MessageStatus.OUTBOX, MessageStatus.FAILED,
                                MessageStatus.OPTED_OUT})


def _published(status: MessageStatus) -> MessageStatus:
    if status not in PUBLISHED_STATUSES:
        raise ValueError(f"a published message status is one of {sorted(PUBLISHED_STATUSES)}")
    return status


class FeedbackMessage(Event):
    """Topic ``feedback.messages``: one message to one informant and where it stands."""

    message_key: ShortText
    #: The report's reference, or a digest's id for a coordinator's daily digest.
    reference: ShortText
    trigger: ShortText
    channel: Channel
    status: Annotated[MessageStatus, AfterValidator(_published)]
    provider_id: str | None = None
    detail: str | None = Field(default=None, max_length=500)


class DeliveryOutcome(StrEnum):
    """What a provider's callback says became of a message, in words of no provider."""

    #: Still on its way (queued, sent to the carrier, processed, opened ...): nothing to record.
    PENDING = "pending"
    DELIVERED = "delivered"
    #: An SMS that never arrived (unreachable number, carrier refused it).
    UNDELIVERED = "undelivered"
    #: An email that bounced, or that the provider dropped or was blocked.
    BOUNCED = "bounced"


class DeliveryStatus(Event):
    """Topic ``feedback.delivery-status``: a provider's word on a message it was handed,
    translated by the webhook that received it. Version 2: ``outcome`` and ``opted_out``
    replace the provider's own ``status`` (version 1, still read by the worker)."""

    schema_version: Literal[2] = 2  # type: ignore[assignment]  # this event's contract moved on
    provider: Literal["twilio", "sendgrid"]
    provider_id: ShortText
    outcome: DeliveryOutcome
    #: The recipient told the provider to stop sending to this address.
    opted_out: bool = False
    #: The provider's own status and error code, kept for the record only.
    provider_status: ShortText
    error_code: str | None = None
    #: When the provider says it happened (SendGrid's ``timestamp``); None when it does not say
    #: (Twilio): then the time it was received. Opt-outs follow this time, not ``emitted_at``.
    occurred_at: datetime | None = None


class DeliveryStatusV1(Event):
    """Version 1 of ``DeliveryStatus``: the provider's own status, untranslated. Only read."""

    provider: Literal["twilio", "sendgrid"]
    provider_id: ShortText
    status: ShortText
    error_code: str | None = None


class InboundMessage(Event):
    """Topic ``feedback.inbound``: a reply by SMS or email to one of our messages."""

    channel: Channel
    #: The sender's phone number (E.164) or email address.
    sender: str = Field(min_length=3, max_length=320)
    body: str = Field(default="", max_length=10000)
    provider_id: str | None = Field(default=None, max_length=100)
    #: Twilio's Advanced Opt-Out signal, when the provider already recognised a keyword.
    opt_out_type: str | None = Field(default=None, max_length=20)
    #: When the provider says it was sent; None when it does not say (Twilio's inbound webhook
    #: carries no time). A replay is known by ``event_id``, derived from ``provider_id``.
    occurred_at: datetime | None = None
    #: The sender is who we wrote to: for email, a valid per-message reply token and SPF and DKIM
    #: passing. False makes it a new, unattached contact (no opt-out, no survey answer, not a reply).
    #: True for SMS (the carrier vouches for the number) and on events from before it was recorded.
    authenticated: bool = True


class PreferenceChange(Event):
    """Topic ``feedback.preferences``: someone opted out of, or back into, a channel."""

    channel: Channel
    #: SHA-256 of the normalised address: the store keeps opt-outs without the address itself.
    address_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    opted_out: bool
    #: What caused it, for the record: "sms STOP", "email unsubscribe link", "twilio ..." ...
    source: ShortText


class DeadLetter(Event):
    """Topics ``*.dead-letters``: a message a service could not process, kept with its reason."""

    service: ShortText
    source_topic: ShortText
    partition: int
    offset: int
    reason: str = Field(max_length=2000)
    #: The original bytes, base64, so the message can be replayed after a fix.
    original_b64: str
    failed_at: datetime = Field(default_factory=utcnow)


_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def _reference(number: int) -> str:
    chars = []
    for _ in range(8):
        number, i = divmod(number, 32)
        chars.append(_ALPHABET[i])
    return f"MECC-{''.join(chars[:4])}-{''.join(chars[4:])}"


def new_reference() -> str:
    """A short random reference an informant can read out on the phone."""
    return _reference(uuid.uuid4().int)


def reference_from_key(key: str, attempt: int = 0) -> str:
    """A stable reference derived from a client's (caller-scoped) idempotency key, so a retried
    request produces the same report and never a second one. ``attempt`` draws the next one when
    the first is taken by another report (references are claimed: ``services.store.claims``)."""
    salt = f":{attempt}" if attempt else ""
    return _reference(uuid.uuid5(uuid.NAMESPACE_URL, f"mecc:idempotency:{key}{salt}").int)
