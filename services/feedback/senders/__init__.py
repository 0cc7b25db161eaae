"""Adapters to the outside world that delivers messages: Twilio (SMS, ``twilio``), SendGrid
(email, ``sendgrid``) and a local outbox file (``outbox``) for runs without provider
credentials. Each takes an ``Outgoing`` message and returns a ``Sent`` receipt, or raises
``TransientSendError`` or ``PermanentSendError`` with a provider-neutral ``SendFailure``.
Each provider's module also translates its delivery callbacks (``callback_outcomes``); no
other module knows a provider's codes or event names."""

from __future__ import annotations

from collections.abc import Callable

from schemas import DeliveryOutcome
from services.feedback.senders import sendgrid, twilio
from services.feedback.senders.base import (
    AmbiguousSendError,
    Found,
    Lookup,
    NotFound,
    Outgoing,
    PermanentSendError,
    Sender,
    SendError,
    SendFailure,
    Sent,
    TransientSendError,
    Unknown,
)
from services.feedback.senders.outbox import Outbox
from services.feedback.senders.sendgrid import SendGridEmail
from services.feedback.senders.twilio import TwilioSms

#: Each provider's translation of its own status and error code: (outcome, recipient opted out).
CALLBACK_OUTCOMES: dict[str, Callable[[str, str | None], tuple[DeliveryOutcome, bool]]] = {
    TwilioSms.name: twilio.callback_outcome,
    SendGridEmail.name: lambda event, _code: sendgrid.event_outcome(event),
}

__all__ = [
    "CALLBACK_OUTCOMES",
    "AmbiguousSendError",
    "Found",
    "Lookup",
    "NotFound",
    "Outbox",
    "Outgoing",
    "PermanentSendError",
    "SendError",
    "SendFailure",
    "SendGridEmail",
    "Sender",
    "Sent",
    "TransientSendError",
    "TwilioSms",
    "Unknown",
]
