"""The delivery engine: claim, send, settle, fall back. What each outcome means is decided by
``policy``; this module carries it out over the ports it is given (store, senders, the
publisher of outcome events), so it can be tested with any of them.

Never twice: each message is claimed in the store under (report, trigger, recipient,
channel) before any provider is called, and every attempt first moves the claim to
``sending`` with a conditional update, leased to this worker (``instance``) under a new
generation; its outcome is recorded only while that lease holds (``store.settle_many``), so a
worker that wakes from a freeze after its lease passed overwrites nothing. A redelivered event
finds the claim and sends nothing. A send that may have reached the provider (no answer in time,
or a ``sending`` claim whose lease passed: its worker died or froze mid-call) is ``ambiguous``:
once the lease has passed, ``reconcile`` asks the provider whether it has it, and
``policy.after_lookup`` decides; it is never repeated blindly.

Never stuck: a message that must wait (quiet hours, a safe window, the survey delay) or that
failed for a passing reason (429, 5xx, timeout) is left ``scheduled``/``retrying`` with a due
time, and a timer sends it then. The stream moves on meanwhile.

Never lost on a dead channel: a message to someone who gave both a phone and an email has a
``standby`` copy on the other channel, sent if the first fails for good (invalid number,
bounce, undelivered).

In batches: ``claim_and_send`` claims every message of a batch in one transaction and takes
the first due slice for sending in the same one (``store.claim_and_take``). The due ones are
sent a slice of ``send_concurrency`` at a time: one conditional update takes the slice for
sending (``store.start_attempts``), the providers are called concurrently, one transaction
settles every outcome (``store.settle_many``) and the outcome events are published together.
The rare paths (an opt-out reported by the provider, the fallback to the other channel) go
message by message.

The price of batches: a crash while a slice is being sent leaves every message of that slice
``ambiguous`` (each then looked up at the provider), where one message at a time left at most
one. Messages of the batch not yet taken stay ``scheduled``
and the timer sends them.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from schemas import Channel, FeedbackMessage, MessageStatus, PublicContact, SafeWindow, ThirdPartyContact
from schemas.events import CONTACT, PUBLISHED_STATUSES
from services.common import metrics
from services.common.config_files import Categories
from services.common.logging import get_logger
from services.common.sql import Store
from services.feedback import policy, templates
from services.feedback.senders import (
    AmbiguousSendError,
    Found,
    Lookup,
    NotFound,
    Outgoing,
    PermanentSendError,
    Sender,
    Sent,
    TransientSendError,
    Unknown,
)
from services.store import messages as store
from services.store import repository
from services.store.models import Message

log = get_logger(__name__)

#: Publishes outcome events: all handed to the broker first, then its acknowledgements awaited.
Publish = Callable[[Sequence[FeedbackMessage]], Awaitable[None]]
Render = Callable[[Channel], templates.Rendered]
Clock = Callable[[], datetime]
#: When a message may go: in these safe windows (empty: any time), or never (suppressed).
Guard = tuple[SafeWindow, ...] | policy.Suppressed


def now() -> datetime:
    return datetime.now(UTC)


def instance_id() -> str:
    """This worker process, as the owner of the sends it leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# ---- what to claim (pure) -------------------------------------------------------------------

def requests_for(reference: str, trigger: str, contact: PublicContact | ThirdPartyContact, render: Render,
                 at: datetime, *, categories: Categories, rules: policy.DeliveryRules,
                 not_before: datetime | None = None, sensitive: bool = False) -> list[store.ClaimRequest]:
    """What to claim for one event: a ``suppressed`` record for each person not written to,
    and a request per recipient. ``sensitive``: the router found the report sensitive (by its
    words, whatever the category). Pure."""
    plan = policy.plan(contact, sensitive=sensitive or categories.is_sensitive(contact.report.category))
    requests = [
        store.ClaimRequest(store.Draft(
            key=policy.message_key(reference, trigger, skipped.role, "none"), reference=reference,
            trigger=trigger, role=skipped.role, channel="none", recipient="", body="",
            status=MessageStatus.SUPPRESSED, detail=skipped.reason,
        ))
        for skipped in plan.suppressed
    ]
    requests += [request_for(reference, trigger, recipient, render, at, rules=rules, not_before=not_before)
                 for recipient in plan.recipients]
    return requests


