"""The feedback worker's faust app. ``create_app(settings)`` builds the pieces (the delivery
engine, the event handlers, the replies and the timers) over the adapters ``build_senders``
and the store give, and wires them to topics and timers. Nothing is built at import:
``python -m services.feedback`` builds it and runs the worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

import faust
from pydantic import BaseModel

from schemas import (
    CaseUpdate,
    Channel,
    FeedbackMessage,
    InboundMessage,
    PreferenceChange,
    PublicContact,
    RoutedItem,
    WatchItem,
)
from schemas.topics import (
    CASES_UPDATES,
    CONTACTS_PUBLIC,
    FEEDBACK_DEAD_LETTERS,
    FEEDBACK_DELIVERY,
    FEEDBACK_INBOUND,
    FEEDBACK_MESSAGES,
    FEEDBACK_PREFERENCES,
    REPORTS_ROUTED,
    WATCH_ITEMS,
)
from services.common import metrics
from services.common.config_files import load_categories
from services.common.faust_worker import app_options, data_folder, raw_topic
from services.common.health import add_pages
from services.common.logging import get_logger
from services.common.process import configure_process
from services.common.reply_address import reply_address
from services.common.sql import Store
from services.common.streams import Handler, one_by_one, process
from services.common.track import fill_track_secret, track_link
from services.common.unsubscribe import make_token
from services.feedback.coordinators import load_directory
from services.feedback.delivery import Delivery
from services.feedback.handlers import Handlers, decode_delivery_status
from services.feedback.policy import DeliveryRules, QuietHours
from services.feedback.replies import Replies
from services.feedback.senders import Outbox, Sender, SendGridEmail, TwilioSms
from services.feedback.settings import FeedbackSettings
from services.feedback.timers import Timers, keep_going
from services.store.db import make_engine, make_sessions

log = get_logger(__name__)


def build_senders(settings: FeedbackSettings) -> dict[Channel, Sender]:
    """Real providers where credentials are set; the local outbox otherwise."""
    outbox = Outbox(settings.outbox_path)
    sms: Sender = outbox
    email: Sender = outbox
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number:
        callback = (f"{settings.public_base_url.rstrip('/')}/webhooks/twilio/status"
                    if settings.twilio_status_callbacks else None)
        sms = TwilioSms(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_from_number,
                        base_url=settings.twilio_api_base_url, timeout=settings.send_timeout_seconds,
                        status_callback=callback)
    if settings.sendgrid_api_key and settings.sendgrid_from_email:
        email = SendGridEmail(settings.sendgrid_api_key, settings.sendgrid_from_email,
                              host=settings.sendgrid_api_host, timeout=settings.send_timeout_seconds)
    return {Channel.SMS: sms, Channel.EMAIL: email}


def delivery_rules(settings: FeedbackSettings) -> DeliveryRules:
    return DeliveryRules(
        attempts=settings.send_attempts,
        backoff_base=settings.retry_base_seconds,
        backoff_cap=settings.retry_cap_seconds,
        quiet=QuietHours(settings.sms_quiet_start, settings.sms_quiet_end),
        survey_delay=timedelta(days=settings.survey_delay_days),
        holding_after=timedelta(days=settings.holding_after_days),
        send_lease=timedelta(seconds=settings.send_lease_seconds or max(60.0, settings.send_timeout_seconds * 4)),
        digest_at=settings.digest_at,
        send_concurrency=settings.send_concurrency,
    )


def create_app(settings: FeedbackSettings) -> faust.App:
    configure_process(settings)
    app = faust.App(
        settings.feedback_app_id,
        **app_options(bootstrap=settings.kafka_bootstrap_servers, web_port=settings.feedback_web_port,
                      session_timeout=settings.kafka_session_timeout_seconds, security=settings),
        datadir=data_folder(settings.feedback_datadir, settings.feedback_app_id),
    )
    routed = raw_topic(app, REPORTS_ROUTED.name)
    updates = raw_topic(app, CASES_UPDATES.name)
    delivery_status = raw_topic(app, FEEDBACK_DELIVERY.name)
    inbound = raw_topic(app, FEEDBACK_INBOUND.name)
    preferences = raw_topic(app, FEEDBACK_PREFERENCES.name)
    watch_items = raw_topic(app, WATCH_ITEMS.name)
    messages = raw_topic(app, FEEDBACK_MESSAGES.name)
    contacts = raw_topic(app, CONTACTS_PUBLIC.name)
    dead_letters = raw_topic(app, FEEDBACK_DEAD_LETTERS.name)

    def publisher(topic: faust.TopicT) -> Callable[[Sequence[FeedbackMessage | PublicContact]], Awaitable[None]]:
        async def publish(events: Sequence[FeedbackMessage | PublicContact]) -> None:
            # Every event goes to the producer first; then the broker's acknowledgements are awaited
            # together, rather than one round trip per event.
            pending = [await topic.send(key=event.reference.encode(), value=event.model_dump_json().encode())
                       for event in events]
            await asyncio.gather(*pending)
            for event in events:
                if isinstance(event, FeedbackMessage):
                    metrics.MESSAGES.labels(event.channel.value, event.status).inc()

        return publish

    publish_contacts = publisher(contacts)

    async def publish_contact(contact: PublicContact) -> None:
        await publish_contacts([contact])

    base_url = settings.public_base_url.rstrip("/")
    senders = build_senders(settings)
    store = Store(make_sessions(make_engine(settings.database_url)))
    rules = delivery_rules(settings)
    categories = load_categories(settings.routing_config_dir)
    directory = load_directory(settings.routing_config_dir)
    delivery = Delivery(
        store=store, senders=senders, publish=publisher(messages), rules=rules,
        unsubscribe_url=lambda digest: f"{base_url}/v1/unsubscribe/{make_token(settings.unsubscribe_secret, digest)}",
        categories=categories,
        reply_to=(None if not settings.inbound_email_domain else
                  partial(reply_address, settings.unsubscribe_secret, settings.inbound_email_domain)),
        fill=lambda reference, text: fill_track_secret(settings.track_secret, reference, text),
    )
    handlers = Handlers(delivery=delivery, categories=categories, directory=directory,
                        track_url=lambda reference: track_link(base_url, reference))
    replies = Replies(store=store, publish_contact=publish_contact, rules=rules)
    timers = Timers(delivery=delivery, categories=categories, directory=directory)

    def consume(name: str, topic: faust.TopicT, decode: Callable[[bytes], BaseModel], handle_batch: Handler[Any]
                ) -> None:
        async def agent(stream: faust.StreamT) -> None:
            await process(stream, service="feedback", decode=decode, handle_batch=handle_batch,
                          dead_letters=dead_letters, max_batch=settings.stream_batch_max,
                          within=settings.stream_batch_within_seconds)

        app.agent(topic, name=name)(agent)

    # The busy stream is handled a batch at a time; the others, quieter, a message at a time.
    consume("acknowledge-routed", routed, RoutedItem.model_validate_json, handlers.on_routed_batch)
    consume("tell-informants", updates, CaseUpdate.model_validate_json, one_by_one(handlers.on_case_update))
    consume("delivery-status", delivery_status, decode_delivery_status, one_by_one(handlers.on_delivery_status))
    consume("inbound-replies", inbound, InboundMessage.model_validate_json, one_by_one(replies.on_inbound))
    consume("preferences", preferences, PreferenceChange.model_validate_json, one_by_one(handlers.on_preference))
    consume("tell-coordinators", watch_items, WatchItem.model_validate_json, one_by_one(handlers.on_watch_item))

    # Each timer must outlive a passing database or provider failure.
    for name, interval, tick in (
        ("send_due", settings.due_check_seconds, timers.send_due),
        ("digests", settings.digest_check_seconds, timers.send_digests),
        ("holding_updates", settings.holding_check_seconds, timers.send_holding_updates),
    ):
        app.timer(interval=interval, name=name)(keep_going(name, tick))

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # mode's stub wants a sync-or-async union
    async def close_senders(_: Any, **kwargs: Any) -> None:
        for sender in {id(s): s for s in senders.values()}.values():
            await sender.close()

    add_pages(app, store)
    log.info("feedback_configured", sms=senders[Channel.SMS].name, email=senders[Channel.EMAIL].name)
    return app

