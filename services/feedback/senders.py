"""Adapters to the outside world that delivers messages: Twilio (SMS), SendGrid (email) and
a local outbox file for runs without provider credentials. Each takes an ``Outgoing``
message and returns the provider's id, or raises ``TransientSendError`` (worth another try:
429, 5xx, timeouts) or ``PermanentSendError`` (never worth one: bad number, unsubscribed, 4xx).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import aiohttp
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, Header, Mail
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client as TwilioClient

from schemas import Channel


@dataclass(frozen=True)
class Outgoing:
    channel: Channel
    to: str
    body: str
    subject: str | None = None
    html: str | None = None
    reference: str | None = None
    #: Extra email headers (List-Unsubscribe); ignored for SMS.
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Sent:
    provider: str
    provider_id: str


class SendError(Exception):
    def __init__(self, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        self.code = code


class TransientSendError(SendError):
    """Another try may succeed."""


class PermanentSendError(SendError):
    """No retry will help."""


class Sender(Protocol):
    name: str

    async def send(self, message: Outgoing) -> Sent: ...

    async def close(self) -> None: ...


def _is_transient_status(status: int) -> bool:
    return status == 429 or status >= 500


class TwilioSms:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str,
                 base_url: str | None = None, timeout: float = 10.0, status_callback: str | None = None) -> None:
        self._sid, self._token, self._from = account_sid, auth_token, from_number
        self._status_callback = status_callback
        self._base_url = base_url
        self._timeout = timeout
        self._client: TwilioClient | None = None
        self._http: AsyncTwilioHttpClient | None = None

    def _get_client(self) -> TwilioClient:
        # The async HTTP client opens an aiohttp session, so it is made inside the running loop.
        if self._client is None:
            self._http = AsyncTwilioHttpClient(timeout=self._timeout)
            self._client = TwilioClient(self._sid, self._token, http_client=self._http, environment={})
            if self._base_url:
                self._client.api.base_url = self._base_url.rstrip("/")
        return self._client

    async def send(self, message: Outgoing) -> Sent:
        client = self._get_client()
        extra = {"status_callback": self._status_callback} if self._status_callback else {}
        try:
            # The async Twilio client ignores its own ``timeout`` (it hands aiohttp timeout=None, which
            # disables aiohttp's), so the limit is enforced here.
            created = await asyncio.wait_for(
                client.messages.create_async(to=message.to, from_=self._from, body=message.body, **extra),
                timeout=self._timeout)
        except TwilioRestException as exc:
            detail = f"twilio {exc.status} code {exc.code}"
            if _is_transient_status(exc.status):
                raise TransientSendError(detail, str(exc.code)) from exc
            raise PermanentSendError(detail, str(exc.code)) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransientSendError(f"twilio unreachable: {type(exc).__name__}") from exc
        return Sent(self.name, str(created.sid))

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


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
            if _is_transient_status(exc.status_code):
                raise TransientSendError(detail, str(exc.status_code)) from exc
            raise PermanentSendError(detail, str(exc.status_code)) from exc
        except (TimeoutError, OSError) as exc:
            raise TransientSendError(f"sendgrid unreachable: {type(exc).__name__}") from exc
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        return Sent(self.name, message_id or f"sendgrid-{response.status_code}")

    async def close(self) -> None:
        return None


class Outbox:
    """Writes each message as a JSON line, for local runs without provider credentials.
    ``python -m services.feedback outbox`` shows them."""

    name = "outbox"

    def __init__(self, path: Path) -> None:
        self._path = path
        self._count = 0

    async def send(self, message: Outgoing) -> Sent:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC).isoformat()
        record = {"at": now, "channel": message.channel.value, "to": message.to, "subject": message.subject,
                  "body": message.body, "reference": message.reference}
        line = json.dumps(record) + "\n"
        await asyncio.to_thread(self._append, line)
        self._count += 1
        return Sent(self.name, f"outbox-{now}-{self._count}")

    def _append(self, line: str) -> None:
        with self._path.open("a", encoding="utf-8") as f:
            f.write(line)

    async def close(self) -> None:
        return None
