"""The confidence dashboard: per area and month, did informants hear back, how fast, what came of
it, and what they thought. Built from the stored figures (``services.store.dashboard``: one row per
area and month, kept up to date by the router), and charts as inline SVG built here: no
JavaScript, nothing fetched.

The page is public, so it shows no free text written by teams (what a team wrote is written to an
informant; summaries will be published once a person has approved them), no sensitive category,
and no small number: any count below ``min_count`` (the intake's ``DASHBOARD_MIN_COUNT``) reads
"fewer than N", and a share, mean or median worked out from fewer reports than that is not shown.
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

__all__ = ["MIN_COUNT", "UNKNOWN_AREA", "AreaView", "DashboardView", "Row", "YouSaidWeDid", "bar_chart", "build",
           "shown", "view"]

#: Counts below this are shown as "fewer than" it (the default of ``DASHBOARD_MIN_COUNT``).
MIN_COUNT = 5
NOT_SHOWN = "-"


def shown(n: int, min_count: int = MIN_COUNT) -> str:
    """A count as the public page shows it: "fewer than 5" below the threshold."""
    return str(n) if n >= min_count else f"fewer than {min_count}"


def _percent(share: float | None, base: int, min_count: int) -> str:
    return NOT_SHOWN if share is None or base < min_count else f"{share * 100:.0f}%"


@dataclass(frozen=True)
class Row:
    """One area in one month, as shown."""

    figures: Figures
    #: Closures by outcome, in words.
    outcomes: Counter[str]
    #: Counts below this are not shown as they are (see ``shown``).
    min_count: int = MIN_COUNT

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

    # What the public page shows: no count below ``min_count``, nothing worked out from fewer.

    @property
    def received_shown(self) -> str:
        return shown(self.received, self.min_count)

    @property
    def ack_shown(self) -> str:
        return _percent(self.ack_share, self.contactable, self.min_count)

    @property
    def waiting_shown(self) -> str | None:
        return f"{shown(self.ack_waiting, self.min_count)} waiting" if self.ack_waiting else None

    @property
    def we_did_shown(self) -> str:
        return _percent(self.we_did_share, self.contactable, self.min_count)

    @property
    def median_ack_shown(self) -> str:
        minutes = self.median_ack_minutes
        return NOT_SHOWN if minutes is None or self.acknowledged < self.min_count else f"{minutes:.0f} min"

    @property
    def median_action_shown(self) -> str:
        # How many reports had an action is not stored; each report counted in ``heard_we_did`` had
        # one, so at least that many did.
        hours = self.median_action_hours
        if hours is None or self.received < self.min_count or self.heard_we_did < self.min_count:
            return NOT_SHOWN
        return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"

    @property
    def outcomes_shown(self) -> tuple[str, ...]:
        return tuple(f"{word}: {shown(n, self.min_count)}" for word, n in self.outcomes.most_common())

    @property
    def satisfaction_shown(self) -> str:
        mean, base = self.mean_satisfaction, self.figures.satisfaction_count
        return NOT_SHOWN if mean is None or base < self.min_count else f"{mean:.1f}"

    @property
    def informed_shown(self) -> str:
        return _percent(self.informed_share, self.figures.informed_answers, self.min_count)


@dataclass(frozen=True)
class YouSaidWeDid:
    """What people reported, by category (never a sensitive one). What was done is not shown:
    summaries are published only once a person has approved them."""

    area: str
    you_said: tuple[str, ...]


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
    min_count: int = MIN_COUNT

    @property
    def total_shown(self) -> str:
        return shown(self.total_received, self.min_count)


def _words(outcomes: Mapping[str, int]) -> Counter[str]:
    said: Counter[str] = Counter()
    for outcome, n in outcomes.items():
        said[OUTCOME_WORDS[Outcome(outcome)]] += n
    return said


def view(months: Iterable[Figures], category_label: Callable[[str], str] = lambda c: c,
         min_count: int = MIN_COUNT, is_sensitive: Callable[[str], bool] = lambda c: False) -> DashboardView:
    """The page from the stored figures: areas by name (the unknown area last), months in order.
    (The stored figures leave sensitive reports out; ``is_sensitive`` keeps any category marked
    sensitive since off the page too.)"""
    by_area: dict[str, list[Figures]] = defaultdict(list)
    for f in months:
        by_area[f.area].append(f)
    views = []
    for area in sorted(by_area, key=lambda a: (a == UNKNOWN_AREA, a)):
        area_months = sorted(by_area[area], key=lambda f: f.month)
        rows = tuple(Row(f, _words(f.outcomes), min_count) for f in area_months)
        said: Counter[str] = Counter()
        for f in area_months:
            for category, n in f.categories.items():
                if not is_sensitive(category):
                    said[category_label(category)] += n
        summary = YouSaidWeDid(
            area,
            tuple(f"{label} ({shown(n, min_count)} report{'s' if n != 1 else ''})"
                  for label, n in said.most_common(5)),
        )
        views.append(AreaView(area, rows, bar_chart(area, rows), summary))
    return DashboardView(tuple(views), sum(f.received for fs in by_area.values() for f in fs), min_count)


def build(rows: Mapping[str, Sequence[Mapping[str, Any]]], area_of: AreaOf = stored_area,
          category_label: Callable[[str], str] = lambda c: c, min_count: int = MIN_COUNT) -> DashboardView:
    """The page straight from store rows (what the stored figures are computed from)."""
    return view(figures(rows, area_of), category_label, min_count)


def bar_chart(title: str, rows: Iterable[Row], width: int = 560, height: int = 200) -> Markup:
    """Reports received per month (bars) and the share who heard "we did" (darker part), as SVG with
    a text alternative."""
    rows = list(rows)
    if not rows:
        return Markup("")
    # A count below the threshold is drawn as no bar, labelled "fewer than N".
    def drawn(r: Row, n: int) -> int:
        return n if r.received >= r.min_count and n >= r.min_count else 0

    top = max(drawn(r, r.received) for r in rows) or 1
    gap, left, bottom = 8, 30, 30
    bar = min(max((width - left) // max(len(rows), 1) - gap, 6), 60)
    parts = []
    for i, r in enumerate(rows):
        x = left + i * (bar + gap)
        h = (height - bottom - 10) * drawn(r, r.received) / top
        heard = (height - bottom - 10) * drawn(r, r.heard_we_did) / top
        parts.append(f'<rect x="{x}" y="{height - bottom - h:.1f}" width="{bar}" height="{h:.1f}" fill="#b1b4b6"/>')
        parts.append(f'<rect x="{x}" y="{height - bottom - heard:.1f}" width="{bar}" height="{heard:.1f}" '
                     f'fill="#1d70b8"/>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 10}" font-size="12" text-anchor="middle">'
                     f'{escape(r.month)}</text>')
        count = str(r.received) if drawn(r, r.received) else f"<{r.min_count}"
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom - h - 3:.1f}" font-size="12" '
                     f'text-anchor="middle">{escape(count)}</text>')
    described = "; ".join(f"{r.month}: {r.received_shown} received, {shown(r.heard_we_did, r.min_count)} heard what "
                          f"was done" for r in rows)
    label = escape(f"{title}: reports per month. {described}")
    return Markup(
        f'<svg role="img" aria-label="{label}" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width}px" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>'
        f'<line x1="{left - 4}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#0b0c0c"/>'
        f'{"".join(parts)}</svg>')
