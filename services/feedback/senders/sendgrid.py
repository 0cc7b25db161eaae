"""SendGrid, for email: sending, and what its Event Webhook's events mean in words of no
provider. Everything SendGrid-specific the service knows is here."""

from __future__ import annotations

import asyncio

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, Header, Mail

from schemas import DeliveryOutcome
from services.feedback.senders.base import Outgoing, PermanentSendError, Sent, TransientSendError, is_transient_status

#: Events after which the email will never arrive.
BOUNCE_EVENTS = frozenset({"bounce", "dropped", "blocked"})
#: Events by which the recipient told us to stop.
OPT_OUT_EVENTS = frozenset({"unsubscribe", "group_unsubscribe", "spamreport"})


def event_outcome(event: str) -> tuple[DeliveryOutcome, bool]:
    """An Event Webhook ``event``: (outcome, recipient opted out)."""
    if event == "delivered":
        outcome = DeliveryOutcome.DELIVERED
    elif event in BOUNCE_EVENTS:
        outcome = DeliveryOutcome.BOUNCED
    else:
        outcome = DeliveryOutcome.PENDING
    return outcome, event in OPT_OUT_EVENTS


class SendGridEmail:
    name = "sendgrid"

    def __init__(self, api_key: str, from_email: str, host: str | None = None, timeout: float = 10.0) -> None:
        self._client = SendGridAPIClient(api_key, host=host) if host else SendGridAPIClient(api_key)
        self._client.client.timeout = timeout
        self._from = from_email

    def _mail(self, message: Outgoing) -> Mail:
        mail = Mail(from_email=self._from, to_emails=message.to, subject=message.subject or "Your report",
                    plain_text_content=Content("text/plain", message.body))
        if message.html:
            mail.add_content(Content("text/html", message.html))
        for name, value in message.headers:
            mail.add_header(Header(name, value))
        return mail

    async def send(self, message: Outgoing) -> Sent:
        mail = self._mail(message)
        try:
            response = await asyncio.to_thread(self._client.send, mail)
        except HTTPError as exc:
            detail = f"sendgrid {exc.status_code}"
            if is_transient_status(exc.status_code):
                raise TransientSendError(detail, str(exc.status_code)) from exc
            raise PermanentSendError(detail, str(exc.status_code)) from exc
        except (TimeoutError, OSError) as exc:
            raise TransientSendError(f"sendgrid unreachable: {type(exc).__name__}") from exc
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        return Sent(self.name, message_id or f"sendgrid-{response.status_code}")

    async def close(self) -> None:
        return None
