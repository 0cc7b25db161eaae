"""Consumer groups on the broker, for runs that start workers: the topics each worker reads,
and starting a group at the current end of them."""

from __future__ import annotations

from collections.abc import Iterable

from schemas.topics import (
    CASES_UPDATES,
    CONTACTS_PUBLIC,
    CONTACTS_THIRD_PARTY,
    FEEDBACK_DELIVERY,
    FEEDBACK_INBOUND,
    FEEDBACK_PREFERENCES,
    REPORTS_ROUTED,
    WATCH_ITEMS,
)
from services.common.kafka_security import KafkaSecurity, kafka_python_options

#: What the router's consumer group reads.
ROUTER_TOPICS = (CONTACTS_PUBLIC.name, CONTACTS_THIRD_PARTY.name)
#: What the feedback worker's consumer group reads.
FEEDBACK_TOPICS = (REPORTS_ROUTED.name, CASES_UPDATES.name, WATCH_ITEMS.name, FEEDBACK_INBOUND.name,
                   FEEDBACK_PREFERENCES.name, FEEDBACK_DELIVERY.name)


def start_group_at_end(bootstrap: str, group_id: str, topics: Iterable[str],
                       security: KafkaSecurity | None = None) -> None:
    """Commit the current end of ``topics`` for ``group_id``, so a worker started with that
    group sees only what is published next, not what earlier runs left on the broker."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
                             **kafka_python_options(security))
    try:
        partitions = [TopicPartition(topic, p) for topic in topics
                      for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_end(*partitions)
        consumer.commit({tp: OffsetAndMetadata(consumer.position(tp), "", -1) for tp in partitions})
    finally:
        consumer.close()
