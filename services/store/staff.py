"""Staff sessions and accounts (written by the intake only): a session lives on the server, so
signing out, disabling an account or a role change ends it at once, and a copied cookie is worth
nothing after that."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.store.models import StaffAccount, StaffSession

#: How often (at most) a session's last-seen time is written: reading a page is not a write each time.
TOUCH_EVERY = timedelta(seconds=60)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Live:
    """A live session: who it is for."""

    id: str
    person: str | None
    principal_id: str
    role: str
    claims: dict[str, Any] | None
    created_at: datetime


def start(s: Session, token: str, *, person: str | None, principal_id: str, role: str,
          claims: dict[str, Any] | None, client: str | None, now: datetime) -> None:
    s.add(StaffSession(id=digest(token), person=person, principal_id=principal_id, role=role, claims=claims,
                       client=client, created_at=now, last_seen_at=now))
    s.commit()


def load(s: Session, token: str, *, now: datetime, idle: timedelta, absolute: timedelta) -> Live | None:
    """The live session ``token`` names; one past its idle or absolute time-out is ended here."""
    row = s.get(StaffSession, digest(token))
    if row is None or row.ended_at is not None:
        return None
    reason = "expired" if now - row.created_at >= absolute else "idle" if now - row.last_seen_at >= idle else None
    if reason is None and row.person is not None and disabled(s, row.person):
        reason = "disabled"
    if reason is not None:
        row.ended_at, row.ended_reason = now, reason
        s.commit()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        s.commit()
    return Live(row.id, row.person, row.principal_id, row.role, row.claims, row.created_at)


def end(s: Session, token: str, reason: str, now: datetime) -> None:
    s.execute(update(StaffSession).where(StaffSession.id == digest(token), StaffSession.ended_at.is_(None))
              .values(ended_at=now, ended_reason=reason))
    s.commit()


def end_by_id(s: Session, session_id: str, reason: str, now: datetime) -> None:
    s.execute(update(StaffSession).where(StaffSession.id == session_id, StaffSession.ended_at.is_(None))
              .values(ended_at=now, ended_reason=reason))
    s.commit()


def end_person(s: Session, person: str, reason: str, now: datetime) -> int:
    """End every live session of ``person``; how many there were."""
    result = s.execute(update(StaffSession).where(StaffSession.person == person, StaffSession.ended_at.is_(None))
                       .values(ended_at=now, ended_reason=reason))
    s.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def disabled(s: Session, person: str) -> bool:
    row = s.get(StaffAccount, person)
    return bool(row is not None and row.disabled)


def set_disabled(s: Session, person: str, value: bool, *, by: str, now: datetime) -> int:
    """Disable (ending every session at once) or enable ``person``; sessions ended."""
    row = s.get(StaffAccount, person)
    if row is None:
        s.add(StaffAccount(person=person, disabled=value, changed_by=by, changed_at=now))
    else:
        row.disabled, row.changed_by, row.changed_at = value, by, now
    s.commit()
    return end_person(s, person, "disabled", now) if value else 0


@dataclass(frozen=True)
class PersonRow:
    person: str
    name: str | None
    role: str
    principal_id: str
    sessions: int
    last_seen_at: datetime
    disabled: bool


def people(s: Session) -> list[PersonRow]:
    """People with a live session, and people disabled, for the administrators' page."""
    found: dict[str, PersonRow] = {}
    live = s.scalars(select(StaffSession).where(StaffSession.person.is_not(None), StaffSession.ended_at.is_(None))
                     .order_by(StaffSession.last_seen_at)).all()
    for row in live:
        assert row.person is not None
        before = found.get(row.person)
        name = (row.claims or {}).get("name")
        found[row.person] = PersonRow(row.person, name if isinstance(name, str) else None, row.role, row.principal_id,
                                      (before.sessions if before else 0) + 1, row.last_seen_at, False)
    for account in s.scalars(select(StaffAccount).where(StaffAccount.disabled.is_(True))).all():
        known = found.get(account.person)
        found[account.person] = PersonRow(account.person, known.name if known else None,
                                          known.role if known else "", known.principal_id if known else "",
                                          known.sessions if known else 0, account.changed_at, True)
    return sorted(found.values(), key=lambda r: r.person)
