"""Address digests are keyed (an HMAC under ADDRESS_DIGEST_KEY): nobody holding the store can
test phone numbers against them. A store written with the old unkeyed digests is re-keyed by
``python -m services.keys rekey-digests``: messages from their recipient; opt-outs whose address a
message holds moved to the keyed digest; an opt-out whose address is no longer held kept under its
old digest (``digest_version`` 0) and still obeyed, as are old unsubscribe links."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from schemas import MessageStatus
from services.keys.__main__ import main as keys_main
from services.keys.digests import rekey_digests
from services.store import crypto
from services.store import messages as store
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import Message, OptOut
from services.subject import usecase

KEY, OLD_KEY = "a-real-address-digest-key-of-32-characters", "the-previous-digest-key-of-32-characters"
AT = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
KNOWN, GONE, LINK = "+447700900123", "+447700900456", "resident@example.org"


@pytest.fixture(autouse=True)
def keys() -> Iterator[None]:
    crypto.configure_digests(KEY)
    yield
    crypto.configure_digests("")


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    return url


def legacy(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def draft(key: str, channel: str, recipient: str) -> store.Draft:
    return store.Draft(key=key, reference="MECC-AAAA-BBBB", trigger="ack", role="informant", channel=channel,
                       recipient=recipient, body="Thank you", due_at=AT)


def claim(sessions: sessionmaker[Session], key: str, channel: str, recipient: str) -> MessageStatus:
    [claimed], _ = store.claim_and_take(sessions(), [store.ClaimRequest(draft(key, channel, recipient))], AT,
                                        lambda c: [])
    assert claimed.choice.rows
    return claimed.choice.rows[0].status


def test_a_digest_is_keyed_and_normalised() -> None:
    digest = store.address_digest(" Resident@Example.ORG ")
    assert digest == store.address_digest("resident@example.org") != legacy("resident@example.org")
    crypto.configure_digests(OLD_KEY)
    assert store.address_digest("resident@example.org") != digest
    crypto.configure_digests(f"{KEY},{OLD_KEY}")
    assert store.address_digest("resident@example.org") == digest  # the first key digests
    assert store.address_digests("resident@example.org")[0] == digest
    assert legacy("resident@example.org") in store.address_digests("resident@example.org")


def seed_legacy_store(sessions: sessionmaker[Session]) -> None:
    """Messages and opt-outs as an earlier version wrote them: unkeyed digests."""
    assert claim(sessions, "ack:known:sms", "sms", KNOWN) == MessageStatus.SCHEDULED
    assert claim(sessions, "ack:link:email", "email", LINK) == MessageStatus.SCHEDULED
    with sessions.begin() as s:
        for message in s.scalars(select(Message)):
            message.address_digest = legacy(message.recipient)
        for address in (KNOWN, GONE):  # GONE's messages were purged long ago; the opt-out outlives them
            s.add(OptOut(channel="sms", address_digest=legacy(address), opted_out=True, source="sms STOP",
                         changed_at=AT - timedelta(days=400), digest_version=0))


def test_a_legacy_store_is_rekeyed_and_every_opt_out_still_obeyed(url: str) -> None:
    engine = make_engine(url)
    check_rekeying(engine)
    engine.dispose()


def check_rekeying(engine: Engine) -> None:
    """On whichever database ``engine`` reaches (migrated, empty)."""
    sessions = make_sessions(engine)
    seed_legacy_store(sessions)
    # an unsubscribe link minted before the switch: it carries the legacy digest
    store.set_opt_out(sessions(), channel="email", digest=legacy(LINK), opted_out=True,
                      source="email unsubscribe link", at=AT, digest_version=None)

    progress: list[tuple[str, int, int]] = []
    done = rekey_digests(engine, batch=1, progress=lambda *p: progress.append(p))

    assert (done.messages_rekeyed, done.opt_outs_rekeyed, done.opt_outs_unknown) == (2, 2, 1)
    assert progress[-1] == ("opt_outs", 3, 3) and ("messages", 2, 2) in progress
    with sessions.begin() as s:
        assert {m.recipient: m.address_digest for m in s.scalars(select(Message))} == {
            KNOWN: store.address_digest(KNOWN), LINK: store.address_digest(LINK)}
        held = {(o.channel, o.address_digest): o.digest_version for o in s.scalars(select(OptOut))}
    assert held == {("sms", store.address_digest(KNOWN)): 1, ("email", store.address_digest(LINK)): 1,
                    ("sms", legacy(GONE)): 0}  # no address for GONE: kept, flagged, no enumerable twin
    # every opt-out is obeyed: re-keyed ones, and the one kept under its old digest
    assert claim(sessions, "ack:known:2", "sms", KNOWN) == MessageStatus.OPTED_OUT
    assert claim(sessions, "ack:link:2", "email", LINK) == MessageStatus.OPTED_OUT
    assert claim(sessions, "ack:gone:2", "sms", GONE) == MessageStatus.OPTED_OUT
    assert store.opt_out_reason(sessions(), "sms", store.address_digest(GONE), GONE) == "opted out (sms STOP)"
    assert claim(sessions, "ack:someone-else", "sms", "+447700900789") == MessageStatus.SCHEDULED
    # the subject access request finds the old opt-out too
    subject = usecase.Subject.of(phone="07700 900456")
    with sessions.begin() as s:
        assert s.scalars(select(OptOut).where(OptOut.address_digest.in_(subject.digests))).one().opted_out

    # GONE has written again (its new message was recorded opted out): the next run re-keys its opt-out
    again = rekey_digests(engine)
    assert (again.messages_rekeyed, again.opt_outs_rekeyed, again.opt_outs_unknown) == (0, 1, 0)
    with sessions.begin() as s:
        assert s.get_one(OptOut, ("sms", store.address_digest(GONE))).digest_version == 1
    assert rekey_digests(engine).opt_outs_rekeyed == 0


def test_after_a_digest_key_change_the_old_keyed_rows_are_rekeyed(url: str) -> None:
    crypto.configure_digests(OLD_KEY)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    assert claim(sessions, "ack:known:sms", "sms", KNOWN) == MessageStatus.SCHEDULED
    store.set_opt_out(sessions(), channel="sms", digest=store.address_digest(KNOWN), opted_out=True,
                      source="sms STOP", at=AT)
    # ...and a newer opt-in already under the new key: the later change wins when both are held
    crypto.configure_digests(f"{KEY},{OLD_KEY}")
    store.set_opt_out(sessions(), channel="sms", digest=store.address_digest(KNOWN), opted_out=False,
                      source="sms START", at=AT + timedelta(days=1))

    done = rekey_digests(engine)

    assert (done.messages_rekeyed, done.opt_outs_rekeyed, done.opt_outs_merged) == (1, 1, 1)
    crypto.configure_digests(KEY)  # the old key dropped
    with sessions.begin() as s:
        assert [(o.address_digest, o.source) for o in s.scalars(select(OptOut))] == [
            (store.address_digest(KNOWN), "sms START")]
        assert s.scalars(select(Message.address_digest)).one() == store.address_digest(KNOWN)
    assert claim(sessions, "ack:known:2", "sms", KNOWN) == MessageStatus.SCHEDULED
    engine.dispose()


def test_the_command_rekeys_and_reports(url: str, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    engine = make_engine(url)
    seed_legacy_store(make_sessions(engine))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ADDRESS_DIGEST_KEY", KEY)

    assert keys_main(["rekey-digests"]) == 0

    out = capsys.readouterr().out
    assert "messages: 2 re-keyed, 0 already current" in out
    assert "opt_outs: 1 re-keyed (0 merged with a newer row), 0 already current, 1 kept under their digest" in out
    with make_sessions(engine).begin() as s:
        assert sorted(d or "" for d in s.scalars(select(Message.address_digest))) == sorted(
            [store.address_digest(KNOWN), store.address_digest(LINK)])
    engine.dispose()
