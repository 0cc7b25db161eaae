"""Subject access and erasure for one person, named by a phone number and/or an email address.

``find`` gathers every report the address appears in (as the informant, an organisation's case
worker, or the person reported for: contacts are decrypted to look) and every message written to
it (matched on the address digest, never on the encrypted address). ``export`` turns that into
one JSON document a caseworker can review and hand over: each report with what the person said,
where it went and why, what the teams did, the survey answers; each message with its wording and
status; the address's opt-outs. ``erase`` removes the personal data of those reports and messages
from every table (as the retention job does, ``services.retention.purge.scrub``) and records
each erased report, the reason and the caseworker in ``erasures``.

What stays after an erasure: the statistics (category, times, statuses, outcomes, survey answers,
message channels and statuses), so the dashboard's counts do not move; and the address's opt-outs,
which hold only a digest and must outlive the data so the address is never written to again.
Plain functions over a Session; the caller gives the time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from schemas.events import PhoneNumber
from services.audit import AuditAction, Entry
from services.audit import append as audit
from services.common.logging import mask_text
from services.retention.purge import BATCH, Purged, scrub
from services.store.messages import address_digests
from services.store.models import (
    Action,
    Erasure,
    Message,
    OptOut,
    Report,
    RoutingDecision,
    SurveyAnswer,
)

#: What an erased value reads as.
ERASED = "[erased on the data subject's request]"
#: The roles a person may have in a contact event.
ROLES = ("informant", "reporter", "subject")
_PHONE: TypeAdapter[str] = TypeAdapter(PhoneNumber)


@dataclass(frozen=True)
class Subject:
    """The person asking: their phone (any UK format; kept as E.164) and/or email."""

    phone: str | None = None
    email: str | None = None

    @classmethod
    def of(cls, *, phone: str | None = None, email: str | None = None) -> Subject:
        if not phone and not email:
            raise ValueError("give a phone number or an email address")
        try:
            e164 = _PHONE.validate_python(phone) if phone else None
        except ValidationError:
            raise ValueError("not a phone number this service could have written to") from None
        return cls(phone=e164, email=email.strip().lower() if email else None)

    @property
    def digests(self) -> list[str]:
        """Every digest the person's addresses may be held under (keyed, and legacy)."""
        return [d for a in (self.phone, self.email) if a for d in address_digests(a)]

    def roles_in(self, contact: dict[str, Any]) -> list[str]:
        """The roles this person has in a contact event (matched on the normalised address)."""
        found = []
        for role in ROLES:
            person = contact.get(role) or {}
            phone, email = person.get("phone"), person.get("email")
            if (self.phone and phone and _same_phone(phone, self.phone)) or \
                    (self.email and email and email.strip().lower() == self.email):
                found.append(role)
        return found


def _same_phone(stored: str, wanted: str) -> bool:
    try:
        return _PHONE.validate_python(stored) == wanted
    except ValidationError:
        return False


@dataclass(frozen=True)
class Found:
    #: Reference → the person's roles in it ("recipient" when only a message links it).
    reports: dict[str, list[str]] = field(default_factory=dict)
    message_ids: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.reports and not self.message_ids


def find(session: Session, subject: Subject, batch: int = BATCH) -> Found:
    """Every report and message linked to the subject's addresses."""
    reports: dict[str, list[str]] = {}
    with session.begin():
        for reference, contact in session.execute(
                select(Report.reference, Report.contact).execution_options(yield_per=batch)).tuples():
            roles = subject.roles_in(contact or {})
            if roles:
                reports[reference] = roles
        message_ids = []
        for message_id, reference in session.execute(
                select(Message.id, Message.reference).where(Message.address_digest.in_(subject.digests))
                .order_by(Message.id)).tuples():
            message_ids.append(message_id)
            reports.setdefault(reference, ["recipient"])
    return Found(dict(sorted(reports.items())), message_ids)


def _message(m: Message) -> dict[str, Any]:
    return {"reference": m.reference, "trigger": m.trigger, "role": m.role, "channel": m.channel,
            "to": m.recipient, "subject": m.subject, "body": m.body, "status": m.status,
            "detail": m.detail, "created_at": m.created_at.isoformat(), "updated_at": m.updated_at.isoformat()}


def _own_part(contact: dict[str, Any], roles: list[str]) -> dict[str, Any]:
    """What the report holds about this person: their own entries, never anyone else's."""
    return {role: contact.get(role) for role in roles if role in ROLES}


