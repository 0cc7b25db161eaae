"""Delivering "you said, we did": plan, render, claim, send, settle. The decisions are plain
functions (``policy``, ``templates``); this module strings them together over the ports it is
given (store, senders, event publishers), so it can be tested with any of them.

Never twice: each message is claimed in the store under (report, trigger, recipient,
channel) before any provider is called, and every attempt first moves the claim to
``sending`` with a conditional update. A redelivered event finds the claim and sends nothing;
a ``sending`` claim left behind by a worker that died mid-call is marked ``unconfirmed`` and
never repeated blindly.

Never stuck: a message that must wait (quiet hours, a safe window, the survey delay) or that
failed for a passing reason (429, 5xx, timeout) is left ``scheduled``/``retrying`` with a due
time, and a timer sends it then. The stream moves on meanwhile.

Never lost on a dead channel: a message to someone who gave both a phone and an email has a
``standby`` copy on the other channel, sent if the first fails for good (invalid number,
bounce, undelivered).

In batches: routed reports arrive by the hundred, so ``on_routed_batch`` plans and renders
every acknowledgement of a batch and claims them all in one transaction
(``store.claim_messages``). The due ones are then sent a slice of ``send_concurrency`` at a
time: one conditional update takes the slice for sending (``store.start_attempts``), the
providers are called concurrently, one transaction settles every outcome
(``store.settle_many``) and the outcome events are published together. The rare paths (a
permanent failure, retries given up, an opt-out reported by the provider, the fallback to the
other channel) go message by message.

The price of batches: a crash while a slice is being sent leaves every message of that slice
as ``unconfirmed`` (the provider may or may not have it, so it is not repeated), where one
message at a time left at most one. Messages of the batch not yet taken stay ``scheduled``
and the timer sends them.
"""

from __future__ import annotations

import asyncio
import functools
import random
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from schemas import (
    CaseUpdate,
    Channel,
    DeliveryStatus,
    FeedbackMessage,
    InboundMessage,
    PreferenceChange,
    PublicContact,
    RoutedItem,
    ThirdPartyContact,
    UpdateKind,
    WatchDelivery,
    WatchItem,
)
from schemas.events import CONTACT, reference_from_key
from services.common import metrics
from services.common.config_files import Categories
from services.common.logging import get_logger
from services.common.sql import Store
from services.common.streams import PermanentFailure
from services.feedback import policy, templates
from services.feedback.coordinators import Directory
from services.feedback.senders import Outgoing, PermanentSendError, Sender, Sent, TransientSendError
from services.store import messages as store
from services.store import repository
from services.store.models import Message
from services.store.routing import watch_items_for

log = get_logger(__name__)

#: Publishes outcome events: all handed to the broker first, then its acknowledgements awaited.
Publish = Callable[[Sequence[FeedbackMessage]], Awaitable[None]]
PublishContact = Callable[[PublicContact], Awaitable[None]]
Render = Callable[[Channel], templates.Rendered]

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT"}
START_WORDS = {"START", "UNSTOP", "OPTIN"}
#: Provider callbacks that mean a message will never arrive: fall back to the other channel.
HARD_FAILURES = {("twilio", "undelivered"): "undelivered", ("twilio", "failed"): "undelivered",
                 ("sendgrid", "bounce"): "bounced", ("sendgrid", "dropped"): "bounced",
                 ("sendgrid", "blocked"): "bounced"}
OPT_OUT_EVENTS = {"unsubscribe", "group_unsubscribe", "spamreport"}
TWILIO_UNSUBSCRIBED = "21610"


@dataclass(frozen=True)
class DeliveryRules:
    attempts: int = 5
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    quiet: policy.QuietHours = field(default_factory=policy.QuietHours)
    survey_delay: timedelta = timedelta(days=3)
    holding_after: timedelta = timedelta(days=7)
    #: A ``sending`` claim older than this was interrupted by a crash.
    send_lease: timedelta = timedelta(seconds=60)
    #: How long after a survey a reply still counts as an answer to it.
    survey_reply_window: timedelta = timedelta(days=30)
    #: When (UK time) daily digests go to watch coordinators who asked for them.
    digest_at: time = time(18, 0)
    #: Provider calls in flight at once when a batch of messages is sent.
    send_concurrency: int = 16


