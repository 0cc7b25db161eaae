"""What the pages show, built from form fields and store rows. Pure: no I/O, no framework.

The public form is read into the same ``PublicReportRequest`` the JSON API takes, so the
checks are the model's; this module only says which form field an error belongs to, in words
a person can act on (GOV.UK Design System style: "Enter ...", "Choose ...").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from schemas import CaseUpdate, Channel, MessageStatus, Outcome, UpdateKind, Weekday
from schemas.events import FAILED_STATUSES, SENDABLE_STATUSES, SENT_STATUSES, ActorKind
from services.common.config_files import Categories
from services.feedback import templates
from services.feedback.policy import QuietHours, earliest_send
from services.intake.reports import ActionRequest, PublicReportRequest, ThirdPartyReportRequest

UK = ZoneInfo("Europe/London")

#: Form fields in page order: the error summary lists errors in this order.
REPORT_FIELDS = ("category", "description", "postcode", "where", "latitude", "when", "contact", "phone",
                 "email", "safe", "safe_window", "safe_times", "name")

CONTACT_CHOICES = ("sms", "email", "anonymous")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class FormState:
    """What the person typed (kept on an error) and what was wrong with it."""

    values: dict[str, str] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)

    def error(self, name: str) -> str | None:
        return next((e.message for e in self.errors if e.field == name), None)

    def add(self, name: str, message: str) -> None:
        if self.error(name) is None:
            self.errors.append(FieldError(name, message))

    def ordered(self, order: Sequence[str]) -> None:
        rank = {name: i for i, name in enumerate(order)}
        self.errors.sort(key=lambda e: rank.get(e.field, len(rank)))


def _text(form: Mapping[str, str], name: str) -> str:
    return (form.get(name) or "").strip()


def _when(state: FormState) -> datetime | None:
    """The date (and optional time) it happened, UK local time, as UTC; None if left blank."""
    day, month, year, at = (_text(state.values, n) for n in ("when_day", "when_month", "when_year", "when_time"))
    if not (day or month or year or at):
        return None
    if not (day and month and year):
        state.add("when", "Enter the date it happened, with a day, month and year, or leave it blank")
        return None
    try:
        on = date(int(year), int(month), int(day))
        clock = time.fromisoformat(at.replace(".", ":")) if at else time(12, 0)
    except (ValueError, OverflowError):
        state.add("when", "Enter a real date, for example 27 3 2026, and a time like 21:30")
        return None
    return datetime.combine(on, clock, tzinfo=UK).astimezone(UTC)


def _point(state: FormState) -> tuple[float | None, float | None]:
    lat, lon = _text(state.values, "latitude"), _text(state.values, "longitude")
    if not lat and not lon:
        return None, None
    try:
        return float(lat), float(lon)
    except ValueError:
        state.add("latitude", "Enter the point as two numbers, latitude and longitude, for example 52.12 and -0.49")
        return None, None


#: (field the model names, error type or message fragment) → (form field, message). First match wins.
_MESSAGES: tuple[tuple[str, str, str, str], ...] = (
    ("category", "", "category", "Choose what your report is about"),
    ("description", "too_long", "description", "What happened must be 5,000 characters or fewer"),
    ("description", "", "description", "Tell us what happened"),
    ("location.postcode", "", "postcode", "Enter a real postcode, like MK42 8AA"),
    ("location.description", "", "where", "Describing where must be 500 characters or fewer"),
    ("location.latitude", "", "latitude", "Enter a point in the UK: latitude 49.8 to 60.9, longitude -8.7 to 1.8"),
    ("location.longitude", "", "latitude", "Enter a point in the UK: latitude 49.8 to 60.9, longitude -8.7 to 1.8"),
    ("location", "latitude and longitude", "latitude", "Enter both the latitude and the longitude"),
    ("location", "", "postcode", "Enter a postcode or describe where it happened"),
    ("happened_at", "future", "when", "The date it happened must be today or in the past"),
    ("happened_at", "1900", "when", "The date it happened must be in 1900 or later"),
    ("informant.phone", "", "phone", "Enter a UK mobile number, like 07700 900123"),
    ("informant.email", "", "email", "Enter an email address in the correct format, like name@example.com"),
    ("informant.name", "", "name", "Your name must be 200 characters or fewer"),
    ("informant.preferences.safe_times", "", "safe_times", "Safe times must be 200 characters or fewer"),
    ("informant.preferences.safe_windows", "", "safe_window",
     "Enter the days and the times when it is safe, with the start before the end"),
    ("informant", "phone is required", "phone", "Enter a mobile number so we can text you updates"),
    ("informant", "email is required", "email", "Enter an email address so we can email you updates"),
)


def _form_field(loc: tuple[Any, ...], err_type: str, message: str) -> tuple[str, str]:
    dotted = ".".join(str(p) for p in loc)
    for model_field, fragment, form_field, words in _MESSAGES:
        place = dotted == model_field or (model_field and dotted.startswith(model_field + ".")) or (
            not model_field and fragment)
        if place and (not fragment or fragment in err_type or fragment in message):
            return form_field, words
    return "description", "Check what you entered"


def errors_from_validation(exc: ValidationError, state: FormState) -> None:
    for err in exc.errors():
        name, words = _form_field(tuple(err.get("loc", ())), str(err.get("type", "")), str(err.get("msg", "")))
        state.add(name, words)


#: The day checkboxes of a safe-time question, in order: (form suffix, label).
SAFE_DAYS = tuple((d.value, d.name.title()) for d in Weekday)


def _safe_window(state: FormState, prefix: str) -> list[dict[str, Any]]:
    """The safe time a form gives (days ticked, a from and a to time, UK time) as the API's
    ``safe_windows``; none if left blank (any time), with errors added to ``{prefix}_window``."""
    days = [day for day, _ in SAFE_DAYS if _text(state.values, f"{prefix}_day_{day}")]
    start, end = _text(state.values, f"{prefix}_from"), _text(state.values, f"{prefix}_to")
    if not (days or start or end):
        return []
    name = f"{prefix}_window"
    if not days:
        state.add(name, "Choose the days when it is safe to contact you")
    if not (start and end):
        state.add(name, "Enter the time it becomes safe and the time it stops being safe, like 09:00 and 15:00")
        return []
    try:
        opens, shuts = (time.fromisoformat(t.replace(".", ":").zfill(5)) for t in (start, end))
    except ValueError:
        state.add(name, "Enter times in the 24-hour clock, like 09:00 and 15:00")
        return []
    if opens >= shuts:
        state.add(name, "The time it stops being safe must be after the time it becomes safe, on the same day")
        return []
    return [{"days": days, "start": opens, "end": shuts}] if days else []


def read_report_form(form: Mapping[str, str], categories: Categories) -> tuple[PublicReportRequest | None, FormState]:
    """The form as the API's request model, or the errors to show next to each field."""
    state = FormState(values={k: v for k, v in form.items() if isinstance(v, str)})
    category = _text(form, "category")
    if category not in categories.categories:
        state.add("category", "Choose what your report is about")
    contact = _text(form, "contact")
    if contact not in CONTACT_CHOICES:
        state.add("contact", "Choose how you want to hear back, or to report anonymously")
    happened_at = _when(state)
    latitude, longitude = _point(state)
    location: dict[str, Any] = {
        "postcode": _text(form, "postcode") or None,
        "description": _text(form, "where") or None,
        "latitude": latitude,
        "longitude": longitude,
    }
    body: dict[str, Any] = {
        "category": category or "other",
        "description": _text(form, "description"),
        "location": location,
        "happened_at": happened_at,
    }
    if contact in ("sms", "email"):
        sensitive = categories.is_sensitive(category)
        safe = _text(form, "safe")
        if sensitive and safe not in ("yes", "no"):
            state.add("safe", "Tell us whether it is safe for us to contact you")
        preferences: dict[str, Any] = {"channel": contact}
        if sensitive:
            preferences |= {"safe_to_contact": safe == "yes", "safe_times": _text(form, "safe_times") or None,
                            "safe_windows": _safe_window(state, "safe"),
                            "track_link": True if _text(form, "track_link") else None}
        body["informant"] = {
            "name": _text(form, "name") or None,
            "phone": _text(form, "phone") or None if contact == "sms" else None,
            "email": _text(form, "email") or None if contact == "email" else None,
            "preferences": preferences,
        }
    try:
        request = PublicReportRequest.model_validate(body)
    except ValidationError as exc:
        errors_from_validation(exc, state)
        request = None
    state.ordered(REPORT_FIELDS)
    return (None if state.errors else request), state


