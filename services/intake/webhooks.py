"""Provider webhooks and the one-click unsubscribe: what Twilio, SendGrid and informants tell
us after a message was sent, checked and put back into the flow as events.

- ``POST /webhooks/twilio/status``: SMS delivery callbacks (``X-Twilio-Signature`` checked).
- ``POST /webhooks/twilio/inbound``: SMS replies, STOP/START included (signature checked).
- ``POST /webhooks/sendgrid/events``: the Event Webhook (ECDSA signature and age checked).
- ``POST /webhooks/sendgrid/inbound/{token}``: Inbound Parse email replies (secret path); a reply
  counts as one (``authenticated``) only with a valid per-message reply token and SPF and DKIM
  passing for the sender (``services.common.reply_address``).
- ``GET|POST /v1/unsubscribe/{token}``: RFC 8058 one-click unsubscribe from email.

A provider's callback becomes an event whose ``event_id`` is derived from the provider's own
ids (Twilio: MessageSid, with the status and error code for a status callback; SendGrid:
sg_event_id), so a replayed callback is the same event and the worker, which remembers the
callbacks it acted on (``provider_events``), changes nothing. Opt-outs follow the provider's
time of the event (SendGrid's ``timestamp``). Twilio's webhooks carry no time: a STOP or START
is taken as of its receipt, and a replay of an old one is known by its MessageSid, not by its time.

A request that is unsigned, badly signed, or arrives while the check is not configured is
refused with 403: nothing unauthenticated reaches the flow. A delivery callback is translated
into a provider-neutral ``DeliveryStatus`` by its provider's adapter (``services.feedback.senders``).
"""

from __future__ import annotations

import hmac
import html
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError
from sendgrid.helpers.eventwebhook import EventWebhook, EventWebhookHeader
from twilio.request_validator import RequestValidator

from schemas import Channel, DeliveryStatus, InboundMessage
from services.common import reply_address
from services.common.logging import get_logger
from services.common.unsubscribe import read_token
from services.feedback.senders import sendgrid, twilio
from services.intake import usecases
from services.intake.routes import Ctx
from services.store.messages import address_digest

log = get_logger(__name__)
router = APIRouter(tags=["webhooks"])
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
E = TypeVar("E", bound=BaseModel)


def provider_event_id(provider: str, *parts: object) -> uuid.UUID:
    """The event id of a provider's callback, from the provider's own ids: a replay gets the same one."""
    return uuid.uuid5(uuid.NAMESPACE_URL, ":".join(["mecc:provider", provider, *(str(p or "") for p in parts)]))


def _event(cls: type[E], names: Mapping[str, str], **values: Any) -> E:
    """The event a provider's request becomes; 422 naming the provider's fields (``names``: the
    event's field → the request's) when it breaks the event's limits, instead of a 500."""
    try:
        return cls(**values)
    except ValidationError as exc:
        fields = [{"field": names.get(str(err["loc"][0]) if err["loc"] else "", "(body)"),
                   "message": str(err["msg"])} for err in exc.errors()]
        raise HTTPException(422, {"error": "invalid request", "fields": fields}) from exc


async def _twilio_form(request: Request, ctx: Ctx, signature: str | None) -> dict[str, str]:
    token = ctx.settings.twilio_auth_token
    if not token:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Twilio webhooks are not configured")
    form = {k: str(v) for k, v in (await request.form()).items()}
    url = ctx.settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not signature or not RequestValidator(token).validate(url, form, signature):
        log.warning("webhook_signature_rejected", provider="twilio", path=request.url.path)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "bad or missing X-Twilio-Signature")
    return form


TwilioSignature = Annotated[str | None, Header(alias="X-Twilio-Signature")]


