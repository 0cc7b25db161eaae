"""What informants read: one template per trigger and channel. Pure.

Every SMS is normalised to GSM-7 and fits two segments; every email has a plain-text and an
HTML part, with informant and team text escaped in the HTML.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from schemas import CaseUpdate, Channel, Destination, DestinationKind, Outcome, UpdateKind, WatchItem
from services.feedback import sms

EMERGENCY = "If anyone is in danger or a crime is happening now, call 999."

OUTCOME_WORDS = {
    Outcome.RESOLVED: "Resolved",
    Outcome.ACTION_TAKEN: "Action taken",
    Outcome.PASSED_TO_PARTNER: "Passed to a partner organisation",
    Outcome.NO_FURTHER_ACTION: "No further action",
}


@dataclass(frozen=True)
class Rendered:
    body: str
    subject: str | None = None
    html: str | None = None


#: What a message about a sensitive report says instead of a category or a team's name: someone
#: else may read it, and "domestic abuse" or "Hate crime unit" tells them what was reported.
NEUTRAL_REPORT = "your report"
NEUTRAL_TEAM = "The team"


def _who_has_it(destinations: tuple[Destination, ...], sensitive: bool = False) -> str:
    if sensitive:
        return "Our team has it."
    names = [d.name for d in destinations if d.kind in (DestinationKind.TEAM, DestinationKind.WATCH)]
    if not names:
        return "Our team has it."
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{listed} {'has' if len(names) == 1 else 'have'} it."


def _redirect_note(destinations: tuple[Destination, ...]) -> str:
    return " ".join(d.public_message for d in destinations
                    if d.kind is DestinationKind.REDIRECT and d.public_message)


def _email(subject: str, paragraphs: list[str], reference: str | None) -> Rendered:
    footer = [f"Your reference: {reference}"] if reference else []
    text = "\n\n".join([*paragraphs, *footer, EMERGENCY])
    body_html = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    ref_html = f"<p>Your reference: <strong>{html.escape(reference)}</strong></p>" if reference else ""
    page = (
        f"<!doctype html><html><body>{body_html}{ref_html}"
        f"<p><strong>{html.escape(EMERGENCY)}</strong></p></body></html>"
    )
    return Rendered(body=text, subject=subject, html=page)


def acknowledgement(
    channel: Channel, *, reference: str, category_label: str, destinations: tuple[Destination, ...],
    notice: str | None = None, track_url: str | None = None, sensitive: bool = False,
) -> Rendered:
    """"You said": what we received, the reference, who has it, what happens next; ``notice``
    comes first when the router flagged danger now; ``track_url`` is the informant's track page.
    ``sensitive``: neutral words, naming neither the category nor the team."""
    redirect = "" if sensitive else _redirect_note(destinations)
    next_step = redirect or f"{_who_has_it(destinations, sensitive)} We will tell you what they do."
    if notice:
        next_step = f"{notice} {next_step}"
    if channel is Channel.SMS:
        def text(link: str | None) -> str:
            about = "" if sensitive else f" about {category_label.lower()}"
            template = f"Police: thank you for your report{about}. Ref {reference}. " \
                       f"{{text}} {f'Track it: {link} ' if link else ''}{EMERGENCY}"
            return sms.fit(template, next_step)

        body = text(track_url)
        if redirect and track_url and sms.normalise(redirect) not in body:
            # Who handles a matter that is not for the police matters more than the track page.
            body = text(None)
        return Rendered(body=body)
    return _email(
        f"We have your report {reference}",
        [
            (f"Thank you for telling us about {category_label.lower()}. You said it, and it has been read."
             if not sensitive else "Thank you for your report. It has been read."),
            next_step,
            "You will hear from us again when something is done, and when the report is closed.",
            *([f"Follow your report online: {track_url}"] if track_url else []),
        ],
        reference,
    )


def _update_words(update: CaseUpdate, actor_name: str) -> tuple[str, str]:
    """Headline and detail of an update; a closure always says its outcome and why."""
    if update.kind is UpdateKind.CLOSURE and update.outcome is not None:
        outcome = OUTCOME_WORDS[update.outcome]
        detail = update.public_text
        if update.outcome_reason:
            detail = f"{detail} Reason: {update.outcome_reason}"
        return f"Your report is now closed. Outcome: {outcome}.", detail
    return f"{actor_name} has an update.", update.public_text


def update(channel: Channel, *, reference: str, update: CaseUpdate, sensitive: bool = False) -> Rendered:
    """"We did": the team's own words, on every public action and on closure. A watch's update
    is the watch's, named as such: volunteers' words never read as the police's. ``sensitive``:
    the team is not named (its name can say what the report is about)."""
    actor_name = update.actor_name
    if update.actor_kind == "watch":
        headline = f"{actor_name} (a volunteer watch scheme, not the police) has an update."
        if channel is Channel.SMS:
            return Rendered(body=sms.fit(f"Update on {reference} from {actor_name}, a volunteer watch, "
                                         f"not the police: {{text}}", update.public_text))
        return _email(f"Update from {actor_name} on your report {reference}",
                      [headline, f"{actor_name}: {update.public_text}"], reference)
    if sensitive:
        actor_name = NEUTRAL_TEAM
    headline, detail = _update_words(update, actor_name)
    if channel is Channel.SMS:
        template = f"Police update on {reference}: {headline} {{text}}"
        return Rendered(body=sms.fit(template, detail))
    subject = (f"Your report {reference} is closed" if update.kind is UpdateKind.CLOSURE
               else f"Update on your report {reference}")
    return _email(subject, [headline, f"{actor_name}: {detail}"], reference)


def holding(channel: Channel, *, reference: str, days: int) -> Rendered:
    """When nothing has happened for a while: nobody is left wondering whether anyone read it."""
    words = (f"It is {days} days since we last wrote about your report. It is still open and with the team; "
             "we will tell you as soon as something is done.")
    if channel is Channel.SMS:
        return Rendered(body=sms.fit(f"Police update on {reference}: {{text}}", words))
    return _email(f"Your report {reference} is still open", [words], reference)


SURVEY_SMS = ("Police: how satisfied are you with how we handled your report {reference}? Reply 1 (very "
              "unhappy) to 5 (very happy), then Y or N: did you feel kept informed? e.g. 4 Y")


def survey(channel: Channel, *, reference: str) -> Rendered:
    """Afterwards: one satisfaction question and "did you feel kept informed?", same channel."""
    if channel is Channel.SMS:
        return Rendered(body=sms.normalise(SURVEY_SMS.format(reference=reference)))
    return _email(
        f"How did we do with your report {reference}?",
        [
            "How satisfied are you with how we handled your report? Reply to this email with a number "
            "from 1 (very unhappy) to 5 (very happy).",
            "Did you feel kept informed? Add Y or N to your reply, for example: 4 Y",
        ],
        reference,
    )


def _where(item: WatchItem) -> str:
    loc = item.location
    return ", ".join(part for part in (loc.street, loc.postcode_sector, loc.area) if part) or "your area"


def watch_item(channel: Channel, item: WatchItem) -> Rendered:
    """A routed item for a watch coordinator: already redacted by the router."""
    cluster = f" {item.cluster.summary}." if item.cluster else ""
    if channel is Channel.SMS:
        what = f"new {item.category_label.lower()} report {item.reference} near {_where(item)}"
        template = f"{item.watch_name}: {what}.{cluster} {{text}}"
        return Rendered(body=sms.fit(template, item.description))
    return _email(
        f"{item.watch_name}: {item.category_label} near {_where(item)}",
        [f"A new report for {item.watch_name}: {item.category_label.lower()} near {_where(item)}.{cluster}",
         item.description,
         f"Reference {item.reference}. Record what you did through your watch inbox; the person who "
         "reported it will be told."],
        None,
    )


def watch_digest(channel: Channel, *, watch_name: str, day: str, items: list[WatchItem]) -> Rendered:
    """The day's items for a watch that asked for one message a day."""
    lines = [f"{i.reference}: {i.category_label} near {_where(i)}" for i in items]
    if channel is Channel.SMS:
        return Rendered(body=sms.fit(f"{watch_name}: {len(items)} new report(s) on {day}. {{text}}", "; ".join(lines)))
    return _email(f"{watch_name}: {len(items)} new report(s) on {day}",
                  [f"{len(items)} new report(s) for {watch_name} on {day}:", *lines,
                   "The full (redacted) items are in your watch inbox."],
                  None)


def with_unsubscribe(body: str, html_body: str | None, url: str
                     ) -> tuple[str, str | None, tuple[tuple[str, str], ...]]:
    """An email's text and HTML with its one-click unsubscribe link added, and the RFC 8058
    headers that go with it: (body, html, headers)."""
    headers = (("List-Unsubscribe", f"<{url}>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    body = f"{body}\n\nTo stop these emails: {url}"
    if html_body:
        html_body = html_body.replace("</body>", f'<p><a href="{url}">Stop these emails</a></p></body>')
    return body, html_body, headers
