"""The life of each message in the store: claim, attempt, settle, and the records around it
(opt-outs, survey answers). Plain functions over a Session.

A message is claimed once under its key, before any provider is called. Each attempt first
moves it to ``sending`` with a conditional update, so two workers (or a worker and its own
timer) can never both send it; a ``sending`` left behind by a crash becomes ``unconfirmed``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, func, select, update
from sqlalchemy.orm import Session

from services.store.models import Message, OptOut, Report, SurveyAnswer
from services.store.repository import insert_once

#: Settled states: nothing more will be attempted.
SETTLED = ("sent", "outbox", "failed", "suppressed", "opted_out", "unconfirmed", "delivered",
           "undelivered", "bounced")


def _rowcount(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def now() -> datetime:
    return datetime.now(UTC)


def address_digest(address: str) -> str:
    """The digest opt-outs and replies are matched on (addresses are normalised first:
    E.164 for phones, lower case for email)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    message_id: int
    #: True when this call made the claim; False when an earlier delivery of the event did.
    new: bool
    status: str


def claim_message(
    session: Session,
    *,
    key: str,
    reference: str,
    trigger: str,
    role: str,
    channel: str,
    recipient: str,
    body: str,
    subject: str | None = None,
    html: str | None = None,
    due_at: datetime | None = None,
    status: str = "scheduled",
    detail: str | None = None,
) -> Claim:
    """Claim one message under ``key``. ``status`` is ``scheduled`` (to be sent at ``due_at``)
    or a settled state for a message deliberately not sent (``suppressed``, ``opted_out``)."""
    at = now()
    with session.begin():
        row = Message(
            key=key, reference=reference, trigger=trigger, role=role, channel=channel, recipient=recipient,
            address_digest=address_digest(recipient) if recipient else None, body=body, subject=subject,
            html=html, status=status, due_at=(due_at or at) if status == "scheduled" else None,
            attempts=0, detail=detail, created_at=at, updated_at=at,
        )
        if insert_once(session, row):
            return Claim(row.id, True, status)
        existing = session.scalars(select(Message).where(Message.key == key)).one()
        return Claim(existing.id, False, existing.status)


def start_attempt(session: Session, message_id: int, at: datetime | None = None) -> Message | None:
    """Take a due message for sending; None if it is not due or someone else has it."""
    at = at or now()
    with session.begin():
        taken = _rowcount(session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status.in_(("scheduled", "retrying")), Message.due_at <= at)
            .values(status="sending", attempts=Message.attempts + 1, updated_at=at)
        ))
        return session.get(Message, message_id) if taken == 1 else None


def settle(
    session: Session,
    message_id: int,
    *,
    status: str,
    provider: str | None = None,
    provider_id: str | None = None,
    detail: str | None = None,
    due_at: datetime | None = None,
) -> None:
    """Record the outcome of an attempt (``retrying`` with the next ``due_at``, or settled)."""
    with session.begin():
        row = session.get_one(Message, message_id)
        row.status = status
        row.provider = provider or row.provider
        row.provider_id = provider_id or row.provider_id
        row.detail = detail
        row.due_at = due_at
        row.updated_at = now()


def due_message_ids(session: Session, at: datetime, limit: int = 100) -> list[int]:
    with session.begin():
        return list(session.scalars(
            select(Message.id)
            .where(Message.status.in_(("scheduled", "retrying")), Message.due_at <= at)
            .order_by(Message.due_at).limit(limit)
        ))


def expire_interrupted_sends(session: Session, older_than: datetime) -> int:
    """Mark sends a crashed worker left in ``sending`` as ``unconfirmed``: the provider may or
    may not have them, and a second copy is the worse mistake."""
    with session.begin():
        return _rowcount(session.execute(
            update(Message)
            .where(Message.status == "sending", Message.updated_at < older_than)
            .values(status="unconfirmed", detail="worker stopped mid-send; not re-sent", updated_at=now())
        ))


def message_by_provider_id(session: Session, provider_id: str) -> Message | None:
    with session.begin():
        return session.scalars(select(Message).where(Message.provider_id == provider_id)).first()


def set_opt_out(session: Session, *, channel: str, digest: str, opted_out: bool, source: str,
                at: datetime) -> None:
    """Record the latest opt-out or opt-in for an address; an older change never wins."""
    with session.begin():
        row = session.get(OptOut, (channel, digest))
        if row is None:
            session.add(OptOut(channel=channel, address_digest=digest, opted_out=opted_out, source=source,
                               changed_at=at))
        elif row.changed_at.replace(tzinfo=row.changed_at.tzinfo or UTC) <= at:
            row.opted_out, row.source, row.changed_at = opted_out, source, at


def opt_out_reason(session: Session, channel: str, digest: str) -> str | None:
    """Why an address gets nothing on a channel, or None if it may be sent to."""
    with session.begin():
        row = session.get(OptOut, (channel, digest))
        return f"opted out ({row.source})" if row is not None and row.opted_out else None


def latest_message_to(session: Session, channel: str, digest: str, trigger_prefix: str | None = None
                      ) -> Message | None:
    """The last message we sent to an address (to attach a reply to its report)."""
    with session.begin():
        query = select(Message).where(
            Message.channel == channel, Message.address_digest == digest,
            Message.status.in_(("sent", "outbox", "delivered")),
        )
        if trigger_prefix:
            query = query.where(Message.trigger.startswith(trigger_prefix))
        return session.scalars(query.order_by(Message.created_at.desc(), Message.id.desc())).first()


def record_survey_answer(session: Session, *, reference: str, question: str, answer: str, at: datetime) -> bool:
    """Keep the first answer to each question; False if it was already answered."""
    with session.begin():
        return insert_once(session, SurveyAnswer(reference=reference, question=question, answer=answer,
                                                 answered_at=at))


#: Messages that reached (or were handed to) a provider: they count as having written.
WRITTEN = ("sent", "outbox", "delivered", "undelivered", "bounced", "failed", "unconfirmed")


def silent_reports(session: Session, quiet_since: datetime, limit: int = 100) -> list[tuple[str, datetime]]:
    """Open reports we have written about, but not since ``quiet_since``: (reference, last write)."""
    with session.begin():
        last = func.max(Message.created_at)
        rows = session.execute(
            select(Message.reference, last)
            .join(Report, Report.reference == Message.reference)
            .where(Report.status == "open", Message.status.in_(WRITTEN))
            .group_by(Message.reference)
            .having(last < quiet_since)
            .limit(limit)
        ).all()
        return [(ref, _aware(at)) for ref, at in rows]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def messages_for(session: Session, reference: str) -> list[Message]:
    with session.begin():
        return list(session.scalars(select(Message).where(Message.reference == reference).order_by(Message.id)))


def activate_standby(session: Session, key: str, due_at: datetime) -> Message | None:
    """Wake the standby copy of a message on the other channel; None if there is none (or it
    was already woken)."""
    with session.begin():
        woken = _rowcount(session.execute(
            update(Message).where(Message.key == key, Message.status == "standby")
            .values(status="scheduled", due_at=due_at, updated_at=now())
        ))
        return session.scalars(select(Message).where(Message.key == key)).first() if woken == 1 else None
