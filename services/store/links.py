"""Sign-in by a one-time link for people without a force account (``LinkAccount``): issuing a
link (only its token's SHA-256 is stored), and using it, once and in time, by a conditional
UPDATE, so two uses racing each other (two tabs, two processes) sign in at most one of them. The
account's email is encrypted at rest and found by its keyed digest, like an informant's address.

Disabling such an account is ``staff.set_disabled`` on its ``person``, as for anyone: it ends
their sessions at once, and a link used afterwards signs nobody in (``consume`` checks); the
administrators' page also spends its links (``spend_all``), so enabling it again revives none."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.store.messages import address_digest, address_digests
from services.store.models import LinkAccount, SignInLink, StaffAccount, StaffSession
from services.store.staff import digest, disabled


def normalise(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class Account:
    person: str
    email: str
    name: str
    role: str
    principal_id: str
    disabled: bool
    invited_at: datetime
    sessions: int = 0


class AlreadyInvited(Exception):
    """An account with this address exists."""


def _account(row: LinkAccount, is_disabled: bool, sessions: int = 0) -> Account:
    return Account(row.person, row.email, row.name, row.role, row.principal_id, is_disabled, row.invited_at, sessions)


def invite(s: Session, *, email: str, name: str, role: str, principal_id: str, by: str, now: datetime) -> Account:
    """A new account for ``email`` (AlreadyInvited if there is one)."""
    email = normalise(email)
    if s.scalar(select(LinkAccount.person).where(LinkAccount.email_digest.in_(address_digests(email)))) is not None:
        raise AlreadyInvited(email)
    row = LinkAccount(person=f"link:{secrets.token_hex(8)}", email=email, email_digest=address_digest(email),
                      name=name, role=role, principal_id=principal_id, invited_by=by, invited_at=now)
    s.add(row)
    try:
        s.commit()
    except IntegrityError as exc:  # invited at the same moment by someone else
        s.rollback()
        raise AlreadyInvited(email) from exc
    return _account(row, False)


def by_email(s: Session, email: str) -> Account | None:
    row = s.scalar(select(LinkAccount).where(LinkAccount.email_digest.in_(address_digests(normalise(email)))))
    return None if row is None else _account(row, disabled(s, row.person))


def by_person(s: Session, person: str) -> Account | None:
    row = s.get(LinkAccount, person)
    return None if row is None else _account(row, disabled(s, row.person))


def issue(s: Session, person: str, *, now: datetime, valid: timedelta) -> str:
    """A new link token for ``person`` (256 random bits; shown once, in the email)."""
    token = secrets.token_urlsafe(32)
    s.add(SignInLink(id=digest(token), person=person, created_at=now, expires_at=now + valid))
    s.commit()
    return token


def consume(s: Session, token: str, *, now: datetime) -> Account | None:
    """The account ``token`` signs in, using the link up: None if it is unknown, used, expired, or
    its account is disabled (or gone). Only one of any number of racing uses gets the account."""
    link_id = digest(token)
    result = s.execute(update(SignInLink)
                       .where(SignInLink.id == link_id, SignInLink.used_at.is_(None), SignInLink.expires_at > now)
                       .values(used_at=now))
    s.commit()
    if int(result.rowcount or 0) != 1:  # type: ignore[attr-defined]
        return None
    person = s.scalar(select(SignInLink.person).where(SignInLink.id == link_id))
    account = by_person(s, person) if person is not None else None
    return None if account is None or account.disabled else account


def spend_all(s: Session, person: str, *, now: datetime) -> int:
    """Use up every link of ``person`` not yet used (on disabling: enabling again revives none)."""
    result = s.execute(update(SignInLink).where(SignInLink.person == person, SignInLink.used_at.is_(None))
                       .values(used_at=now))
    s.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def accounts(s: Session) -> list[Account]:
    """Every link account, for the administrators' page, with its live sessions."""
    rows = s.scalars(select(LinkAccount).order_by(LinkAccount.name, LinkAccount.person)).all()
    off = set(s.scalars(select(StaffAccount.person).where(StaffAccount.disabled.is_(True))).all())
    live: dict[str, int] = {}
    for person in s.scalars(select(StaffSession.person).where(StaffSession.person.like("link:%"),
                                                              StaffSession.ended_at.is_(None))).all():
        if person is not None:
            live[person] = live.get(person, 0) + 1
    return [_account(row, row.person in off, live.get(row.person, 0)) for row in rows]
