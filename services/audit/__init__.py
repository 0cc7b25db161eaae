"""The audit log of personal data (Data Protection Act 2018 s.62): collection, alteration,
consultation, disclosure, combination and erasure, each with who, when, from where, what and why.

Tamper-evident: entries are appended in one order (``seq``) and each one's ``hash`` is the SHA-256
of the previous entry's hash and this entry's fields, so editing, deleting or inserting a row breaks
the chain from there on: ``python -m services.audit verify`` walks it and names the first break.
A one-row head (``audit_head``: the last entry's seq and hash) moves in the same transaction as
each append, so entries cut off the end are seen too. Appends lock that row (``SELECT ... FOR
UPDATE``; SQLite: its write lock) before reading the hash they chain onto, so two writers, in one
process or several, never chain onto the same entry.

Retention (``prune``) removes the oldest entries past ``AUDIT_RETENTION_DAYS`` and keeps the last
removed entry's seq and hash in the head (``tail_seq``, ``tail_hash``): the walk starts there.

Any service may append with ``append(session, [Entry(...)])`` in its own transaction (retention's
erasures, for instance); the intake appends off its request path through ``services.intake.audit``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from services.store.models import AuditEntry, AuditHead

GENESIS = "0" * 64
#: The head's one row.
HEAD = 1


class AuditAction(StrEnum):
    COLLECTION = "collection"
    ALTERATION = "alteration"
    CONSULTATION = "consultation"
    DISCLOSURE = "disclosure"
    COMBINATION = "combination"
    ERASURE = "erasure"


@dataclass(frozen=True)
class Entry:
    """One thing done with personal data, before it is chained."""

    at: datetime
    action: AuditAction
    what: str
    actor: str
    reference: str | None = None
    actor_name: str | None = None
    unit: str | None = None
    role: str | None = None
    client: str | None = None
    justification: str | None = None


#: Entry's field names, in order.
_FIELDS = tuple(f.name for f in fields(Entry))


def _fields(entry: Entry) -> dict[str, Any]:
    """The entry's fields by name (shallow: every field is a plain value)."""
    return {name: getattr(entry, name) for name in _FIELDS}


def entry_hash(prev_hash: str, entry: Entry) -> str:
    """SHA-256 over the previous hash and this entry's fields (canonical JSON, times in UTC)."""
    fields = _fields(entry)
    fields["at"] = entry.at.astimezone(UTC).isoformat(timespec="microseconds")
    fields["action"] = str(entry.action)
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def _head(session: Session) -> AuditHead:
    """The log's head, locked until this transaction ends (made on first use if a store lacks it:
    two writers making it at once collide on its key and one retries, never forking the chain)."""
    head = session.scalars(select(AuditHead).where(AuditHead.id == HEAD).with_for_update()).first()
    if head is None:
        last = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
        head = AuditHead(id=HEAD, seq=last[0] if last else 0, hash=last[1] if last else GENESIS, tail_seq=0,
                         tail_hash=GENESIS)
        session.add(head)
    return head


def append(session: Session, entries: Sequence[Entry]) -> None:
    """Chain ``entries`` onto the log and commit (one transaction, under the head's row lock)."""
    if not entries:
        return
    head = _head(session)
    prev = head.hash
    rows = []
    for entry in entries:
        digest = entry_hash(prev, entry)
        rows.append({**_fields(entry), "action": str(entry.action), "prev_hash": prev, "hash": digest})
        prev = digest
    # One INSERT for the lot (no ORM unit of work); the seqs come back in the rows' order.
    seqs = session.scalars(insert(AuditEntry).returning(AuditEntry.seq, sort_by_parameter_order=True), rows).all()
    head.seq, head.hash = seqs[-1], prev
    session.commit()


def _entry(row: AuditEntry) -> Entry:
    return Entry(at=row.at, action=AuditAction(row.action), what=row.what, actor=row.actor, reference=row.reference,
                 actor_name=row.actor_name, unit=row.unit, role=row.role, client=row.client,
                 justification=row.justification)


@dataclass(frozen=True)
class Verified:
    entries: int
    #: The first break, in words (None: the chain is whole).
    problem: str | None


