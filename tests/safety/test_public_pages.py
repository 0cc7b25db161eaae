"""The public dashboard (``/dashboard``, anyone, no sign-in) publishes nothing that could hurt the
people who report: no words a team wrote to an informant (names, homes, arrests), nothing about
sensitive reports (by category or by their words), and no small number that points at a household."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from schemas import CaseUpdate, Outcome, UpdateKind
from services.intake import pages_dashboard
from services.store import dashboard
from services.store.models import DashboardMonth
from services.store.repository import record_action
from tests.fakes.intake import IntakeTestClient, intake_client, route

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
#: What a team wrote to an informant about a domestic-abuse report: never public.
ARREST = "Amina, we arrested your husband Tariq at your home on Orchard Way MARKER-ARREST-7f3a"
#: An ordinary "we did", still free text written to one person: not public until approved.
PATROL = "Jo, we patrolled outside your house at 12 Bedford Road MARKER-PATROL-91c2"
SENSITIVE_WORDS = ("Domestic abuse concern", "domestic-abuse")


def act(client: IntakeTestClient, reference: str, text: str, closure: bool = False) -> None:
    with client.sessions() as s:
        record_action(s, CaseUpdate(
            reference=reference, kind=UpdateKind.CLOSURE if closure else UpdateKind.ACTION,
            actor_id="kempston-team", actor_name="Kempston neighbourhood team", public_text=text,
            outcome=Outcome.RESOLVED if closure else None, emitted_at=NOW))


def public_page(client: IntakeTestClient) -> str:
    """What the router's timer does (recompute the figures), then the page as anyone gets it."""
    with client.sessions() as s:
        dashboard.refresh(s, dashboard.every_month(s), NOW)
    page = client.get("/dashboard")
    assert page.status_code == 200
    return page.text


def stored_figures(client: IntakeTestClient) -> str:
    with client.sessions() as s, s.begin():
        return repr([vars(r) for r in s.scalars(select(DashboardMonth))])


def test_no_words_a_team_wrote_and_nothing_of_sensitive_reports_is_public(tmp_path):
    with intake_client(tmp_path, session_secret="s", show_outbox=False) as client:
        ordinary = [route(client) for _ in range(6)]
        abuse = route(client, category="domestic-abuse", text="My neighbour Amina is scared of her husband Tariq")
        # Under an ordinary category, but its words make it sensitive.
        disguised = route(client, category="anti-social-behaviour", text="Shouting next door, he hits her")
        act(client, abuse, ARREST)
        act(client, abuse, ARREST, closure=True)
        act(client, disguised, ARREST)
        for reference in ordinary:
            act(client, reference, PATROL)
        page = public_page(client)
        stored = stored_figures(client)
    for text in (page, stored):
        assert "MARKER-" not in text
        assert not any(name in text for name in ("Amina", "Tariq", "Jo ", "Orchard Way", "12 Bedford Road"))
        assert not any(word in text for word in SENSITIVE_WORDS)
        assert "anti-social-behaviour" not in text and "Anti-social" not in text
    # Only the 6 ordinary reports are counted; the sensitive two are in no figure.
    assert "6 reports in all" in page and "8 reports" not in page
    assert "published on the neighbourhood pages once a person has approved them" in " ".join(
        re.sub(r"<[^>]+>", "", page).split())


def test_a_neighbourhood_with_two_reports_shows_fewer_than_five(tmp_path):
    with intake_client(tmp_path, session_secret="s", show_outbox=False) as client:
        first, _ = route(client), route(client)
        act(client, first, PATROL, closure=True)
        page = public_page(client)
    assert "Kempston North" in page
    assert "fewer than 5 reports in all" in page
    assert 'numeric">fewer than 5</td>' in page  # received
    assert 'numeric">2</td>' not in page and ">2<" not in page
    assert "Resolved: fewer than 5" in page
    assert 'numeric">50%' not in page and 'numeric">100%' not in page and 'numeric">0%' not in page
    assert 'numeric">-</td>' in page  # no share of two reports


def test_counts_below_the_threshold_are_never_shown_as_they_are():
    shown = pages_dashboard.shown
    assert [shown(n) for n in (0, 1, 4, 5, 12)] == ["fewer than 5"] * 3 + ["5", "12"]
    assert shown(9, min_count=10) == "fewer than 10" and shown(10, min_count=10) == "10"


def test_the_threshold_is_the_intakes_setting(tmp_path):
    with intake_client(tmp_path, session_secret="s", show_outbox=False, dashboard_min_count=10) as client:
        for _ in range(6):
            route(client)
        page = public_page(client)
    assert "fewer than 10 reports in all" in page and "6 reports" not in page