def _now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    def __init__(self, *, store: Store, senders: dict[Channel, Sender], publish: Publish,
                 publish_contact: PublishContact, categories: Categories, rules: DeliveryRules | None = None,
                 unsubscribe_url: Callable[[str], str] | None = None, directory: Directory | None = None,
                 clock: Callable[[], datetime] = _now, track_url: Callable[[str], str] | None = None) -> None:
        self._store = store
        self._senders = senders
        self._publish = publish
        self._publish_contact = publish_contact
        self._categories = categories
        self._rules = rules or DeliveryRules()
        self._unsubscribe_url = unsubscribe_url
        self._directory = directory
        self._clock = clock
        #: A report's track page link (services.common.track), for the acknowledgement.
        self._track_url = track_url

    # ---- triggers -------------------------------------------------------------------------

    async def on_routed(self, item: RoutedItem) -> None:
        """Acknowledge a routed report: "you said", the reference, who has it."""
        await self.on_routed_batch([item])

    async def on_routed_batch(self, items: Sequence[RoutedItem]) -> None:
        """Acknowledge routed reports: the same messages as ``on_routed`` for each, with one
        transaction to claim them all, one to take the due ones for sending and one to settle them."""
        at = self._clock()
        requests: list[store.ClaimRequest] = []
        for item in items:
            requests.extend(self._requests(item.reference, "ack", item.contact, self._acknowledgement(item), at))
        await self._claim_and_attempt(requests, at)

    def _acknowledgement(self, item: RoutedItem) -> Render:
        category = item.contact.report.category
        found = self._categories.categories.get(category)
        label = found.label if found else category

        def render(channel: Channel) -> templates.Rendered:
            return templates.acknowledgement(channel, reference=item.reference, category_label=label,
                                             destinations=item.destinations, notice=item.informant_notice,
                                             track_url=self._track_url(item.reference) if self._track_url else None)

        return render

    async def on_update(self, update: CaseUpdate) -> None:
        """Tell the informant what was done ("we did"), and after a closure ask how we did."""
        await self._store.run(repository.record_action, update)
        contact = await self._contact(update.reference)
        at = self._clock()

        def render(channel: Channel) -> templates.Rendered:
            return templates.update(channel, reference=update.reference, update=update)

        requests = self._requests(update.reference, f"{update.kind.value}:{update.event_id}", contact, render, at)
        if update.kind is UpdateKind.CLOSURE:
            requests += self._requests(
                update.reference, "survey", contact,
                lambda channel: templates.survey(channel, reference=update.reference), at,
                not_before=update.emitted_at + self._rules.survey_delay,
            )
        await self._claim_and_attempt(requests, at)

    async def send_holding_updates(self) -> int:
        """Write to informants of open reports who have heard nothing for a while."""
        at = self._clock()
        silent = await self._store.run(store.silent_reports, at - self._rules.holding_after)
        requests: list[store.ClaimRequest] = []
        for reference, last in silent:
            contact = await self._contact(reference)
            days = (at - last).days

            def render(channel: Channel, reference: str = reference, days: int = days) -> templates.Rendered:
                return templates.holding(channel, reference=reference, days=days)

            requests += self._requests(reference, f"holding:{last:%Y%m%d%H%M}", contact, render, at)
        await self._claim_and_attempt(requests, at)
        return len(silent)

    async def on_watch_item(self, item: WatchItem) -> None:
        """A redacted item for a watch: to its coordinators now, if they want each item."""
        if item.delivery is not WatchDelivery.PER_ITEM or self._directory is None:
            return
        at = self._clock()
        requests = [
            self._request(item.reference, f"watch:{item.watch_id}:{coordinator_id}", recipient,
                          lambda channel: templates.watch_item(channel, item), at)
            for coordinator_id, recipient in self._directory.recipients(item.watch_id, item.coordinator_ids)
        ]
        await self._claim_and_attempt(requests, at)

    async def send_digests(self) -> int:
        """Once a day, after ``digest_at`` UK time: each digest watch's items of the last day."""
        if self._directory is None:
            return 0
        at = self._clock()
        local = at.astimezone(policy.UK)
        if local.time() < self._rules.digest_at:
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
            requests += [self._request(f"DIGEST-{local:%Y%m%d}", f"digest:{watch_id}:{coordinator_id}", recipient,
                                       render, at)
                         for coordinator_id, recipient in self._directory.recipients(watch_id)]
            sent += 1
        await self._claim_and_attempt(requests, at)
        return sent

    # ---- signals from providers and people --------------------------------------------------

    async def on_delivery_status(self, status: DeliveryStatus) -> None:
        """A provider's callback: record delivery, fall back on a dead channel, honour opt-outs."""
        message = await self._store.run(store.message_by_provider_id, status.provider_id)
        if message is None:
            log.info("delivery_status_unmatched", provider=status.provider, status=status.status)
            return
        if status.error_code == TWILIO_UNSUBSCRIBED or (
                status.provider == "sendgrid" and status.status in OPT_OUT_EVENTS):
            await self._opt_out(message, f"{status.provider} {status.error_code or status.status}")
        hard = HARD_FAILURES.get((status.provider, status.status))
        if hard is not None:
            await self._store.run(store.settle, message.id, status=hard,
                                  detail=f"{status.provider} {status.status} {status.error_code or ''}".strip(),
                                  at=self._clock())
            await self._fall_back([message])
        elif status.status == "delivered":
            await self._store.run(store.settle, message.id, status="delivered", detail=None, at=self._clock())

    async def on_preference(self, change: PreferenceChange) -> None:
        await self._store.run(store.set_opt_out, channel=change.channel.value, digest=change.address_digest,
                              opted_out=change.opted_out, source=change.source, at=change.emitted_at)
        log.info("preference_changed", channel=change.channel.value, opted_out=change.opted_out,
                 source=change.source)

    async def on_inbound(self, inbound: InboundMessage) -> None:
        """A reply: STOP/START, a survey answer, or new information about the report."""
        digest = store.address_digest(inbound.sender)
        channel = inbound.channel.value
        words = inbound.body.strip().upper().split()
        keyword = (inbound.opt_out_type or (words[0] if words else "")).upper()
        if keyword in STOP_WORDS:
            await self._store.run(store.set_opt_out, channel=channel, digest=digest, opted_out=True,
                                  source=f"{channel} {keyword}", at=inbound.emitted_at)
            log.info("opted_out", channel=channel, source=keyword)
            return
        if keyword in START_WORDS:
            await self._store.run(store.set_opt_out, channel=channel, digest=digest, opted_out=False,
                                  source=f"{channel} {keyword}", at=inbound.emitted_at)
            log.info("opted_in", channel=channel, source=keyword)
            return
        survey = await self._store.run(store.latest_message_to, channel, digest, "survey")
        if survey is not None and inbound.emitted_at - survey.created_at <= self._rules.survey_reply_window:
            answers = survey_answers(inbound.body)
            for question, answer in answers.items():
                await self._store.run(store.record_survey_answer, reference=survey.reference, question=question,
                                      answer=answer, at=inbound.emitted_at)
            if answers:
                log.info("survey_answered", reference=survey.reference, questions=sorted(answers))
                return
        last = await self._store.run(store.latest_message_to, channel, digest, None)
        if last is None:
            raise PermanentFailure("a reply from an address we have not written to; kept for review")
        await self._attach_reply(inbound, last.reference)

    # ---- the timer ------------------------------------------------------------------------

    async def send_due(self) -> int:
        """Send what has become due (after quiet hours, a safe window, a retry delay), and mark
        sends interrupted by a crash as unconfirmed."""
        at = self._clock()
        expired = await self._store.run(store.expire_interrupted_sends, at - self._rules.send_lease, at)
        if expired:
            log.warning("sends_unconfirmed_after_crash", count=expired)
        due = await self._store.run(store.due_message_ids, at)
        await self.attempt_many(due)
        return len(due)

    # ---- the machinery --------------------------------------------------------------------

    async def _contact(self, reference: str) -> PublicContact | ThirdPartyContact:
        found = await self._store.run(repository.report_contact, reference)
        if found is None:
            raise PermanentFailure(f"no routed report {reference}")
        return CONTACT.validate_python(found)

    def _requests(self, reference: str, trigger: str, contact: PublicContact | ThirdPartyContact, render: Render,
                  at: datetime, not_before: datetime | None = None) -> list[store.ClaimRequest]:
        """What to claim for one event: a ``suppressed`` record for each person not written to,
        and a request per recipient. Pure."""
        sensitive = self._categories.is_sensitive(contact.report.category)
        plan = policy.plan(contact, sensitive=sensitive)
        requests = [
            store.ClaimRequest(store.Draft(
                key=policy.message_key(reference, trigger, skipped.role, "none"), reference=reference,
                trigger=trigger, role=skipped.role, channel="none", recipient="", body="", status="suppressed",
                detail=skipped.reason,
            ))
            for skipped in plan.suppressed
        ]
        requests += [self._request(reference, trigger, recipient, render, at, not_before)
                     for recipient in plan.recipients]
        return requests

    def _request(self, reference: str, trigger: str, recipient: policy.Recipient, render: Render, at: datetime,
                 not_before: datetime | None = None) -> store.ClaimRequest:
        """One recipient's message on their channel, and on their other channel if they gave one,
        each due at the first moment it may go. Pure."""
        start = max(at, not_before or at)

        def draft(person: policy.Recipient) -> store.Draft:
            rendered = render(person.channel)
            return store.Draft(
                key=policy.message_key(reference, trigger, person.role, person.channel), reference=reference,
                trigger=trigger, role=person.role, channel=person.channel.value, recipient=person.address,
                body=rendered.body, subject=rendered.subject, html=rendered.html,
                due_at=policy.earliest_send(person.channel, start, windows=person.windows, quiet=self._rules.quiet),
            )

        return store.ClaimRequest(draft(recipient), draft(recipient.fallback) if recipient.fallback else None)

    async def _claim_and_attempt(self, requests: Sequence[store.ClaimRequest], at: datetime) -> None:
        """Claim every request's messages and take the first slice of the new ones that are due
        for sending, in one transaction; send that slice, then attempt the rest."""
        if not requests:
            return
        due: list[int] = []

        def pick(claimed: list[store.Claimed]) -> list[int]:
            due.extend(self._due(claimed, at))
            return due[:self._slice]

        claimed, taken = await self._store.run(store.claim_and_take, requests, self._clock(), pick)
        for result in claimed:
            for row in result.choice.rows:
                if row.status == "opted_out":
                    metrics.MESSAGES_SUPPRESSED.labels("opted_out").inc()
                elif row.status == "suppressed":
                    metrics.MESSAGES_SUPPRESSED.labels(row.detail or "").inc()
                    log.info("message_suppressed", reference=row.reference, trigger=row.trigger, role=row.role,
                             reason=row.detail)
            chosen, claim = result.choice.chosen, result.claim
            if chosen is not None and claim is not None and claim.new and chosen.due_at and chosen.due_at > at:
                log.info("message_scheduled", reference=chosen.reference, trigger=chosen.trigger,
                         channel=chosen.channel, due_at=chosen.due_at.isoformat())
        await self._send_taken(taken)
        await self.attempt_many(due[self._slice:])

    @staticmethod
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

    @property
    def _slice(self) -> int:
        return max(1, self._rules.send_concurrency)

    def _outgoing(self, message: Message) -> Outgoing:
        channel = Channel(message.channel)
        body, html = message.body, message.html
        headers: tuple[tuple[str, str], ...] = ()
        if channel is Channel.EMAIL and self._unsubscribe_url and message.address_digest:
            url = self._unsubscribe_url(message.address_digest)
            headers = (("List-Unsubscribe", f"<{url}>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
            body = f"{body}\n\nTo stop these emails: {url}"
            if html:
                html = html.replace("</body>", f'<p><a href="{url}">Stop these emails</a></p></body>')
        return Outgoing(channel=channel, to=message.recipient, body=body, subject=message.subject, html=html,
                        reference=message.reference, headers=headers)

    async def attempt(self, message_id: int) -> None:
        """One attempt at one message, if it is due and nobody else holds it."""
        await self.attempt_many([message_id])

    async def attempt_many(self, message_ids: Sequence[int]) -> None:
        """One attempt at each of these messages that is due and that nobody else holds, a
        slice of ``send_concurrency`` at a time: one transaction takes the slice for sending,
        the providers are called concurrently, one transaction settles every outcome, and their
        events are published together. Only messages whose provider call is under way are
        ``sending``, so a crash leaves at most one slice unconfirmed."""
        ids = list(message_ids)
        for start in range(0, len(ids), self._slice):
            taken = await self._store.run(store.start_attempts, ids[start:start + self._slice], self._clock())
            await self._send_taken(taken)

    async def _send_taken(self, taken: list[Message]) -> None:
        """Send messages taken for sending, concurrently; settle every outcome in one
        transaction and publish their events together."""
        if not taken:
            return

        async def send(message: Message) -> Sent:
            return await self._senders[Channel(message.channel)].send(self._outgoing(message))

        results = await asyncio.gather(*(send(m) for m in taken), return_exceptions=True)
        outcomes: list[store.Outcome] = []
        failed: list[Message] = []
        unexpected: BaseException | None = None
        for message, result in zip(taken, results, strict=True):
            provider = self._senders[Channel(message.channel)].name
            if isinstance(result, Sent):
                status = "outbox" if result.provider == "outbox" else "sent"
                outcomes.append(store.Outcome(message.id, status, provider, provider_id=result.provider_id))
            elif isinstance(result, PermanentSendError):
                if result.code == TWILIO_UNSUBSCRIBED:
                    await self._opt_out(message, f"twilio {result.code}")
                    outcomes.append(store.Outcome(message.id, "opted_out", provider, detail=str(result)))
                else:
                    outcomes.append(store.Outcome(message.id, "failed", provider, detail=str(result)))
                failed.append(message)
            elif isinstance(result, TransientSendError):
                if message.attempts >= self._rules.attempts:
                    outcomes.append(store.Outcome(message.id, "failed", provider,
                                                  detail=f"gave up after {message.attempts} attempts: {result}"))
                    failed.append(message)
                    continue
                delay = policy.retry_delay(message.attempts, base=self._rules.backoff_base,
                                           cap=self._rules.backoff_cap, jitter=random.random())
                outcomes.append(store.Outcome(message.id, "retrying", provider, detail=str(result),
                                              due_at=self._clock() + timedelta(seconds=delay)))
                metrics.MESSAGES.labels(message.channel, "retrying").inc()
                log.warning("message_retrying", reference=message.reference, trigger=message.trigger,
                            attempt=message.attempts, delay=round(delay, 2), detail=str(result))
            else:
                # Left ``sending``: after the lease it is marked unconfirmed, never sent again blindly.
                log.error("send_failed_unexpectedly", reference=message.reference, trigger=message.trigger,
                          channel=message.channel, error=type(result).__name__)
                unexpected = unexpected or result
        await self._store.run(store.settle_many, outcomes, self._clock())
        by_id = {m.id: m for m in taken}
        events = []
        for outcome in outcomes:
            if outcome.status == "retrying":
                continue
            message = by_id[outcome.message_id]
            log.info(f"message_{outcome.status}", reference=message.reference, trigger=message.trigger,
                     channel=message.channel, attempts=message.attempts, detail=outcome.detail)
            events.append(FeedbackMessage(
                event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"mecc:message:{message.key}:{outcome.status}"),
                message_key=message.key, reference=message.reference, trigger=message.trigger,
                channel=Channel(message.channel), status=outcome.status,
                provider_id=outcome.provider_id, detail=outcome.detail,
            ))
        if events:
            await self._publish(events)
        await self._fall_back(failed)
        if unexpected is not None:
            raise unexpected

    async def _fall_back(self, messages: Sequence[Message]) -> None:
        """Send the standby copies on these people's other channels, where there are any."""
        woken: list[int] = []
        for message in messages:
            other = Channel.EMAIL if message.channel == Channel.SMS.value else Channel.SMS
            key = policy.message_key(message.reference, message.trigger, message.role, other)
            at = self._clock()
            due = policy.earliest_send(other, at, quiet=self._rules.quiet)
            standby = await self._store.run(store.activate_standby, key, due, at)
            if standby is None:
                continue
            reason = await self._store.run(store.opt_out_reason, other.value, standby.address_digest or "")
            if reason is not None:
                await self._store.run(store.settle, standby.id, status="opted_out", detail=reason, at=self._clock())
                continue
            log.info("falling_back", reference=message.reference, trigger=message.trigger, to_channel=other.value)
            woken.append(standby.id)
        await self.attempt_many(woken)

    async def _opt_out(self, message: Message, source: str) -> None:
        if message.address_digest:
            await self._store.run(store.set_opt_out, channel=message.channel, digest=message.address_digest,
                                  opted_out=True, source=source, at=self._clock())
            log.info("opted_out", channel=message.channel, source=source)

    async def _attach_reply(self, inbound: InboundMessage, reference: str) -> None:
        """Route a reply like any other contact, linked to the report it answers."""
        original = await self._contact(reference)
        informant = original.informant if isinstance(original, PublicContact) else original.reporter
        contact = PublicContact(
            event_id=uuid.uuid5(inbound.event_id, "reply"),
            reference=reference_from_key(f"reply:{inbound.event_id}"),
            report=original.report.model_copy(update={"description": inbound.body.strip()[:5000] or "(empty reply)",
                                                      "happened_at": None}),
            informant=informant,
            related_reference=reference,
        )
        await self._publish_contact(contact)
        log.info("reply_attached", reference=reference, new_reference=contact.reference, channel=inbound.channel.value)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


_RATING = re.compile(r"\b([1-5])\b")
_YES_NO = re.compile(r"\b(Y|YES|N|NO)\b", re.IGNORECASE)


def survey_answers(body: str) -> dict[str, str]:
    """Read "4 Y", "5", "no" and the like into the two survey questions."""
    answers = {}
    if rating := _RATING.search(body):
        answers["satisfaction"] = rating.group(1)
    if yes_no := _YES_NO.search(body):
        answers["kept_informed"] = "Y" if yes_no.group(1).upper().startswith("Y") else "N"
    return answers
