"""The few reads and writes the services make. Plain functions over a Session; every write
is idempotent under redelivery (insert, and treat "already there" as done)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas import CaseUpdate, RoutedItem, UpdateKind
from services.store.models import Action, Message, Report, RoutingDecision


def _now() -> datetime:
    return datetime.now(UTC)


def _insert_once(session: Session, row: Any) -> bool:
    """Insert ``row``; False (and nothing changed) if its key is already there."""
    try:
        with session.begin_nested():
            session.add(row)
        return True
    except IntegrityError:
        return False


def record_routing(session: Session, item: RoutedItem) -> bool:
    """Project a routed item: the report and its decision. False if already recorded."""
    with session.begin():
        contact = item.contact
        report = Report(
            reference=item.reference,
            kind=contact.kind,
            category=contact.report.category,
            received_at=contact.received_at,
            contact=contact.model_dump(mode="json"),
            status="open",
        )
        if session.get(Report, item.reference) is None:
            _insert_once(session, report)
        return _insert_once(
            session,
            RoutingDecision(
                reference=item.reference,
                event_id=str(item.event_id),
                destinations=[d.model_dump(mode="json") for d in item.destinations],
                reasons=list(item.reasons),
                rules_version=item.rules_version,
                decided_at=item.emitted_at,
            ),
        )


def report_contact(session: Session, reference: str) -> dict[str, Any] | None:
    """The contact event of a report as JSON, or None if no such report has been routed."""
    with session.begin():
        report = session.get(Report, reference)
        return None if report is None else dict(report.contact)


def routed_to(session: Session, reference: str) -> list[str] | None:
    """Ids of the destinations a report was routed to; None if no such report was routed."""
    with session.begin():
        decision = session.get(RoutingDecision, reference)
        return None if decision is None else [d["id"] for d in decision.destinations]


def record_action(session: Session, update: CaseUpdate) -> bool:
    """Project a case update; closes the report on a closure. False if already recorded."""
    with session.begin():
        added = _insert_once(
            session,
            Action(
                event_id=str(update.event_id),
                reference=update.reference,
                kind=update.kind.value,
                actor_id=update.actor_id,
                public_text=update.public_text,
                outcome=update.outcome.value if update.outcome else None,
                outcome_reason=update.outcome_reason,
                recorded_at=update.emitted_at,
            ),
        )
        if added and update.kind is UpdateKind.CLOSURE:
            report = session.get(Report, update.reference)
            if report is not None:
                report.status = "closed"
        return added


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
    channel: str,
    recipient: str,
    body: str,
    subject: str | None,
) -> Claim:
    """Claim the right to send one message, before the provider is called."""
    now = _now()
    with session.begin():
        row = Message(
            key=key, reference=reference, trigger=trigger, channel=channel, recipient=recipient,
            body=body, subject=subject, status="claimed", attempts=0, created_at=now, updated_at=now,
        )
        if _insert_once(session, row):
            return Claim(row.id, True, "claimed")
        existing = session.scalars(select(Message).where(Message.key == key)).one()
        return Claim(existing.id, False, existing.status)


def finish_message(
    session: Session,
    message_id: int,
    *,
    status: str,
    provider: str | None = None,
    provider_id: str | None = None,
    detail: str | None = None,
    attempts: int = 1,
) -> None:
    with session.begin():
        row = session.get_one(Message, message_id)
        row.status = status
        row.provider = provider
        row.provider_id = provider_id
        row.detail = detail
        row.attempts = attempts
        row.updated_at = _now()


def messages_for(session: Session, reference: str) -> list[Message]:
    with session.begin():
        return list(session.scalars(select(Message).where(Message.reference == reference).order_by(Message.id)))
