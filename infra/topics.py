"""Create every topic in ``schemas.topics`` with its partition count, and hold every topic that
carries personal data to ``TOPIC_RETENTION_DAYS`` (``retention.ms``). Idempotent: a topic that
exists is left as it is, except that a retention other than the configured one is corrected
(altered in place, logged with the topic and both values), so a broker's default of 7 days, or
a retention set by hand, never outlives the schedule in the README."""

from __future__ import annotations

import time
from contextlib import suppress

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import TopicAlreadyExistsError

from schemas.topics import TOPICS
from services.common.kafka_security import KafkaSecurity, kafka_python_options
from services.common.logging import get_logger
from services.common.settings import RetentionSettings

RETENTION = "retention.ms"
log = get_logger(__name__)


def topic_configs(retention_ms: int) -> dict[str, dict[str, str]]:
    """The topic-level configuration each topic should have, by name."""
    return {t.name: ({RETENTION: str(retention_ms)} if t.personal_data else {}) for t in TOPICS.values()}


def topic_retention(admin: KafkaAdminClient, names: list[str], attempts: int = 40) -> dict[str, str | None]:
    """Each topic's ``retention.ms`` as the broker reports it (None if not found). A topic
    created a moment ago is described with no configs at all until the broker has it: asked
    again, a quarter of a second apart, up to ``attempts`` times."""
    found: dict[str, str | None] = {}
    pending = list(names)
    for attempt in range(attempts):
        # Every config of each topic (a key filter answers for only one resource in this client).
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in pending],
                                           config_filter="all")
        for by_name in described.values():
            for name, configs in by_name.items():
                if not configs:
                    continue
                entry = configs.get(RETENTION) if isinstance(configs, dict) else None
                found[name] = entry.get("value") if isinstance(entry, dict) else entry
        pending = [name for name in pending if name not in found]
        if not pending:
            break
        if attempt + 1 < attempts:
            time.sleep(0.25)
    return {name: found.get(name) for name in names}


def create_topics(bootstrap: str, replication: int = 1, retention_ms: int | None = None,
                  security: KafkaSecurity | None = None) -> list[str]:
    """Create the missing topics and correct the retention of the existing ones; returns the
    names created. ``retention_ms`` defaults to ``TOPIC_RETENTION_DAYS`` from the environment;
    ``security`` (a user allowed to create topics: the admin) for a SASL_SSL broker."""
    retention_ms = RetentionSettings().topic_retention_ms if retention_ms is None else retention_ms
    wanted = topic_configs(retention_ms)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="mecc-infra", **kafka_python_options(security))
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name=t.name, num_partitions=t.partitions, replication_factor=replication,
                     topic_configs=wanted[t.name])
            for t in TOPICS.values()
            if t.name not in existing
        ]
        for topic in missing:
            with suppress(TopicAlreadyExistsError):  # another process created it meanwhile
                admin.create_topics([topic])
        held = sorted(name for name in existing if name in wanted and RETENTION in wanted[name])
        if held:
            current = topic_retention(admin, held)
            wrong = [name for name in held if current[name] != wanted[name][RETENTION]]
            if wrong:
                admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs={
                    RETENTION: wanted[name][RETENTION]}) for name in wrong])
                for name in wrong:
                    log.warning("topic_retention_corrected", topic=name, was_ms=current[name],
                                now_ms=wanted[name][RETENTION])
        return [t.name for t in missing]
    finally:
        admin.close()