@router.post("/webhooks/twilio/status", status_code=status.HTTP_204_NO_CONTENT, summary="Twilio SMS status")
async def twilio_status(request: Request, ctx: Ctx, signature: TwilioSignature = None) -> Response:
    form = await _twilio_form(request, ctx, signature)
    sid, state = form.get("MessageSid") or form.get("SmsSid"), form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not state:
        raise HTTPException(422, {"error": "invalid request",
                                  "fields": [{"field": "MessageSid/MessageStatus", "message": "required"}]})
    error_code = form.get("ErrorCode") or None
    outcome, opted_out = twilio.callback_outcome(state, error_code)
    event = _event(DeliveryStatus, {"provider_id": "MessageSid", "provider_status": "MessageStatus",
                                    "error_code": "ErrorCode"},
                   event_id=provider_event_id("twilio", "status", sid, state, error_code),
                   emitted_at=ctx.clock(), provider="twilio", provider_id=sid, outcome=outcome,
                   opted_out=opted_out, provider_status=state, error_code=error_code)
    await usecases.report_delivery(ctx, event)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/webhooks/twilio/inbound", summary="Twilio inbound SMS")
async def twilio_inbound(request: Request, ctx: Ctx, signature: TwilioSignature = None) -> Response:
    form = await _twilio_form(request, ctx, signature)
    sender = form.get("From")
    if not sender:
        raise HTTPException(422, {"error": "invalid request", "fields": [{"field": "From", "message": "required"}]})
    event = _event(InboundMessage, {"sender": "From", "body": "Body", "provider_id": "MessageSid",
                                    "opt_out_type": "OptOutType"},
                   emitted_at=ctx.clock(), channel=Channel.SMS, sender=sender, body=form.get("Body", ""),
                   provider_id=form.get("MessageSid"), opt_out_type=form.get("OptOutType") or None,
                   **({"event_id": provider_event_id("twilio", "inbound", form["MessageSid"])}
                      if form.get("MessageSid") else {}))
    await usecases.pass_on_reply(ctx, event)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/webhooks/sendgrid/events", status_code=status.HTTP_204_NO_CONTENT, summary="SendGrid Event Webhook")
async def sendgrid_events(
    request: Request,
    ctx: Ctx,
    signature: Annotated[str | None, Header(alias=EventWebhookHeader.SIGNATURE)] = None,
    timestamp: Annotated[str | None, Header(alias=EventWebhookHeader.TIMESTAMP)] = None,
) -> Response:
    key = ctx.settings.sendgrid_webhook_public_key
    if not key:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "SendGrid webhooks are not configured")
    payload = (await request.body()).decode("utf-8", errors="replace")
    if not signature or not timestamp or not _sendgrid_signed(key, payload, signature, timestamp):
        log.warning("webhook_signature_rejected", provider="sendgrid")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "bad or missing Event Webhook signature")
    if not timestamp.isdigit() or abs(ctx.clock().timestamp() - int(timestamp)) > ctx.settings.webhook_max_age_seconds:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Event Webhook timestamp too old")
    try:
        events: Any = json.loads(payload)
    except ValueError as exc:
        raise HTTPException(422, {"error": "invalid request", "fields": [{"field": "(body)", "message": "not JSON"}]}
                            ) from exc
    if not isinstance(events, list):
        raise HTTPException(422, {"error": "invalid request",
                                  "fields": [{"field": "(body)", "message": "expected a list of events"}]})
    for item in events:
        if not isinstance(item, dict) or not item.get("sg_message_id") or not item.get("event"):
            continue
        # sg_message_id is the X-Message-Id of the send plus a ".filter..." suffix
        message_id = str(item["sg_message_id"]).split(".", 1)[0]
        outcome, opted_out = sendgrid.event_outcome(str(item["event"]))
        try:
            event = DeliveryStatus(event_id=provider_event_id("sendgrid", item.get("sg_event_id") or message_id,
                                                              item["event"], item.get("timestamp")),
                                   emitted_at=ctx.clock(), provider="sendgrid", provider_id=message_id,
                                   outcome=outcome, opted_out=opted_out,
                                   provider_status=str(item["event"]),
                                   error_code=str(item.get("status") or item.get("reason") or "")[:100] or None,
                                   occurred_at=_event_time(item.get("timestamp")))
        except ValidationError:
            # One event we cannot read (an id or status past the limits): skip it like one
            # without them, rather than refusing the batch SendGrid would then resend forever.
            log.warning("sendgrid_event_skipped", reason="outside the event's limits")
            continue
        await usecases.report_delivery(ctx, event)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _event_time(value: object) -> datetime | None:
    """SendGrid's event ``timestamp`` (Unix seconds) as a time; None if absent."""
    if not isinstance(value, int | float | str) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _sendgrid_signed(public_key: str, payload: str, signature: str, timestamp: str) -> bool:
    verifier = EventWebhook()
    try:
        return bool(verifier.verify_signature(payload, signature, timestamp,
                                              verifier.convert_public_key_to_ecdsa(public_key)))
    except ValueError:  # a signature that is not even base64 / DER
        return False


