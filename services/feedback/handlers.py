"""What each topic's event means to the feedback worker, one handler per event: a routed
report is acknowledged, a case update told to the informant (and a closure followed by a
survey), a provider's delivery status recorded, a reply read, a preference kept, a watch
item passed to its coordinators. Decisions are ``policy``'s; sending is ``delivery``'s."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime

from schemas import (
    CaseUpdate,
    Channel,
    DeliveryStatus,
    DeliveryStatusV1,
    PreferenceChange,
    PublicContact,
    RoutedItem,
    ThirdPartyContact,
    UpdateKind,
    WatchDelivery,
    WatchItem,
)
from services.common.config_files import Categories
from services.common.logging import get_logger
from services.feedback import policy, templates
from services.feedback.coordinators import Directory
from services.feedback.delivery import Delivery, Render, request_for, requests_for
from services.feedback.replies import report_contact
from services.feedback.senders import CALLBACK_OUTCOMES
from services.store import messages as store
from services.store import repository

log = get_logger(__name__)


def decode_delivery_status(raw: bytes | str) -> DeliveryStatus:
    """A ``feedback.delivery-status`` event of either version: a version 1 event (the provider's
    own status, from an intake not yet upgraded) is translated by its provider's adapter."""
    try:
        version = json.loads(raw).get("schema_version")
    except (ValueError, AttributeError):
        version = None
    if version != 1:
        return DeliveryStatus.model_validate_json(raw)
    old = DeliveryStatusV1.model_validate_json(raw)
    outcome, opted_out = CALLBACK_OUTCOMES[old.provider](old.status, old.error_code)
    return DeliveryStatus(event_id=old.event_id, emitted_at=old.emitted_at, provider=old.provider,
                          provider_id=old.provider_id, outcome=outcome, opted_out=opted_out,
                          provider_status=old.status, error_code=old.error_code)


class Handlers:
    def __init__(self, *, delivery: Delivery, categories: Categories, directory: Directory | None = None,
                 track_url: Callable[[str], str] | None = None) -> None:
        self._delivery = delivery
        self._store = delivery.store
        self._categories = categories
        self._directory = directory
        #: A report's track page link (services.common.track), for the acknowledgement.
        self._track_url = track_url

    def _requests(self, reference: str, trigger: str, contact: PublicContact | ThirdPartyContact,
                  render: Render, at: datetime, not_before: datetime | None = None, sensitive: bool = False
                  ) -> list[store.ClaimRequest]:
        return requests_for(reference, trigger, contact, render, at, categories=self._categories,
                            rules=self._delivery.rules, not_before=not_before, sensitive=sensitive)

    async def on_routed_batch(self, items: Sequence[RoutedItem]) -> None:
        """Acknowledge routed reports ("you said", the reference, who has it), with one
        transaction to claim them all, one to take the due ones for sending and one to settle them."""
        at = self._delivery.clock()
        requests: list[store.ClaimRequest] = []
        for item in items:
            sensitive = item.sensitive or await self._reply_to_sensitive(item)
            requests.extend(self._requests(item.reference, "ack", item.contact,
                                           self._acknowledgement(item, sensitive), at, sensitive=sensitive))
        await self._delivery.claim_and_send(requests, at)

    async def _reply_to_sensitive(self, item: RoutedItem) -> bool:
        """A reply about a sensitive report is sensitive too, whatever its own words: the safety
        rules the informant gave for the report hold for what we write back about the reply."""
        related = item.contact.related_reference if isinstance(item.contact, PublicContact) else None
        if related is None:
            return False
        found = await self._store.run(repository.report_contact, related)
        return found is not None and (found[1] or self._categories.is_sensitive(
            str(found[0].get("report", {}).get("category", ""))))

    def _acknowledgement(self, item: RoutedItem, sensitive: bool) -> Render:
        category = item.contact.report.category
        found = self._categories.categories.get(category)
        label = found.label if found else category
        sensitive = sensitive or self._categories.is_sensitive(category)
        link = (self._track_url(item.reference)
                if self._track_url and policy.wants_track_link(item.contact, sensitive=sensitive) else None)

        def render(channel: Channel) -> templates.Rendered:
            return templates.acknowledgement(channel, reference=item.reference, category_label=label,
                                             destinations=item.destinations, notice=item.informant_notice,
                                             track_url=link, sensitive=sensitive)

        return render

    async def on_case_update(self, update: CaseUpdate) -> None:
        """Tell the informant what was done ("we did"), and after a closure ask how we did."""
        await self._store.run(repository.record_action, update)
        contact, sensitive = await report_contact(self._store, update.reference)
        at = self._delivery.clock()
        neutral = sensitive or self._categories.is_sensitive(contact.report.category)

        def render(channel: Channel) -> templates.Rendered:
            return templates.update(channel, reference=update.reference, update=update, sensitive=neutral)

        requests = self._requests(update.reference, f"{update.kind.value}:{update.event_id}", contact, render, at,
                                  sensitive=sensitive)
        if update.kind is UpdateKind.CLOSURE:
            requests += self._requests(
                update.reference, "survey", contact,
                lambda channel: templates.survey(channel, reference=update.reference), at,
                not_before=update.emitted_at + self._delivery.rules.survey_delay, sensitive=sensitive,
            )
        await self._delivery.claim_and_send(requests, at)

    async def on_watch_item(self, item: WatchItem) -> None:
        """A redacted item for a watch: to its coordinators now, if they want each item."""
        if item.delivery is not WatchDelivery.PER_ITEM or self._directory is None:
            return
        at = self._delivery.clock()
        requests = [
            request_for(item.reference, f"watch:{item.watch_id}:{coordinator_id}", recipient,
                        lambda channel: templates.watch_item(channel, item), at, rules=self._delivery.rules)
            for coordinator_id, recipient in self._directory.recipients(item.watch_id, item.coordinator_ids)
        ]
        await self._delivery.claim_and_send(requests, at)

    async def on_delivery_status(self, status: DeliveryStatus) -> None:
        """A provider's callback: record delivery, fall back on a dead channel, honour opt-outs."""
        message = await self._store.run(store.message_by_provider_id, status.provider_id)
        if message is None:
            log.info("delivery_status_unmatched", provider=status.provider, outcome=status.outcome)
            return
        meant = policy.after_delivery(status.outcome, opted_out=status.opted_out)
        if meant.opted_out:
            await self._delivery.opt_out(message, f"{status.provider} {status.error_code or status.provider_status}",
                                         at=status.occurred_at or status.emitted_at, event_id=str(status.event_id))
        if meant.status is not None:
            detail = (f"{status.provider} {status.provider_status} {status.error_code or ''}".strip()
                      if meant.fall_back else None)
            await self._delivery.settle(message, meant.status, detail)
        if meant.fall_back:
            await self._delivery.fall_back([message])

    async def on_preference(self, change: PreferenceChange) -> None:
        """Someone opted out of, or back into, a channel."""
        await self._store.run(store.set_opt_out, channel=change.channel.value, digest=change.address_digest,
                              opted_out=change.opted_out, source=change.source, at=change.emitted_at,
                              digest_version=None)  # a link minted before keyed digests carries a legacy one
        log.info("preference_changed", channel=change.channel.value, opted_out=change.opted_out,
                 source=change.source)

