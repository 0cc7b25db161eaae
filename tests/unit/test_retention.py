"""Retention reaches every table: reports taken through the router and the feedback worker
(closed, replied to twice, redirect-only, abandoned, from an organisation) keep their personal
data until they are due, and then none of it is left anywhere, while the dashboard's figures stay."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from schemas import WatchItem
from schemas.events import CONTACT
from services.retention.__main__ import main as retention_main
from services.retention.purge import REMOVED, Life, Policy, RecordsPolicy, due_references, purge, purge_records
from services.store import messages as store
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import (
    AuditEntry,
    Cluster,
    ClusterMember,
    Message,
    ProviderEvent,
    ReferenceClaim,
    Report,
    SignInLink,
    StaffSession,
    WatchItemRow,
)
from tests.unit.personal_world import NOON, PersonalWorld, aggregates, scan, seed


def contact(session: Session, reference: str) -> dict[str, Any]:
    report = session.get(Report, reference)
    assert report is not None
    return report.contact


YEAR = Policy(retention=timedelta(days=365), abandoned=timedelta(days=365))


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    return make_sessions(make_engine(url))


# --- when a report is due: pure --------------------------------------------------------------


def life(reference: str, **kw: Any) -> Life:
    return Life(reference=reference, received_at=NOON, **kw)


def test_a_closed_report_is_due_a_retention_period_after_its_closure() -> None:
    lives = {"A": life("A", closed_at=NOON + timedelta(days=10))}
    assert due_references(lives, YEAR, NOON + timedelta(days=374)) == []
    assert due_references(lives, YEAR, NOON + timedelta(days=375)) == ["A"]


def test_a_redirect_only_report_is_due_a_retention_period_after_it_was_routed() -> None:
    lives = {"B": life("B", redirect_only=True, routed_at=NOON, last_activity=NOON + timedelta(days=1))}
    assert due_references(lives, YEAR, NOON + timedelta(days=365)) == ["B"]


def test_a_report_never_closed_is_due_once_abandoned() -> None:
    policy = Policy(retention=timedelta(days=365), abandoned=timedelta(days=90))
    lives = {"C": life("C", last_activity=NOON + timedelta(days=30))}
    assert due_references(lives, policy, NOON + timedelta(days=119)) == []
    assert due_references(lives, policy, NOON + timedelta(days=120)) == ["C"]


def test_a_reply_chain_goes_as_one_when_its_last_report_is_due() -> None:
    lives = {"A": life("A", closed_at=NOON),
             "R1": life("R1", related_reference="A", last_activity=NOON + timedelta(days=20)),
             "R2": life("R2", related_reference="R1", last_activity=NOON + timedelta(days=40)),
             "X": life("X", related_reference="GONE", last_activity=NOON)}
    # A alone is due at 365 days, but its replies keep the chain until the last is abandoned.
    assert due_references(lives, YEAR, NOON + timedelta(days=366)) == ["X"]
    assert due_references(lives, YEAR, NOON + timedelta(days=405)) == ["A", "R1", "R2", "X"]


def test_a_cycle_of_replies_does_not_hang() -> None:
    lives = {"A": life("A", related_reference="B"), "B": life("B", related_reference="A")}
    assert due_references(lives, YEAR, NOON + timedelta(days=366)) == ["A", "B"]


# --- what goes: the store ----------------------------------------------------------------------


def test_nothing_goes_before_it_is_due(sessions: sessionmaker[Session]) -> None:
    world = PersonalWorld(sessions)
    seeded = seed(world)
    done = purge(sessions(), now=world.now + timedelta(days=300), policy=YEAR)
    assert done.due == [] and done.reports == done.messages == 0
    with sessions() as s:
        assert contact(s, seeded.closed)["informant"]["phone"] == seeded.informant.phone


def test_a_closed_report_waits_for_the_replies_to_it(sessions: sessionmaker[Session]) -> None:
    world = PersonalWorld(sessions)
    seeded = seed(world)
    # A year after the closure (and after the redirect and the abandoned report): the closed
    # report is due on its own, but the replies to it, two weeks younger, are not yet.
    done = purge(sessions(), now=world.now - timedelta(days=14) + timedelta(days=366), policy=YEAR)
    assert seeded.redirect in done.due and seeded.abandoned in done.due and seeded.third_party in done.due
    assert seeded.closed not in done.due and not set(seeded.replies) & set(done.due)
    with sessions() as s:
        assert contact(s, seeded.closed)["informant"]["email"] == seeded.informant.email
        assert contact(s, seeded.replies[1])["informant"]["email"] == seeded.informant.email
        assert contact(s, seeded.redirect)["report"]["description"] == REMOVED


def test_past_retention_no_personal_data_is_left_in_any_table_and_the_figures_stay(
        sessions: sessionmaker[Session]) -> None:
    world = PersonalWorld(sessions)
    seeded = seed(world)
    with sessions() as s:  # a message waiting for a safe window that never comes
        store.claim_and_take(s, [store.ClaimRequest(store.Draft(
            key=f"{seeded.abandoned}:update:informant:sms", reference=seeded.abandoned, trigger="update",
            role="informant", channel="sms", recipient=seeded.informant.phone, body=world.text("w"),
            due_at=world.now + timedelta(days=1000)))], world.now, lambda _: [])
    with sessions() as s:
        assert {m for _, _, m in scan(s, world.markers)} == set(world.markers)  # the scan sees them all first
    before = aggregates(sessions)

    done = purge(sessions(), now=world.now + timedelta(days=400), policy=YEAR, batch=2)

    assert set(done.due) == {seeded.closed, *seeded.replies, seeded.redirect, seeded.abandoned, seeded.third_party}
    with sessions() as s:
        assert scan(s, world.markers + world.variants) == []
        for reference in done.due:
            CONTACT.validate_python(contact(s, reference))  # still valid events
        for row in s.query(WatchItemRow):
            WatchItem.model_validate(row.item)
        assert all(m.latitude is None or round(m.latitude, 2) == m.latitude for m in s.query(ClusterMember))
        assert {c.label for c in s.query(Cluster)} == {REMOVED}
        assert s.query(Message).filter(Message.provider_id.is_not(None)).count() == 0
        assert s.query(Message).filter(Message.due_at.is_not(None)).count() == 0  # nothing left to go
    assert aggregates(sessions) == before
    again = purge(sessions(), now=world.now + timedelta(days=401), policy=YEAR, batch=2)
    assert (again.reports, again.messages, again.actions, again.cluster_members, again.watch_items,
            again.clusters) == (0, 0, 0, 0, 0, 0)


def test_the_command_reads_the_periods_from_settings(sessions: sessionmaker[Session], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    world = PersonalWorld(sessions)
    seeded = seed(world)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("RETENTION_DAYS", "30")
    monkeypatch.setenv("RETENTION_ABANDONED_DAYS", "3650")
    outbox = tmp_path / "outbox.jsonl"
    monkeypatch.setenv("OUTBOX_PATH", str(outbox))
    lines = [{"at": world.now.isoformat(), "reference": seeded.redirect, "to": "+447700900402", "body": "b"},
             {"at": (world.now + timedelta(days=35)).isoformat(), "reference": seeded.closed, "to": "+4477",
              "body": "b"},
             {"at": (world.now - timedelta(days=60)).isoformat(), "reference": "MECC-OLD0-0000", "to": "x"}]
    outbox.write_text("".join(json.dumps(line) + "\n" for line in lines) + "not json\n")
    assert retention_main([], now=world.now + timedelta(days=40)) == 0
    assert "3 outbox line(s); " in capsys.readouterr().out
    with sessions() as s:  # the erasure is in the audit log
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.what == "retention_purge"))
        assert (entry.action, entry.actor) == ("erasure", "retention") and "report(s)" in (entry.justification or "")
    assert [json.loads(line)["reference"] for line in outbox.read_text().splitlines()] == [seeded.closed]
    with sessions() as s:
        assert contact(s, seeded.redirect)["report"]["description"] == REMOVED
        assert contact(s, seeded.third_party)["subject"] is None
        # the closed report has live replies, which are abandoned only after ten years
        assert contact(s, seeded.closed)["informant"]["phone"] == seeded.informant.phone
        assert contact(s, seeded.abandoned)["report"]["description"] != REMOVED


# --- the service's own records ----------------------------------------------------------------


def test_staff_sessions_claim_digests_and_callback_ids_go_after_their_time_and_references_stay(
        sessions: sessionmaker[Session]) -> None:
    day = timedelta(days=1)
    with sessions.begin() as s:
        for id_, ended, seen in [("old-ended", NOON, NOON), ("old-idle", None, NOON),
                                 ("recent-ended", NOON + 80 * day, NOON + 80 * day), ("live", None, NOON + 99 * day)]:
            s.add(StaffSession(id=id_, person="sub-jo", principal_id="kempston-npt", role="team_member",
                               claims={"name": "Jo Bloggs"}, client="192.0.2.7", created_at=NOON,
                               last_seen_at=seen, ended_at=ended, ended_reason="signed_out" if ended else None))
        s.add(ReferenceClaim(reference="MECC-OLD0-0001", key_digest="k" * 64, body_digest="b" * 64, claimed_at=NOON))
        s.add(ReferenceClaim(reference="MECC-NEW0-0002", key_digest="q" * 64, body_digest="c" * 64,
                             claimed_at=NOON + 95 * day))
        s.add(ProviderEvent(event_id="e-old", seen_at=NOON))
        s.add(ProviderEvent(event_id="e-new", seen_at=NOON + 99 * day))
        s.add(SignInLink(id="l" * 64, person="link:ab", created_at=NOON, expires_at=NOON + timedelta(minutes=15)))
        s.add(SignInLink(id="m" * 64, person="link:ab", created_at=NOON + 99 * day,
                         expires_at=NOON + 99 * day + timedelta(minutes=15)))
    policy = RecordsPolicy(sessions=90 * day, claim_digests=30 * day, provider_events=60 * day)
    done = purge_records(sessions(), now=NOON + 100 * day, policy=policy)
    assert (done.sessions, done.claim_digests, done.provider_events, done.sign_in_links) == (2, 1, 1, 1)
    with sessions() as s:
        assert sorted(s.scalars(select(StaffSession.id))) == ["live", "recent-ended"]
        claims = {c.reference: (c.key_digest, c.body_digest) for c in s.scalars(select(ReferenceClaim))}
        # the reference is never given out again; only what tied it to a caller goes
        assert claims == {"MECC-OLD0-0001": (None, None), "MECC-NEW0-0002": ("q" * 64, "c" * 64)}
        assert list(s.scalars(select(ProviderEvent.event_id))) == ["e-new"]
        assert list(s.scalars(select(SignInLink.id))) == ["m" * 64]
    again = purge_records(sessions(), now=NOON + 100 * day, policy=policy)
    assert (again.sessions, again.claim_digests, again.provider_events, again.sign_in_links) == (0, 0, 0, 0)
