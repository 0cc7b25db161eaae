"""Who hears back, on which channel, when, and whether it is safe to write to them. Pure.

Feedback is on by default for every informant who left a contact. Sensitive categories
(domestic abuse, hate, safeguarding) are never messaged unless the person said the channel
is safe, and then only in the times they said are safe. SMS waits out quiet hours (default
21:00-08:00 UK time); email goes any time. A third party's case worker hears on the person's
behalf, and the person reported for only with their consent.

What an outcome means is decided here too: a send's result (``after_send``), a provider's
delivery callback (``after_delivery``), and the keyword or survey answer in a reply
(``keyword``, ``survey_answers``). Provider adapters say what happened in words of no provider;
these functions say what to do about it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from schemas import (
    Channel,
    DeliveryOutcome,
    Informant,
    MessageStatus,
    PublicContact,
    SafeWindow,
    ThirdPartyContact,
    Weekday,
)
from services.feedback.senders.base import (
    AmbiguousSendError,
    Found,
    Lookup,
    NotFound,
    PermanentSendError,
    SendFailure,
    Sent,
    TransientSendError,
)

UK = ZoneInfo("Europe/London")
DAYS = list(Weekday)


@dataclass(frozen=True)
class QuietHours:
    """SMS is not sent between ``start`` and ``end`` (UK local time; may cross midnight)."""

    start: time = time(21, 0)
    end: time = time(8, 0)


@dataclass(frozen=True)
class DeliveryRules:
    attempts: int = 5
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    quiet: QuietHours = field(default_factory=QuietHours)
    survey_delay: timedelta = timedelta(days=3)
    holding_after: timedelta = timedelta(days=7)
    #: How long a worker holds a message it took for sending: a ``sending`` claim older than this
    #: was interrupted (a crash, a freeze) and is looked up at the provider; an ambiguous send is
    #: looked up this long after it began.
    send_lease: timedelta = timedelta(seconds=60)
    #: How long after an ambiguous send a failed look-up is tried again before giving up on it.
    reconcile_for: timedelta = timedelta(hours=1)
    #: How long after a survey a reply still counts as an answer to it.
    survey_reply_window: timedelta = timedelta(days=30)
    #: When (UK time) daily digests go to watch coordinators who asked for them.
    digest_at: time = time(18, 0)
    #: Provider calls in flight at once when a batch of messages is sent.
    send_concurrency: int = 16


@dataclass(frozen=True)
class Recipient:
    role: str
    channel: Channel
    address: str
    #: When it is safe to write (sensitive reports); empty means any time.
    windows: tuple[SafeWindow, ...] = ()
    #: The person's other channel, to fall back on if this one fails for good.
    fallback: Recipient | None = field(default=None, compare=False)
    #: A sensitive report's informant or subject: a message that may have reached them is never
    #: sent again unless the provider confirms it does not have it.
    guarded: bool = False


@dataclass(frozen=True)
class Suppressed:
    role: str
    reason: str


@dataclass(frozen=True)
class Plan:
    recipients: tuple[Recipient, ...]
    suppressed: tuple[Suppressed, ...]


def _address(person: Informant, channel: Channel) -> str | None:
    value = person.phone if channel is Channel.SMS else person.email
    return str(value) if value else None


def _reach(role: str, person: Informant | None, *, sensitive: bool, needs_safety: bool) -> Recipient | Suppressed:
    if person is None:
        return Suppressed(role, "anonymous: no contact details")
    channel = person.channel_to_use()
    if channel is None:
        return Suppressed(role, "no phone or email given")
    guarded = sensitive and needs_safety
    if guarded and not person.preferences.safe_to_contact:
        return Suppressed(role, "sensitive category and the channel was not confirmed safe")
    windows = person.preferences.safe_windows if guarded else ()
    address = _address(person, channel)
    assert address is not None  # Informant validation guarantees the chosen channel has one
    other = Channel.EMAIL if channel is Channel.SMS else Channel.SMS
    other_address = _address(person, other)
    # The informant confirmed one channel safe: a sensitive report never falls back to another.
    fallback = Recipient(role, other, other_address, windows) if other_address and not guarded else None
    return Recipient(role, channel, address, windows, fallback, guarded=guarded)


def plan(contact: PublicContact | ThirdPartyContact, *, sensitive: bool) -> Plan:
    if isinstance(contact, PublicContact):
        outcomes = [_reach("informant", contact.informant, sensitive=sensitive, needs_safety=True)]
    else:
        # The organisation's case worker is a professional contact: no safety check needed.
        outcomes = [_reach("reporter", contact.reporter, sensitive=sensitive, needs_safety=False)]
        if contact.subject is not None:
            outcomes.append(
                _reach("subject", contact.subject, sensitive=sensitive, needs_safety=True)
                if contact.subject_consents_to_contact
                else Suppressed("subject", "no consent to contact the person reported for")
            )
    return Plan(
        tuple(o for o in outcomes if isinstance(o, Recipient)),
        tuple(o for o in outcomes if isinstance(o, Suppressed)),
    )


def message_key(reference: str, trigger: str, role: str, channel: Channel | str) -> str:
    """The idempotency key of one message: report, trigger, recipient and channel."""
    return f"{reference}:{trigger}:{role}:{channel}"


def _allowed_today(day: datetime, channel: Channel, windows: tuple[SafeWindow, ...], quiet: QuietHours
                   ) -> list[tuple[datetime, datetime]]:
    """The local intervals of ``day`` in which a message may be sent."""
    midnight = day.replace(hour=0, minute=0, second=0, microsecond=0)

    def at(t: time) -> datetime:
        return midnight.replace(hour=t.hour, minute=t.minute)

    end_of_day = midnight + timedelta(days=1)
    weekday = DAYS[midnight.weekday()]
    spans = ([(at(w.start), at(w.end)) for w in windows if weekday in w.days] if windows
             else [(midnight, end_of_day)])
    if channel is not Channel.SMS:
        return spans
    if quiet.start > quiet.end:  # crosses midnight: open from end to start
        open_spans = [(at(quiet.end), at(quiet.start))]
    else:
        open_spans = [(midnight, at(quiet.start)), (at(quiet.end), end_of_day)]
    return [(max(a, c), min(b, d)) for a, b in spans for c, d in open_spans if max(a, c) < min(b, d)]


def earliest_send(channel: Channel, at: datetime, *, windows: tuple[SafeWindow, ...] = (),
                  quiet: QuietHours = QuietHours()) -> datetime:
    """The first moment at or after ``at`` when a message on ``channel`` may go out."""
    local = at.astimezone(UK)
    for offset in range(8):
        day = (local + timedelta(days=offset)).replace(tzinfo=None)
        for start, end in sorted(_allowed_today(day, channel, windows, quiet)):
            start_utc = start.replace(tzinfo=UK).astimezone(UTC)
            end_utc = end.replace(tzinfo=UK).astimezone(UTC)
            if end_utc > at:
                return max(at, start_utc)
    return at  # no window in a week: the windows were empty of days; send rather than never


def retry_delay(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Exponential backoff: base·2^(attempt-1), capped, scaled by ``jitter`` in [0.5, 1.5)."""
    return min(cap, base * 2 ** (attempt - 1)) * (0.5 + jitter)


