"""pytest fixtures for the real infrastructure: a Kafka broker, a PostgreSQL database and an
OpenID provider (``infra.oidc``: the Node ``oidc-provider`` with the local accounts).

Each comes from, in order: the environment (``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``),
testcontainers when a Docker engine answers, or the project's own scripts (``infra.kafka``,
``infra.postgres``). Whatever a fixture starts, it stops at the end of the session. The test
broker gets its own port and a fresh log directory, so a developer's running broker is never
touched.

Loaded by ``tests/conftest.py`` as a pytest plugin (not shipped: the wheel has no pytest fixtures).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from infra import kafka as local_kafka
from infra import oidc as local_oidc
from infra import postgres as local_postgres
from infra.ports import free_port
from infra.topics import create_topics
from services.store.db import migrate

TEST_KAFKA_PORT = int(os.environ.get("TEST_KAFKA_PORT", "29092"))
TEST_POSTGRES_PORT = int(os.environ.get("TEST_POSTGRES_PORT", "15432"))


def docker_available() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a real broker, with every topic in ``schemas.topics`` created."""
    if env := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        create_topics(env)
        yield env
        return
    if docker_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer(f"apache/kafka:{local_kafka.default_version()}").with_kraft() as container:
            bootstrap = container.get_bootstrap_server()
            create_topics(bootstrap)
            yield bootstrap
        return
    broker = local_kafka.Broker(port=TEST_KAFKA_PORT, controller_port=TEST_KAFKA_PORT + 1)
    local_kafka.reset(broker)  # a fresh log for every test session
    bootstrap = local_kafka.start(broker)
    create_topics(bootstrap)
    try:
        yield bootstrap
    finally:
        local_kafka.reset(broker)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local_oidc.OidcProvider]:
    """A real OpenID provider on a free port, with the intake registered as a client whose redirect
    URI is on another free port (``intake_base_url(provider)``), where the tests serve the intake."""
    intake_port = free_port()
    provider = local_oidc.OidcProvider(
        port=free_port(), home=tmp_path_factory.mktemp("oidc"),
        redirect_uris=(f"http://127.0.0.1:{intake_port}/sign-in/callback",))
    try:
        local_oidc.start(provider)
    except local_oidc.OidcUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield provider
    finally:
        local_oidc.stop(provider)


def intake_base_url(provider: local_oidc.OidcProvider) -> str:
    """Where the intake must be served for ``provider`` to send browsers back to it."""
    return provider.redirect_uris[0].removesuffix("/sign-in/callback")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database, from env, Docker or the local script."""
    if env := os.environ.get("DATABASE_URL"):
        yield env
        return
    if docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", driver="psycopg") as container:
            yield container.get_connection_url()
        return
    was_running = local_postgres.postgres_status(TEST_POSTGRES_PORT) is not None
    url = local_postgres.ensure_postgres(TEST_POSTGRES_PORT)
    try:
        yield url
    finally:
        if not was_running:
            local_postgres.stop_postgres(TEST_POSTGRES_PORT)


@contextmanager
def fresh_database(postgres_server: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database on ``postgres_server``, dropped afterwards."""
    name = f"mecc_test_{uuid.uuid4().hex[:8]}"
    url = local_postgres.create_database(postgres_server, name)
    migrate(url)
    try:
        yield url
    finally:
        with suppress(Exception):
            local_postgres.drop_database(postgres_server, name)


@pytest.fixture(scope="session")
def database_url(postgres_server: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped afterwards."""
    with fresh_database(postgres_server) as url:
        yield url
