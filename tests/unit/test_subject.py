"""Subject access and erasure: a caseworker finds everything held about a phone number or an
email address, hands it over as one document, and erases it on request with a recorded reason;
afterwards nothing personal is found and the dashboard's figures have not moved."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.audit import verify as audit_verify
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import AuditEntry, Erasure, OptOut
from services.subject import usecase
from services.subject.__main__ import main as subject_main
from tests.unit.personal_world import PersonalWorld, Seeded, aggregates, scan, seed


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    return url


@pytest.fixture
def sessions(url: str) -> sessionmaker[Session]:
    return make_sessions(make_engine(url))


def check_find_export_erase(sessions: sessionmaker[Session], world: PersonalWorld, seeded: Seeded) -> None:
    """The whole request, on whichever database ``sessions`` reaches."""
    jo = seeded.informant
    national = "0" + jo.phone.removeprefix("+44")
    subject = usecase.Subject.of(phone=f"{national[:5]} {national[5:]}")  # as the caller writes it
    found = usecase.find(sessions(), subject)
    assert set(found.reports) == {seeded.closed, *seeded.replies}
    assert found.reports[seeded.closed] == ["informant"]
    assert len(found.message_ids) >= 6  # acks, the action and closure updates, the survey

    document = usecase.export(sessions(), subject, found, now=world.now)
    json.dumps(document)  # one JSON document
    by_ref = {r["reference"]: r for r in document["reports"]}
    closed = by_ref[seeded.closed]
    assert closed["your_details"]["informant"]["name"] == jo.name
    assert closed["what_was_said"].startswith("Cars racing past again tonight")
    assert [d["name"] for d in closed["sent_to"]] and closed["why"]
    assert [a["kind"] for a in closed["what_we_did"]] == ["action", "closure"]
    assert closed["what_we_did"][1]["outcome"] == "resolved" and closed["what_we_did"][1]["outcome_reason"]
    assert {(a["question"], a["answer"]) for a in closed["survey_answers"]} == {("satisfaction", "5"),
                                                                                 ("kept_informed", "Y")}
    assert by_ref[seeded.replies[1]]["in_reply_to"] == seeded.replies[0]
    assert {m["trigger"].split(":")[0] for m in document["messages"]} >= {"ack", "action", "closure", "survey"}
    assert all(m["to"] == jo.phone and m["body"] and m["status"] for m in document["messages"])
    assert "opt_outs" in document
    # only this person's own details: not the case worker's or anyone else's
    assert seeded.reporter.name not in json.dumps(document)

    before = aggregates(sessions)
    with pytest.raises(ValueError, match="reason"):
        usecase.erase(sessions(), subject, found, reason="  ", requested_by="pc-1234", now=world.now)
    erased = usecase.erase(sessions(), subject, found, reason=f"request of {jo.email} (right to erasure)",
                           requested_by="caseworker-7", now=world.now)
    assert sorted(erased.references) == sorted(found.reports)

    again = usecase.find(sessions(), subject)
    assert again.empty
    assert usecase.find(sessions(), usecase.Subject.of(email=jo.email.upper())).empty
    with sessions() as s:
        assert scan(s, [jo.name, jo.email, *jo.phone_forms]) == []
        rows = s.query(Erasure).filter(Erasure.request_id == erased.request_id).all()
        assert sorted(r.reference for r in rows) == sorted(found.reports)
        assert all(r.reason == "request of [email] (right to erasure)" and r.requested_by == "caseworker-7"
                   for r in rows)
    assert aggregates(sessions) == before
    # other people's reports are untouched
    assert not usecase.find(sessions(), usecase.Subject.of(email=seeded.reporter.email)).empty


def test_find_export_and_erase_one_person(sessions: sessionmaker[Session]) -> None:
    world = PersonalWorld(sessions)
    check_find_export_erase(sessions, world, seed(world))


def test_an_opt_out_outlives_an_erasure(sessions: sessionmaker[Session]) -> None:
    world = PersonalWorld(sessions)
    seeded = seed(world)
    world.tick(timedelta(minutes=1))
    world.reply_stop(seeded.informant)
    subject = usecase.Subject.of(phone=seeded.informant.phone)
    found = usecase.find(sessions(), subject)
    assert usecase.export(sessions(), subject, found, now=world.now)["opt_outs"][0]["opted_out"] is True
    usecase.erase(sessions(), subject, found, reason="asked in person", requested_by="caseworker-7", now=world.now)
    with sessions() as s:
        assert s.query(OptOut).filter(OptOut.address_digest.in_(subject.digests)).one().opted_out


def test_the_command_finds_exports_and_erases(url: str, sessions: sessionmaker[Session], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    world = PersonalWorld(sessions)
    seeded = seed(world)
    monkeypatch.setenv("DATABASE_URL", url)
    email = seeded.informant.email
    assert subject_main(["find", "--email", email], now=world.now) == 0
    assert seeded.closed in capsys.readouterr().out
    out = tmp_path / "export.json"
    assert subject_main(["export", "--email", email, "--out", str(out)], now=world.now) == 0
    assert {r["reference"] for r in json.loads(out.read_text())["reports"]} == {seeded.closed, *seeded.replies}
    with pytest.raises(SystemExit):
        subject_main(["erase", "--email", email], now=world.now)  # no reason
    assert "--reason" in capsys.readouterr().err
    assert subject_main(["erase", "--email", email, "--reason", "asked by letter", "--by", "cw-7"],
                        now=world.now) == 0
    assert "3 report(s)" in capsys.readouterr().out
    assert subject_main(["find", "--email", email], now=world.now) == 0
    assert "0 report(s), 0 message(s)" in capsys.readouterr().err
    # the audit log has the disclosure and the erasure, report by report, with who asked, and its chain holds
    with sessions() as s:
        logged = {(e.action, e.what, e.reference, e.actor_name) for e in s.scalars(select(AuditEntry))}
        assert audit_verify(s).problem is None
    mine = {seeded.closed, *seeded.replies}
    assert {(r, by) for a, w, r, by in logged if a == "disclosure" and w == "subject_access_export"} == {
        (r, os.environ.get("USER", "unknown")) for r in mine}
    assert {(r, by) for a, w, r, by in logged if a == "erasure" and w == "subject_erasure"} == {
        (r, "cw-7") for r in mine}
