"""The store's keys: a deployment the public can reach refuses to start without real ones (the
development key is in the source code, so data under it is as good as plain)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from services.common.settings import CommonSettings
from services.feedback.settings import FeedbackSettings
from services.intake.settings import IntakeSettings
from services.router.settings import RouterSettings
from services.store import crypto

PUBLIC = "https://report.example.police.uk"
SECRETS = {"unsubscribe_secret": "u-secret", "track_secret": "t-secret", "session_secret": "s-secret",
           "address_digest_key": "a-real-address-digest-key-of-32-characters"}
DEV = crypto.DEV_KEY.decode()


@pytest.mark.parametrize("settings_class", [CommonSettings, IntakeSettings, RouterSettings, FeedbackSettings])
@pytest.mark.parametrize("key", ["", "  ", DEV, f"{DEV},{Fernet.generate_key().decode()}",
                                 f"{Fernet.generate_key().decode()},{DEV}"])
def test_every_service_refuses_a_public_deployment_without_a_real_store_key(settings_class, key):
    with pytest.raises(ValueError, match="set STORE_ENCRYPTION_KEY: PUBLIC_BASE_URL"):
        settings_class(public_base_url=PUBLIC, store_encryption_key=key, **SECRETS)


def test_a_public_deployment_with_a_real_key_starts_and_a_laptop_may_use_the_development_one():
    key = Fernet.generate_key().decode()
    assert IntakeSettings(public_base_url=PUBLIC, store_encryption_key=key, **SECRETS).store_encryption_key == key
    assert IntakeSettings(public_base_url="http://localhost:8000").store_encryption_key == ""
    assert IntakeSettings(public_base_url="http://127.0.0.1:8000", store_encryption_key=DEV)


def test_the_environment_is_what_is_checked(monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name.upper(), value)
    monkeypatch.delenv("STORE_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("ADDRESS_DIGEST_KEY", raising=False)
    with pytest.raises(ValueError, match="STORE_ENCRYPTION_KEY"):
        FeedbackSettings()
    monkeypatch.setenv("STORE_ENCRYPTION_KEY", Fernet.generate_key().decode())
    with pytest.raises(ValueError, match="set ADDRESS_DIGEST_KEY:"):
        FeedbackSettings()
    monkeypatch.setenv("ADDRESS_DIGEST_KEY", SECRETS["address_digest_key"])
    assert FeedbackSettings().public_base_url == PUBLIC


def test_a_key_that_is_not_a_fernet_key_stops_the_service_without_naming_it():
    with pytest.raises(ValueError, match="STORE_ENCRYPTION_KEY: key 2 is not a Fernet key") as raised:
        CommonSettings(store_encryption_key=f"{Fernet.generate_key().decode()},not-a-key-at-all")
    assert "not-a-key-at-all" not in str(raised.value)


def test_only_the_rotation_may_keep_the_development_key_behind_a_real_one():
    class Retiring(CommonSettings):
        RETIRING_DEVELOPMENT_KEYS = True

    key = Fernet.generate_key().decode()
    assert Retiring(public_base_url=PUBLIC, store_encryption_key=f"{key},{DEV}", **SECRETS)
    with pytest.raises(ValueError, match="STORE_ENCRYPTION_KEY"):
        Retiring(public_base_url=PUBLIC, store_encryption_key=f"{DEV},{key}", **SECRETS)


@pytest.mark.parametrize("settings_class", [CommonSettings, IntakeSettings, RouterSettings, FeedbackSettings])
@pytest.mark.parametrize("key", ["", crypto.DEV_DIGEST_KEY, f"{SECRETS['address_digest_key']},{crypto.DEV_DIGEST_KEY}"])
def test_every_service_refuses_a_public_deployment_without_a_real_digest_key(settings_class, key):
    settings = {**SECRETS, "address_digest_key": key}
    with pytest.raises(ValueError, match="set ADDRESS_DIGEST_KEY: PUBLIC_BASE_URL"):
        settings_class(public_base_url=PUBLIC, store_encryption_key=Fernet.generate_key().decode(), **settings)


def test_a_short_digest_key_stops_the_service_without_naming_it():
    with pytest.raises(ValueError, match="ADDRESS_DIGEST_KEY: key 1 is shorter than 32 characters") as raised:
        CommonSettings(address_digest_key="short-key")
    assert "short-key" not in str(raised.value)
