"""What retention removes, and what it keeps.

A set time (``RETENTION_DAYS``) after a report's closure, its personal data goes: the
informant, the organisation's case worker and the person reported for, the free text, the
exact place (the point is rounded to about a kilometre), and the address and wording of every
message sent about it. What stays is what the statistics need: category, kind, times, where
it went and why, what the teams did, message channels and statuses, survey answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.store.models import Action, Message, Report

REMOVED = "[removed after the retention period]"


@dataclass(frozen=True)
class Purged:
    reports: int
    messages: int


def anonymous_contact(contact: dict[str, Any]) -> dict[str, Any]:
    """The contact event without personal data (still a valid event, so readers keep working)."""
    kept = dict(contact)
    report = dict(kept.get("report") or {})
    report["description"] = REMOVED
    location = report.get("location") or {}
    if location.get("latitude") is not None and location.get("longitude") is not None:
        report["location"] = {"latitude": round(float(location["latitude"]), 2),
                              "longitude": round(float(location["longitude"]), 2)}
    else:
        report["location"] = {"description": REMOVED}
    kept["report"] = report
    if kept.get("informant") is not None:
        kept["informant"] = None
    if kept.get("subject") is not None:
        kept["subject"] = None
    if kept.get("reporter") is not None:
        kept["reporter"] = {}
    return kept


def purge(session: Session, *, now: datetime, after: timedelta) -> Purged:
    """Remove personal data of reports closed before ``now - after``. Idempotent."""
    cutoff = now - after
    with session.begin():
        closed_at = (select(Action.reference, func.max(Action.recorded_at).label("at"))
                     .where(Action.kind == "closure").group_by(Action.reference).subquery())
        references = list(session.scalars(
            select(Report.reference).join(closed_at, closed_at.c.reference == Report.reference)
            .where(Report.status == "closed", closed_at.c.at < cutoff)))
        reports = 0
        for reference in references:
            report = session.get(Report, reference)
            if report is None:
                continue
            anonymous = anonymous_contact(report.contact)
            if anonymous != report.contact:
                report.contact = anonymous
                reports += 1
        messages = 0
        if references:
            result = session.execute(
                update(Message)
                .where(Message.reference.in_(references),
                       (Message.body != REMOVED) | Message.address_digest.is_not(None))
                .values(recipient="", address_digest=None, body=REMOVED, html=None, subject=None)
            )
            messages = int(getattr(result, "rowcount", 0) or 0)
    return Purged(reports, messages)