def verify(session: Session, batch: int = 1000) -> Verified:
    """Walk the whole chain in order; the first entry whose hash or link does not hold, or the end
    the head names missing (read first: writers may go on appending while this walks)."""
    head = session.get(AuditHead, HEAD)
    head_seq, head_hash = (head.seq, head.hash) if head is not None else (None, None)
    # Where the log starts: after the entries retention removed (their last hash is the anchor).
    prev, after = (head.tail_hash, head.tail_seq) if head is not None and head.tail_seq else (GENESIS, -1)
    session.rollback()  # the head was read in its own snapshot; the walk may see later entries
    count = 0
    while True:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq)
                               .limit(batch)).all()
        if not rows:
            return Verified(count, _end_problem(head_seq, head_hash, after))
        for row in rows:
            if row.prev_hash != prev:
                return Verified(count, f"entry {row.seq} does not follow the entry before it (one was removed, "
                                       "inserted, moved or changed)")
            if entry_hash(prev, _entry(row)) != row.hash:
                return Verified(count, f"entry {row.seq} was changed after it was written")
            if head_seq is not None and after < head_seq < row.seq:
                return Verified(count, f"entry {head_seq}, which the log's head names, is missing")
            if row.seq == head_seq and row.hash != head_hash:
                return Verified(count, f"entry {row.seq} is not the entry the log's head names")
            prev, after, count = row.hash, row.seq, count + 1


def _end_problem(head_seq: int | None, head_hash: str | None, last: int) -> str | None:
    """Whether the chain reaches the entry the head names (else entries were cut off its end)."""
    if head_seq is None:
        return None if last < 0 else "the log's head is missing (audit_head was emptied)"
    if head_seq > max(last, 0) or (head_seq == 0 and head_hash != GENESIS):
        return (f"the log ends at entry {max(last, 0)} but its head names entry {head_seq}: "
                "entries were removed from its end")
    return None


def prune(session: Session, before: datetime) -> int:
    """Remove the entries older than ``before`` from the log's start (its retention period), under
    the head's lock, and keep the last one's seq and hash in the head so the rest still verifies
    (and an entry removed otherwise is still seen). Returns how many went; commits."""
    head = _head(session)
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.at < before)
                           .order_by(AuditEntry.seq.desc()).limit(1)).first()
    if last is None or last[0] <= head.tail_seq:
        session.commit()
        return 0
    removed = session.execute(delete(AuditEntry).where(AuditEntry.seq <= last[0])).rowcount  # type: ignore[attr-defined]
    head.tail_seq, head.tail_hash = last[0], last[1]
    session.commit()
    return int(removed or 0)


@dataclass(frozen=True)
class Found:
    seq: int
    entry: Entry


def search(session: Session, *, reference: str | None = None, person: str | None = None,
           since: datetime | None = None, until: datetime | None = None,
           units: Sequence[str] | None = None, references: Sequence[str] | None = None,
           limit: int = 200) -> list[Found]:
    """Entries newest first, by report, by person (``person:<sub>`` or a bare username) and by time.
    ``units`` / ``references`` narrow to what a supervisor may read: entries by their units, or
    about reports routed to them (None: everything)."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if reference:
        query = query.where(AuditEntry.reference == reference)
    if person:
        actor = person if ":" in person else f"person:{person}"
        query = query.where(or_(AuditEntry.actor == actor, func.lower(AuditEntry.actor_name) == person.lower()))
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    if units is not None:
        query = query.where(or_(AuditEntry.unit.in_(list(units)), AuditEntry.reference.in_(list(references or []))))
    return [Found(row.seq, _entry(row)) for row in session.scalars(query).all()]


def routed_references(session: Session, unit: str) -> list[str]:
    """Reports routed to ``unit`` (a supervisor reads the log about these and by their unit)."""
    from services.store.models import RoutingDecision

    rows = session.execute(select(RoutingDecision.reference, RoutingDecision.destinations)).all()
    return [ref for ref, destinations in rows
            if any(isinstance(d, dict) and d.get("id") == unit for d in destinations or [])]
