"""The confidence dashboard: per area and month, did informants hear back, how fast, what came of
it, and what they thought. Built from the stored figures (``services.store.dashboard``: one row per
area and month, kept up to date by the router), and charts as inline SVG built here: no
JavaScript, nothing fetched.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

from schemas import Outcome
from services.feedback.templates import OUTCOME_WORDS
from services.store.dashboard import UNKNOWN_AREA, AreaOf, Figures, figures, stored_area

__all__ = ["UNKNOWN_AREA", "AreaView", "DashboardView", "Row", "YouSaidWeDid", "bar_chart", "build", "view"]


@dataclass(frozen=True)
class Row:
    """One area in one month, as shown."""

    figures: Figures
    #: Closures by outcome, in words.
    outcomes: Counter[str]

    @property
    def area(self) -> str:
        return self.figures.area

    @property
    def month(self) -> str:
        return self.figures.month

    @property
    def received(self) -> int:
        return self.figures.received

    @property
    def contactable(self) -> int:
        return self.figures.contactable

    @property
    def acknowledged(self) -> int:
        return self.figures.acknowledged

    @property
    def ack_waiting(self) -> int:
        return self.figures.ack_waiting

    @property
    def heard_we_did(self) -> int:
        return self.figures.heard_we_did

    @property
    def median_ack_minutes(self) -> float | None:
        return self.figures.median_ack_minutes

    @property
    def median_action_hours(self) -> float | None:
        return self.figures.median_action_hours

    @property
    def ack_share(self) -> float | None:
        f = self.figures
        return f.acknowledged / f.contactable if f.contactable else None

    @property
    def we_did_share(self) -> float | None:
        f = self.figures
        return f.heard_we_did / f.contactable if f.contactable else None

    @property
    def mean_satisfaction(self) -> float | None:
        f = self.figures
        return f.satisfaction_sum / f.satisfaction_count if f.satisfaction_count else None

    @property
    def informed_share(self) -> float | None:
        f = self.figures
        return f.informed_yes / f.informed_answers if f.informed_answers else None


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


def _words(outcomes: Mapping[str, int]) -> Counter[str]:
    said: Counter[str] = Counter()
    for outcome, n in outcomes.items():
        said[OUTCOME_WORDS[Outcome(outcome)]] += n
    return said


def view(months: Iterable[Figures], category_label: Callable[[str], str] = lambda c: c) -> DashboardView:
    """The page from the stored figures: areas by name (the unknown area last), months in order."""
    by_area: dict[str, list[Figures]] = defaultdict(list)
    for f in months:
        by_area[f.area].append(f)
    views = []
    for area in sorted(by_area, key=lambda a: (a == UNKNOWN_AREA, a)):
        area_months = sorted(by_area[area], key=lambda f: f.month)
        rows = tuple(Row(f, _words(f.outcomes)) for f in area_months)
        said: Counter[str] = Counter()
        for f in area_months:
            for category, n in f.categories.items():
                said[category_label(category)] += n
        did = sorted((tuple(x) for f in area_months for x in f.we_did), reverse=True)[:5]
        summary = YouSaidWeDid(
            area,
            tuple(f"{label} ({n} report{'s' if n != 1 else ''})" for label, n in said.most_common(5)),
            tuple(text for _, text in did),
        )
        views.append(AreaView(area, rows, bar_chart(area, rows), summary))
    return DashboardView(tuple(views), sum(f.received for fs in by_area.values() for f in fs))


def build(rows: Mapping[str, Sequence[Mapping[str, Any]]], area_of: AreaOf = stored_area,
          category_label: Callable[[str], str] = lambda c: c) -> DashboardView:
    """The page straight from store rows (what the stored figures are computed from)."""
    return view(figures(rows, area_of), category_label)


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