@router.post("/webhooks/sendgrid/inbound/{token}", summary="SendGrid Inbound Parse")
async def sendgrid_inbound(token: str, request: Request, ctx: Ctx) -> dict[str, str]:
    expected = ctx.settings.sendgrid_inbound_token
    # Bytes: a token with a non-ASCII character is a wrong one (compare_digest on str would raise).
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "unknown inbound address")
    form = await request.form()
    sender = _bare_address(str(form.get("from", "")))
    if not sender:
        raise HTTPException(422, {"error": "invalid request", "fields": [{"field": "from", "message": "required"}]})
    # Someone's reply only if it came to the reply address of a message we sent to this sender
    # and SPF and DKIM vouch for the sender; anything else is a new contact from someone unknown.
    settings = ctx.settings
    token_ok = reply_address.has_valid_token(
        settings.unsubscribe_secret, settings.inbound_email_domain,
        reply_address.recipients(str(form.get("to", "")), str(form.get("envelope", ""))), address_digest(sender))
    sender_ok = reply_address.spf_and_dkim_pass(str(form.get("SPF", "")), str(form.get("dkim", "")), sender)
    event = _event(InboundMessage, {"sender": "from", "body": "text"},
                   emitted_at=ctx.clock(), channel=Channel.EMAIL, sender=sender,
                   body=str(form.get("text", ""))[:10000],
                   authenticated=token_ok and sender_ok)
    log.info("inbound_email", authenticated=event.authenticated, reply_token=token_ok, spf_dkim=sender_ok)
    await usecases.pass_on_reply(ctx, event)
    return {"status": "received"}


def _bare_address(value: str) -> str:
    """"Sam Smith <sam@example.org>" → "sam@example.org"."""
    if "<" in value and ">" in value:
        value = value[value.index("<") + 1:value.index(">")]
    return value.strip().lower()


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}"
                        f"</title></head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>")


@router.get("/v1/unsubscribe/{token}", response_class=HTMLResponse, summary="Unsubscribe page (email)")
async def unsubscribe_page(token: str, ctx: Ctx) -> HTMLResponse:
    if read_token(ctx.settings.unsubscribe_secret, token) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown unsubscribe link")
    return _page("Stop emails about your reports",
                 f'<form method="post" action="/v1/unsubscribe/{html.escape(token)}">'
                 "<p>We will stop emailing you updates about your reports.</p>"
                 '<button type="submit">Stop these emails</button></form>')


@router.post("/v1/unsubscribe/{token}", response_class=HTMLResponse, summary="One-click unsubscribe (email)")
async def unsubscribe(token: str, ctx: Ctx) -> HTMLResponse:
    digest = read_token(ctx.settings.unsubscribe_secret, token)
    if digest is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown unsubscribe link")
    await usecases.unsubscribe_email(ctx, digest, source="email unsubscribe link")
    return _page("You will get no more emails from us",
                 "<p>To hear about a report again, give your email address when you next report something.</p>")
