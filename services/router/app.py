"""The router's faust app: ``create_app(settings)`` wires config, store and topics; the
module-level ``app`` is what ``faust -A services.router.app worker`` loads."""

from __future__ import annotations

import faust

from schemas import PublicContact, ThirdPartyContact
from schemas.events import CONTACT
from schemas.topics import CONTACTS_PUBLIC, CONTACTS_THIRD_PARTY, REPORTS_ROUTED, ROUTER_DEAD_LETTERS
from services.common.faust_worker import app_options, raw_topic
from services.common.logging import get_logger
from services.common.sql import Store
from services.common.streams import process
from services.router.config import load_routing_config
from services.router.routing import routed_item
from services.router.settings import RouterSettings
from services.store import repository
from services.store.db import make_engine, make_sessions

log = get_logger(__name__)

def create_app(settings: RouterSettings) -> faust.App:
    config = load_routing_config(settings.routing_config_dir)
    store = Store(make_sessions(make_engine(settings.database_url)))
    app = faust.App(
        settings.router_app_id,
        **app_options(bootstrap=settings.kafka_bootstrap_servers, web_port=settings.router_web_port),
    )
    contacts = raw_topic(app, CONTACTS_PUBLIC.name, CONTACTS_THIRD_PARTY.name)
    routed = raw_topic(app, REPORTS_ROUTED.name)
    dead_letters = raw_topic(app, ROUTER_DEAD_LETTERS.name)

    async def handle(contact: PublicContact | ThirdPartyContact) -> None:
        item = routed_item(contact, config)
        await store.run(repository.record_routing, item)
        fut = await routed.send(key=item.reference.encode(), value=item.model_dump_json().encode())
        await fut
        log.info("routed", reference=item.reference, destinations=[d.id for d in item.destinations])

    @app.agent(contacts, name="route-contacts")
    async def route_contacts(stream: faust.StreamT) -> None:
        await process(stream, service="router", decode=CONTACT.validate_json, handle=handle,
                      dead_letters=dead_letters)

    log.info("router_configured", rules_version=config.version)
    return app


app = create_app(RouterSettings())
