"""The dashboard's stored figures follow what happens: a refresh recomputes the months whose
reports changed since the last one (a closure on an old report updates its month), and only those."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas import CaseUpdate, Outcome, UpdateKind
from services.store import dashboard
from services.store.repository import record_action
from tests.unit.test_inbox_paging import T0, add, routed, sessions_in


def test_a_refresh_recomputes_the_months_touched_since_the_last(tmp_path):
    sessions = sessions_in(tmp_path)
    march, april = routed(T0, "kempston-team"), routed(T0 + timedelta(days=40), "kempston-team")
    add(sessions, [march, april])
    since = dashboard.refresh_touched(sessions, T0 + timedelta(days=41), None)
    with sessions() as s:
        before = {f.month: f for f in dashboard.read(s)}
    assert {m: (f.area, f.received, f.outcomes) for m, f in before.items()} == {
        "2026-03": ("Kempston North", 1, {}), "2026-04": ("Kempston North", 1, {})}
    with sessions() as s:
        touched = dashboard.touched_months(s, T0 + timedelta(days=41))
    assert touched == set()
    with sessions() as s:
        record_action(s, CaseUpdate(reference=march.reference, kind=UpdateKind.CLOSURE, actor_id="kempston-team",
                                    actor_name="Kempston", public_text="Done", outcome=Outcome.RESOLVED,
                                    emitted_at=T0 + timedelta(days=41, hours=1)))
    with sessions() as s:
        assert dashboard.touched_months(s, since) == {"2026-03"}
    dashboard.refresh_touched(sessions, T0 + timedelta(days=42), since)
    with sessions() as s:
        after = {f.month: f for f in dashboard.read(s)}
    assert after["2026-03"].outcomes == {"resolved": 1} and after["2026-03"].median_action_hours is not None
    assert after["2026-04"].outcomes == {}


def test_months_are_uk_calendar_months():
    start, end = dashboard.month_bounds("2026-04")
    assert (start.isoformat(), end.isoformat()) == ("2026-03-31T23:00:00+00:00", "2026-04-30T23:00:00+00:00")


def test_router_workers_take_turns_refreshing_instead_of_each_recomputing(tmp_path):
    sessions = sessions_in(tmp_path)
    turn = timedelta(minutes=1)
    start = T0 + timedelta(days=1)

    def tick(at: timedelta, since: datetime | None) -> datetime | None:
        """A report arrives just before a worker's tick at ``start + at``; then the tick."""
        add(sessions, [routed(start + at - timedelta(seconds=5), "kempston-team")])
        return dashboard.refresh_touched(sessions, start + at, since, turn=turn)

    def written() -> object:
        with sessions() as s:
            return dashboard.last_refreshed(s)

    b = tick(timedelta(0), None)  # worker B
    assert written() == start
    # worker A ticks a quarter of a turn later: B has just done it, so A leaves it
    a = tick(turn / 4, None)
    assert a is None and written() == start
    # B's own next tick is not held back by its own refresh, and counts what came in meanwhile
    b = tick(turn, b)
    assert written() == start + turn
    with sessions() as s:
        assert sum(f.received for f in dashboard.read(s)) == 3
    # A's next tick, three quarters of a turn after B's: B has not been back since, so A refreshes
    a = tick(turn * 1.75, a)
    assert a == start + turn * 1.75 and written() == start + turn * 1.75
    # and B, a quarter of a turn after A, skips
    assert tick(turn * 2, b) is None
    assert written() == start + turn * 1.75
