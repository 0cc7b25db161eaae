"""What the pages read from the store: plain functions over a Session returning plain dicts, so
the view builders in ``pages_views`` stay pure. Read-only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.store.models import (
    Action,
    ClusterMember,
    Message,
    Report,
    RoutingDecision,
    SurveyAnswer,
    WatchItemRow,
)

#: How many recent routed reports a team's inbox looks through.
INBOX_WINDOW = 500


def _action(a: Action) -> dict[str, Any]:
    return {"event_id": a.event_id, "reference": a.reference, "kind": a.kind, "actor_id": a.actor_id,
            "public_text": a.public_text, "outcome": a.outcome, "outcome_reason": a.outcome_reason,
            "recorded_at": a.recorded_at, "watch_note": a.watch_note}


def track_rows(session: Session, reference: str) -> dict[str, Any]:
    """One report's contact, routing decision, actions and the messages about it (no addresses)."""
    with session.begin():
        report = session.get(Report, reference)
        decision = session.get(RoutingDecision, reference)
        actions = session.scalars(select(Action).where(Action.reference == reference)).all()
        messages = session.scalars(select(Message).where(Message.reference == reference).order_by(Message.id)).all()
        return {
            "contact": None if report is None else dict(report.contact),
            "destinations": None if decision is None else list(decision.destinations),
            "decided_at": None if decision is None else decision.decided_at,
            "actions": [_action(a) for a in actions],
            "messages": [{"trigger": m.trigger, "role": m.role, "channel": m.channel, "status": m.status,
                          "due_at": m.due_at, "created_at": m.created_at, "updated_at": m.updated_at}
                         for m in messages],
        }


def team_items(session: Session, team_id: str, *, everything: bool, limit: int = 50) -> list[dict[str, Any]]:
    """Reports routed to a team (or every report, for a team whose scope is all), newest first."""
    with session.begin():
        rows = session.execute(
            select(Report, RoutingDecision)
            .join(RoutingDecision, RoutingDecision.reference == Report.reference)
            .order_by(Report.received_at.desc(), Report.reference)
            .limit(INBOX_WINDOW)
        ).all()
        mine = [(r, d) for r, d in rows if everything or team_id in {x.get("id") for x in d.destinations}][:limit]
        refs = [r.reference for r, _ in mine]
        clusters = {m.reference: m.cluster_id for m in
                    session.scalars(select(ClusterMember).where(ClusterMember.reference.in_(refs)))}
        sizes: dict[str, int] = {}
        for cid in set(clusters.values()):
            sizes[cid] = len(session.scalars(select(ClusterMember.reference)
                                             .where(ClusterMember.cluster_id == cid)).all())
        return [{"reference": r.reference, "received_at": r.received_at, "status": r.status,
                 "contact": dict(r.contact),
                 "cluster": (f"{sizes[clusters[r.reference]]} reports close together"
                             if r.reference in clusters and sizes[clusters[r.reference]] > 1 else None)}
                for r, _ in mine]


def watch_items(session: Session, watch_id: str, limit: int = 50) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """A watch's redacted items (as the router wrote them), newest first, and which are closed."""
    with session.begin():
        rows = session.scalars(select(WatchItemRow).where(WatchItemRow.watch_id == watch_id)
                               .order_by(WatchItemRow.received_at.desc(), WatchItemRow.reference).limit(limit)).all()
        refs = [r.reference for r in rows]
        statuses = {r.reference: r.status for r in session.scalars(select(Report).where(Report.reference.in_(refs)))}
        return [dict(r.item) for r in rows], statuses


def watch_item(session: Session, watch_id: str, reference: str) -> tuple[dict[str, Any], str] | None:
    """One of a watch's redacted items and whether the report is open or closed; None if not the watch's."""
    with session.begin():
        row = session.get(WatchItemRow, (watch_id, reference))
        if row is None:
            return None
        report = session.get(Report, reference)
        return dict(row.item), (report.status if report else "open")


def report_actions(session: Session, reference: str) -> list[dict[str, Any]]:
    with session.begin():
        rows = session.scalars(select(Action).where(Action.reference == reference)
                               .order_by(Action.recorded_at)).all()
        return [_action(a) for a in rows]


def report_row(session: Session, reference: str) -> dict[str, Any] | None:
    with session.begin():
        report = session.get(Report, reference)
        decision = session.get(RoutingDecision, reference)
        if report is None:
            return None
        return {"reference": report.reference, "received_at": report.received_at, "status": report.status,
                "contact": dict(report.contact),
                "destinations": [] if decision is None else list(decision.destinations),
                "reasons": [] if decision is None else list(decision.reasons)}


def organisation_reports(session: Session, organisation_id: str, references: list[str] | None,
                         limit: int = 200) -> list[dict[str, Any]]:
    """Third-party reports an organisation made (for Open311 reads), with their actions."""
    with session.begin():
        query = select(Report).where(Report.kind == "third_party").order_by(Report.received_at.desc())
        if references:
            query = query.where(Report.reference.in_(references))
        out = []
        for report in session.scalars(query.limit(INBOX_WINDOW)):
            if report.contact.get("organisation_id") != organisation_id:
                continue
            decision = session.get(RoutingDecision, report.reference)
            actions = session.scalars(select(Action).where(Action.reference == report.reference)
                                      .order_by(Action.recorded_at)).all()
            out.append({"reference": report.reference, "received_at": report.received_at, "status": report.status,
                        "contact": dict(report.contact),
                        "destinations": [] if decision is None else list(decision.destinations),
                        "actions": [_action(a) for a in actions]})
            if len(out) >= limit:
                break
        return out


def dashboard_rows(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Everything the confidence dashboard counts, as rows (no addresses, no message bodies)."""
    with session.begin():
        reports = [{"reference": r.reference, "kind": r.kind, "category": r.category, "received_at": r.received_at,
                    "status": r.status, "location": (r.contact.get("report") or {}).get("location") or {},
                    "contactable": r.kind == "third_party" or bool(r.contact.get("informant"))}
                   for r in session.scalars(select(Report))]
        decisions = [{"reference": d.reference, "decided_at": d.decided_at, "destinations": list(d.destinations)}
                     for d in session.scalars(select(RoutingDecision))]
        actions = [_action(a) for a in session.scalars(select(Action))]
        messages = [{"reference": m.reference, "trigger": m.trigger, "role": m.role, "status": m.status,
                     "created_at": m.created_at, "updated_at": m.updated_at}
                    for m in session.scalars(select(Message))]
        answers = [{"reference": a.reference, "question": a.question, "answer": a.answer}
                   for a in session.scalars(select(SurveyAnswer))]
        return {"reports": reports, "decisions": decisions, "actions": actions, "messages": messages,
                "answers": answers}
