"""The router's faust app: ``create_app(settings)`` wires config, store and topics to the use
case (``usecase.RouteContacts``); nothing is built at import: ``python -m services.router``
builds it and runs the worker."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import faust

from schemas.events import CONTACT, utcnow
from schemas.topics import (
    CONTACTS_PUBLIC,
    CONTACTS_THIRD_PARTY,
    REPORTS_ROUTED,
    ROUTER_DEAD_LETTERS,
    WATCH_ITEMS,
)
from services.common.faust_worker import app_options, data_folder, raw_topic
from services.common.health import add_pages
from services.common.logging import get_logger
from services.common.process import configure_process
from services.common.sql import Store
from services.common.streams import process
from services.router.adapters import FaustPublisher, SqlRoutingStore
from services.router.config import load_routing_config
from services.router.settings import RouterSettings
from services.router.usecase import RouteContacts
from services.store import dashboard
from services.store.db import make_engine, make_sessions

log = get_logger(__name__)


def create_app(settings: RouterSettings) -> faust.App:
    configure_process(settings)
    config = load_routing_config(settings.routing_config_dir)
    sessions = make_sessions(make_engine(settings.database_url))
    store = Store(sessions)
    app = faust.App(
        settings.router_app_id,
        **app_options(bootstrap=settings.kafka_bootstrap_servers, web_port=settings.router_web_port,
                      session_timeout=settings.kafka_session_timeout_seconds, security=settings),
        datadir=data_folder(settings.router_datadir, settings.router_app_id),
    )
    contacts = raw_topic(app, CONTACTS_PUBLIC.name, CONTACTS_THIRD_PARTY.name)
    routed = raw_topic(app, REPORTS_ROUTED.name)
    watch_topic = raw_topic(app, WATCH_ITEMS.name)
    dead_letters = raw_topic(app, ROUTER_DEAD_LETTERS.name)

    clock = utcnow  # the one clock of the router: its events and its dashboard refreshes
    route = RouteContacts(config, SqlRoutingStore(store),
                          FaustPublisher({REPORTS_ROUTED.name: routed, WATCH_ITEMS.name: watch_topic}), clock)

    @app.agent(contacts, name="route-contacts")
    async def route_contacts(stream: faust.StreamT) -> None:
        await process(stream, service="router", decode=CONTACT.validate_json, handle_batch=route,
                      dead_letters=dead_letters, max_batch=settings.stream_batch_max,
                      within=settings.stream_batch_within_seconds)

    if settings.dashboard_refresh_seconds > 0:
        since: list[datetime | None] = [None]

        @app.timer(interval=settings.dashboard_refresh_seconds)
        async def refresh_dashboard() -> None:
            # The figures of the months whose reports changed, recomputed whole (bounded: a month).
            # Every worker has the timer (the app has no leader); they take turns through the store.
            try:
                since[0] = await asyncio.to_thread(dashboard.refresh_touched, sessions, clock(), since[0],
                                                   turn=timedelta(seconds=settings.dashboard_refresh_seconds))
            except Exception as exc:  # the next tick tries again from the same moment
                log.warning("dashboard_refresh_failed", error=type(exc).__name__, detail=str(exc)[:300])

    add_pages(app, store)
    log.info("router_configured", rules_version=config.version, areas=len(config.areas),
             rules=len(config.rules.rules), watches=len(config.watches.watches))
    return app

