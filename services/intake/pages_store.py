"""What the pages read from the store: plain functions over a Session returning plain dicts, so
the view builders in ``pages_views`` stay pure. Read-only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import Session

from services.store.models import (
    Action,
    ClusterMember,
    InboxCount,
    Message,
    Report,
    ReportArea,
    ReportDestination,
    RoutingDecision,
    WatchItemRow,
)
from services.store.paging import Cursor
from services.store.repository import EVERY_REPORT

#: A list's query: the (reference, received_at) of its items.
Keys = Select[str, datetime]

#: How many items a page lists unless asked otherwise, and at most.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Filters:
    """What a list may be narrowed to: open or closed, a category, an area (by id)."""

    status: str | None = None
    #: One category, or any of several.
    category: str | tuple[str, ...] | None = None
    area: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class Page:
    """One page of a list, newest first: its rows, the cursor of the next page (None at the end)
    and how many items the whole (filtered) list holds."""

    rows: list[dict[str, Any]]
    next: str | None
    total: int | None = None
    open: int | None = None
    #: ``total`` is a lower bound: the filtered list holds at least that many (counted up to ``COUNT_CAP``).
    more: bool = False


def _narrowed(query: Keys, received: Any, reference: Any, status: Any, category: Any,
              filters: Filters) -> Keys:
    if filters.status:
        query = query.where(status == filters.status)
    if isinstance(filters.category, tuple):
        query = query.where(category.in_(filters.category))
    elif filters.category:
        query = query.where(category == filters.category)
    if filters.area:
        query = query.where(select(ReportArea.reference).where(ReportArea.area_id == filters.area,
                                                               ReportArea.reference == reference).exists())
    if filters.since is not None:
        query = query.where(received >= filters.since)
    if filters.until is not None:
        query = query.where(received <= filters.until)
    return query


def _page_of(session: Session, query: Keys, received: Any, reference: Any, cursor: Cursor | None,
             limit: int) -> tuple[list[tuple[str, datetime]], str | None]:
    """The (reference, received_at) of one page of ``query``, newest first, and the next cursor."""
    if cursor is not None:
        query = query.where(tuple_(received, reference) < tuple_(cursor.received_at, cursor.reference))
    keys = [(ref, at) for ref, at in session.execute(
        query.order_by(received.desc(), reference.desc()).limit(limit + 1)).tuples()]
    more = len(keys) > limit
    keys = keys[:limit]
    return keys, (Cursor(keys[-1][1], keys[-1][0]).token() if more and keys else None)


#: A filtered list is counted up to this many (so a count costs the same at any size).
COUNT_CAP = 1_000


def _count(session: Session, query: Keys) -> tuple[int, bool]:
    """How many items ``query`` lists, up to ``COUNT_CAP``, and whether there are more."""
    n = session.execute(select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery())).scalar_one()
    return min(n, COUNT_CAP), n > COUNT_CAP


def _kept_counts(session: Session, destination_id: str) -> dict[str, int]:
    """The inbox's counts by status, as kept when reports were routed and closed."""
    return dict(session.execute(select(InboxCount.status, InboxCount.reports)
                                .where(InboxCount.destination_id == destination_id)).tuples().all())


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


def _cluster_notes(session: Session, refs: list[str]) -> dict[str, str]:
    clusters = dict(session.execute(select(ClusterMember.reference, ClusterMember.cluster_id)
                                    .where(ClusterMember.reference.in_(refs))).tuples().all())
    sizes = dict(session.execute(select(ClusterMember.cluster_id, func.count())
                                 .where(ClusterMember.cluster_id.in_(set(clusters.values())))
                                 .group_by(ClusterMember.cluster_id)).tuples().all()) if clusters else {}
    return {ref: f"{sizes[cid]} reports close together" for ref, cid in clusters.items() if sizes.get(cid, 0) > 1}


