"""Kafka and PostgreSQL transport security settings: every client library gets TLS and SCRAM
credentials from the same settings, and a store on another machine is never reached in plaintext
by accident."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from services.common.faust_worker import app_options
from services.common.kafka_security import (
    KafkaSecurity,
    aiokafka_options,
    faust_options,
    kafka_python_options,
)
from services.common.settings import CommonSettings

SECURE = {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "router", "kafka_sasl_password": "s3cret"}
#: What a deployment sets besides: its own secrets and store keys (a service reaching another
#: machine refuses the development ones).
DEPLOYED = {"unsubscribe_secret": "u" * 40, "track_secret": "t" * 40,
            "store_encryption_key": Fernet.generate_key().decode(), "address_digest_key": "d" * 40}


def test_plaintext_by_default_adds_nothing_to_any_client() -> None:
    security = KafkaSecurity()
    assert not security.secure
    assert aiokafka_options(security) == faust_options(security) == kafka_python_options(security) == {}


def test_sasl_ssl_gives_every_client_library_the_same_credentials_and_a_verifying_tls_context() -> None:
    security = KafkaSecurity(**SECURE)
    aio = aiokafka_options(security)
    assert (aio["security_protocol"], aio["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (aio["sasl_plain_username"], aio["sasl_plain_password"]) == ("router", "s3cret")
    assert aio["ssl_context"].verify_mode == ssl.CERT_REQUIRED and aio["ssl_context"].check_hostname
    kp = kafka_python_options(security)
    assert (kp["security_protocol"], kp["sasl_plain_username"], kp["sasl_plain_password"]) == (
        "SASL_SSL", "router", "s3cret")
    creds = app_options(bootstrap="b:1", web_port=1, security=security)["broker_credentials"]
    assert isinstance(creds, faust.SASLCredentials)
    assert (creds.protocol.value, creds.mechanism.value, creds.username) == ("SASL_SSL", "SCRAM-SHA-512", "router")


def test_sasl_ssl_without_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME"):
        KafkaSecurity(kafka_security_protocol="SASL_SSL")


def test_services_read_the_security_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    for name, value in {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "intake",
                        "KAFKA_SASL_PASSWORD": "pw", "KAFKA_SSL_CAFILE": str(ca)}.items():
        monkeypatch.setenv(name, value)
    settings = CommonSettings()
    assert settings.secure and settings.kafka_sasl_username == "intake" and settings.kafka_ssl_cafile == ca
    assert "pw" not in repr(settings)  # the password never reaches a log line
    assert KafkaSecurity.model_validate(settings.model_dump()).env()["KAFKA_SASL_PASSWORD"] == "pw"


def test_a_remote_broker_needs_the_security_protocol_chosen() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SECURITY_PROTOCOL"):
        CommonSettings(kafka_bootstrap_servers="127.0.0.1:19092,kafka-1.internal:9093")
    assert CommonSettings(kafka_bootstrap_servers="kafka-1.internal:9093", **SECURE, **DEPLOYED).secure
    chosen = CommonSettings(kafka_bootstrap_servers="kafka-1.internal:9092", kafka_security_protocol="PLAINTEXT",
                            **DEPLOYED)
    assert not chosen.secure  # plaintext on purpose, visibly
    assert not CommonSettings(kafka_bootstrap_servers="localhost:19092").secure


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://mecc:pw@db.internal:5432/mecc",
    "postgresql+psycopg://mecc:pw@10.0.0.5/mecc?connect_timeout=5",
])
def test_a_remote_postgres_without_sslmode_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="sslmode"):
        CommonSettings(database_url=url)


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://mecc:pw@db.internal:5432/mecc?sslmode=verify-full&sslrootcert=/etc/mecc/ca.pem",
    "postgresql+psycopg://mecc:pw@db.internal/mecc?sslmode=disable",  # plaintext on purpose, visibly
    "postgresql+psycopg://mecc:pw@127.0.0.1:5432/mecc",
    "postgresql+psycopg://mecc:pw@localhost/mecc",
    "postgresql+psycopg://mecc@/mecc?host=/var/run/postgresql",
    "sqlite:///.local/mecc.db",
])
def test_tls_local_and_unix_socket_store_urls_are_accepted(url: str) -> None:
    assert CommonSettings(database_url=url, **DEPLOYED).database_url == url


@pytest.mark.parametrize(("setting", "value", "named"), [
    ("database_url", "postgresql+psycopg://mecc:pw@db.internal/mecc?sslmode=verify-full", "DATABASE_URL"),
    ("kafka_bootstrap_servers", "kafka-1.internal:9093", "KAFKA_BOOTSTRAP_SERVERS"),
    ("public_base_url", "https://report.example.police.uk", "PUBLIC_BASE_URL"),
])
def test_a_service_reaching_another_machine_refuses_the_development_keys(setting: str, value: str,
                                                                        named: str) -> None:
    # every service (the router, the retention and subject commands too), whatever PUBLIC_BASE_URL says:
    # a store on another server holds real people's data
    extra = SECURE if setting == "kafka_bootstrap_servers" else {}
    with pytest.raises(ValidationError, match=f"UNSUBSCRIBE_SECRET, TRACK_SECRET: {named}"):
        CommonSettings(**{setting: value}, **extra)
    secrets_only = {k: v for k, v in DEPLOYED.items() if k.endswith("secret")}
    with pytest.raises(ValidationError, match=f"STORE_ENCRYPTION_KEY, ADDRESS_DIGEST_KEY: {named}"):
        CommonSettings(**{setting: value}, **extra, **secrets_only)
    assert not CommonSettings(**{setting: value}, **extra, **DEPLOYED).is_local
