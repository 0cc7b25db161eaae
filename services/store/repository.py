"""The few reads and writes the services make. Plain functions over a Session; every write
is idempotent under redelivery (insert, and treat "already there" as done)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient

from schemas import CaseUpdate, RoutedItem, UpdateKind
from services.store.models import Action, Report, RoutingDecision


def insert_once(session: Session, row: Any) -> bool:
    """Insert ``row``; False (and nothing changed) if its key is already there."""
    try:
        with session.begin_nested():
            session.add(row)
        return True
    except IntegrityError:
        return False


def insert_all_once(session: Session, rows: Sequence[Any]) -> bool:
    """Insert rows whose keys the caller found missing, together. If a concurrent writer got
    one of them in first, fall back to one at a time so the others still go in (and return
    False)."""
    if not rows:
        return True
    try:
        with session.begin_nested():
            session.add_all(rows)
        return True
    except IntegrityError:
        for row in rows:
            state = inspect(row)
            if state.persistent or state.detached:
                make_transient(row)
            insert_once(session, row)
        return False


def add_routings(session: Session, items: Sequence[RoutedItem]) -> int:
    """Project routed items (the report and its decision) inside the caller's transaction;
    returns how many were new. A reference seen before, or twice in ``items``, is skipped."""
    unique = list({item.reference: item for item in reversed(items)}.values())[::-1]
    references = [item.reference for item in unique]
    have_report = set(session.scalars(select(Report.reference).where(Report.reference.in_(references))))
    have_decision = set(session.scalars(
        select(RoutingDecision.reference).where(RoutingDecision.reference.in_(references))))
    reports, decisions = [], []
    for item in unique:
        contact = item.contact
        if item.reference not in have_report:
            reports.append(Report(
                reference=item.reference,
                kind=contact.kind,
                category=contact.report.category,
                received_at=contact.received_at,
                contact=contact.model_dump(mode="json"),
                status="open",
            ))
        if item.reference not in have_decision:
            decisions.append(RoutingDecision(
                reference=item.reference,
                event_id=str(item.event_id),
                destinations=[d.model_dump(mode="json") for d in item.destinations],
                reasons=list(item.reasons),
                rules_version=item.rules_version,
                decided_at=item.emitted_at,
            ))
    insert_all_once(session, reports)
    insert_all_once(session, decisions)
    return len(decisions)


def record_routing(session: Session, item: RoutedItem) -> bool:
    """Project one routed item: the report and its decision. False if already recorded."""
    with session.begin():
        return add_routings(session, [item]) == 1


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
        added = insert_once(
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
