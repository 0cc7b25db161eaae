"""Delivering one trigger's messages: plan, render, claim, send, record. The steps are plain
functions (``policy``, ``templates``); this module strings them together over the ports it is
given (store, senders, an event publisher), so it can be tested with any of them.

Never twice: each message is claimed in the store under its key before a provider is called.
A redelivered event finds the claim and sends nothing. A claim left unfinished by a worker
that died mid-send is not re-sent blindly: it is marked ``unconfirmed`` for reconciliation.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable

from schemas import CaseUpdate, Channel, FeedbackMessage, PublicContact, RoutedItem, ThirdPartyContact
from schemas.events import CONTACT
from services.common.config_files import Categories
from services.common.logging import get_logger
from services.common.sql import Store
from services.common.streams import PermanentFailure
from services.feedback import policy, templates
from services.feedback.senders import Outgoing, PermanentSendError, Sender, TransientSendError
from services.store import repository

log = get_logger(__name__)

Publish = Callable[[FeedbackMessage], Awaitable[None]]
Render = Callable[[Channel], templates.Rendered]

FINAL = {"sent", "outbox", "failed", "suppressed", "unconfirmed"}


class Notifier:
    def __init__(self, *, store: Store, senders: dict[Channel, Sender], publish: Publish,
                 categories: Categories, attempts: int = 3, backoff: float = 0.5) -> None:
        self._store = store
        self._senders = senders
        self._publish = publish
        self._categories = categories
        self._attempts = attempts
        self._backoff = backoff

    async def on_routed(self, item: RoutedItem) -> None:
        """Acknowledge a routed report: "you said", the reference, who has it."""
        category = item.contact.report.category
        found = self._categories.categories.get(category)
        label = found.label if found else category

        def render(channel: Channel) -> templates.Rendered:
            return templates.acknowledgement(channel, reference=item.reference, category_label=label,
                                             destinations=item.destinations)

        await self._deliver(item.reference, "ack", item.contact, item.sensitive, render)

    async def on_update(self, update: CaseUpdate) -> None:
        """Tell the informant what was done ("we did"), in the team's words."""
        await self._store.run(repository.record_action, update)
        found = await self._store.run(repository.report_contact, update.reference)
        if found is None:
            raise PermanentFailure(f"no routed report {update.reference} for update {update.event_id}")
        contact = CONTACT.validate_python(found)
        sensitive = self._categories.is_sensitive(contact.report.category)

        def render(channel: Channel) -> templates.Rendered:
            return templates.update(channel, reference=update.reference, update=update)

        await self._deliver(update.reference, f"{update.kind.value}:{update.event_id}", contact, sensitive,
                            render)

    async def _deliver(self, reference: str, trigger: str, contact: PublicContact | ThirdPartyContact,
                       sensitive: bool, render: Render) -> None:
        plan = policy.plan(contact, sensitive=sensitive)
        for skipped in plan.suppressed:
            key = policy.message_key(reference, trigger, skipped.role, "none")
            claim = await self._store.run(
                repository.claim_message, key=key, reference=reference, trigger=trigger, channel="none",
                recipient="", body="", subject=None,
            )
            if claim.new:
                await self._store.run(repository.finish_message, claim.message_id, status="suppressed",
                                      detail=skipped.reason, attempts=0)
            log.info("message_suppressed", reference=reference, trigger=trigger, role=skipped.role,
                     reason=skipped.reason)
        for recipient in plan.recipients:
            await self._send_one(reference, trigger, recipient, render(recipient.channel))

    async def _send_one(self, reference: str, trigger: str, recipient: policy.Recipient,
                        rendered: templates.Rendered) -> None:
        key = policy.message_key(reference, trigger, recipient.role, recipient.channel)
        claim = await self._store.run(
            repository.claim_message, key=key, reference=reference, trigger=trigger,
            channel=recipient.channel.value, recipient=recipient.address, body=rendered.body,
            subject=rendered.subject,
        )
        if not claim.new:
            if claim.status == "claimed":
                # An earlier delivery claimed it and died before recording the outcome: the
                # provider may or may not have it. Do not risk a second copy.
                await self._store.run(repository.finish_message, claim.message_id, status="unconfirmed",
                                      detail="worker stopped mid-send; not re-sent")
                log.warning("message_unconfirmed", reference=reference, trigger=trigger)
            else:
                log.info("message_already_handled", reference=reference, trigger=trigger, status=claim.status)
            return
        sender = self._senders[recipient.channel]
        outgoing = Outgoing(channel=recipient.channel, to=recipient.address, body=rendered.body,
                            subject=rendered.subject, html=rendered.html, reference=reference)
        status, provider_id, detail, attempt = "failed", None, None, 0
        while attempt < self._attempts:
            attempt += 1
            try:
                sent = await sender.send(outgoing)
                status = "outbox" if sent.provider == "outbox" else "sent"
                provider_id, detail = sent.provider_id, None
                break
            except PermanentSendError as exc:
                detail = str(exc)
                break
            except TransientSendError as exc:
                detail = str(exc)
                if attempt < self._attempts:
                    await asyncio.sleep(self._backoff * 2 ** (attempt - 1) * (0.5 + random.random()))
        await self._store.run(repository.finish_message, claim.message_id, status=status,
                              provider=sender.name, provider_id=provider_id, detail=detail, attempts=attempt)
        log.info("message_" + status, reference=reference, trigger=trigger, channel=recipient.channel.value,
                 attempts=attempt, detail=detail)
        await self._publish(FeedbackMessage(
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"mecc:message:{key}"),
            message_key=key, reference=reference, trigger=trigger, channel=recipient.channel,
            status="outbox" if status == "outbox" else ("sent" if status == "sent" else "failed"),
            provider_id=provider_id, detail=detail,
        ))
