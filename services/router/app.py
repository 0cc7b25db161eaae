"""The router's faust app: ``create_app(settings)`` wires config, store and topics; the
module-level ``app`` is what ``faust -A services.router.app worker`` loads."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta

import faust
from sqlalchemy.orm import Session

from schemas import PublicContact, RoutedItem, ThirdPartyContact, WatchItem
from schemas.events import CONTACT
from schemas.topics import (
    CONTACTS_PUBLIC,
    CONTACTS_THIRD_PARTY,
    REPORTS_ROUTED,
    ROUTER_DEAD_LETTERS,
    WATCH_ITEMS,
)
from services.common import metrics
from services.common.faust_worker import app_options, data_folder, raw_topic
from services.common.health import add_pages
from services.common.logging import get_logger
from services.common.sql import Store
from services.common.streams import process
from services.router import clustering
from services.router.clusters import ClusterRequest, place_in_clusters
from services.router.config import RoutingConfig, load_routing_config
from services.router.routing import Decision, cluster_label_for, decide, routed_item, watch_items
from services.router.settings import RouterSettings
from services.store import routing as routing_store
from services.store.db import make_engine, make_sessions

log = get_logger(__name__)


def cluster_request(contact: PublicContact | ThirdPartyContact, decision: Decision,
                    config: RoutingConfig) -> ClusterRequest | None:
    """What the store needs to place a report in a cluster; None when it has no point or
    postcode to cluster by."""
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


def create_app(settings: RouterSettings) -> faust.App:
    config = load_routing_config(settings.routing_config_dir)
    store = Store(make_sessions(make_engine(settings.database_url)))
    app = faust.App(
        settings.router_app_id,
        **app_options(bootstrap=settings.kafka_bootstrap_servers, web_port=settings.router_web_port,
                      session_timeout=settings.kafka_session_timeout_seconds),
        datadir=data_folder(settings.router_datadir, settings.router_app_id),
    )
    contacts = raw_topic(app, CONTACTS_PUBLIC.name, CONTACTS_THIRD_PARTY.name)
    routed = raw_topic(app, REPORTS_ROUTED.name)
    watch_topic = raw_topic(app, WATCH_ITEMS.name)
    dead_letters = raw_topic(app, ROUTER_DEAD_LETTERS.name)

    params = config.rules.clustering
    cluster_params = clustering.ClusterParams(params.distance_m, timedelta(days=params.window_days))

    def route(session: Session, batch: list[PublicContact | ThirdPartyContact]
              ) -> tuple[list[RoutedItem], list[tuple[WatchItem, ...]]]:
        """Decide each report (pure), place the batch in clusters and record the decisions and
        watch items, in one transaction. Runs in the store's thread."""
        decisions = [decide(contact, config) for contact in batch]
        requests = [cluster_request(c, d, config) for c, d in zip(batch, decisions, strict=True)]
        with session.begin():
            placed = iter(place_in_clusters(session, [r for r in requests if r is not None], cluster_params))
            items = [
                routed_item(contact, config, cluster=next(placed) if request is not None else None,
                            decision=decision)
                for contact, decision, request in zip(batch, decisions, requests, strict=True)
            ]
            for_watches = [watch_items(item, config) for item in items]
            routing_store.add_routed(session, items, [w for ws in for_watches for w in ws])
        return items, for_watches

    async def handle_batch(batch: list[PublicContact | ThirdPartyContact]) -> None:
        """Route a batch in one transaction, then publish every output and wait for the broker
        to have them all before the batch is acknowledged."""
        items, for_watches = await store.run(route, batch)
        pending = []
        for item, watch_list in zip(items, for_watches, strict=True):
            pending.append(await routed.send(key=item.reference.encode(), value=item.model_dump_json().encode()))
            for watch_item in watch_list:
                pending.append(await watch_topic.send(key=watch_item.watch_id.encode(),
                                                      value=watch_item.model_dump_json().encode()))
        await asyncio.gather(*pending)
        for item in items:
            metrics.REPORTS_ROUTED.inc()
            for destination in item.destinations:
                metrics.ROUTED_DESTINATIONS.labels(destination.id).inc()
            cluster = item.cluster
            log.info("routed", reference=item.reference, destinations=[d.id for d in item.destinations],
                     flags=[f.value for f in item.flags], areas=[a.id for a in item.areas],
                     cluster=str(cluster.id) if cluster else None,
                     cluster_reports=cluster.reports if cluster else None)

    @app.agent(contacts, name="route-contacts")
    async def route_contacts(stream: faust.StreamT) -> None:
        await process(stream, service="router", decode=CONTACT.validate_json, handle_batch=handle_batch,
                      dead_letters=dead_letters, max_batch=settings.stream_batch_max,
                      within=settings.stream_batch_within_seconds)

    add_pages(app, store)
    log.info("router_configured", rules_version=config.version, areas=len(config.areas),
             rules=len(config.rules.rules), watches=len(config.watches.watches))
    return app


app = create_app(RouterSettings())