def other_channel(channel: Channel | str) -> Channel:
    return Channel.EMAIL if channel == Channel.SMS else Channel.SMS


# ---- what an outcome means -----------------------------------------------------------------

@dataclass(frozen=True)
class AfterSend:
    """What one send's result means: the message's new status, with the detail to record, the
    delay before the next try (``retrying``), whether the address opted out of the channel, and
    whether to fall back to the person's other channel."""

    status: MessageStatus
    detail: str | None = None
    retry_in: float | None = None
    opted_out: bool = False
    fall_back: bool = False


def after_send(result: Sent | PermanentSendError | TransientSendError | AmbiguousSendError, *, attempts: int,
               rules: DeliveryRules, jitter: float) -> AfterSend:
    """A send's result, after ``attempts`` attempts (this one included). ``jitter`` in [0, 1).
    An ambiguous one (the provider may have it) is no failure: it is looked up at the provider
    once the send's lease has passed (``after_lookup``), and never sent again before."""
    if isinstance(result, Sent):
        return AfterSend(MessageStatus.OUTBOX if result.local else MessageStatus.SENT)
    if isinstance(result, AmbiguousSendError):
        return AfterSend(MessageStatus.AMBIGUOUS, f"{result}; to be looked up at the provider",
                         retry_in=rules.send_lease.total_seconds())
    if isinstance(result, PermanentSendError):
        if result.reason is SendFailure.OPTED_OUT:
            return AfterSend(MessageStatus.OPTED_OUT, str(result), opted_out=True, fall_back=True)
        return AfterSend(MessageStatus.FAILED, str(result), fall_back=True)
    if attempts >= rules.attempts:
        return AfterSend(MessageStatus.FAILED, f"gave up after {attempts} attempts: {result}", fall_back=True)
    delay = retry_delay(attempts, base=rules.backoff_base, cap=rules.backoff_cap, jitter=jitter)
    return AfterSend(MessageStatus.RETRYING, str(result), retry_in=delay)