def team_items(session: Session, team_id: str, *, everything: bool, limit: int = PAGE_SIZE,
               cursor: Cursor | None = None, filters: Filters = Filters()) -> Page:
    """One page of the reports routed to a team (or of every report, for a team whose scope is
    all), newest first, with how many there are in all and open. Only the page's contacts are
    decrypted: what is listed is decided on plain columns and their indexes."""
    with session.begin():
        if everything:
            received, reference, status, category = (Report.received_at, Report.reference, Report.status,
                                                     Report.category)
            base = select(Report.reference, Report.received_at)
        else:
            received, reference, status, category = (ReportDestination.received_at, ReportDestination.reference,
                                                     ReportDestination.status, ReportDestination.category)
            base = (select(ReportDestination.reference, ReportDestination.received_at)
                    .where(ReportDestination.destination_id == team_id))
        listed = _narrowed(base, received, reference, status, category, filters)
        keys, following = _page_of(session, listed, received, reference, cursor, limit)
        if filters.category or filters.area or filters.since or filters.until:
            total, more = _count(session, listed)
            still_open, _ = ((0, False) if filters.status == "closed" else _count(
                session, _narrowed(base, received, reference, status, category, replace(filters, status="open"))))
        else:
            kept = _kept_counts(session, EVERY_REPORT if everything else team_id)
            more = False
            still_open = kept.get("open", 0) if filters.status != "closed" else 0
            total = kept.get(filters.status, 0) if filters.status else sum(kept.values())
        refs = [ref for ref, _ in keys]
        reports = {r.reference: r for r in session.scalars(select(Report).where(Report.reference.in_(refs)))}
        notes = _cluster_notes(session, refs)
        rows = [{"reference": ref, "received_at": reports[ref].received_at, "status": reports[ref].status,
                 "contact": dict(reports[ref].contact), "cluster": notes.get(ref)}
                for ref in refs if ref in reports]
        return Page(rows, following, total, still_open, more)


def watch_items(session: Session, watch_id: str, limit: int = PAGE_SIZE, cursor: Cursor | None = None,
                filters: Filters = Filters()) -> tuple[Page, dict[str, str]]:
    """One page of a watch's redacted items (as the router wrote them), newest first, and which are closed."""
    with session.begin():
        if filters.status:
            # Open or closed is kept with the report's destinations (the watch is one of them):
            # list those that have an item for the watch (a sensitive report has none).
            received, reference, status, category = (ReportDestination.received_at, ReportDestination.reference,
                                                     ReportDestination.status, ReportDestination.category)
            base = select(reference, received).where(
                ReportDestination.destination_id == watch_id,
                select(WatchItemRow.reference).where(WatchItemRow.watch_id == watch_id,
                                                     WatchItemRow.reference == reference).exists())
        else:
            received, reference, status, category = (WatchItemRow.received_at, WatchItemRow.reference, None,
                                                     WatchItemRow.category)
            base = select(reference, received).where(WatchItemRow.watch_id == watch_id)
        listed = _narrowed(base, received, reference, status, category, filters)
        keys, following = _page_of(session, listed, received, reference, cursor, limit)
        total, more = _count(session, listed)
        refs = [ref for ref, _ in keys]
        items = {r.reference: dict(r.item) for r in session.scalars(
            select(WatchItemRow).where(WatchItemRow.watch_id == watch_id, WatchItemRow.reference.in_(refs)))}
        statuses = dict(session.execute(select(Report.reference, Report.status)
                                        .where(Report.reference.in_(refs))).tuples().all())
        return Page([items[ref] for ref in refs if ref in items], following, total, more=more), statuses


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


def actions_of(session: Session, references: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The actions of several reports in one query (a page of items), each report's oldest first."""
    found: dict[str, list[dict[str, Any]]] = {r: [] for r in references}
    if not found:
        return found
    with session.begin():
        rows = session.scalars(select(Action).where(Action.reference.in_(list(found)))
                               .order_by(Action.reference, Action.recorded_at)).all()
        for a in rows:
            found[a.reference].append(_action(a))
    return found


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
                         limit: int = PAGE_SIZE, cursor: Cursor | None = None,
                         filters: Filters = Filters()) -> Page:
    """One page of the third-party reports an organisation made (for Open311 reads), newest
    first, with their actions: listed by ``reports.organisation_id`` and its index."""
    with session.begin():
        listed = _narrowed(select(Report.reference, Report.received_at)
                           .where(Report.organisation_id == organisation_id, Report.kind == "third_party"),
                           Report.received_at, Report.reference, Report.status, Report.category, filters)
        if references:
            listed = listed.where(Report.reference.in_(references))
        keys, following = _page_of(session, listed, Report.received_at, Report.reference, cursor, limit)
        refs = [ref for ref, _ in keys]
        reports = {r.reference: r for r in session.scalars(select(Report).where(Report.reference.in_(refs)))}
        decisions = {d.reference: d for d in session.scalars(
            select(RoutingDecision).where(RoutingDecision.reference.in_(refs)))}
        actions: dict[str, list[dict[str, Any]]] = {ref: [] for ref in refs}
        for a in session.scalars(select(Action).where(Action.reference.in_(refs)).order_by(Action.recorded_at)):
            actions[a.reference].append(_action(a))
        rows = []
        for ref in refs:
            report, decision = reports[ref], decisions.get(ref)
            rows.append({"reference": ref, "received_at": report.received_at, "status": report.status,
                         "contact": dict(report.contact),
                         "destinations": [] if decision is None else list(decision.destinations),
                         "actions": actions[ref]})
        return Page(rows, following)
