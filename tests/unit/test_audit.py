"""The audit log: every collection, alteration and consultation of a report's personal data is
recorded with who, when, from where and why; the person who wrote a "we did" is recorded while
the informant still reads the team's name; a sensitive report's contact details need a reason
first; supervisors search it for their own teams; the hash chain shows tampering; and writing
it does not hold a request up."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, update

from schemas import CaseUpdate
from services import audit
from services.audit import AuditAction, Entry
from services.audit.__main__ import main as audit_cli
from services.common.sql import Store
from services.intake.audit import AuditLog
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import AuditEntry, AuditHead
from tests.fakes.intake import intake_client, route
from tests.unit.staff import sign_in_as

TARA = ["mecc-team-members", "mecc-unit:kempston-npt"]
SAM = ["mecc-supervisors", "mecc-unit:kempston-npt"]
#: The force contact centre acts on any report (the safeguarding hub, which gets domestic abuse, has no unit here).
CONTACT_CENTRE = ["mecc-supervisors", "mecc-unit:force-contact-centre"]
PHONE = "+447700900123"
RORY_SUPERVISOR = ["mecc-supervisors", "mecc-unit:roads-policing"]
T0 = datetime(2030, 5, 6, 10, 0, tzinfo=UTC)


@pytest.fixture
def web(tmp_path):
    with intake_client(tmp_path, session_secret="s", outbox_path=tmp_path / "o", show_outbox=False) as client:
        yield client


def written(web: Any) -> list[AuditEntry]:
    """The log once every entry handed to the writer is in it, oldest first."""
    web.portal.call(web.app.state.context.audit.flush)
    with web.sessions() as s:
        return list(s.query(AuditEntry).order_by(AuditEntry.seq).all())


def test_a_team_members_we_did_records_them_while_the_informant_reads_the_team(web):
    ref = route(web)
    sign_in_as(web, "tara", TARA)
    r = web.post(f"/inbox/{ref}", data={"csrf_token": "test-csrf-token", "kind": "action", "send": "yes",
                                        "public_text": "We patrolled Bedford Road"}, follow_redirects=False)
    assert r.status_code == 303
    ((_, _, update_event),) = web.recorder.events
    assert isinstance(update_event, CaseUpdate) and update_event.actor_name == "Kempston neighbourhood team"
    (entry,) = [e for e in written(web) if e.action == "alteration"]
    assert (entry.actor, entry.actor_name, entry.unit, entry.role, entry.reference, entry.what) == (
        "person:tara", "Tara", "kempston-npt", "team_member", ref, "record_action")
    assert entry.client == "testclient"


def test_listing_the_inbox_and_opening_an_item_are_consultations(web):
    ref = route(web)
    sign_in_as(web, "tara", TARA)
    assert web.get("/inbox").status_code == 200
    assert [(e.action, e.what, e.reference) for e in written(web)] == [("consultation", "inbox_list", ref)]
    sign_in_as(web, "wendy", ["mecc-watch-coordinators", "mecc-unit:kempston-speed-watch"])
    assert web.get("/inbox").status_code == 200
    assert len(written(web)) == 1, "a watch's list is redacted: no personal data consulted"
    sign_in_as(web, "tara", TARA)
    assert web.get(f"/inbox/{ref}").status_code == 200
    (_, entry) = written(web)
    assert (entry.action, entry.what, entry.actor, entry.reference) == (
        "consultation", "report_item", "person:tara", ref)


def test_a_sensitive_reports_contact_details_need_a_reason_which_is_logged(web):
    ref = route(web, category="domestic-abuse", text="My partner hits me")
    sign_in_as(web, "sam", CONTACT_CENTRE)
    page = web.get(f"/inbox/{ref}/contact")
    assert page.status_code == 200 and "Why do you need" in page.text and PHONE not in page.text
    refused = web.post(f"/inbox/{ref}/contact", data={"csrf_token": "test-csrf-token", "justification": "need"})
    assert refused.status_code == 400 and PHONE not in refused.text
    assert not [e for e in written(web) if e.what == "contact_details"]
    shown = web.post(f"/inbox/{ref}/contact", data={"csrf_token": "test-csrf-token",
                                                    "justification": "Arranging a safe call-back with the victim"})
    assert shown.status_code == 200 and PHONE in shown.text
    (entry,) = [e for e in written(web) if e.what == "contact_details"]
    assert entry.justification == "Arranging a safe call-back with the victim" and entry.actor == "person:sam"


def test_an_ordinary_reports_contact_details_are_shown_and_logged(web):
    ref = route(web)
    sign_in_as(web, "tara", TARA)
    page = web.get(f"/inbox/{ref}/contact")
    assert page.status_code == 200 and PHONE in page.text
    assert [e.what for e in written(web)] == ["contact_details"]


def test_a_watch_never_sees_contact_details(web):
    ref = route(web)
    sign_in_as(web, "wendy", ["mecc-watch-coordinators", "mecc-unit:kempston-speed-watch"])
    page = web.get(f"/inbox/{ref}/contact")
    assert page.status_code == 404 and PHONE not in page.text


def test_a_public_report_is_a_collection(web):
    body = {"category": "speeding", "description": "Cars racing", "location": {"postcode": "MK42 8AA"},
            "informant": {"phone": "07700 900123"}}
    ref = web.post("/v1/reports", json=body).json()["reference"]
    (entry,) = written(web)
    assert (entry.action, entry.actor, entry.reference) == ("collection", "public", ref)


def test_supervisors_search_the_log_for_their_own_teams_only(web):
    mine = route(web)
    sign_in_as(web, "tara", TARA)
    web.get(f"/inbox/{mine}")
    written(web)  # the viewing is in the log (the writer gathers entries for a moment first)
    with web.sessions() as s:  # an entry about a report routed elsewhere, by someone else
        audit.append(s, [Entry(at=T0, action=AuditAction.CONSULTATION, what="report_item", actor="person:rory",
                               unit="roads-policing", reference="MECC-ELSE-WHER")])
    sign_in_as(web, "tara", TARA)
    assert web.get("/audit", follow_redirects=False).status_code == 303, "a team member may not read the log"
    sign_in_as(web, "sam", SAM)
    page = web.get("/audit", params={"person": "tara"})
    assert page.status_code == 200 and mine in page.text and "MECC-ELSE-WHER" not in page.text
    assert "MECC-ELSE-WHER" not in web.get("/audit").text
    assert mine not in web.get("/audit", params={"person": "nobody"}).text
    assert mine in web.get("/audit", params={"reference": mine.lower()}).text
    assert mine not in web.get("/audit", params={"since": "2000-01-01", "until": "2000-01-02"}).text
    assert web.get("/audit", params={"since": "yesterday"}).status_code == 400
    sign_in_as(web, "ada", ["mecc-administrators"])
    assert "MECC-ELSE-WHER" in web.get("/audit").text, "an administrator reads all of it"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/audit.db"
    migrate(url)
    return url


def _entries(n: int) -> list[Entry]:
    return [Entry(at=T0 + timedelta(minutes=i), action=AuditAction.CONSULTATION, what="report_item",
                  actor=f"person:p{i}", reference=f"MECC-0000-000{i}") for i in range(n)]


def test_the_chain_holds_and_shows_a_changed_or_removed_entry(store_url: str, capsys) -> None:
    sessions = make_sessions(make_engine(store_url))
    with sessions() as s:
        audit.append(s, _entries(3))
        audit.append(s, _entries(2))
    assert audit_cli(["verify", "--database-url", store_url]) == 0
    assert "intact: 5 entries" in capsys.readouterr().out
    with sessions() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(justification="covering my tracks"))
        s.commit()
    assert audit_cli(["verify", "--database-url", store_url]) == 1
    assert "entry 3 was changed" in capsys.readouterr().err
    with sessions() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(justification=None))
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
        s.commit()
        result = audit.verify(s)
    assert result.entries == 1 and result.problem and "entry 3 does not follow" in result.problem


def _swap(s: Any, a: int, b: int) -> None:
    """Entries ``a`` and ``b`` change places in the log's order, each intact (a reordering)."""
    for old, new in ((a, -1), (b, a), (-1, b)):
        s.execute(update(AuditEntry).where(AuditEntry.seq == old).values(seq=new))
    s.commit()