def request_for(reference: str, trigger: str, recipient: policy.Recipient, render: Render, at: datetime, *,
                rules: policy.DeliveryRules, not_before: datetime | None = None) -> store.ClaimRequest:
    """One recipient's message on their channel, and on their other channel if they gave one,
    each due at the first moment it may go. Pure."""
    start = max(at, not_before or at)

    def draft(person: policy.Recipient) -> store.Draft:
        rendered = render(person.channel)
        due = policy.earliest_send(person.channel, start, windows=person.windows, quiet=rules.quiet)
        return store.Draft(
            key=policy.message_key(reference, trigger, person.role, person.channel), reference=reference,
            trigger=trigger, role=person.role, channel=person.channel.value, recipient=person.address,
            body=rendered.body, subject=rendered.subject, html=rendered.html, due_at=due,
            guarded=person.guarded,
            # Never "send rather than never": a message with no open moment is not sent.
            status=MessageStatus.SCHEDULED if due is not None else MessageStatus.SUPPRESSED,
            detail=None if due is not None else policy.NO_SAFE_TIME,
        )

    return store.ClaimRequest(draft(recipient), draft(recipient.fallback) if recipient.fallback else None)


def outgoing(message: Message, unsubscribe_url: Callable[[str], str] | None,
             deadline: float | None = None, reply_to: Callable[[str, str], str | None] | None = None,
             fill: Callable[[str, str], str] | None = None) -> Outgoing:
    """What a sender is handed for a message: an email carries its one-click unsubscribe and its
    own reply address (``reply_to(message key, address digest)``); ``fill`` (reference, text) puts
    in what the store does not keep (the track link's secret). Pure."""
    channel = Channel(message.channel)
    body, html = message.body, message.html
    if fill is not None:
        body, html = fill(message.reference, body), (fill(message.reference, html) if html else html)
    headers: tuple[tuple[str, str], ...] = ()
    if channel is Channel.EMAIL and unsubscribe_url and message.address_digest:
        body, html, headers = templates.with_unsubscribe(body, html, unsubscribe_url(message.address_digest))
    reply = (reply_to(message.key, message.address_digest)
             if channel is Channel.EMAIL and reply_to and message.address_digest else None)
    return Outgoing(channel=channel, to=message.recipient, body=body, subject=message.subject, html=html,
                    reference=message.reference, headers=headers, deadline=deadline, reply_to=reply)


def _due(claimed: list[store.Claimed], at: datetime) -> list[int]:
    """The messages these claims created that are due now."""
    due = []
    for result in claimed:
        chosen, claim = result.choice.chosen, result.claim
        if chosen is None or claim is None or not claim.new:
            continue
        if chosen.due_at is None or chosen.due_at <= at:
            due.append(claim.message_id)
    return due


# ---- the engine -----------------------------------------------------------------------------

