"""The confidence dashboard: per area and month, did informants hear back, how fast, what came of
it, and what they thought. Pure functions over store rows (``pages_store.dashboard_rows``), and
charts as inline SVG built here: no JavaScript, nothing fetched.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any

from markupsafe import Markup

from schemas import Outcome
from schemas.events import OPEN_STATUSES
from services.feedback.templates import OUTCOME_WORDS
from services.intake.pages_views import SENT_STATES, UK, aware

UNKNOWN_AREA = "Area not known"
#: Message states that mean the informant was (as far as we know) sent it. A message still
#: waiting (quiet hours, a safe window, a retry) is not: a scheduled acknowledgement is not yet an
#: acknowledgement. Nor is one that failed, was not delivered, was interrupted or was not sent.
SENT = SENT_STATES
#: Message states of a message still to go.
PENDING = OPEN_STATUSES
#: Names the area a report row is counted under.
AreaOf = Callable[[Mapping[str, Any]], str]


def stored_area(report: Mapping[str, Any]) -> str:
    """The area the router placed a report in, as stored with it (``reports.area``)."""
    return str(report.get("area") or UNKNOWN_AREA)


@dataclass
class Row:
    """One area in one month."""

    area: str
    month: str
    received: int = 0
    contactable: int = 0
    acknowledged: int = 0
    #: Reports whose acknowledgement is still waiting to go (not counted as acknowledged).
    ack_waiting: int = 0
    heard_we_did: int = 0
    to_ack: list[float] = field(default_factory=list)
    to_action: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    satisfaction: list[int] = field(default_factory=list)
    informed_yes: int = 0
    informed_answers: int = 0

    @property
    def ack_share(self) -> float | None:
        return self.acknowledged / self.contactable if self.contactable else None

    @property
    def we_did_share(self) -> float | None:
        return self.heard_we_did / self.contactable if self.contactable else None

    @property
    def median_ack_minutes(self) -> float | None:
        return statistics.median(self.to_ack) if self.to_ack else None

    @property
    def median_action_hours(self) -> float | None:
        return statistics.median(self.to_action) if self.to_action else None

    @property
    def mean_satisfaction(self) -> float | None:
        return statistics.mean(self.satisfaction) if self.satisfaction else None

    @property
    def informed_share(self) -> float | None:
        return self.informed_yes / self.informed_answers if self.informed_answers else None


@dataclass(frozen=True)
class YouSaidWeDid:
    area: str
    you_said: tuple[str, ...]
    we_did: tuple[str, ...]


@dataclass(frozen=True)
class AreaView:
    area: str
    rows: tuple[Row, ...]
    chart: Markup
    summary: YouSaidWeDid


@dataclass(frozen=True)
class DashboardView:
    areas: tuple[AreaView, ...]
    total_received: int


def _month(at: datetime) -> str:
    return at.astimezone(UK).strftime("%Y-%m")


def _minutes(later: datetime, earlier: datetime) -> float:
    return max((later - earlier) / timedelta(minutes=1), 0.0)


def build(rows: Mapping[str, Sequence[Mapping[str, Any]]], area_of: AreaOf = stored_area,
          category_label: Callable[[str], str] = lambda c: c) -> DashboardView:
    reports = rows.get("reports", ())
    actions_by: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for action in rows.get("actions", ()):
        actions_by[action["reference"]].append(action)
    messages_by: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for message in rows.get("messages", ()):
        if message.get("role") in ("informant", "reporter"):
            messages_by[message["reference"]].append(message)
    answers_by: dict[str, dict[str, str]] = defaultdict(dict)
    for answer in rows.get("answers", ()):
        answers_by[answer["reference"]][answer["question"]] = answer["answer"]

    table: dict[tuple[str, str], Row] = {}
    said: dict[str, Counter[str]] = defaultdict(Counter)
    did: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for report in reports:
        received = aware(report["received_at"])
        if received is None:
            continue
        area = area_of(report)
        row = table.setdefault((area, _month(received)), Row(area, _month(received)))
        row.received += 1
        said[area][category_label(report["category"])] += 1
        ref = report["reference"]
        messages = messages_by.get(ref, [])
        if report.get("contactable", bool(messages)):
            row.contactable += 1
        acks = [m for m in messages if m["trigger"] == "ack"]
        sent = [m for m in acks if m["status"] in SENT]
        if sent:
            row.acknowledged += 1
            # When it went: a sent row was last changed when it was handed over (a scheduled one
            # at the end of its wait, a fallback when the other channel took it), not when it was
            # queued; a delivered one when the provider said it arrived.
            first = min(aware(m["updated_at"]) or received for m in sent)
            row.to_ack.append(_minutes(first, received))
        elif any(m["status"] in PENDING for m in acks):
            row.ack_waiting += 1
        if any(m["trigger"].startswith(("action:", "closure:")) and m["status"] in SENT for m in messages):
            row.heard_we_did += 1
        actions = sorted(actions_by.get(ref, []), key=lambda a: aware(a["recorded_at"]) or received)
        if actions:
            row.to_action.append(_minutes(aware(actions[0]["recorded_at"]) or received, received) / 60)
        for action in actions:
            did[area].append((aware(action["recorded_at"]) or received, action["public_text"]))
            if action["kind"] == "closure" and action.get("outcome"):
                row.outcomes[OUTCOME_WORDS[Outcome(action["outcome"])]] += 1
        answers = answers_by.get(ref, {})
        if answers.get("satisfaction", "").isdigit():
            row.satisfaction.append(int(answers["satisfaction"]))
        if answers.get("kept_informed", "").upper() in ("Y", "N"):
            row.informed_answers += 1
            row.informed_yes += answers["kept_informed"].upper() == "Y"

    views = []
    for area in sorted({a for a, _ in table}, key=lambda a: (a == UNKNOWN_AREA, a)):
        area_rows = tuple(sorted((r for (a, _), r in table.items() if a == area), key=lambda r: r.month))
        summary = YouSaidWeDid(
            area,
            tuple(f"{label} ({n} report{'s' if n != 1 else ''})" for label, n in said[area].most_common(5)),
            tuple(text for _, text in sorted(did[area], reverse=True)[:5]),
        )
        views.append(AreaView(area, area_rows, bar_chart(area, area_rows), summary))
    return DashboardView(tuple(views), sum(r.received for r in table.values()))


def bar_chart(title: str, rows: Iterable[Row], width: int = 560, height: int = 200) -> Markup:
    """Reports received per month (bars) and the share who heard "we did" (darker part), as SVG with
    a text alternative."""
    rows = list(rows)
    if not rows:
        return Markup("")
    top = max(r.received for r in rows) or 1
    gap, left, bottom = 8, 30, 30
    bar = min(max((width - left) // max(len(rows), 1) - gap, 6), 60)
    parts = []
    for i, r in enumerate(rows):
        x = left + i * (bar + gap)
        h = (height - bottom - 10) * r.received / top
        heard = (height - bottom - 10) * r.heard_we_did / top
        parts.append(f'<rect x="{x}" y="{height - bottom - h:.1f}" width="{bar}" height="{h:.1f}" fill="#b1b4b6"/>')
        parts.append(f'<rect x="{x}" y="{height - bottom - heard:.1f}" width="{bar}" height="{heard:.1f}" '
                     f'fill="#1d70b8"/>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 10}" font-size="12" text-anchor="middle">'
                     f'{escape(r.month)}</text>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom - h - 3:.1f}" font-size="12" '
                     f'text-anchor="middle">{r.received}</text>')
    described = "; ".join(f"{r.month}: {r.received} received, {r.heard_we_did} heard what was done" for r in rows)
    label = escape(f"{title}: reports per month. {described}")
    return Markup(
        f'<svg role="img" aria-label="{label}" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width}px" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>'
        f'<line x1="{left - 4}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#0b0c0c"/>'
        f'{"".join(parts)}</svg>')
