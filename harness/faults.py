"""What fault and load runs share: the run summary, reading services' ``/metrics``, store
queries and broker reads that say what arrived, and the reports they send."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import httpx
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import func, select

from services.common import metrics
from services.store.db import make_engine, make_sessions
from services.store.models import RoutingDecision


@dataclass
class Summary:
    """What one fault run did. It passes with nothing lost and nothing duplicated."""

    scenario: str
    reports_sent: int = 0
    accepted: int = 0
    refused: int = 0
    routed: int = 0
    messages_expected: int = 0
    messages_sent: int = 0
    duplicates: int = 0
    lost: int = 0
    #: Messages left ``unconfirmed`` or ``ambiguous`` (the provider may have them): "reference channel status".
    unconfirmed: list[str] = field(default_factory=list)

    def line(self) -> str:
        return "FAULT SUMMARY " + json.dumps(asdict(self))

    def check(self) -> None:
        assert (self.lost, self.duplicates) == (0, 0), self.line()


def scrape(port: int) -> dict[str, float]:
    """The samples of a service's ``/metrics`` page."""
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    response.raise_for_status()
    return metrics.parse(response.text)


def routed_count(database_url: str, references: Iterable[str]) -> int:
    refs = list(references)
    if not refs:
        return 0
    engine = make_engine(database_url)
    try:
        with make_sessions(engine)() as s:
            return int(s.scalar(select(func.count()).select_from(RoutingDecision)
                                .where(RoutingDecision.reference.in_(refs))) or 0)
    finally:
        engine.dispose()


def routed_event_ids(bootstrap: str, references: set[str]) -> dict[str, set[str]]:
    """Distinct ``reports.routed`` event ids per reference (a redelivery repeats the same id;
    a second id would be a second routing)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             client_id=f"faults-{uuid.uuid4().hex[:6]}")
    found: dict[str, set[str]] = defaultdict(set)
    try:
        parts = [TopicPartition("reports.routed", p) for p in sorted(consumer.partitions_for_topic("reports.routed"))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        while any(consumer.position(tp) < end[tp] for tp in parts):
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    key = (record.key or b"").decode()
                    if key in references:
                        found[key].add(json.loads(record.value)["event_id"])
    finally:
        consumer.close()
    return found


def report_body(i: int, *, anonymous: bool = False) -> dict[str, object]:
    """A report; ``anonymous`` ones in a category no watch takes, so that feedback workers started
    later in the same test session (on the same topics) have nothing to send for them."""
    if anonymous:
        return {"category": "drugs", "description": f"Dealing from a car on Bedford Road, fault run report {i}",
                "location": {"postcode": "MK42 8AA"}}
    return {
        "category": "speeding",
        "description": f"Cars racing on Bedford Road, fault run report {i}",
        "location": {"postcode": "MK42 8AA"},
        "informant": {"phone": f"07700 9{i % 100000:05d}"},
    }