def category_choices(categories: Categories) -> list[dict[str, Any]]:
    return [{"id": cid, "label": c.label, "description": c.description, "sensitive": c.sensitive}
            for cid, c in categories.categories.items()]


# ---- track ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime | None
    title: str
    text: str = ""


@dataclass(frozen=True)
class TrackView:
    reference: str
    category: str
    status: str
    said: str
    where: str
    happened_at: datetime | None
    entries: tuple[TimelineEntry, ...]
    outcome: str | None


def aware(at: datetime | str | None) -> datetime | None:
    if at is None:
        return None
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def where_words(location: Mapping[str, Any]) -> str:
    parts = [location.get("description"), location.get("postcode")]
    if location.get("latitude") is not None:
        parts.append(f"point {location['latitude']:.5f}, {location['longitude']:.5f}")
    return ", ".join(str(p) for p in parts if p) or "not given"


# ---- what became of each message ----------------------------------------------------------------
#
# The timeline says what really happened to each message the informant was sent or will be sent,
# from the store's message rows (services/store/models.py, ``Message``): waiting for its time,
# being sent, sent, delivered, failed, replaced by the person's other channel, or not sent. It
# never says why a message was held back (a sensitive report's safety check is nobody's business
# but the informant's): "not sent" is all it says.

#: Handed to a provider (or the local outbox): the informant was sent it.
SENT_STATES = SENT_STATUSES
#: Still to go: waiting for its time (quiet hours, a safe window, the survey delay) or a retry.
WAITING_STATES = SENDABLE_STATUSES
#: Gave up on this channel: the provider refused it, or said it never arrived.
FAILED_STATES = FAILED_STATUSES
#: The feedback service's default SMS quiet hours (21:00-08:00 UK), to name them as a reason.
SMS_QUIET_HOURS = QuietHours()
#: A copy on the person's other channel, sent only if the first fails for good: not shown.
STANDBY = MessageStatus.STANDBY


