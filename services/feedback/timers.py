"""What the feedback worker does on a clock rather than on an event: send what has become due
(``Delivery.send_due``), write to informants of quiet reports (holding updates), and send
watch coordinators their daily digests. ``keep_going`` is how every timer runs."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import Channel, WatchItem
from services.common.config_files import Categories
from services.common.logging import get_logger
from services.feedback import policy, templates
from services.feedback.coordinators import Directory
from services.feedback.delivery import Delivery, request_for, requests_for
from services.feedback.replies import report_contact
from services.store import messages as store
from services.store.routing import watch_items_for

log = get_logger(__name__)


def keep_going(name: str, tick: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    """A timer's tick that outlives a passing database or provider failure: run, log the
    exception as ``{name}_failed``, and keep going."""

    async def run() -> None:
        try:
            await tick()
        except Exception:
            log.exception(f"{name}_failed")

    run.__name__ = run.__qualname__ = name
    return run


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class Timers:
    def __init__(self, *, delivery: Delivery, categories: Categories, directory: Directory | None = None) -> None:
        self._delivery = delivery
        self._store = delivery.store
        self._categories = categories
        self._directory = directory

    async def send_due(self) -> int:
        """Send what has become due, after looking up at the provider the sends that may have reached it."""
        return await self._delivery.send_due()

    async def send_holding_updates(self) -> int:
        """Write to informants of open reports who have heard nothing for a while."""
        rules = self._delivery.rules
        at = self._delivery.clock()
        silent = await self._store.run(store.silent_reports, at - rules.holding_after)
        requests: list[store.ClaimRequest] = []
        for reference, last in silent:
            contact, sensitive = await report_contact(self._store, reference)
            days = (at - last).days

            def render(channel: Channel, reference: str = reference, days: int = days) -> templates.Rendered:
                return templates.holding(channel, reference=reference, days=days)

            requests += requests_for(reference, f"holding:{last:%Y%m%d%H%M}", contact, render, at,
                                     categories=self._categories, rules=rules, sensitive=sensitive)
        await self._delivery.claim_and_send(requests, at)
        return len(silent)

    async def send_digests(self) -> int:
        """Once a day, after ``digest_at`` UK time: each digest watch's items of the last day."""
        if self._directory is None:
            return 0
        rules = self._delivery.rules
        at = self._delivery.clock()
        local = at.astimezone(policy.UK)
        if local.time() < rules.digest_at:
            return 0
        day = local.date().isoformat()
        sent = 0
        requests: list[store.ClaimRequest] = []
        for watch_id in self._directory.digest_watches():
            rows = await self._store.run(watch_items_for, watch_id, limit=200)
            items = [WatchItem.model_validate(r) for r in rows]
            items = [i for i in items if at - timedelta(days=1) < _aware(i.received_at) <= at]
            if not items:
                continue
            render = functools.partial(templates.watch_digest, watch_name=self._directory.watches[watch_id].name,
                                       day=day, items=items)
            requests += [request_for(f"DIGEST-{local:%Y%m%d}", f"digest:{watch_id}:{coordinator_id}", recipient,
                                     render, at, rules=rules)
                         for coordinator_id, recipient in self._directory.recipients(watch_id)]
            sent += 1
        await self._delivery.claim_and_send(requests, at)
        return sent
