"""The few reads and writes the services make. Plain functions over a Session; every write
is idempotent under redelivery (insert, and treat "already there" as done)."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Row, Table, UniqueConstraint, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas import AreaRef, AreaType, CaseUpdate, RoutedItem, UpdateKind
from services.store.models import Action, Base, InboxCount, Report, ReportArea, ReportDestination, RoutingDecision

T = TypeVar("T")


def first_of_each(items: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """The first item of each key, in order (a batch may carry the same event twice)."""
    found: dict[Hashable, T] = {}
    for item in items:
        found.setdefault(key(item), item)
    return list(found.values())


def insert_once(session: Session, row: Any) -> bool:
    """Insert ``row``; False (and nothing changed) if its key is already there."""
    try:
        with session.begin_nested():
            session.add(row)
        return True
    except IntegrityError:
        return False


def _key_columns(table: Table, row: Mapping[str, Any]) -> tuple[str, ...]:
    """The columns of the table's first key (its primary key, then its unique constraints) that
    the rows carry; none when they carry no whole key."""
    keys = [tuple(c.name for c in table.primary_key.columns)]
    keys += [tuple(c.name for c in constraint.columns) for constraint in table.constraints
             if isinstance(constraint, UniqueConstraint)]
    return next((key for key in keys if key and all(name in row for name in key)), ())


def insert_new_rows(session: Session, model: type[Base], rows: Sequence[dict[str, Any]],
                    *returning: str) -> list[Row[Any]]:
    """Insert rows in one statement, skipping any whose key is already there (a redelivery, or
    another worker first: ``ON CONFLICT DO NOTHING``); returns the ``returning`` columns of the
    rows this call inserted. No savepoint and no ORM unit of work: the cheap path for batches.

    The rows go in in key order, whatever order the caller has them in: two workers inserting
    overlapping batches then take the key's locks in one order, so one waits for the other
    instead of both deadlocking."""
    if not rows:
        return []
    table = cast(Table, model.__table__)
    if key := _key_columns(table, rows[0]):
        rows = sorted(rows, key=lambda row: tuple((row[name] is None, row[name]) for name in key))
    statement = _insert_new_statement(table, session.get_bind().dialect.name, returning)
    return list(session.execute(statement, list(rows)))


def dialect_insert(dialect: str) -> Callable[[Table], Any]:
    """The ``insert`` of a dialect's name: PostgreSQL's or SQLite's, both with ``ON CONFLICT``."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@functools.cache
def _insert_new_statement(table: Table, dialect: str, returning: tuple[str, ...]) -> Any:
    """The ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` of a table, built once: building it
    (and its cache key) anew for every batch was a good part of a small batch's cost."""
    return dialect_insert(dialect)(table).on_conflict_do_nothing().returning(*(table.c[name] for name in returning))


def insert_new(session: Session, model: type[Base], rows: Sequence[dict[str, Any]], returning: str) -> list[Any]:
    """``insert_new_rows`` returning one column."""
    return [row[0] for row in insert_new_rows(session, model, rows, returning)]