def _kind_words(trigger: str) -> tuple[str, str]:
    """(in a sentence, as a title) for the kind of message a trigger sends."""
    kind = trigger.split(":")[0]
    if kind == "ack":
        return "an acknowledgement", "Acknowledgement"
    if kind in (UpdateKind.ACTION.value, UpdateKind.CLOSURE.value):
        return "an update on what was done", "Update on what was done"
    if kind == "survey":
        return "a question about how we did", "Question about how we did"
    if kind == "holding":
        return "a note that your report is still open", "Note that your report is still open"
    return "an update", "Update"


def _channel_words(channel: str | None) -> str:
    return {Channel.SMS.value: "text message", Channel.EMAIL.value: "email"}.get(channel or "", "text or email")


def until_words(due: datetime, now: datetime) -> str:
    """A due time in UK local time, with the day when it is not today: "08:00", "08:00 tomorrow",
    "08:00 on Friday 4 December"."""
    local, today = due.astimezone(UK), now.astimezone(UK).date()
    if local.date() == today:
        return f"{local:%H:%M}"
    if (local.date() - today).days == 1:
        return f"{local:%H:%M} tomorrow"
    return f"{local:%H:%M} on {local:%A} {local.day} {local:%B}"


def _held_for_quiet_hours(message: Mapping[str, Any], due: datetime, quiet: QuietHours) -> bool:
    """True when an SMS waits exactly as quiet hours alone would make it wait from when it was
    queued (or woken as a fallback): then, and only then, the page names the reason."""
    if message.get("channel") != Channel.SMS.value:
        return False
    queued = [t for t in (aware(message.get("created_at")), aware(message.get("updated_at"))) if t is not None]
    return any(t < due and earliest_send(Channel.SMS, t, quiet=quiet) == due for t in queued)


@dataclass(frozen=True)
class MessageWords:
    """What became of one message row: its phase and one sentence about it."""

    #: waiting, sending, sent, failed, unsure, not_sent or unknown
    phase: str
    sentence: str


