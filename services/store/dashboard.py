"""The confidence dashboard's figures, per area and month, kept in ``dashboard_monthly`` so the
public page reads a few hundred rows however many reports there are.

``figures`` is the arithmetic (pure): from one month's reports and what happened to them, per area:
received, contactable, acknowledged (a message that went, not one still waiting), told "we did",
median minutes to acknowledgement and hours to first action, outcomes, satisfaction and "felt
informed" answers, and what people reported (categories). The figures are public: sensitive
reports (``reports.sensitive``: the router's verdict, by category or by the report's words) are
left out of them entirely, and no free text is kept (``we_did`` is always empty: what teams wrote
is written to an informant and is published only once a person has approved it).

``refresh`` recomputes whole months (a month's reports are one range of ``ix_reports_received``),
and ``refresh_touched`` only the months of reports that changed since a moment: new reports,
actions, messages and survey answers, found through their time indexes. The router runs it on a
timer (``services.router.app``), its workers taking turns; ``python -m services.dashboard`` rebuilds
every month.
"""

from __future__ import annotations

import functools
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, delete, func, select, union
from sqlalchemy.orm import Session, sessionmaker

from schemas.events import OPEN_STATUSES, SENT_STATUSES
from services.store.models import Action, DashboardMonth, Message, Report, SurveyAnswer, UTCDateTime
from services.store.repository import dialect_insert

UK = ZoneInfo("Europe/London")
UNKNOWN_AREA = "Area not known"
#: Messages to the person who reported it (not to someone reported for).
TOLD = ("informant", "reporter")
#: Seconds of clock difference between services allowed for when finding what changed.
MARGIN = timedelta(minutes=5)
AreaOf = Callable[[Mapping[str, Any]], str]


def stored_area(report: Mapping[str, Any]) -> str:
    """The area the router placed a report in, as stored with it (``reports.area``)."""
    return str(report.get("area") or UNKNOWN_AREA)


