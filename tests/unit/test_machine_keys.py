"""API keys are for machine clients: generated with 256 random bits and shown once, scoped to some
of their role's permissions, expiring and revocable; the published development keys stop a public
deployment from starting, and there people sign in to the pages as themselves, not with a key."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.processes import TEST_DIGEST_KEY, TEST_STORE_KEY
from services.intake.__main__ import list_keys, new_key_entry
from services.intake.access import Access, AccessConfig, hash_key, new_key
from services.intake.app import create_app
from services.intake.auth import COOKIE, serializer
from services.intake.settings import IntakeSettings
from services.store.key_uses import last_uses
from tests.fakes.intake import intake_client, route

PUBLIC = {"public_base_url": "https://report.example.police.uk", "session_secret": "a-long-random-session-secret",
          "track_secret": "a-long-random-track-secret", "unsubscribe_secret": "a-long-random-unsubscribe-secret",
          "store_encryption_key": TEST_STORE_KEY, "address_digest_key": TEST_DIGEST_KEY}


def _made(argv: list[str]) -> tuple[str, dict[str, object]]:
    text = new_key_entry(argv)
    key = text.splitlines()[1].strip("# ").strip()
    entry = yaml.safe_load(text)
    assert key not in text.split("\n", 2)[2], "only the digest is written down"
    return key, entry


def test_a_new_key_has_at_least_128_random_bits_and_only_its_digest_is_kept() -> None:
    assert len({new_key() for _ in range(100)}) == 100
    assert len(new_key().removeprefix("mecc_")) >= 22  # base64url: 6 bits a character, so 32 bytes -> 43
    key, entry = _made(["crm", "--kind", "team", "--name", "Kempston neighbourhood team", "--expires", "2031-01-31"])
    access = Access(AccessConfig.model_validate({"version": 1, "principals": entry}))
    principal = access.authenticate(key, today=date(2031, 1, 31))
    assert principal is not None and principal.id == "crm"
    assert access.authenticate(key, today=date(2031, 2, 1)) is None, "expired the day after"


def test_a_revoked_key_is_refused() -> None:
    key = new_key()
    entry = {"crm": {"kind": "team", "name": "Kempston", "key_sha256": hash_key(key), "revoked": True}}
    access = Access(AccessConfig.model_validate({"version": 1, "principals": entry}))
    assert access.authenticate(key, today=date(2026, 12, 7)) is None


def test_a_key_expires_by_the_intake_s_clock_on_the_api_and_open311(tmp_path: Path) -> None:
    key, entry = _made(["stop-hate-beds", "--kind", "organisation", "--name", "Stop Hate", "--expires", "2030-06-30"])
    access = tmp_path / "access.yaml"
    access.write_text(yaml.safe_dump({"version": 1, "principals": entry}))
    now = [datetime(2030, 6, 30, 23, 0, tzinfo=UTC)]
    with intake_client(tmp_path, access_config=access) as api:
        app: Any = api.app
        app.state.context = dataclasses.replace(app.state.context, clock=lambda: now[0])
        body = {"category": "hate-incident", "description": "Shouting at the bus stop on Bedford Road",
                "location": {"postcode": "MK42 8AA"}, "reporter": {"email": "caseworker@example.org"}}
        open311 = {"service_code": "hate-incident", "description": "Shouting at the bus stop",
                   "address_string": "MK42 8AA", "email": "caseworker@example.org"}
        assert api.post("/v1/third-party/reports", json=body, headers={"X-API-Key": key}).status_code == 202
        assert api.post(f"/open311/v2/requests.json?api_key={key}", data=open311).status_code == 200
        now[0] += timedelta(hours=2)  # the day after its last day, by the intake's clock
        assert api.post("/v1/third-party/reports", json=body, headers={"X-API-Key": key}).status_code == 401
        assert api.post(f"/open311/v2/requests.json?api_key={key}", data=open311).status_code in (401, 403)


def test_a_scoped_key_may_record_but_not_close(tmp_path: Path) -> None:
    key, entry = _made(["kempston-npt", "--kind", "team", "--name", "Kempston neighbourhood team",
                        "--expires", "2999-12-31", "--scope", "record_action"])
    access = tmp_path / "access.yaml"
    access.write_text(yaml.safe_dump({"version": 1, "principals": entry}))
    with intake_client(tmp_path, access_config=access) as api:
        ref = route(api)
        headers = {"X-API-Key": key}
        assert api.post(f"/v1/reports/{ref}/actions", json={"public_text": "Patrolled"}, headers=headers
                        ).status_code == 202
        closing = {"public_text": "Done", "kind": "closure", "outcome": "resolved"}
        assert api.post(f"/v1/reports/{ref}/actions", json=closing, headers=headers).status_code == 403


def test_a_public_deployment_with_the_development_keys_does_not_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="published development keys"):
        create_app(IntakeSettings(database_url=f"sqlite:///{tmp_path}/s.db", **PUBLIC))


def test_on_a_public_deployment_people_sign_in_as_themselves_not_with_a_key(tmp_path: Path) -> None:
    key, entry = _made(["kempston-npt", "--kind", "team", "--name", "Kempston neighbourhood team"])
    access = tmp_path / "access.yaml"
    access.write_text(yaml.safe_dump({"version": 1, "principals": entry}))
    with intake_client(tmp_path, access_config=access, **PUBLIC) as web:
        web.base_url = "https://testserver"  # the session cookie is Secure there
        page = web.get("/sign-in").text
        assert 'name="api_key"' not in page
        app: Any = web.app  # the session's CSRF token, as a form would carry it
        token = serializer(app.state.context).loads(web.cookies.get(COOKIE))["csrf"]
        r = web.post("/sign-in", data={"api_key": key, "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 403 and "Sign in with your organisation account" in r.text
        assert web.get("/inbox", follow_redirects=False).status_code == 303
        ref = route(web)  # the same key still works for the machine client it was made for
        assert web.post(f"/v1/reports/{ref}/actions", json={"public_text": "Patrolled"},
                        headers={"X-API-Key": key}).status_code == 202


def test_keys_are_listed_with_when_they_were_last_used_by_the_intake_s_clock(tmp_path: Path) -> None:
    now = [datetime(2031, 3, 4, 9, 0, tzinfo=UTC)]
    with intake_client(tmp_path) as api:
        app: Any = api.app
        app.state.context = dataclasses.replace(app.state.context, clock=lambda: now[0])
        settings = app.state.context.settings
        reference = route(api)
        body = {"public_text": "Speed checks on Bedford Road"}
        assert api.post(f"/v1/reports/{reference}/actions", json=body,
                        headers={"X-API-Key": "dev-team-kempston"}).status_code == 202
        now[0] += timedelta(seconds=30)  # within the minute: not written again
        api.post(f"/v1/reports/{reference}/actions", json=body, headers={"X-API-Key": "dev-team-kempston"})
        with api.sessions() as s:
            assert last_uses(s) == {"kempston-npt": datetime(2031, 3, 4, 9, 0, tzinfo=UTC)}
        now[0] += timedelta(minutes=5)
        api.post(f"/v1/reports/{reference}/actions", json=body, headers={"X-API-Key": "dev-team-kempston"})
        with api.sessions() as s:
            assert last_uses(s) == {"kempston-npt": datetime(2031, 3, 4, 9, 5, 30, tzinfo=UTC)}
        listed = list_keys(settings.access_config, settings.database_url, date(2031, 3, 4))
    lines = {line.split()[0]: line for line in listed.splitlines()}
    assert "last used: 2031-03-04T09:05+00:00" in lines["kempston-npt"]
    assert "last used: never" in lines["stop-hate-beds"]
    assert lines.keys() == set(Access.from_file(settings.access_config).principals)