def message_words(message: Mapping[str, Any], now: datetime, *, instead: bool = False,
                  quiet: QuietHours = SMS_QUIET_HOURS) -> MessageWords:
    """One message row in words a member of the public understands. ``instead`` marks the copy on
    the person's other channel, sent because the first could not be. Pure: ``now`` is given."""
    status = str(message.get("status") or "")
    by = f"by {_channel_words(message.get('channel'))}{' instead' if instead else ''}"
    due = aware(message.get("due_at"))
    if status in WAITING_STATES and due is not None and due > now:
        if status == MessageStatus.RETRYING:
            return MessageWords("waiting", f"Not sent {by} at the first try: we will try again shortly.")
        reason = " (quiet hours for text messages)" if _held_for_quiet_hours(message, due, quiet) else ""
        return MessageWords("waiting", f"{by[0].upper()}{by[1:]}: waiting until {until_words(due, now)}{reason}.")
    if status in WAITING_STATES or status == MessageStatus.SENDING:
        return MessageWords("sending", f"Now being sent {by}.")
    if status == MessageStatus.DELIVERED:
        return MessageWords("sent", f"Sent {by} and delivered.")
    if status in SENT_STATES:
        return MessageWords("sent", f"Sent {by}.")
    if status == MessageStatus.FAILED:
        return MessageWords("failed", f"Sending {by} failed.")
    if status in FAILED_STATES:
        return MessageWords("failed", f"Sent {by}, but it was not delivered.")
    if status == MessageStatus.AMBIGUOUS:
        return MessageWords("unsure", f"Sending {by} was interrupted. We are checking whether it went, and "
                                      "send it again only if it did not.")
    if status == MessageStatus.UNCONFIRMED:
        return MessageWords("unsure", f"Sending {by} was interrupted. We did not send it again, so that you "
                                      "would not get it twice.")
    if status == MessageStatus.OPTED_OUT:
        whose = "this email address" if message.get("channel") == Channel.EMAIL.value else "this number"
        return MessageWords("not_sent", f"Not sent {by}: {whose} asked us to stop sending "
                                        f"{_channel_words(message.get('channel'))}s.")
    if status == MessageStatus.SUPPRESSED:
        # Neutral on purpose: never why (no contact details, or a sensitive report held back).
        return MessageWords("not_sent", "We have not sent you this by text message or email. "
                                        "Any news about your report is shown on this page.")
    return MessageWords("unknown", "We cannot tell yet what happened to this message.")


_TITLES = {
    "waiting": "{Kind} waiting to be sent",
    "sending": "{Kind} being sent",
    "sent": "We sent you {kind}",
    "failed": "We could not send you {kind}",
    "unsure": "{Kind} may not have reached you",
    "not_sent": "{Kind} not sent",
    "unknown": "{Kind}",
}


def message_timeline_entry(messages: Sequence[Mapping[str, Any]], now: datetime, *,
                           quiet: QuietHours = SMS_QUIET_HOURS) -> TimelineEntry | None:
    """The timeline entry for one message to one person (the rows of one trigger and role, in the
    order they were claimed): what became of it on each channel tried, the last one deciding the
    title. A standby copy never woken is not shown; None when there is nothing to show. Pure."""
    shown = [m for m in messages if m.get("status") != STANDBY]
    if not shown:
        return None
    kind, title_kind = _kind_words(str(shown[-1].get("trigger", "")))
    words = [message_words(m, now, instead=i > 0, quiet=quiet) for i, m in enumerate(shown)]
    title = _TITLES[words[-1].phase].format(kind=kind, Kind=title_kind)
    return TimelineEntry(aware(shown[-1].get("updated_at") or shown[-1].get("created_at")), title,
                         " ".join(w.sentence for w in words))