def export(session: Session, subject: Subject, found: Found, *, now: datetime) -> dict[str, Any]:
    """One JSON-ready document: everything held about the subject, for a caseworker to review
    and hand over."""
    refs = list(found.reports)
    with session.begin():
        reports = {r.reference: r for r in session.scalars(select(Report).where(Report.reference.in_(refs)))}
        decisions = {d.reference: d for d in
                     session.scalars(select(RoutingDecision).where(RoutingDecision.reference.in_(refs)))}
        actions: dict[str, list[dict[str, Any]]] = {}
        for a in session.scalars(select(Action).where(Action.reference.in_(refs)).order_by(Action.recorded_at)):
            actions.setdefault(a.reference, []).append(
                {"kind": a.kind, "recorded_at": a.recorded_at.isoformat(), "what_we_did": a.public_text,
                 "outcome": a.outcome, "outcome_reason": a.outcome_reason})
        answers: dict[str, list[dict[str, Any]]] = {}
        for s in session.scalars(select(SurveyAnswer).where(SurveyAnswer.reference.in_(refs))):
            answers.setdefault(s.reference, []).append(
                {"question": s.question, "answer": s.answer, "answered_at": s.answered_at.isoformat()})
        messages = [_message(m) for m in session.scalars(
            select(Message).where(Message.id.in_(found.message_ids)).order_by(Message.created_at, Message.id))]
        opt_outs = [{"channel": o.channel, "opted_out": o.opted_out, "source": o.source,
                     "changed_at": o.changed_at.isoformat()}
                    for o in session.scalars(select(OptOut).where(OptOut.address_digest.in_(subject.digests)))]
        erasures = [{"reference": e.reference, "reason": e.reason, "erased_at": e.erased_at.isoformat()}
                    for e in session.scalars(select(Erasure).where(Erasure.reference.in_(refs)))]
    out_reports = []
    for reference, roles in found.reports.items():
        report = reports.get(reference)
        contact = dict(report.contact) if report is not None else {}
        details = contact.get("report") or {}
        decision = decisions.get(reference)
        out_reports.append({
            "reference": reference,
            "your_part": roles,
            "kind": report.kind if report else None,
            "category": report.category if report else None,
            "received_at": report.received_at.isoformat() if report else None,
            "status": report.status if report else None,
            "in_reply_to": contact.get("related_reference"),
            "what_was_said": details.get("description"),
            "where": details.get("location"),
            "when_it_happened": details.get("happened_at"),
            "your_details": _own_part(contact, roles),
            "organisation": contact.get("organisation_id"),
            "sent_to": [{"kind": d.get("kind"), "name": d.get("name"),
                         "what_the_informant_was_told": d.get("public_message")}
                        for d in (decision.destinations if decision else [])],
            "why": list(decision.reasons) if decision else [],
            "what_we_did": actions.get(reference, []),
            "survey_answers": answers.get(reference, []),
        })
    return {
        "generated_at": now.isoformat(),
        "about": {"phone": subject.phone, "email": subject.email},
        "reports": out_reports,
        "messages": messages,
        "opt_outs": opt_outs,
        "erasures": erasures,
    }


@dataclass(frozen=True)
class Erased:
    request_id: str
    references: list[str]
    purged: Purged


def erase(session: Session, subject: Subject, found: Found, *, reason: str, requested_by: str,
          now: datetime, batch: int = BATCH) -> Erased:
    """Erase the personal data of every report and message ``found`` for the subject, and
    record each report erased with the reason (masked: a reason names no address)."""
    if not reason.strip():
        raise ValueError("an erasure needs a reason")
    request_id = str(uuid.uuid4())
    refs = list(found.reports)
    done = Purged(due=refs)
    for i in range(0, max(len(refs), 1), batch):
        chunk = refs[i:i + batch]
        with session.begin():
            done.add(scrub(session, chunk, removed=ERASED))
            session.add_all(Erasure(request_id=request_id, reference=r, reason=mask_text(reason.strip()),
                                    requested_by=requested_by[:200], erased_at=now) for r in chunk)
        audit(session, [Entry(at=now, action=AuditAction.ERASURE, what="subject_erasure", actor="subject",
                              actor_name=requested_by[:200], reference=r, justification=mask_text(reason.strip()))
                        for r in chunk])
    with session.begin():  # a message found by its address whose report is not in the store
        done.messages += _erase_messages(session, found.message_ids)
    return Erased(request_id, refs, done)


def _erase_messages(session: Session, ids: Iterable[int]) -> int:
    result = session.execute(
        update(Message).where(Message.id.in_(list(ids)),
                              or_(Message.address_digest.is_not(None), Message.body != ERASED))
        .values(recipient="", address_digest=None, provider_id=None, body=ERASED, html=None, subject=None,
                due_at=None)
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def record_export(session: Session, found: Found, *, by: str, now: datetime) -> None:
    """The audit log's disclosure entry for each report a subject access export handed over."""
    audit(session, [Entry(at=now, action=AuditAction.DISCLOSURE, what="subject_access_export", actor="subject",
                          actor_name=by[:200], reference=r) for r in found.reports]
          or [Entry(at=now, action=AuditAction.DISCLOSURE, what="subject_access_export", actor="subject",
                    actor_name=by[:200], justification="messages only" if found.message_ids else "nothing held")])
