"""What informants read: one template per trigger and channel. Pure.

Every SMS is normalised to GSM-7 and fits two segments; every email has a plain-text and an
HTML part, with informant and team text escaped in the HTML.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from schemas import CaseUpdate, Channel, Destination, DestinationKind, Outcome, UpdateKind
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


def _who_has_it(destinations: tuple[Destination, ...]) -> str:
    names = [d.name for d in destinations if d.kind is DestinationKind.TEAM]
    if not names:
        return "Our team has it."
    return f"{' and '.join(names)} {'has' if len(names) == 1 else 'have'} it."


def _redirect_note(destinations: tuple[Destination, ...]) -> str:
    return " ".join(d.public_message for d in destinations
                    if d.kind is DestinationKind.REDIRECT and d.public_message)


def _email(subject: str, paragraphs: list[str], reference: str) -> Rendered:
    text = "\n\n".join([*paragraphs, f"Your reference: {reference}", EMERGENCY])
    body_html = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    page = (
        f"<!doctype html><html><body>{body_html}"
        f"<p>Your reference: <strong>{html.escape(reference)}</strong></p>"
        f"<p><strong>{html.escape(EMERGENCY)}</strong></p></body></html>"
    )
    return Rendered(body=text, subject=subject, html=page)


def acknowledgement(
    channel: Channel, *, reference: str, category_label: str, destinations: tuple[Destination, ...]
) -> Rendered:
    """"You said": what we received, the reference, who has it, what happens next."""
    redirect = _redirect_note(destinations)
    next_step = redirect or f"{_who_has_it(destinations)} We will tell you what they do."
    if channel is Channel.SMS:
        template = f"Police: thank you for your report about {category_label.lower()}. Ref {reference}. " \
                   f"{{text}} {EMERGENCY}"
        return Rendered(body=sms.fit(template, next_step))
    return _email(
        f"We have your report {reference}",
        [
            f"Thank you for telling us about {category_label.lower()}. You said it, and it has been read.",
            next_step,
            "You will hear from us again when something is done, and when the report is closed.",
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


def update(channel: Channel, *, reference: str, update: CaseUpdate) -> Rendered:
    """"We did": the team's own words, on every public action and on closure."""
    actor_name = update.actor_name
    headline, detail = _update_words(update, actor_name)
    if channel is Channel.SMS:
        template = f"Police update on {reference}: {headline} {{text}}"
        return Rendered(body=sms.fit(template, detail))
    subject = (f"Your report {reference} is closed" if update.kind is UpdateKind.CLOSURE
               else f"Update on your report {reference}")
    return _email(subject, [headline, f"{actor_name}: {detail}"], reference)
