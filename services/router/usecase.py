"""The router's use case: route a batch of contacts.

``RouteContacts`` decides where each report goes (pure, ``routing.decide``), places the batch
in clusters and records the decisions and the watch items they make, in ONE transaction of
the store port; then it publishes every routed item and watch item through the publisher port
and waits until the broker has them all. Only then does it return, and only then does the
stream acknowledge the batch (``services.common.streams.process``), so:

- a failure anywhere (a report that cannot be routed, the database, the broker) raises, and
  the transaction has recorded nothing of the batch or the publishing is repeated on replay;
  ``process`` then handles the batch one by one, so a poison report is dead-lettered alone;
- a redelivered batch is recorded once (the store skips references it has) and publishes the
  same events again, with the same ids (``uuid5`` of the contact's), which consumers skip;
- each report's routed item is sent before its watch items, and reports go in batch order.

The adapters (SQL store, faust topics) are in ``services.router.adapters``; ``create_app``
wires them. The unit tests use fakes (tests/unit/test_router_usecase.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from schemas import ClusterRef, PublicContact, RoutedItem, ThirdPartyContact, WatchItem
from schemas.events import utcnow
from schemas.topics import REPORTS_ROUTED, WATCH_ITEMS
from services.common import metrics
from services.common.logging import get_logger
from services.common.streams import PermanentFailure
from services.router import clustering
from services.router.clusters import ClusterRequest
from services.router.config import RoutingConfig
from services.router.routing import Decision, cluster_label_for, decide, routed_item, watch_items
from services.store.repository import ReferenceTaken

log = get_logger(__name__)

T = TypeVar("T")
Contact = PublicContact | ThirdPartyContact


class RoutingTransaction(Protocol):
    """The store inside one transaction: what the router reads and writes."""

    def place_in_clusters(self, requests: Sequence[ClusterRequest], params: clustering.ClusterParams
                          ) -> list[ClusterRef]:
        """The cluster of each report, in order (``services.router.clusters.place_in_clusters``)."""
        ...

    def add_routed(self, items: Sequence[RoutedItem], watch_items: Sequence[WatchItem]) -> int:
        """Record decisions and watch items; a reference recorded before is skipped."""
        ...


class RoutingStore(Protocol):
    async def in_transaction(self, work: Callable[[RoutingTransaction], T]) -> T:
        """Run ``work`` (blocking code, off the event loop) in one transaction: every write it
        makes is committed together when it returns, and none if it raises."""
        ...


class Publisher(Protocol):
    async def send(self, topic: str, key: bytes, value: bytes) -> Awaitable[Any]:
        """Hand one record to the broker client; the result completes once the broker has it."""
        ...


@dataclass(frozen=True)
class Routed:
    """A batch's outputs: each report's routed item and the watch items it made."""

    items: list[RoutedItem]
    watch_items: list[tuple[WatchItem, ...]]


def cluster_request(contact: Contact, decision: Decision, config: RoutingConfig) -> ClusterRequest | None:
    """What the store needs to place a report in a cluster; None when it has no point or
    postcode to cluster by, or is sensitive: a cluster member keeps its category, exact point and
    full postcode in plain text, beside the encrypted report, and a sensitive report's place
    (domestic abuse: where someone lives) is kept nowhere but in the encrypted report."""
    if decision.sensitive:
        return None
    report = contact.report
    place = clustering.place_of(report.location)
    if place is None:
        return None
    found = config.categories.categories.get(report.category)
    return ClusterRequest(
        reference=contact.reference,
        category=report.category,
        category_label=found.label if found else report.category,
        place=place,
        received_at=contact.received_at.astimezone(UTC),
        label=cluster_label_for(contact, decision, config),
    )


class RouteContacts:
    """Route, cluster, record and publish a batch of contacts (see the module docstring)."""

    def __init__(self, config: RoutingConfig, store: RoutingStore, publisher: Publisher,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.config = config
        self.store = store
        self.publisher = publisher
        #: The time the routed and watch items of a batch are made at (``emitted_at``).
        self.clock = clock
        params = config.rules.clustering
        self.cluster_params = clustering.ClusterParams(params.distance_m, timedelta(days=params.window_days))

    def route(self, tx: RoutingTransaction, batch: Sequence[Contact]) -> Routed:
        """Decide each report (pure), place the batch in clusters and record the decisions and
        watch items, inside the store's transaction ``tx``."""
        config = self.config
        decisions = [decide(contact, config) for contact in batch]
        requests = [cluster_request(c, d, config) for c, d in zip(batch, decisions, strict=True)]
        placed = iter(tx.place_in_clusters([r for r in requests if r is not None], self.cluster_params))
        at = self.clock()
        items = [
            routed_item(contact, config, cluster=next(placed) if request is not None else None, decision=decision,
                        at=at)
            for contact, decision, request in zip(batch, decisions, requests, strict=True)
        ]
        for_watches = [watch_items(item, config) for item in items]
        try:
            tx.add_routed(items, [w for ws in for_watches for w in ws])
        except ReferenceTaken as exc:
            # Never recorded over another report, never skipped as a redelivery: dead-lettered
            # (``process`` retries a batch one by one, so the lone report is the one counted).
            if len(batch) == 1:
                metrics.REFERENCE_CONFLICTS.inc()
                log.error("reference_taken", reference=exc.reference, event_id=str(batch[0].event_id))
            raise PermanentFailure(f"{exc}: not routed; give the report a new reference and replay it") from exc
        return Routed(items, for_watches)

    async def __call__(self, batch: list[Contact]) -> Routed:
        """Route a batch in one transaction, then publish every output and wait for the broker
        to have them all before returning (and the batch being acknowledged)."""
        routed = await self.store.in_transaction(lambda tx: self.route(tx, batch))
        pending = []
        for item, watch_list in zip(routed.items, routed.watch_items, strict=True):
            pending.append(await self.publisher.send(REPORTS_ROUTED.name, item.reference.encode(),
                                                     item.model_dump_json().encode()))
            for watch_item in watch_list:
                pending.append(await self.publisher.send(WATCH_ITEMS.name, watch_item.watch_id.encode(),
                                                         watch_item.model_dump_json().encode()))
        await asyncio.gather(*pending)
        for item in routed.items:
            metrics.REPORTS_ROUTED.inc()
            for destination in item.destinations:
                metrics.ROUTED_DESTINATIONS.labels(destination.id).inc()
            cluster = item.cluster
            log.info("routed", reference=item.reference, destinations=[d.id for d in item.destinations],
                     flags=[f.value for f in item.flags], areas=[a.id for a in item.areas],
                     cluster=str(cluster.id) if cluster else None,
                     cluster_reports=cluster.reports if cluster else None)
        return routed
