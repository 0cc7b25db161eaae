"""Create every topic in ``schemas.topics`` with its partition count (idempotent)."""

from __future__ import annotations

from contextlib import suppress

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from schemas.topics import TOPICS


def create_topics(bootstrap: str, replication: int = 1) -> list[str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="mecc-infra")
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name=t.name, num_partitions=t.partitions, replication_factor=replication)
            for t in TOPICS.values()
            if t.name not in existing
        ]
        for topic in missing:
            with suppress(TopicAlreadyExistsError):  # another process created it meanwhile
                admin.create_topics([topic])
        return [t.name for t in missing]
    finally:
        admin.close()