def message_entries(messages: Sequence[Mapping[str, Any]], now: datetime, *,
                    quiet: QuietHours = SMS_QUIET_HOURS) -> list[TimelineEntry]:
    """One entry per message to the informant (or a third party's case worker), in claim order."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for message in messages:
        if message.get("role") in ("informant", "reporter"):
            groups.setdefault((str(message.get("role")), str(message.get("trigger", ""))), []).append(message)
    entries = (message_timeline_entry(rows, now, quiet=quiet) for rows in groups.values())
    return [e for e in entries if e is not None]


def track_view(
    *,
    reference: str,
    contact: Mapping[str, Any] | None,
    destinations: Sequence[Mapping[str, Any]] | None,
    decided_at: datetime | None,
    actions: Sequence[Mapping[str, Any]],
    messages: Sequence[Mapping[str, Any]],
    categories: Categories,
    actor_names: Mapping[str, str],
    now: datetime,
    quiet: QuietHours = SMS_QUIET_HOURS,
) -> TrackView:
    """The informant's own report: what they said, where it went, what was done, the outcome.
    Nothing about anyone else: no other reports, no officer's or coordinator's identity beyond the
    team's name, and only messages sent to the informant (their role), without addresses: each
    as what really became of it by ``now`` (``message_timeline_entry``)."""
    if contact is None:
        return TrackView(reference, "", "received", "", "", None,
                         (TimelineEntry(None, "We have your report",
                                        "It is being passed to the team that should act on it."),), None)
    report = contact["report"]
    cat = categories.categories.get(report["category"])
    entries = [TimelineEntry(aware(contact.get("received_at")), "You told us", "")]
    if destinations is not None:
        names = [d["name"] for d in destinations if d.get("kind") in ("team", "watch")]
        redirect = " ".join(d.get("public_message") or "" for d in destinations if d.get("kind") == "redirect")
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        text = (f"{listed} {'has' if len(names) == 1 else 'have'} it." if names else "") + (
            f" {redirect}" if redirect else "")
        entries.append(TimelineEntry(aware(decided_at), "Where it went", text.strip()))
    outcome = None
    for action in sorted(actions, key=lambda a: aware(a["recorded_at"]) or datetime.min.replace(tzinfo=UTC)):
        actor = actor_names.get(action["actor_id"], "The team")
        if action["kind"] == UpdateKind.CLOSURE.value and action.get("outcome"):
            outcome = templates.OUTCOME_WORDS[Outcome(action["outcome"])]
            reason = f" Reason: {action['outcome_reason']}" if action.get("outcome_reason") else ""
            entries.append(TimelineEntry(aware(action["recorded_at"]), f"Closed: {outcome}",
                                         f"{actor}: {action['public_text']}{reason}"))
        else:
            entries.append(TimelineEntry(aware(action["recorded_at"]), f"What {actor} did",
                                         action["public_text"]))
    entries.extend(message_entries(messages, now, quiet=quiet))
    entries.sort(key=lambda e: e.at or datetime.max.replace(tzinfo=UTC))
    status = "closed" if outcome else ("with the team" if destinations is not None else "received")
    return TrackView(
        reference=reference,
        category=cat.label if cat else report["category"],
        status=status,
        said=report["description"],
        where=where_words(report["location"]),
        happened_at=aware(report.get("happened_at")),
        entries=tuple(entries),
        outcome=outcome,
    )


# ---- inbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxItem:
    reference: str
    category: str
    received_at: datetime | None
    description: str
    where: str
    status: str
    cluster: str | None = None
    redactions: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


def watch_inbox(items: Iterable[Mapping[str, Any]], closed: Mapping[str, str]) -> list[InboxItem]:
    """A watch's items exactly as the router redacted them: nothing else is read."""
    out = []
    for item in items:
        loc = item.get("location") or {}
        where = ", ".join(p for p in (loc.get("street"), loc.get("postcode_sector"), loc.get("area")) if p)
        found = item.get("cluster") or {}
        cluster = found.get("summary") if found.get("reports", 0) > 1 else None
        out.append(InboxItem(item["reference"], item["category_label"], aware(item.get("received_at")),
                             item["description"], where or "not given", closed.get(item["reference"], "open"),
                             cluster, tuple(item.get("redactions") or ())))
    return out


def team_inbox(rows: Iterable[Mapping[str, Any]], categories: Categories) -> list[InboxItem]:
    """A police team's items: the full report (teams are police)."""
    out = []
    for row in rows:
        report = row["contact"]["report"]
        cat = categories.categories.get(report["category"])
        out.append(InboxItem(row["reference"], cat.label if cat else report["category"], aware(row["received_at"]),
                             report["description"], where_words(report["location"]), row["status"],
                             row.get("cluster")))
    return out


def action_request(form: Mapping[str, str], *, may_close: bool) -> tuple[ActionRequest | None, FormState]:
    """The inbox's "what was done" form as the API's ``ActionRequest``."""
    state = FormState(values={k: v for k, v in form.items() if isinstance(v, str)})
    kind = _text(form, "kind") or "action"
    if kind not in ("action", "closure") or (kind == "closure" and not may_close):
        state.add("kind", "Choose whether to record an action or close the report")
        kind = "action"
    outcome = _text(form, "outcome") or None
    if kind == "closure" and outcome not in {o.value for o in Outcome}:
        state.add("outcome", "Choose the outcome")
    reason = _text(form, "outcome_reason") or None
    if kind == "closure" and outcome == Outcome.NO_FURTHER_ACTION.value and not reason:
        state.add("outcome_reason", "Say why no further action will be taken: the informant will read it")
    public_text = _text(form, "public_text")
    if not public_text:
        state.add("public_text", "Say what was done, in words the informant will read")
    if state.errors:
        state.ordered(("kind", "public_text", "outcome", "outcome_reason"))
        return None, state
    try:
        request = ActionRequest.model_validate({
            "public_text": public_text, "kind": kind,
            "outcome": outcome if kind == "closure" else None,
            "outcome_reason": reason if kind == "closure" else None})
    except ValidationError as exc:
        for err in exc.errors():
            name = str(err.get("loc", ("public_text",))[0]) if err.get("loc") else "public_text"
            state.add(name if name in ("public_text", "outcome_reason") else "public_text",
                      "This must be 5,000 characters or fewer" if "long" in str(err.get("type")) else "Check this")
        return None, state
    return request, state


