"""Publications (written by the intake only): a "you said, we did" for a neighbourhood, drafted,
then approved or withdrawn. These functions store and read; who may do what, and the checks on
the words, are the intake's (``services.intake.usecases``). Only ``approved`` reads what the
public may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.store.models import Publication, PublicationState

__all__ = ["PublicationRow", "approve", "approved", "approved_counts", "draft", "get", "listed", "withdraw"]


@dataclass(frozen=True)
class PublicationRow:
    id: int
    neighbourhood: str
    issue: str
    issue_date: date
    action: str
    action_date: date
    state: PublicationState
    drafted_by: str
    unit: str
    unit_name: str
    author_role: str
    drafted_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    withdrawn_by: str | None
    withdrawn_at: datetime | None


def _row(p: Publication) -> PublicationRow:
    return PublicationRow(p.id, p.neighbourhood, p.issue, p.issue_date, p.action, p.action_date,
                          PublicationState(p.state), p.drafted_by, p.unit, p.unit_name, p.author_role,
                          p.drafted_at, p.approved_by, p.approved_at, p.withdrawn_by, p.withdrawn_at)


def draft(s: Session, *, neighbourhood: str, issue: str, issue_date: date, action: str, action_date: date,
          drafted_by: str, unit: str, unit_name: str, author_role: str, now: datetime) -> PublicationRow:
    """A new draft (never public until approved)."""
    row = Publication(neighbourhood=neighbourhood, issue=issue, issue_date=issue_date, action=action,
                      action_date=action_date, state=PublicationState.DRAFT.value, drafted_by=drafted_by,
                      unit=unit, unit_name=unit_name, author_role=author_role, drafted_at=now)
    s.add(row)
    s.commit()
    return _row(row)


def get(s: Session, publication_id: int) -> PublicationRow | None:
    row = s.get(Publication, publication_id)
    return None if row is None else _row(row)


def approve(s: Session, publication_id: int, *, by: str, now: datetime) -> PublicationRow | None:
    """Approve a draft; None (nothing changed) if there is no such draft any more. The check and the
    change are one statement's worth: a draft approved or withdrawn meanwhile is not approved."""
    row = s.get(Publication, publication_id, with_for_update=True)
    if row is None or row.state != PublicationState.DRAFT.value:
        s.rollback()
        return None
    row.state, row.approved_by, row.approved_at = PublicationState.APPROVED.value, by, now
    s.commit()
    return _row(row)


def withdraw(s: Session, publication_id: int, *, by: str, now: datetime) -> PublicationRow | None:
    """Withdraw a draft or an approved publication (it leaves the public pages at once); None if
    there is no such publication or it was withdrawn already."""
    row = s.get(Publication, publication_id, with_for_update=True)
    if row is None or row.state == PublicationState.WITHDRAWN.value:
        s.rollback()
        return None
    row.state, row.withdrawn_by, row.withdrawn_at = PublicationState.WITHDRAWN.value, by, now
    s.commit()
    return _row(row)


def listed(s: Session, states: tuple[PublicationState, ...], limit: int = 200) -> list[PublicationRow]:
    """Publications in ``states`` (any neighbourhood), newest first: the staff pages' lists."""
    rows = s.scalars(select(Publication).where(Publication.state.in_([st.value for st in states]))
                     .order_by(Publication.drafted_at.desc(), Publication.id.desc()).limit(limit))
    return [_row(r) for r in rows]


def approved(s: Session, neighbourhood: str, limit: int = 100) -> list[PublicationRow]:
    """What the public may read for a neighbourhood: approved publications only, latest action first."""
    rows = s.scalars(select(Publication).where(Publication.neighbourhood == neighbourhood,
                                               Publication.state == PublicationState.APPROVED.value)
                     .order_by(Publication.action_date.desc(), Publication.id.desc()).limit(limit))
    return [_row(r) for r in rows]


def approved_counts(s: Session) -> dict[str, int]:
    """How many approved publications each neighbourhood has."""
    rows = s.execute(select(Publication.neighbourhood, func.count()).where(
        Publication.state == PublicationState.APPROVED.value).group_by(Publication.neighbourhood))
    return {n: int(c) for n, c in rows}