def month_of(at: datetime) -> str:
    return at.astimezone(UK).strftime("%Y-%m")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC moments a UK calendar month (``YYYY-MM``) starts and ends at."""
    year, number = (int(p) for p in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UK)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UK)
    return start.astimezone(UTC), end.astimezone(UTC)


def _aware(at: datetime | str | None) -> datetime | None:
    if at is None:
        return None
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _minutes(later: datetime, earlier: datetime) -> float:
    return max((later - earlier) / timedelta(minutes=1), 0.0)


@dataclass
class Figures:
    """One area in one month."""

    area: str
    month: str
    received: int = 0
    contactable: int = 0
    acknowledged: int = 0
    #: Reports whose acknowledgement is still waiting to go (not counted as acknowledged).
    ack_waiting: int = 0
    heard_we_did: int = 0
    median_ack_minutes: float | None = None
    median_action_hours: float | None = None
    #: Closures by outcome (``Outcome`` values).
    outcomes: dict[str, int] = field(default_factory=dict)
    satisfaction_sum: int = 0
    satisfaction_count: int = 0
    informed_yes: int = 0
    informed_answers: int = 0
    #: Reports by category.
    categories: dict[str, int] = field(default_factory=dict)
    #: Always empty: no free text written by teams is public (kept for the stored column).
    we_did: list[list[str]] = field(default_factory=list)


def figures(rows: Mapping[str, Sequence[Mapping[str, Any]]], area_of: AreaOf = stored_area) -> list[Figures]:
    """Per area and month, from rows of reports, actions, messages and answers (pure)."""
    actions_by: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for action in rows.get("actions", ()):
        actions_by[action["reference"]].append(action)
    messages_by: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for message in rows.get("messages", ()):
        if message.get("role") in TOLD:
            messages_by[message["reference"]].append(message)
    answers_by: dict[str, dict[str, str]] = defaultdict(dict)
    for answer in rows.get("answers", ()):
        answers_by[answer["reference"]][answer["question"]] = answer["answer"]

    table: dict[tuple[str, str], Figures] = {}
    to_ack: dict[tuple[str, str], list[float]] = defaultdict(list)
    to_action: dict[tuple[str, str], list[float]] = defaultdict(list)
    outcomes: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    categories: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for report in rows.get("reports", ()):
        if report.get("sensitive"):
            continue
        received = _aware(report["received_at"])
        if received is None:
            continue
        key = (area_of(report), month_of(received))
        row = table.setdefault(key, Figures(*key))
        row.received += 1
        categories[key][report["category"]] += 1
        ref = report["reference"]
        messages = messages_by.get(ref, [])
        if report.get("contactable", bool(messages)):
            row.contactable += 1
        acks = [m for m in messages if m["trigger"] == "ack"]
        sent = [m for m in acks if m["status"] in SENT_STATUSES]
        if sent:
            row.acknowledged += 1
            # When it went: a sent row was last changed when it was handed over (a scheduled one
            # at the end of its wait, a fallback when the other channel took it), not when it was
            # queued; a delivered one when the provider said it arrived.
            first = min(_aware(m["updated_at"]) or received for m in sent)
            to_ack[key].append(_minutes(first, received))
        elif any(m["status"] in OPEN_STATUSES for m in acks):
            row.ack_waiting += 1
        if any(m["trigger"].startswith(("action:", "closure:")) and m["status"] in SENT_STATUSES for m in messages):
            row.heard_we_did += 1
        actions = sorted(actions_by.get(ref, []), key=lambda a: _aware(a["recorded_at"]) or received)
        if actions:
            to_action[key].append(_minutes(_aware(actions[0]["recorded_at"]) or received, received) / 60)
        for action in actions:
            if action["kind"] == "closure" and action.get("outcome"):
                outcomes[key][action["outcome"]] += 1
        answers = answers_by.get(ref, {})
        if answers.get("satisfaction", "").isdigit():
            row.satisfaction_sum += int(answers["satisfaction"])
            row.satisfaction_count += 1
        if answers.get("kept_informed", "").upper() in ("Y", "N"):
            row.informed_answers += 1
            row.informed_yes += answers["kept_informed"].upper() == "Y"
    for key, row in table.items():
        row.median_ack_minutes = statistics.median(to_ack[key]) if to_ack[key] else None
        row.median_action_hours = statistics.median(to_action[key]) if to_action[key] else None
        row.outcomes = dict(outcomes[key])
        row.categories = dict(categories[key])
    return sorted(table.values(), key=lambda f: (f.area, f.month))


def month_rows(session: Session, month: str) -> dict[str, list[dict[str, Any]]]:
    """Everything ``figures`` needs about the reports received in one month (no contacts decrypted,
    no free text, no sensitive report)."""
    start, end = month_bounds(month)
    in_month = (Report.received_at >= start) & (Report.received_at < end) & Report.sensitive.is_(False)
    # A report routed before ``contactable`` was kept counts as contactable if it was messaged.
    reports = [{"reference": ref, "category": category, "received_at": at, "area": area,
                **({} if contactable is None else {"contactable": contactable})}
               for ref, category, at, area, contactable in session.execute(
                   select(Report.reference, Report.category, Report.received_at, Report.area, Report.contactable)
                   .where(in_month)).tuples()]
    actions = [{"reference": ref, "kind": kind, "outcome": outcome, "recorded_at": at}
               for ref, kind, outcome, at in session.execute(
                   select(Action.reference, Action.kind, Action.outcome, Action.recorded_at)
                   .join(Report, Report.reference == Action.reference).where(in_month)).tuples()]
    messages = [{"reference": ref, "trigger": trigger, "role": role, "status": status, "updated_at": at}
                for ref, trigger, role, status, at in session.execute(
                    select(Message.reference, Message.trigger, Message.role, Message.status, Message.updated_at)
                    .join(Report, Report.reference == Message.reference)
                    .where(in_month, Message.role.in_(TOLD))).tuples()]
    answers = [{"reference": ref, "question": question, "answer": answer}
               for ref, question, answer in session.execute(
                   select(SurveyAnswer.reference, SurveyAnswer.question, SurveyAnswer.answer)
                   .join(Report, Report.reference == SurveyAnswer.reference).where(in_month)).tuples()]
    return {"reports": reports, "actions": actions, "messages": messages, "answers": answers}


def refresh(session: Session, months: Iterable[str], now: datetime) -> int:
    """Recompute whole months, each in its own transaction; returns how many were."""
    done = 0
    for month in sorted(set(months)):
        with session.begin():
            found = figures(month_rows(session, month))
            session.execute(delete(DashboardMonth).where(DashboardMonth.month == month,
                                                         DashboardMonth.area.not_in([f.area for f in found])))
            if found:
                # An upsert: another worker refreshing the same month at the same time writes the same rows.
                statement = dialect_insert(session.get_bind().dialect.name)(cast(Table, DashboardMonth.__table__))
                columns = [c for c in vars(found[0]) if c not in ("area", "month")] + ["refreshed_at"]
                session.execute(statement.on_conflict_do_update(
                    index_elements=["area", "month"], set_={c: statement.excluded[c] for c in columns}),
                    [{**vars(f), "refreshed_at": now} for f in found])
        done += 1
    return done


def every_month(session: Session) -> list[str]:
    with session.begin():
        first, last = session.execute(select(func.min(Report.received_at), func.max(Report.received_at))).one()
    if first is None or last is None:
        return []
    months, at = [], _aware(first) or first
    end = month_of(_aware(last) or last)
    while (month := month_of(at)) <= end:
        months.append(month)
        at = month_bounds(month)[1] + timedelta(hours=1)
    return months


def touched_months(session: Session, since: datetime) -> set[str]:
    """Months of the reports received, acted on, messaged about or answered for since ``since``.

    The database reduces the moments to the UTC hours they fall in (a UK month starts on an hour:
    the offset is whole hours), in one statement: a few rows, where reading every moment changed
    in the last minutes was tens of thousands of rows a minute at 100 reports a second."""
    with session.begin():
        hours = session.scalars(_touched_hours_statement(session.get_bind().dialect.name), {"since": since})
        return {month_of(_utc_hour(hour)) for hour in hours}


@functools.cache
def _touched_hours_statement(dialect: str) -> Any:
    if dialect == "postgresql":  # the hour in UTC, whatever the session's time zone
        hour = func.date_trunc("hour", func.timezone("UTC", Report.received_at))
    else:  # SQLite holds UTC text
        hour = func.strftime("%Y-%m-%d %H:00:00", Report.received_at)
    since = bindparam("since", type_=UTCDateTime())
    changed = [select(hour).where(Report.received_at >= since)]
    changed += [select(hour).select_from(model).join(Report, Report.reference == model.reference)
                .where(moment >= since)
                for model, moment in ((Action, Action.recorded_at), (Message, Message.updated_at),
                                      (SurveyAnswer, SurveyAnswer.answered_at))]
    return union(*changed)


def _utc_hour(hour: datetime | str) -> datetime:
    at = datetime.fromisoformat(hour) if isinstance(hour, str) else hour
    return at.replace(tzinfo=UTC)


def last_refreshed(session: Session) -> datetime | None:
    with session.begin():
        return _aware(session.scalar(select(func.max(DashboardMonth.refreshed_at))))


def refresh_touched(sessions: sessionmaker[Session], now: datetime, since: datetime | None,
                    *, turn: timedelta | None = None) -> datetime | None:
    """Bring the figures up to date: every month if they were never computed, else the months
    touched since ``since`` (or since the last refresh). Returns the ``since`` for next time.

    With ``turn`` (the refresh interval), workers that run this on the same timer take turns
    instead of each recomputing the same months: a worker skips its tick when the figures were
    written less than half a ``turn`` ago by a refresh that is not its own (``since``), and then
    starts its next refresh from the stored moment. Two ticks that fall together may both run:
    the result is the same whoever writes it (the write is an upsert)."""
    with sessions() as session:
        last = last_refreshed(session)
        if turn is not None and last is not None and last != since and now - last < turn / 2:
            return None
        since = since or last
        months = every_month(session) if since is None else touched_months(session, since - MARGIN)
        refresh(session, months, now)
    return now


def version(session: Session) -> str:
    """Changes whenever the figures do (every refresh rewrites the months it recomputes)."""
    with session.begin():
        latest, rows = session.execute(select(func.max(DashboardMonth.refreshed_at), func.count())).one()
    at = _aware(latest)
    return f"{at.isoformat() if at else '-'}/{rows}"


def read(session: Session) -> list[Figures]:
    """Every area's figures, month by month (what the public page shows)."""
    with session.begin():
        rows = session.scalars(select(DashboardMonth).order_by(DashboardMonth.area, DashboardMonth.month)).all()
        return [Figures(r.area, r.month, r.received, r.contactable, r.acknowledged, r.ack_waiting, r.heard_we_did,
                        r.median_ack_minutes, r.median_action_hours, dict(r.outcomes), r.satisfaction_sum,
                        r.satisfaction_count, r.informed_yes, r.informed_answers, dict(r.categories),
                        []) for r in rows]