@dataclass(frozen=True)
class AfterLookup:
    """What a look-up at the provider makes of an ambiguous message: its new status with the
    detail to record, the provider id found, and when to act again (``retrying``: sent again
    then; ``ambiguous``: looked up again then)."""

    status: MessageStatus
    detail: str
    provider_id: str | None = None
    retry_in: float | None = None


def after_lookup(found: Lookup, *, guarded: bool, waited: timedelta, rules: DeliveryRules) -> AfterLookup:
    """An ambiguous message, ``waited`` after its send began, and what the provider said of it.
    There: sent. Confirmed not there: sent again. Unknown: asked again later while that may help
    (within ``reconcile_for``); then, to a guarded recipient never sent again (``unconfirmed``,
    a second copy to someone at risk is the worse mistake), to anyone else sent again (the send's
    lease has passed, so its first worker can no longer settle it). Pure."""
    if isinstance(found, Found):
        return AfterLookup(MessageStatus.SENT, "found at the provider after an ambiguous send", found.provider_id)
    if isinstance(found, NotFound):
        return AfterLookup(MessageStatus.RETRYING, "confirmed not at the provider; sending again", retry_in=0.0)
    if found.retryable and waited < rules.reconcile_for:
        return AfterLookup(MessageStatus.AMBIGUOUS, f"{found.reason}; asking again",
                           retry_in=rules.send_lease.total_seconds())
    if guarded:
        return AfterLookup(MessageStatus.UNCONFIRMED,
                           f"not confirmed at the provider ({found.reason}); never sent again to a guarded recipient")
    return AfterLookup(MessageStatus.RETRYING,
                       f"not confirmed at the provider ({found.reason}); sending again after the lease "
                       "(recipient not guarded)", retry_in=0.0)


#: What a delivery callback's outcome makes of the message; absent: nothing to record.
_DELIVERY_STATUS = {
    DeliveryOutcome.DELIVERED: MessageStatus.DELIVERED,
    DeliveryOutcome.UNDELIVERED: MessageStatus.UNDELIVERED,
    DeliveryOutcome.BOUNCED: MessageStatus.BOUNCED,
}


@dataclass(frozen=True)
class AfterDelivery:
    """What a provider's delivery callback means: the message's new status (None: unchanged),
    whether the address opted out, and whether to fall back to the other channel."""

    status: MessageStatus | None
    opted_out: bool = False
    fall_back: bool = False


def after_delivery(outcome: DeliveryOutcome, *, opted_out: bool) -> AfterDelivery:
    status = _DELIVERY_STATUS.get(outcome)
    return AfterDelivery(status, opted_out, fall_back=status in (MessageStatus.UNDELIVERED, MessageStatus.BOUNCED))


# ---- what a reply means --------------------------------------------------------------------

class Keyword(StrEnum):
    STOP = "stop"
    START = "start"


STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT"})
START_WORDS = frozenset({"START", "UNSTOP", "OPTIN"})


def keyword(body: str, opt_out_type: str | None = None) -> tuple[Keyword | None, str]:
    """A reply's keyword (STOP and the like, or START and the like; None for anything else)
    and the word as written, upper case. ``opt_out_type`` is the provider's own reading."""
    words = body.strip().upper().split()
    word = (opt_out_type or (words[0] if words else "")).upper()
    if word in STOP_WORDS:
        return Keyword.STOP, word
    if word in START_WORDS:
        return Keyword.START, word
    return None, word


_RATING = re.compile(r"\b([1-5])\b")
_YES_NO = re.compile(r"\b(Y|YES|N|NO)\b", re.IGNORECASE)


def survey_answers(body: str) -> dict[str, str]:
    """Read "4 Y", "5", "no" and the like into the two survey questions."""
    answers = {}
    if rating := _RATING.search(body):
        answers["satisfaction"] = rating.group(1)
    if yes_no := _YES_NO.search(body):
        answers["kept_informed"] = "Y" if yes_no.group(1).upper().startswith("Y") else "N"
    return answers


def is_survey_answer(survey_sent_at: datetime, replied_at: datetime, rules: DeliveryRules) -> bool:
    """A reply still answers a survey sent this long before."""
    return replied_at - survey_sent_at <= rules.survey_reply_window