def test_reordered_entries_and_entries_cut_off_the_end_break_the_chain(store_url: str, capsys) -> None:
    sessions = make_sessions(make_engine(store_url))
    with sessions() as s:
        audit.append(s, _entries(4))
        assert audit.verify(s) == audit.Verified(4, None)
        _swap(s, 2, 3)
        result = audit.verify(s)
    assert result.entries == 1 and result.problem and "entry 2 does not follow" in result.problem
    with sessions() as s:
        _swap(s, 2, 3)
        assert audit.verify(s).problem is None
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 4))  # the newest entry: the chain alone holds
        s.commit()
        result = audit.verify(s)
    assert result.entries == 3 and result.problem and "its head names entry 4" in result.problem
    assert audit_cli(["verify", "--database-url", store_url]) == 1
    assert "entries were removed from its end" in capsys.readouterr().err
    with sessions() as s:
        s.execute(delete(AuditEntry))
        s.commit()
        assert "the log ends at entry 0 but its head names entry 4" in (audit.verify(s).problem or "")


def test_retention_removes_the_oldest_entries_and_the_rest_still_verify(store_url: str) -> None:
    sessions = make_sessions(make_engine(store_url))
    with sessions() as s:
        audit.append(s, _entries(5))  # T0 .. T0 + 4 minutes
        assert audit.prune(s, T0 + timedelta(minutes=2)) == 2
        assert [e.seq for e in s.query(AuditEntry).order_by(AuditEntry.seq)] == [3, 4, 5]
        assert audit.verify(s) == audit.Verified(3, None)
        assert audit.prune(s, T0 + timedelta(minutes=2)) == 0  # again: nothing more
        audit.append(s, _entries(1))  # the log goes on from its head
        assert audit.verify(s) == audit.Verified(4, None)
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 3))  # removed, but not by retention
        s.commit()
        result = audit.verify(s)
    assert result.problem and "entry 4 does not follow" in result.problem
    with sessions() as s:  # everything past its period: an empty log that still verifies
        audit.prune(s, T0 + timedelta(days=1))
        assert s.query(AuditEntry).count() == 0 and audit.verify(s).problem is None


