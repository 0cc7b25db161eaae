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


def wants_track_link(contact: PublicContact | ThirdPartyContact, *, sensitive: bool) -> bool:
    """Whether messages about a report carry the link to follow it online: as each person
    written to chose, and when they did not say, yes for an ordinary report and no for a
    sensitive one (a link someone else sees tells them a report was made)."""
    if isinstance(contact, PublicContact):
        people = [contact.informant]
    else:
        people = [contact.reporter, contact.subject if contact.subject_consents_to_contact else None]
    choices = [p.preferences.track_link for p in people if p is not None]
    if sensitive:
        return bool(choices) and all(choice is True for choice in choices)
    return all(choice is not False for choice in choices)


def message_key(reference: str, trigger: str, role: str, channel: Channel | str) -> str:
    """The idempotency key of one message: report, trigger, recipient and channel."""
    return f"{reference}:{trigger}:{role}:{channel}"


def _quiet_now(t: time, quiet: QuietHours) -> bool:
    """Whether the UK wall-clock time ``t`` is inside SMS quiet hours (equal ends: none)."""
    if quiet.start == quiet.end:
        return False
    if quiet.start > quiet.end:  # crosses midnight
        return t >= quiet.start or t < quiet.end
    return quiet.start <= t < quiet.end


def is_open(channel: Channel | str, at: datetime, windows: tuple[SafeWindow, ...] = (),
            quiet: QuietHours = QuietHours()) -> bool:
    """Whether a message on ``channel`` may go out at the moment ``at``: inside one of the
    person's safe windows (when they gave any; UK wall-clock time and weekday) and, for SMS,
    outside quiet hours. The one test every send-time decision goes through."""
    local = at.astimezone(UK)
    clock = local.time().replace(tzinfo=None)
    if windows:
        day = DAYS[local.weekday()]
        if not any(day in w.days and w.start <= clock < w.end for w in windows):
            return False
    return not (channel == Channel.SMS and _quiet_now(clock, quiet))


def earliest_send(channel: Channel | str, at: datetime, *, windows: tuple[SafeWindow, ...] = (),
                  quiet: QuietHours = QuietHours()) -> datetime | None:
    """The first moment at or after ``at`` when a message on ``channel`` may go out; None when
    no moment in the coming week is open (the windows lie wholly inside quiet hours, or name no
    day). Never "send anyway": a message with no open moment is not sent."""
    if is_open(channel, at, windows, quiet):
        return at
    # What is shut opens only where a window starts, quiet hours end or a day begins.
    starts = sorted({w.start for w in windows} | {quiet.end, time(0, 0)})
    local = at.astimezone(UK)
    for offset in range(9):
        day = (local + timedelta(days=offset)).date()
        for start in starts:
            candidate = datetime.combine(day, start, tzinfo=UK).astimezone(UTC)
            if candidate > at and is_open(channel, candidate, windows, quiet):
                return candidate
    return None


def window_problem(windows: tuple[SafeWindow, ...], channel: Channel | str | None,
                   quiet: QuietHours = QuietHours()) -> str | None:
    """Why a set of safe windows could never open on ``channel``, in words a person can act on;
    None if it opens at some time in a week (or no windows were given: any time). Shared by the
    intake, which refuses such a set, and the worker, which never sends outside one."""
    if not windows:
        return None
    monday = datetime(2026, 1, 5, tzinfo=UK)  # any week: windows are wall-clock and weekday
    if earliest_send(channel or Channel.EMAIL, monday.astimezone(UTC), windows=windows, quiet=quiet) is not None:
        return None
    if channel == Channel.SMS:
        return (f"The times you gave are all inside the hours we do not send text messages "
                f"({quiet.start:%H:%M} to {quiet.end:%H:%M}). Give a time between {quiet.end:%H:%M} "
                f"and {quiet.start:%H:%M}, or choose email")
    return "The times you gave never open. Give at least one day and a time when it is safe"


def windows_for(contact: PublicContact | ThirdPartyContact, role: str, *, sensitive: bool
                ) -> tuple[SafeWindow, ...] | Suppressed:
    """The safe windows a message to ``role`` about this contact may go in (empty: any time),
    re-derived from the contact as stored; ``Suppressed`` when that person must not be written
    to at all. Read again when a message is taken for sending."""
    found = plan(contact, sensitive=sensitive)
    for recipient in found.recipients:
        if recipient.role == role:
            return recipient.windows
    for skipped in found.suppressed:
        if skipped.role == role:
            return skipped
    return ()


#: Why a guarded message is not sent when its safe windows can never open.
NO_SAFE_TIME = "no safe time to contact: the safe windows never open on this channel"


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
    (within ``reconcile_for``); then never sent again (``unconfirmed``) from a provider that can be
    asked (Twilio): only its confirmed "not there" sends a second copy. From a provider that offers
    no look-up (SendGrid), an answer will never come: to a guarded recipient never sent again (a
    second copy to someone at risk is the worse mistake), to anyone else sent again (the send's
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
    if not found.no_look_up:
        return AfterLookup(MessageStatus.UNCONFIRMED,
                           f"not confirmed at the provider ({found.reason}); never sent again without its "
                           "confirming it has not got it")
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


#: A reply that is only an answer: a rating, a yes or no, or both ("4", "4 Y", "no", "5 yes").
#: A courtesy word after it ("3, yes thanks") is still just an answer.
_ANSWER = re.compile(r"^\s*(?:([1-5])(?:\s*[,./-]?\s*|$))?(?:(y|yes|n|no)\b)?\s*[,.!]?"
                     r"\s*(?:thanks|thank you|thx|cheers|ta)?\s*[.!]?\s*$", re.IGNORECASE)


def survey_answers(body: str) -> dict[str, str]:
    """Read a reply that is just an answer ("4 Y", "5", "no", "5 yes") into the two survey
    questions. Anything more is not an answer: "No. He came back tonight with a knife" is new
    information, to be routed and read for danger, never a rating."""
    found = _ANSWER.match(body)
    if found is None:
        return {}
    rating, yes_no = found.groups()
    answers = {}
    if rating:
        answers["satisfaction"] = rating
    if yes_no:
        answers["kept_informed"] = "Y" if yes_no.upper().startswith("Y") else "N"
    return answers


#: Where the quoted message or the signature begins in an email reply.
_QUOTE_STARTS = (
    re.compile(r"^\s*On\b.*\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{5,}\s*$"),
    re.compile(r"^\s*From:\s.*$", re.IGNORECASE),
    re.compile(r"^-- ?$"),
    re.compile(r"^\s*Sent from my \w+", re.IGNORECASE),
    re.compile(r"^\s*Get Outlook for \w+", re.IGNORECASE),
)


def reply_text(body: str, channel: Channel | str) -> str:
    """What someone wrote in a reply, without what they quoted: for email, lines starting with
    ">", an "On ... wrote:" block (on one line or two) and what follows, an original-message or
    "From:" header block, and a signature ("-- ", "Sent from my ..."). SMS is read as it is."""
    if channel != Channel.EMAIL:
        return body.strip()
    lines = body.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        two = f"{line} {lines[i + 1]}" if i + 1 < len(lines) else line
        if any(p.match(line) for p in _QUOTE_STARTS) or (
                line.strip().startswith("On ") and _QUOTE_STARTS[0].match(two)):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    return "\n".join(kept).strip()


def is_survey_answer(survey_sent_at: datetime, replied_at: datetime, rules: DeliveryRules) -> bool:
    """A reply still answers a survey sent this long before."""
    return replied_at - survey_sent_at <= rules.survey_reply_window
