"""The feedback worker's faust app. ``create_app(settings)`` wires senders, store and topics;
the module-level ``app`` is what ``faust -A services.feedback.app worker`` loads."""

from __future__ import annotations

import uuid
from typing import Any

import faust

from schemas import CaseUpdate, Channel, FeedbackMessage, RoutedItem
from schemas.topics import CASES_UPDATES, FEEDBACK_DEAD_LETTERS, FEEDBACK_MESSAGES, REPORTS_ROUTED
from services.common.config_files import load_categories
from services.common.faust_worker import app_options, raw_topic
from services.common.logging import get_logger
from services.common.sql import Store
from services.common.streams import process
from services.feedback.notify import Notifier
from services.feedback.senders import Outbox, Sender, SendGridEmail, TwilioSms
from services.feedback.settings import FeedbackSettings
from services.store.db import make_engine, make_sessions

log = get_logger(__name__)


def build_senders(settings: FeedbackSettings) -> dict[Channel, Sender]:
    """Real providers where credentials are set; the local outbox otherwise."""
    outbox = Outbox(settings.outbox_path)
    sms: Sender = outbox
    email: Sender = outbox
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number:
        sms = TwilioSms(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_from_number,
                        base_url=settings.twilio_api_base_url, timeout=settings.send_timeout_seconds)
    if settings.sendgrid_api_key and settings.sendgrid_from_email:
        email = SendGridEmail(settings.sendgrid_api_key, settings.sendgrid_from_email,
                              host=settings.sendgrid_api_host, timeout=settings.send_timeout_seconds)
    return {Channel.SMS: sms, Channel.EMAIL: email}


def create_app(settings: FeedbackSettings) -> faust.App:
    app = faust.App(
        settings.feedback_app_id,
        **app_options(bootstrap=settings.kafka_bootstrap_servers, web_port=settings.feedback_web_port),
    )
    routed = raw_topic(app, REPORTS_ROUTED.name)
    updates = raw_topic(app, CASES_UPDATES.name)
    messages = raw_topic(app, FEEDBACK_MESSAGES.name)
    dead_letters = raw_topic(app, FEEDBACK_DEAD_LETTERS.name)

    async def publish(message: FeedbackMessage) -> None:
        fut = await messages.send(key=message.reference.encode(), value=message.model_dump_json().encode())
        await fut

    senders = build_senders(settings)
    notifier = Notifier(
        store=Store(make_sessions(make_engine(settings.database_url))),
        senders=senders,
        publish=publish,
        categories=load_categories(settings.routing_config_dir),
        attempts=settings.send_attempts,
    )

    @app.agent(routed, name="acknowledge-routed")
    async def acknowledge(stream: faust.StreamT) -> None:
        await process(stream, service="feedback", decode=RoutedItem.model_validate_json,
                      handle=notifier.on_routed, dead_letters=dead_letters)

    @app.agent(updates, name="tell-informants")
    async def tell(stream: faust.StreamT) -> None:
        await process(stream, service="feedback", decode=CaseUpdate.model_validate_json,
                      handle=notifier.on_update, dead_letters=dead_letters)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # mode's stub wants a sync-or-async union
    async def close_senders(_: Any, **kwargs: Any) -> None:
        for sender in {id(s): s for s in senders.values()}.values():
            await sender.close()

    log.info("feedback_configured", sms=senders[Channel.SMS].name, email=senders[Channel.EMAIL].name,
             instance=uuid.uuid4().hex[:8])
    return app


app = create_app(FeedbackSettings())