def preview(reference: str, request: ActionRequest, actor_id: str, actor_name: str,
            actor_kind: ActorKind | None = None) -> dict[str, templates.Rendered]:
    """The SMS and the email the informant will receive, rendered by the feedback templates."""
    update = CaseUpdate(reference=reference, kind=request.kind, actor_id=actor_id, actor_name=actor_name,
                        actor_kind=actor_kind, public_text=request.public_text, outcome=request.outcome,
                        outcome_reason=request.outcome_reason)
    return {"sms": templates.update(Channel.SMS, reference=reference, update=update),
            "email": templates.update(Channel.EMAIL, reference=reference, update=update)}


def outcome_choices() -> list[tuple[str, str]]:
    return [(o.value, templates.OUTCOME_WORDS[o]) for o in Outcome]


# ---- third-party form ----------------------------------------------------------------------

THIRD_PARTY_FIELDS = ("category", "description", "postcode", "where", "latitude", "when", "reporter_name",
                      "reporter_contact", "reporter_phone", "reporter_email", "subject_name", "subject_phone",
                      "subject_email", "consent", "subject_safe", "subject_safe_window", "subject_safe_times")


def _person_field(loc: tuple[Any, ...], err_type: str, message: str) -> tuple[str, str]:
    """An error about the reporter or the person reported for, on the form's field for it."""
    if loc and loc[0] in ("reporter", "subject"):
        who = str(loc[0])
        name, words = _form_field(("informant", *loc[1:]), err_type, message)
        return f"{who}_{name}", words
    if "reporter needs" in message:
        return "reporter_email", "Enter a phone number or email address for the case worker who hears back"
    return _form_field(loc, err_type, message)


def read_third_party_form(form: Mapping[str, str], categories: Categories
                          ) -> tuple[ThirdPartyReportRequest | None, FormState]:
    """An organisation's form as the API's ``ThirdPartyReportRequest``, or the errors to show."""
    state = FormState(values={k: v for k, v in form.items() if isinstance(v, str)})
    category = _text(form, "category")
    if category not in categories.categories:
        state.add("category", "Choose what the report is about")
    channel = _text(form, "reporter_contact")
    if channel not in ("sms", "email"):
        state.add("reporter_contact", "Choose how the case worker hears back")
        channel = ""
    consent = _text(form, "consent")
    if consent not in ("yes", "no"):
        state.add("consent", "Tell us whether the person agreed to us contacting them")
    subject_given = any(_text(form, n) for n in ("subject_name", "subject_phone", "subject_email"))
    safe = _text(form, "subject_safe")
    if consent == "yes" and subject_given and categories.is_sensitive(category) and safe not in ("yes", "no"):
        state.add("subject_safe", "Tell us whether it is safe to contact the person")
    latitude, longitude = _point(state)
    body: dict[str, Any] = {
        "category": category or "other",
        "description": _text(form, "description"),
        "location": {"postcode": _text(form, "postcode") or None, "description": _text(form, "where") or None,
                     "latitude": latitude, "longitude": longitude},
        "happened_at": _when(state),
        "reporter": {"name": _text(form, "reporter_name") or None,
                     "phone": _text(form, "reporter_phone") or None,
                     "email": _text(form, "reporter_email") or None,
                     "preferences": {"channel": channel or None}},
        "subject_consents_to_contact": consent == "yes",
    }
    if subject_given:
        body["subject"] = {
            "name": _text(form, "subject_name") or None,
            "phone": _text(form, "subject_phone") or None,
            "email": _text(form, "subject_email") or None,
            "preferences": {"safe_to_contact": safe == "yes",
                            "safe_times": _text(form, "subject_safe_times") or None,
                            "safe_windows": _safe_window(state, "subject_safe")},
        }
    request = None
    try:
        request = ThirdPartyReportRequest.model_validate(body)
    except ValidationError as exc:
        for err in exc.errors():
            name, words = _person_field(tuple(err.get("loc", ())), str(err.get("type", "")), str(err.get("msg", "")))
            state.add(name, words)
    state.ordered(THIRD_PARTY_FIELDS)
    return (None if state.errors else request), state
