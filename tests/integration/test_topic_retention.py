"""The broker keeps personal data no longer than the retention schedule says: every topic that
carries it is created with ``retention.ms`` from ``TOPIC_RETENTION_DAYS``, and a topic found with
another retention (the broker's default, or one set by hand) is corrected at start-up."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from infra import topics as infra_topics
from infra.topics import create_topics, topic_retention
from schemas.topics import TOPICS, Topic
from services.common.settings import RetentionSettings

pytestmark = pytest.mark.integration

DOCUMENTED_DAYS = 30  # README, "Retention schedule"
DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def admin(kafka_bootstrap: str) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="test-retention")
    yield client
    client.close()


def test_every_personal_data_topic_holds_the_documented_retention(
        kafka_bootstrap: str, admin: KafkaAdminClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOPIC_RETENTION_DAYS", raising=False)
    assert RetentionSettings().topic_retention_ms == DOCUMENTED_DAYS * DAY_MS
    create_topics(kafka_bootstrap)
    personal = sorted(t.name for t in TOPICS.values() if t.personal_data)
    assert {"contacts.public", "contacts.third-party", "reports.routed", "watch.items", "cases.updates",
            "feedback.inbound", "router.dead-letters", "feedback.dead-letters"} <= set(personal)
    assert topic_retention(admin, personal) == {name: str(DOCUMENTED_DAYS * DAY_MS) for name in personal}


def test_an_existing_topic_with_the_broker_default_retention_is_corrected(
        kafka_bootstrap: str, admin: KafkaAdminClient, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"contacts.retention-test-{uuid.uuid4().hex[:6]}"
    extra = Topic(name, TOPICS["contacts.public"].model, 1, "a personal-data topic made before the schedule")
    monkeypatch.setitem(infra_topics.TOPICS, name, extra)
    admin.create_topics([NewTopic(name=name, num_partitions=1, replication_factor=1)])  # broker default
    assert topic_retention(admin, [name])[name] not in (None, str(14 * DAY_MS))  # e.g. 7 days
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "contacts.public",
                                        configs={"retention.ms": str(DAY_MS * 999)})])

    created = create_topics(kafka_bootstrap, retention_ms=14 * DAY_MS)

    assert name not in created
    found = topic_retention(admin, [name, "contacts.public"])
    assert found == {name: str(14 * DAY_MS), "contacts.public": str(14 * DAY_MS)}
    create_topics(kafka_bootstrap)  # back to the documented default for the other tests
    assert topic_retention(admin, ["contacts.public"]) == {"contacts.public": str(DOCUMENTED_DAYS * DAY_MS)}
