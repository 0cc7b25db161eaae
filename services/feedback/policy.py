"""Who hears back, on which channel, and whether it is safe to write to them. Pure.

Feedback is on by default for every informant who left a contact. Sensitive categories
(domestic abuse, hate, safeguarding) are never messaged unless the person said the channel
is safe; a third party's case worker hears on their behalf, and the person reported for only
with their consent.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas import Channel, Informant, PublicContact, ThirdPartyContact


@dataclass(frozen=True)
class Recipient:
    role: str
    channel: Channel
    address: str


@dataclass(frozen=True)
class Suppressed:
    role: str
    reason: str


@dataclass(frozen=True)
class Plan:
    recipients: tuple[Recipient, ...]
    suppressed: tuple[Suppressed, ...]


def _reach(role: str, person: Informant | None, *, sensitive: bool, needs_safety: bool) -> Recipient | Suppressed:
    if person is None:
        return Suppressed(role, "anonymous: no contact details")
    channel = person.channel_to_use()
    if channel is None:
        return Suppressed(role, "no phone or email given")
    if sensitive and needs_safety and not person.preferences.safe_to_contact:
        return Suppressed(role, "sensitive category and the channel was not confirmed safe")
    address = person.phone if channel is Channel.SMS else person.email
    assert address is not None  # Informant validation guarantees the chosen channel has one
    return Recipient(role, channel, str(address))


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