class ReferenceTaken(Exception):
    """A routed report's reference already names another report (another contact event): it is
    not recorded over that one, nor skipped as if it were a redelivery."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"reference {reference} already names another report")
        self.reference = reference


def _check_not_taken(session: Session, items: Sequence[RoutedItem], inserted: set[str]) -> None:
    """A reference not inserted is a redelivery of the same contact, or another report's:
    ReferenceTaken for the latter (and for two contacts under one reference in a batch)."""
    seen: dict[str, str] = {}
    for item in items:
        event_id = str(item.contact.event_id)
        if seen.setdefault(item.reference, event_id) != event_id:
            raise ReferenceTaken(item.reference)
    for reference, event_id in seen.items():
        if reference in inserted:
            continue
        report = session.get(Report, reference)
        if report is not None and str(report.contact.get("event_id")) != event_id:
            raise ReferenceTaken(reference)


#: Which kind of area the public dashboard counts a report under, most preferred first.
DASHBOARD_AREA_TYPES = (AreaType.NEIGHBOURHOOD, AreaType.WARD, AreaType.PARISH, AreaType.SECTOR, AreaType.FORCE)


def dashboard_area(areas: Sequence[AreaRef]) -> str | None:
    """The area the dashboard counts a report under: the first by name of its most preferred kind."""
    for kind in DASHBOARD_AREA_TYPES:
        names = sorted(a.name for a in areas if a.type is kind)
        if names:
            return names[0]
    return None


def add_routings(session: Session, items: Sequence[RoutedItem]) -> int:
    """Project routed items (the report, its decision, and the facts the read side lists by:
    destinations, areas, organisation) inside the caller's transaction; returns how many were
    new. A redelivered contact (a reference seen before with the same contact event, or twice in
    ``items``) is skipped; another contact under a reference already taken raises ReferenceTaken
    (nothing of the batch is recorded)."""
    unique = first_of_each(items, lambda item: item.reference)
    new_reports = insert_new(session, Report, [
        {"reference": item.reference, "kind": item.contact.kind, "category": item.contact.report.category,
         "received_at": item.contact.received_at, "contact": item.contact.model_dump(mode="json"),
         "status": "open", "sensitive": item.sensitive, "area": dashboard_area(item.areas),
         "contactable": item.contact.kind == "third_party" or getattr(item.contact, "informant", None) is not None,
         "organisation_id": getattr(item.contact, "organisation_id", None)}
        for item in unique
    ], "reference")
    _check_not_taken(session, items, set(new_reports))
    new_destinations = insert_new(session, ReportDestination, [
        {"destination_id": d.id, "reference": item.reference, "kind": d.kind.value,
         "category": item.contact.report.category, "received_at": item.contact.received_at,
         "status": "open"}
        for item in unique for d in first_of_each(item.destinations, lambda d: d.id)
    ], "destination_id")
    count_items(session, Counter([*new_destinations, *([EVERY_REPORT] * len(new_reports))]), "open")
    insert_new(session, ReportArea, [
        {"area_id": a.id, "reference": item.reference, "name": a.name, "type": a.type.value,
         "received_at": item.contact.received_at}
        for item in unique for a in first_of_each(item.areas, lambda a: a.id)
    ], "reference")
    return len(insert_new(session, RoutingDecision, [
        {"reference": item.reference, "event_id": str(item.event_id),
         "destinations": [d.model_dump(mode="json") for d in item.destinations], "reasons": list(item.reasons),
         "rules_version": item.rules_version, "areas": [a.model_dump(mode="json") for a in item.areas],
         "decided_at": item.emitted_at}
        for item in unique
    ], "reference"))


#: The ``inbox_counts`` row that counts every report (for a team whose scope is all).
EVERY_REPORT = "*"


def count_items(session: Session, changes: Mapping[str, int], status: str) -> None:
    """Add ``changes`` (by destination id; negative to take away) to the inbox counts of ``status``,
    in the caller's transaction (an atomic upsert: concurrent writers add up)."""
    rows = [{"destination_id": d, "status": status, "reports": n} for d, n in sorted(changes.items()) if n]
    if not rows:
        return
    session.execute(_count_items_statement(session.get_bind().dialect.name), rows)


@functools.cache
def _count_items_statement(dialect: str) -> Any:
    statement = dialect_insert(dialect)(cast(Table, InboxCount.__table__))
    added = InboxCount.reports + statement.excluded["reports"]
    return statement.on_conflict_do_update(index_elements=["destination_id", "status"], set_={"reports": added})


def report_contact(session: Session, reference: str) -> tuple[dict[str, Any], bool] | None:
    """The contact event of a report as JSON, and whether the router found the report sensitive;
    None if no such report has been routed."""
    return report_contacts(session, [reference]).get(reference)


def report_contacts(session: Session, references: Iterable[str]) -> dict[str, tuple[dict[str, Any], bool]]:
    """``report_contact`` of several reports in one query, by reference; a report not routed
    is not in the answer."""
    wanted = set(references)
    if not wanted:
        return {}
    with session.begin():
        rows = session.execute(select(Report.reference, Report.contact, Report.sensitive)
                               .where(Report.reference.in_(wanted))).tuples()
        return {reference: (dict(contact), sensitive) for reference, contact, sensitive in rows}


def routed_to(session: Session, reference: str) -> list[str] | None:
    """Ids of the destinations a report was routed to; None if no such report was routed."""
    with session.begin():
        decision = session.get(RoutingDecision, reference)
        return None if decision is None else [d["id"] for d in decision.destinations]


def record_action(session: Session, update: CaseUpdate) -> bool:
    """Project a case update; closes the report on a closure. False if already recorded."""
    with session.begin():
        added = insert_once(
            session,
            Action(
                event_id=str(update.event_id),
                reference=update.reference,
                kind=update.kind.value,
                actor_id=update.actor_id,
                public_text=update.public_text,
                outcome=update.outcome.value if update.outcome else None,
                outcome_reason=update.outcome_reason,
                recorded_at=update.emitted_at,
                watch_note=update.watch_note,
            ),
        )
        if added and update.kind is UpdateKind.CLOSURE:
            report = session.get(Report, update.reference)
            if report is not None and report.status != "closed":
                report.status = "closed"
                moved = list(session.scalars(
                    sql_update(ReportDestination).where(ReportDestination.reference == update.reference)
                    .values(status="closed").returning(ReportDestination.destination_id)))
                session.flush()
                count_items(session, Counter([*moved, EVERY_REPORT]), "closed")
                count_items(session, {d: -n for d, n in Counter([*moved, EVERY_REPORT]).items()}, "open")
        return added