def test_an_append_moves_the_head_and_follows_it(store_url: str) -> None:
    sessions = make_sessions(make_engine(store_url))
    with sessions() as s:
        audit.append(s, _entries(2))
        audit.append(s, _entries(1))
        head = s.get(AuditHead, audit.HEAD)
        last = s.query(AuditEntry).order_by(AuditEntry.seq.desc()).first()
        assert head is not None and last is not None and (head.seq, head.hash) == (3, last.hash)
        assert last.prev_hash == s.get(AuditEntry, 2).hash  # type: ignore[union-attr]


def test_writing_the_log_does_not_wait_for_the_store(store_url: str) -> None:
    sessions = make_sessions(make_engine(store_url))
    release = threading.Event()

    class SlowStore(Store):
        async def run(self, fn, *args, **kwargs):
            await asyncio.to_thread(release.wait)
            return await super().run(fn, *args, **kwargs)

    async def scenario() -> int:
        log = AuditLog(SlowStore(sessions))
        await log.start()
        for i in range(3):  # returns although the store has not written anything yet
            await log.record(AuditAction.CONSULTATION, "report_item", None, at=T0, reference=f"MECC-0000-000{i}")
        with sessions() as s:
            before = s.query(AuditEntry).count()
        release.set()
        await log.stop()
        return before

    assert asyncio.run(scenario()) == 0
    with sessions() as s:
        assert s.query(AuditEntry).count() == 3 and audit.verify(s).problem is None


def test_entries_recorded_close_together_go_into_the_log_in_one_append(store_url: str) -> None:
    sessions = make_sessions(make_engine(store_url))
    appends: list[int] = []

    class CountingStore(Store):
        async def run(self, fn, *args, **kwargs):
            appends.append(len(args[0]))
            return await super().run(fn, *args, **kwargs)

    async def scenario() -> None:
        log = AuditLog(CountingStore(sessions), linger=1.0)
        await log.start()
        for i in range(5):
            await log.record(AuditAction.COLLECTION, "public_report", None, at=T0, reference=f"MECC-0000-000{i}")
            await asyncio.sleep(0)  # the writer has taken the first entry and is gathering the rest
        await log.flush()  # waits for the gathered batch to be written
        with sessions() as s:
            assert s.query(AuditEntry).count() == 5
        await log.stop()

    asyncio.run(scenario())
    assert appends == [5]
    with sessions() as s:
        assert audit.verify(s).problem is None


def test_an_organisation_reading_its_requests_over_open311_is_a_consultation(web):
    from tests.unit.test_open311 import KEY, store_request

    ref = store_request(web, description="Shouted at in the street")
    assert web.get(f"/open311/v2/requests/{ref}.json", params={"api_key": KEY}).status_code == 200
    assert web.get("/open311/v2/requests.json", params={"api_key": KEY}).status_code == 200
    entries = [e for e in written(web) if e.what == "open311_request"]
    assert [(e.action, e.actor, e.unit, e.reference) for e in entries] == [
        ("consultation", "key:stop-hate-beds", "stop-hate-beds", ref)] * 2


def test_the_intakes_command_verifies_the_chain_too(store_url: str, monkeypatch, capsys) -> None:
    from services.intake.__main__ import main as intake_cli

    sessions = make_sessions(make_engine(store_url))
    with sessions() as s:
        audit.append(s, _entries(2))
    monkeypatch.setattr("sys.argv", ["services.intake", "audit", "verify", "--database-url", store_url])
    with pytest.raises(SystemExit) as exited:
        intake_cli()
    assert exited.value.code == 0 and "intact: 2 entries" in capsys.readouterr().out
    with sessions() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 1))
        s.commit()
    with pytest.raises(SystemExit) as exited:
        intake_cli()
    assert exited.value.code == 1 and "entry 2 does not follow" in capsys.readouterr().err
