"""Rotating the store's encryption key: after ``python -m services.keys rotate`` under ``NEW,OLD``,
every encrypted value in a seeded store reads back with the new key alone; a run interrupted
part-way is run again and finishes; a second run changes nothing a reader sees."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, Text, select, text, type_coerce
from sqlalchemy.orm import Session, sessionmaker

from services.keys.__main__ import main as keys_main
from services.keys.rotate import encrypted_columns, rotate
from services.store import crypto
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import Base, Message, Report
from tests.unit.personal_world import PersonalWorld, scan, seed

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def keys() -> Iterator[None]:
    crypto.configure(OLD)
    yield
    crypto.configure("")


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    return url


def stored(engine: Engine) -> dict[tuple[str, str, str], str]:
    """Every encrypted column's stored text, by (table, column, primary key)."""
    found = {}
    with engine.connect() as connection:
        for table, columns in encrypted_columns():
            key = list(table.primary_key.columns)
            for column in columns:
                for row in connection.execute(select(*key, type_coerce(column, Text))):
                    found[(table.name, column.name, str(tuple(row[:-1])))] = row[-1]
    return found


def check_rotation(sessions: sessionmaker[Session], engine: Engine) -> None:
    """Seed the store under OLD, rotate under NEW,OLD, read everything with NEW alone."""
    world = PersonalWorld(sessions)
    seed(world)
    with engine.begin() as connection:  # a recipient written before encryption: plain text
        connection.execute(text("UPDATE messages SET recipient = '+447700900999' WHERE id = "
                                "(SELECT MIN(id) FROM messages WHERE recipient <> '')"))
    with sessions() as s:
        seen = sorted(scan(s, world.markers))
        contacts = {r.reference: r.contact for r in s.scalars(select(Report))}
        recipients = {m.id: m.recipient for m in s.scalars(select(Message))}
    before = stored(engine)
    assert sum(1 for v in before.values() if v and crypto.TOKEN_PREFIX in v) >= 10

    crypto.configure(f"{NEW},{OLD}")
    interrupted: list[str] = []

    def stop_after_first_batch(table: str, done: int, total: int) -> None:
        interrupted.append(table)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate(engine, batch=2, progress=stop_after_first_batch)
    progress: list[tuple[str, int, int]] = []
    counts = rotate(engine, batch=2, progress=lambda *p: progress.append(p))

    held = sum(1 for r in recipients.values() if r)
    assert interrupted == ["messages"] and counts.total(counts.unreadable) == 0
    assert counts.rotated["reports.contact"] == len(contacts)
    # it resumes: the batch the interrupted run finished is left as it is (the plain value among the
    # messages was encrypted by one run or the other), the rest re-encrypted
    done_before = counts.current.get("messages.recipient", 0)
    assert 1 <= done_before <= 2 and set(counts.current) == {"messages.recipient"}
    assert counts.rotated["messages.recipient"] + counts.encrypted.get("messages.recipient", 0) == held - done_before
    assert {t for t, _, _ in progress} == {"reports", "messages"}
    last = {table: (done, total) for table, done, total in progress}  # the last batch: every row of the table
    assert last == {"messages": (len(recipients), len(recipients)), "reports": (len(contacts), len(contacts))}
    after = stored(engine)
    assert after.keys() == before.keys()
    assert all(after[k] != v for k, v in before.items() if v)  # every value re-encrypted
    assert "+447700900999" not in str(after)

    crypto.configure(NEW)  # the old key gone: everything still reads
    with sessions() as s:
        assert sorted(scan(s, world.markers)) == seen
        assert {r.reference: r.contact for r in s.scalars(select(Report))} == contacts
        assert {m.id: m.recipient for m in s.scalars(select(Message))} == recipients
    crypto.configure(f"{NEW},{OLD}")
    again = rotate(engine, batch=3)  # a run after a finished one writes nothing
    assert again.total(again.encrypted) == again.total(again.rotated) == 0
    assert again.total(again.current) == len(contacts) + held
    assert stored(engine) == after
    crypto.configure(NEW)
    with sessions() as s:
        assert {m.id: m.recipient for m in s.scalars(select(Message))} == recipients


def test_every_encrypted_column_is_found_by_its_type() -> None:
    assert {(t.name, c.name) for t, cs in encrypted_columns(Base.metadata) for c in cs} == {
        ("reports", "contact"), ("messages", "recipient"), ("link_accounts", "email")}


def test_rotation_reencrypts_a_seeded_store_under_the_new_key(url: str, keys: None) -> None:
    engine = make_engine(url)
    try:
        check_rotation(make_sessions(engine), engine)
    finally:
        engine.dispose()


def test_the_command_rotates_and_reports_counts(url: str, keys: None, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    engine = make_engine(url)
    sessions = make_sessions(engine)
    seed(PersonalWorld(sessions))
    before = stored(engine)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("STORE_ENCRYPTION_KEY", f"{NEW},{OLD}")
    monkeypatch.setenv("LOG_JSON", "true")

    assert keys_main(["rotate", "--batch", "4"]) == 0

    out, err = capsys.readouterr()
    reports = sum(1 for k, v in before.items() if v and k[0] == "reports")
    messages = sum(1 for k, v in before.items() if v and k[0] == "messages")
    assert f"reports.contact: {reports} re-encrypted, 0 plain value(s) encrypted" in out
    assert f"messages.recipient: {messages} re-encrypted" in out
    assert f"{len(before)} row(s) read" in out
    assert "reports: 4/" in err and "messages: 4/" in err
    crypto.configure(NEW)
    with sessions() as s:
        assert all(r.contact for r in s.scalars(select(Report)))
    engine.dispose()


def test_a_value_no_key_opens_is_left_and_reported(url: str, keys: None, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    seed(PersonalWorld(make_sessions(make_engine(url))))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("STORE_ENCRYPTION_KEY", NEW)  # OLD forgotten

    assert keys_main(["rotate"]) == 1

    assert "no key opens" in capsys.readouterr().out