class Delivery:
    def __init__(self, *, store: Store, senders: dict[Channel, Sender], publish: Publish,
                 rules: policy.DeliveryRules | None = None, unsubscribe_url: Callable[[str], str] | None = None,
                 reply_to: Callable[[str, str], str | None] | None = None,
                 clock: Clock = now, jitter: Callable[[], float] = random.random, instance: str | None = None,
                 categories: Categories | None = None, fill: Callable[[str, str], str] | None = None) -> None:
        self.store = store
        #: The owner of this worker's send leases.
        self.instance = instance or instance_id()
        #: Sensitive categories, read again when a message is taken for sending.
        self._categories = categories
        self.senders = senders
        self.rules = rules or policy.DeliveryRules()
        self._publish = publish
        self._unsubscribe_url = unsubscribe_url
        self._reply_to = reply_to
        #: (reference, text) -> text with what the store does not keep put in (``outgoing``).
        self._fill = fill
        self.clock = clock
        self._jitter = jitter

    @property
    def _slice(self) -> int:
        return max(1, self.rules.send_concurrency)

    async def claim_and_send(self, requests: Sequence[store.ClaimRequest], at: datetime) -> None:
        """Claim every request's messages and take the first slice of the new ones that are due
        for sending, in one transaction; send that slice, then attempt the rest."""
        if not requests:
            return
        due: list[int] = []

        def pick(claimed: list[store.Claimed]) -> list[int]:
            due.extend(_due(claimed, at))
            return due[:self._slice]

        taking = time.monotonic()  # no later than the lease the take starts
        claimed, taken = await self.store.run(store.claim_and_take, requests, self.clock(), pick, self.instance)
        for result in claimed:
            for row in result.choice.rows:
                if row.status == MessageStatus.OPTED_OUT:
                    metrics.MESSAGES_SUPPRESSED.labels("opted_out").inc()
                elif row.status == MessageStatus.SUPPRESSED:
                    metrics.MESSAGES_SUPPRESSED.labels(row.detail or "").inc()
                    log.info("message_suppressed", reference=row.reference, trigger=row.trigger, role=row.role,
                             reason=row.detail)
            chosen, claim = result.choice.chosen, result.claim
            if chosen is not None and claim is not None and claim.new and chosen.due_at and chosen.due_at > at:
                log.info("message_scheduled", reference=chosen.reference, trigger=chosen.trigger,
                         channel=chosen.channel, due_at=chosen.due_at.isoformat())
        await self._send_taken(taken, taking)
        await self.attempt_many(due[self._slice:])

    async def attempt_many(self, message_ids: Sequence[int]) -> None:
        """One attempt at each of these messages that is due and that nobody else holds, a
        slice of ``send_concurrency`` at a time: one transaction takes the slice for sending,
        the providers are called concurrently, one transaction settles every outcome, and their
        events are published together. Only messages whose provider call is under way are
        ``sending``, so a crash leaves at most one slice ambiguous."""
        ids = list(message_ids)
        for start in range(0, len(ids), self._slice):
            taking = time.monotonic()
            taken = await self.store.run(store.start_attempts, ids[start:start + self._slice], self.clock(),
                                         self.instance)
            await self._send_taken(taken, taking)

    async def send_due(self) -> int:
        """Send what has become due (after quiet hours, a safe window, a retry delay): first mark
        sends whose lease passed (their worker died or froze) ambiguous, and look up at the
        provider the ambiguous ones whose time has come (``reconcile``), so that only those it
        confirmed absent (or policy lets go again) are among the due ones."""
        at = self.clock()
        expired = await self.store.run(store.expire_interrupted_sends, at - self.rules.send_lease, at)
        if expired:
            log.warning("sends_lease_passed", count=expired)
        await self.reconcile()
        due = await self.store.run(store.due_message_ids, self.clock())
        await self.attempt_many(due)
        return len(due)

    async def reconcile(self) -> int:
        """Ask the providers about ambiguous messages whose look-up is due, a slice at a time under
        this worker's lease, and settle each as ``policy.after_lookup`` says: sent (found), due
        again now (confirmed absent, or policy lets it go again), ambiguous for a later look, or
        unconfirmed. Nothing is sent here."""
        at = self.clock()
        taken = await self.store.run(store.take_ambiguous, at, self.instance, self._slice)
        if not taken:
            return 0

        async def look(message: Message) -> Lookup:
            since = message.attempted_at or message.updated_at
            found = outgoing(message, self._unsubscribe_url, fill=self._fill)
            return await self.senders[Channel(message.channel)].find(found, since)

        results = await asyncio.gather(*(look(m) for m in taken), return_exceptions=True)
        outcomes: list[store.Outcome] = []
        for message, result in zip(taken, results, strict=True):
            found = (result if isinstance(result, Found | NotFound | Unknown)
                     else Unknown(f"look-up failed: {type(result).__name__}", retryable=True))
            since = message.attempted_at or message.updated_at
            meant = policy.after_lookup(found, guarded=message.guarded, waited=at - since, rules=self.rules)
            due = at + timedelta(seconds=meant.retry_in) if meant.retry_in is not None else None
            outcomes.append(store.Outcome(message.id, meant.status, self.senders[Channel(message.channel)].name,
                                          provider_id=meant.provider_id, detail=meant.detail, due_at=due,
                                          generation=message.lease_generation))
            log.info("message_looked_up", reference=message.reference, trigger=message.trigger,
                     channel=message.channel, found=type(found).__name__, status=meant.status, detail=meant.detail)
        await self._settle(taken, outcomes)
        return len(taken)

    async def _send_taken(self, taken: list[Message], taking: float) -> None:
        """Send messages taken for sending (``taking``: a ``time.monotonic()`` reading from before
        the take), concurrently; settle every outcome in one transaction and publish their events
        together."""
        if not taken:
            return
        guards = await self._guards(taken)
        taken = await self._recheck(taken, guards)
        if not taken:
            return

        # Half the lease from the take, so that a worker frozen anywhere after it (here, building a
        # request, connecting) writes nothing late; the other half is for the request on its way
        # to the provider, and for clocks that differ.
        deadline = taking + self.rules.send_lease.total_seconds() / 2

        async def send(message: Message) -> Sent:
            sender = self.senders[Channel(message.channel)]
            return await sender.send(outgoing(message, self._unsubscribe_url, deadline=deadline,
                                              reply_to=self._reply_to, fill=self._fill))

        results = await asyncio.gather(*(send(m) for m in taken), return_exceptions=True)
        outcomes: list[store.Outcome] = []
        failed: list[Message] = []
        unexpected: BaseException | None = None
        for message, result in zip(taken, results, strict=True):
            provider = self.senders[Channel(message.channel)].name
            if not isinstance(result, Sent | PermanentSendError | TransientSendError | AmbiguousSendError):
                # Left ``sending``: after the lease it is looked up at the provider, never sent again blindly.
                log.error("send_failed_unexpectedly", reference=message.reference, trigger=message.trigger,
                          channel=message.channel, error=type(result).__name__)
                unexpected = unexpected or result
                continue
            meant = policy.after_send(result, attempts=message.attempts, rules=self.rules, jitter=self._jitter())
            if meant.opted_out:
                await self.opt_out(message, f"{provider} {result.code}" if isinstance(result, PermanentSendError)
                                   else provider)
            if meant.fall_back:
                failed.append(message)
            # A retry's time goes through the same policy: inside the person's safe times, out of quiet hours.
            retry_at = (policy.earliest_send(message.channel, self.clock() + timedelta(seconds=meant.retry_in),
                                             windows=_windows(guards[message.id]), quiet=self.rules.quiet)
                        if meant.retry_in is not None else None)
            if meant.retry_in is not None and retry_at is None:
                outcomes.append(store.Outcome(message.id, MessageStatus.SUPPRESSED, provider,
                                              detail=policy.NO_SAFE_TIME, generation=message.lease_generation))
            elif meant.retry_in is not None:
                outcomes.append(store.Outcome(message.id, meant.status, provider, detail=meant.detail, due_at=retry_at,
                                              generation=message.lease_generation))
                metrics.MESSAGES.labels(message.channel, meant.status).inc()
                log.warning(f"message_{meant.status}", reference=message.reference, trigger=message.trigger,
                            attempt=message.attempts, delay=round(meant.retry_in, 2), detail=meant.detail)
            else:
                outcomes.append(store.Outcome(message.id, meant.status, provider, detail=meant.detail,
                                              provider_id=result.provider_id if isinstance(result, Sent) else None,
                                              generation=message.lease_generation))
        settled = await self._settle(taken, outcomes)
        await self.fall_back([m for m in failed if m.id in settled])
        if unexpected is not None:
            raise unexpected

    async def _settle(self, taken: Sequence[Message], outcomes: Sequence[store.Outcome]) -> set[int]:
        """Record outcomes of messages this worker took, in one transaction fenced by its leases, and
        publish the events of those recorded (and of late answers that confirmed a message sent).
        An outcome that came after the lease passed is logged and counted, not applied. The ids
        of the messages whose outcome was recorded."""
        late = await self.store.run(store.settle_many, outcomes, self.clock(), self.instance)
        by_id = {m.id: m for m in taken}
        too_late = {entry.outcome.message_id for entry in late}
        for entry in late:
            message = by_id[entry.outcome.message_id]
            metrics.LATE_OUTCOMES.labels(message.channel, entry.outcome.status).inc()
            log.warning("send_outcome_after_lease", reference=message.reference, trigger=message.trigger,
                        channel=message.channel, outcome=entry.outcome.status, status_now=entry.status_now,
                        confirmed_sent=entry.confirmed)
        published = [o for o in outcomes if o.message_id not in too_late]
        published += [entry.outcome for entry in late if entry.confirmed]
        events = []
        at = self.clock()
        for outcome in published:
            if outcome.status not in PUBLISHED_STATUSES:
                continue
            message = by_id[outcome.message_id]
            log.info(f"message_{outcome.status}", reference=message.reference, trigger=message.trigger,
                     channel=message.channel, attempts=message.attempts, detail=outcome.detail)
            events.append(FeedbackMessage(
                event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"mecc:message:{message.key}:{outcome.status}"),
                emitted_at=at, message_key=message.key, reference=message.reference, trigger=message.trigger,
                channel=Channel(message.channel), status=outcome.status,
                provider_id=outcome.provider_id, detail=outcome.detail,
            ))
        if events:
            await self._publish(events)
        return {o.message_id for o in outcomes if o.message_id not in too_late}

    async def _guards(self, taken: Sequence[Message]) -> dict[int, Guard]:
        """When each message may go, re-derived from its report's contact as stored: the safe
        windows of the person it is to (a message about no routed report: any time)."""
        stored = await self.store.run(repository.report_contacts, {m.reference for m in taken})
        guards: dict[int, Guard] = {}
        for message in taken:
            found = stored.get(message.reference)
            if found is None:
                guards[message.id] = ()
                continue
            raw, sensitive = found
            try:
                contact = CONTACT.validate_python(raw)
            except ValidationError:
                guards[message.id] = policy.Suppressed(message.role, "the report's contact details cannot be read")
                continue
            sensitive = sensitive or bool(self._categories and self._categories.is_sensitive(contact.report.category))
            guards[message.id] = policy.windows_for(contact, message.role, sensitive=sensitive)
        return guards

    async def _recheck(self, taken: list[Message], guards: dict[int, Guard]) -> list[Message]:
        """The messages that may go now. Checked at the moment of sending, not only when they
        were claimed: one whose moment has passed (after an outage, a restart, a backlog) waits
        for the next open one, and one that may never go is suppressed with its reason."""
        at = self.clock()
        keep: list[Message] = []
        held: list[store.Outcome] = []
        for message in taken:
            guard = guards[message.id]
            due = (None if isinstance(guard, policy.Suppressed)
                   else policy.earliest_send(message.channel, at, windows=guard, quiet=self.rules.quiet))
            if due is not None and due <= at:
                keep.append(message)
                continue
            if due is None:
                reason = guard.reason if isinstance(guard, policy.Suppressed) else policy.NO_SAFE_TIME
                held.append(store.Outcome(message.id, MessageStatus.SUPPRESSED, detail=reason,
                                          generation=message.lease_generation))
                metrics.MESSAGES_SUPPRESSED.labels(reason).inc()
                log.info("message_suppressed", reference=message.reference, trigger=message.trigger,
                         role=message.role, reason=reason)
            else:
                held.append(store.Outcome(message.id, MessageStatus.SCHEDULED, due_at=due,
                                          generation=message.lease_generation))
                log.info("message_rescheduled", reference=message.reference, trigger=message.trigger,
                         channel=message.channel, due_at=due.isoformat())
        if held:
            # Fenced like any outcome: a worker whose lease has passed changes nothing.
            await self.store.run(store.settle_many, held, at, self.instance)
        return keep

    async def settle(self, message: Message, status: MessageStatus, detail: str | None) -> None:
        await self.store.run(store.settle, message.id, status=status, detail=detail, at=self.clock())

    async def fall_back(self, messages: Sequence[Message]) -> None:
        """Send the standby copies on these people's other channels, where there are any."""
        woken: list[int] = []
        for message in messages:
            other = policy.other_channel(message.channel)
            key = policy.message_key(message.reference, message.trigger, message.role, other)
            at = self.clock()
            due = policy.earliest_send(other, at, quiet=self.rules.quiet)
            if due is None:
                continue
            standby = await self.store.run(store.activate_standby, key, due, at)
            if standby is None:
                continue
            reason = await self.store.run(store.opt_out_reason, other.value, standby.address_digest or "",
                                          standby.recipient or None)
            if reason is not None:
                await self.settle(standby, MessageStatus.OPTED_OUT, reason)
                continue
            log.info("falling_back", reference=message.reference, trigger=message.trigger, to_channel=other.value)
            woken.append(standby.id)
        await self.attempt_many(woken)

    async def opt_out(self, message: Message, source: str, *, at: datetime | None = None,
                      event_id: str | None = None) -> None:
        """Record that the address of a message opted out of its channel, as of ``at`` (the
        provider's time; default now); a provider callback ``event_id`` seen before changes nothing."""
        if message.address_digest:
            await self.store.run(store.set_opt_out, channel=message.channel, digest=message.address_digest,
                                 opted_out=True, source=source, at=at or self.clock(), event_id=event_id)
            log.info("opted_out", channel=message.channel, source=source)


def _windows(guard: Guard) -> tuple[SafeWindow, ...]:
    return () if isinstance(guard, policy.Suppressed) else guard
