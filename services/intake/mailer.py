"""How the intake sends an email (so far: one-time sign-in links), behind one small interface.

``build_mailer`` picks SendGrid when SENDGRID_API_KEY and SENDGRID_FROM_EMAIL are set (the feedback
worker's SendGrid sender), else, on a local run, the local outbox the feedback worker also writes
(``/outbox``, ``python -m services.feedback outbox``). A deployment with neither sends nothing and
says so in its log (never the link itself)."""

from __future__ import annotations

from typing import Protocol

from schemas import Channel
from services.common.logging import get_logger
from services.feedback.senders.base import Outgoing, Sender
from services.feedback.senders.outbox import Outbox
from services.intake.settings import IntakeSettings

log = get_logger(__name__)


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...

    async def close(self) -> None: ...


class SenderMailer:
    """Email through one of the feedback worker's senders (SendGrid, or the local outbox)."""

    def __init__(self, sender: Sender) -> None:
        self._sender = sender

    @property
    def name(self) -> str:
        return str(getattr(self._sender, "name", type(self._sender).__name__))

    async def send(self, to: str, subject: str, body: str) -> None:
        await self._sender.send(Outgoing(Channel.EMAIL, to, body, subject=subject))

    async def close(self) -> None:
        await self._sender.close()


class NoMailer:
    """No provider configured off a local machine: nothing is sent (nor written anywhere)."""

    name = "none"

    async def send(self, to: str, subject: str, body: str) -> None:
        log.warning("email_not_sent", reason="SENDGRID_API_KEY and SENDGRID_FROM_EMAIL are not set", subject=subject)

    async def close(self) -> None:
        return None


def build_mailer(settings: IntakeSettings) -> Mailer:
    if settings.sendgrid_api_key and settings.sendgrid_from_email:
        from services.feedback.senders.sendgrid import SendGridEmail

        return SenderMailer(SendGridEmail(settings.sendgrid_api_key, settings.sendgrid_from_email,
                                          host=settings.sendgrid_api_host, timeout=10.0, threads=4))
    if settings.is_local:
        return SenderMailer(Outbox(settings.outbox_path))
    return NoMailer()
