"""When each API key was last used (``api_key_uses``): written by the intake as keys are used,
read by ``python -m services.intake keys``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.store.models import ApiKeyUse


def touch(session: Session, principal_id: str, at: datetime) -> None:
    """Record that ``principal_id``'s key was used ``at`` (never moves the time back). Two
    processes writing a key's first use at once: one row, whichever came first."""
    try:
        with session.begin():
            moved = session.execute(update(ApiKeyUse).where(ApiKeyUse.principal_id == principal_id,
                                                            ApiKeyUse.last_used_at < at).values(last_used_at=at))
            if not moved.rowcount and session.get(ApiKeyUse, principal_id) is None:  # type: ignore[attr-defined]
                session.add(ApiKeyUse(principal_id=principal_id, last_used_at=at))
    except IntegrityError:
        pass  # another process recorded the key's first use meanwhile; a use within the minute is enough


def last_uses(session: Session) -> dict[str, datetime]:
    return {row.principal_id: row.last_used_at for row in session.scalars(select(ApiKeyUse))}
