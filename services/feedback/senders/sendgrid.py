"""SendGrid, for email: sending, and what its Event Webhook's events mean in words of no
provider. Everything SendGrid-specific the service knows is here.

SendGrid cannot say whether it has a message: Mail Send v3 takes no idempotency key, and the
only way to list what was sent, the Email Activity API, is a paid add-on (not in the contracts
the project is checked against). So ``find`` answers ``Unknown``, and policy decides what an
ambiguous email may become (``policy.after_lookup``)."""

from __future__ import annotations

import http.client
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.error import URLError

from python_http_client import Client
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, Header, Mail, ReplyTo

from schemas import DeliveryOutcome
from services.feedback.senders.base import (
    AmbiguousSendError,
    Lookup,
    Outgoing,
    PermanentSendError,
    Sent,
    TransientSendError,
    Unknown,
    call_in_thread,
    is_transient_status,
)
from services.feedback.senders.fenced_http import fenced_opener

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


class FencedClient(Client):
    """python_http_client's client (what ``SendGridAPIClient`` calls) through fenced connections."""

    def _build_client(self, name: str | None = None) -> Client:
        child = super()._build_client(name)  # each segment of a call (``client.mail.send``) is a new client
        child.__class__ = FencedClient
        return child

    def _make_request(self, opener: Any, request: Any, timeout: float | None = None) -> Any:
        return super()._make_request(fenced_opener(), request, timeout=timeout)


class SendGridEmail:
    name = "sendgrid"

    def __init__(self, api_key: str, from_email: str, host: str | None = None, timeout: float = 10.0,
                 threads: int = 32) -> None:
        self._client = SendGridAPIClient(api_key, host=host) if host else SendGridAPIClient(api_key)
        # urllib's socket timeout, in the thread: it measures SendGrid, never a pause of the loop;
        # its connections write nothing after the send's deadline (``fenced_http``).
        self._client.client = FencedClient(host=self._client.client.host, version=3, timeout=timeout,
                                           request_headers=self._client.client.request_headers)
        self._timeout = timeout
        self._from = from_email
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sendgrid")

    def _mail(self, message: Outgoing) -> Mail:
        mail = Mail(from_email=self._from, to_emails=message.to, subject=message.subject or "Your report",
                    plain_text_content=Content("text/plain", message.body))
        if message.html:
            mail.add_content(Content("text/html", message.html))
        for name, value in message.headers:
            mail.add_header(Header(name, value))
        if message.reply_to:
            mail.reply_to = ReplyTo(message.reply_to)
        return mail

    async def send(self, message: Outgoing) -> Sent:
        mail = self._mail(message)
        try:
            def send() -> Any:
                with message.fenced():
                    return self._client.send(mail)

            response = await call_in_thread(self._executor, send, timeout=self._timeout)
        except HTTPError as exc:
            detail = f"sendgrid {exc.status_code}"
            if is_transient_status(exc.status_code):
                raise TransientSendError(detail, str(exc.status_code)) from exc
            raise PermanentSendError(detail, str(exc.status_code)) from exc
        except URLError as exc:
            # urllib raises it for a failure to connect or to write the request: never accepted.
            raise TransientSendError(f"sendgrid unreachable: {type(exc.reason).__name__}") from exc
        except (OSError, http.client.HTTPException) as exc:
            # Waiting for the answer (a read timeout, a connection reset): it may have been accepted.
            raise AmbiguousSendError(f"sendgrid no answer: {type(exc).__name__}") from exc
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        return Sent(self.name, message_id or f"sendgrid-{response.status_code}")

    async def find(self, message: Outgoing, since: datetime) -> Lookup:
        return Unknown("sendgrid cannot be asked whether it has a message", no_look_up=True)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
