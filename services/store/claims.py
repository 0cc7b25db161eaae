"""Claiming a report's reference before the intake publishes the report: what makes a reference
name one report only. Written by the intake (its only table), read by nobody else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.store.models import ReferenceClaim
from services.store.repository import insert_new_rows

#: How many references are drawn before giving up (each taken one is a 1 in 2**40 event).
ATTEMPTS = 8


@dataclass(frozen=True)
class Claimed:
    """The reference claimed (or found, for a retried key) and whether this call claimed it."""

    reference: str
    new: bool
    #: For a key seen before: did it come with the same request?
    same_body: bool = True


class ReferencesExhausted(Exception):
    """Every reference drawn was taken: the store is not answering as it should."""


def claim(session: Session, candidates: Callable[[int], str], now: datetime,
          key_digest: str | None = None, body_digest: str | None = None) -> Claimed:
    """Claim the first free reference of ``candidates(0)``, ``candidates(1)``... For a key
    claimed before, nothing new: its reference, and whether ``body_digest`` matches."""
    with session.begin():
        for attempt in range(ATTEMPTS):
            if key_digest is not None:
                found = session.scalars(select(ReferenceClaim).where(ReferenceClaim.key_digest == key_digest)).first()
                if found is not None:
                    return Claimed(found.reference, new=False, same_body=found.body_digest == body_digest)
            reference = candidates(attempt)
            # One INSERT ... ON CONFLICT DO NOTHING: nothing comes back when the reference is taken
            # (draw again) or another request claimed the same key meanwhile (found above next time).
            if insert_new_rows(session, ReferenceClaim, [{"reference": reference, "key_digest": key_digest,
                                                          "body_digest": body_digest, "claimed_at": now}],
                               "reference"):
                return Claimed(reference, new=True)
        raise ReferencesExhausted(f"no free reference after {ATTEMPTS} draws")
