"""The life of each message in the store: claim, attempt, settle, and the records around it
(opt-outs, survey answers). Plain functions over a Session.

A message is claimed once under its key, before any provider is called. Each attempt first
moves it to ``sending`` with a conditional update, leased to the worker (``lease_owner``, and a
``lease_generation`` raised at each take), so two workers (or a worker and its own timer) can
never both send it; outcomes are settled only under the lease they were taken with. A
``sending`` whose lease passed (its worker died or froze) becomes ``ambiguous``, to be looked up
at the provider (``take_ambiguous``).

The busy path works on batches: ``claim_and_take`` claims every message of many events and
takes the due ones for sending in one transaction (one opt-out lookup, one lookup of keys
already claimed, one insert of the new rows, one conditional update), ``start_attempts`` takes
due messages for sending in one conditional update, and ``settle_many`` records all their
outcomes in one transaction. Which channel a recipient gets
is decided by ``choose``, a plain function.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar, cast

from sqlalchemy import BindParameter, CursorResult, Result, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from schemas import MessageStatus
from schemas.events import SENDABLE_STATUSES, SENT_STATUSES, WRITTEN_STATUSES
from services.store import crypto
from services.store.models import Message, OptOut, ProviderEvent, Report, SurveyAnswer
from services.store.repository import insert_new_rows, insert_once

#: Values bound in one ``IN (...)``: well under SQLite's and PostgreSQL's limits.
CHUNK = 500

T = TypeVar("T")


def _rowcount(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


#: ``opt_outs.digest_version``: an unkeyed SHA-256 of the address (written before keyed digests:
#: anyone holding the table could test every phone number against it), or an HMAC under a key.
LEGACY_DIGEST, KEYED_DIGEST = 0, 1


def _normal(address: str) -> bytes:
    return address.strip().lower().encode()


def address_digest(address: str) -> str:
    """The digest opt-outs and replies are matched on: an HMAC-SHA256 of the address under the
    first ``ADDRESS_DIGEST_KEY`` (addresses are normalised first: E.164 for phones, lower case
    for email)."""
    return hmac.new(crypto.digest_keys()[0].encode(), _normal(address), hashlib.sha256).hexdigest()


def legacy_digest(address: str) -> str:
    """The unkeyed digest written before keyed digests (still matched, for opt-outs whose
    address the store no longer holds, so cannot be re-keyed)."""
    return hashlib.sha256(_normal(address)).hexdigest()


def address_digests(address: str) -> list[str]:
    """Every digest an address may be stored under: keyed under each configured key (the current
    one first), and the legacy one."""
    keyed = [hmac.new(k.encode(), _normal(address), hashlib.sha256).hexdigest() for k in crypto.digest_keys()]
    return [*keyed, legacy_digest(address)]


@dataclass(frozen=True)
class Claim:
    message_id: int
    #: True when this call made the claim; False when an earlier delivery of the event did.
    new: bool
    status: MessageStatus
    key: str = ""


@dataclass(frozen=True)
class Draft:
    """One message as it would be claimed: ``scheduled`` to go at ``due_at``, or a state for a
    message deliberately not sent (``suppressed``, ``opted_out``, ``standby``) with ``detail``."""

    key: str
    reference: str
    trigger: str
    role: str
    channel: str
    recipient: str
    body: str
    subject: str | None = None
    html: str | None = None
    due_at: datetime | None = None
    status: MessageStatus = MessageStatus.SCHEDULED
    detail: str | None = None
    #: A sensitive report's recipient: an ambiguous send to them is never repeated unconfirmed.
    guarded: bool = False

    @cached_property
    def digest(self) -> str | None:
        return address_digest(self.recipient) if self.recipient else None

    @cached_property
    def digests(self) -> list[str]:
        """Every digest an opt-out of this recipient may be held under (``address_digests``)."""
        return address_digests(self.recipient) if self.recipient else []


@dataclass(frozen=True)
class ClaimRequest:
    """One recipient of one event. ``first`` goes unless its address opted out of its channel,
    and then ``fallback`` (the person's other channel) goes instead; when ``first`` goes,
    ``fallback`` is kept as its ``standby`` copy. A ``first`` that is not ``scheduled`` (a
    ``suppressed`` record) is recorded as it is."""

    first: Draft
    fallback: Draft | None = None


@dataclass(frozen=True)
class Choice:
    """What one request records: every row with its status, and the one to be sent (if any)."""

    rows: tuple[Draft, ...]
    chosen: Draft | None


def choose(request: ClaimRequest, opted_out: Mapping[tuple[str, str], str]) -> Choice:
    """The first of the request's channels whose address has not opted out is the one sent;
    each opted-out channel tried before it is recorded ``opted_out`` with the reason; the
    fallback of a first channel that is sent waits as ``standby``. ``opted_out`` maps
    (channel, address digest) to the reason. Pure."""
    first, fallback = request.first, request.fallback
    if first.status != MessageStatus.SCHEDULED:
        return Choice((first,), None)
    rows: list[Draft] = []
    for candidate in (first, fallback):
        if candidate is None:
            continue
        reason = opted_out.get((candidate.channel, candidate.digest or ""))
        if reason is None:
            rows.append(candidate)
            if candidate is first and fallback is not None:
                rows.append(replace(fallback, status=MessageStatus.STANDBY, due_at=None, detail=None))
            return Choice(tuple(rows), candidate)
        rows.append(replace(candidate, status=MessageStatus.OPTED_OUT, due_at=None, detail=reason))
    return Choice(tuple(rows), None)


@dataclass(frozen=True)
class Claimed:
    """What became of one request: its choice, and the claim of the message chosen to be sent
    (None when nothing is to be sent). ``claim.new`` is False when an earlier delivery of the
    event (or an earlier request of the same batch) made the claim."""

    choice: Choice
    claim: Claim | None


def _chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _opt_outs(session: Session, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The opt-out reason of each (channel, digest) of ``pairs`` that has opted out."""
    found: dict[tuple[str, str], str] = {}
    for digests in _chunks(sorted({digest for _, digest in pairs})):
        for channel, digest, source in session.execute(_statements().opt_outs, {"digests": list(digests)}):
            if (channel, digest) in pairs:
                found[(channel, digest)] = f"opted out ({source})"
    return found


@dataclass(frozen=True)
class _Statements:
    """The statements of the claim, take and settle paths, built once (``_statements``) with their
    values as parameters: building them, and their cache keys, for every small batch cost more
    than running them."""

    opt_outs: Any
    claimed: Any
    take: Any
    take_ambiguous: Any
    settle: Any


@functools.cache
def _statements() -> _Statements:
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    messages = cast(Table, Message.__table__)
    table = messages.c

    def lease(statuses: Iterable[MessageStatus], **values: Any) -> Any:
        return (update(Message)
                .where(Message.id.in_(ids), Message.status.in_(list(statuses)), Message.due_at <= bindparam("at"))
                .values(status=MessageStatus.SENDING, lease_owner=bindparam("owner"),
                        lease_generation=Message.lease_generation + 1, updated_at=bindparam("at"), **values)
                .returning(Message)
                .execution_options(synchronize_session=False))

    return _Statements(
        opt_outs=select(OptOut.channel, OptOut.address_digest, OptOut.source).where(
            OptOut.address_digest.in_(bindparam("digests", expanding=True)), OptOut.opted_out.is_(True)),
        claimed=select(Message.id, Message.key, Message.status).where(
            Message.key.in_(bindparam("keys", expanding=True))),
        take=lease(SENDABLE_STATUSES, attempts=Message.attempts + 1, attempted_at=bindparam("at")),
        take_ambiguous=lease((MessageStatus.AMBIGUOUS,)),
        settle=(update(messages)
                .where(table.id == bindparam("b_id"), table.status == MessageStatus.SENDING,
                       table.lease_owner == bindparam("b_owner"), table.lease_generation == bindparam("b_generation"))
                .values(status=bindparam("b_status"),
                        provider=func.coalesce(bindparam("b_provider", type_=table.provider.type), table.provider),
                        provider_id=func.coalesce(bindparam("b_provider_id", type_=table.provider_id.type),
                                                  table.provider_id),
                        detail=bindparam("b_detail"), due_at=bindparam("b_due_at"), updated_at=bindparam("b_at"))
                .returning(table.id)),
    )


def _values(draft: Draft, at: datetime) -> dict[str, Any]:
    return {
        "key": draft.key, "reference": draft.reference, "trigger": draft.trigger, "role": draft.role,
        "channel": draft.channel, "recipient": draft.recipient, "address_digest": draft.digest, "body": draft.body,
        "subject": draft.subject, "html": draft.html, "status": draft.status,
        "due_at": (draft.due_at or at) if draft.status == MessageStatus.SCHEDULED else None,
        "attempts": 0, "detail": draft.detail, "created_at": at, "updated_at": at, "guarded": draft.guarded,
    }


def _claim_rows(session: Session, drafts: Sequence[Draft], at: datetime) -> dict[str, Claim]:
    """Claim each draft under its key (keys unique in ``drafts``): those already claimed are
    found in one query, the rest inserted in one ``INSERT ... ON CONFLICT DO NOTHING``; a key
    another worker claimed in between is not inserted, and is looked up like the others.
    ``insert_new_rows`` inserts them in key order, so two workers claiming overlapping batches
    never deadlock."""
    claims: dict[str, Claim] = {}

    def look_up(keys: Sequence[str]) -> None:
        for part in _chunks(keys):
            for message_id, key, status in session.execute(_statements().claimed, {"keys": list(part)}):
                claims[key] = Claim(message_id, False, MessageStatus(status), key)

    look_up([d.key for d in drafts])
    fresh = [d for d in drafts if d.key not in claims]
    inserted = {row.key: row.id for row in
                insert_new_rows(session, Message, [_values(d, at) for d in fresh], "id", "key")}
    for draft in fresh:
        if draft.key in inserted:
            claims[draft.key] = Claim(inserted[draft.key], True, draft.status, draft.key)
    look_up([d.key for d in fresh if d.key not in inserted])
    return claims


def claim_and_take(session: Session, requests: Sequence[ClaimRequest], at: datetime,
                   pick: Callable[[list[Claimed]], Sequence[int]], owner: str = ""
                   ) -> tuple[list[Claimed], list[Message]]:
    """Claim the messages of many requests at ``at`` and take the ones ``pick`` chooses for
    sending (as ``start_attempts`` does), in one transaction: one lookup of the opt-outs of
    every address, ``choose`` per request, one lookup of the keys already claimed, one insert of
    the rest. One ``Claimed`` per request, in order; ``pick`` may choose none."""
    with session.begin():
        claimed = _claim(session, requests, at)
        return claimed, _take(session, pick(claimed), at, owner)


def _claim(session: Session, requests: Sequence[ClaimRequest], at: datetime) -> list[Claimed]:
    drafts_asked: list[Draft] = []
    for request in requests:
        for draft in (request.first, request.fallback):
            if draft is not None and draft.status == MessageStatus.SCHEDULED and draft.digest:
                drafts_asked.append(draft)
    pairs = {(draft.channel, digest) for draft in drafts_asked for digest in draft.digests}
    held = _opt_outs(session, pairs) if pairs else {}
    # An opt-out held under any of an address's digests counts, under the one it is now matched on.
    opted_out = {(draft.channel, draft.digest or ""): reason for draft in drafts_asked for digest in draft.digests
                 if (reason := held.get((draft.channel, digest))) is not None}
    choices = [choose(r, opted_out) for r in requests]
    drafts: dict[str, Draft] = {}
    for choice in choices:
        for draft in choice.rows:
            drafts.setdefault(draft.key, draft)
    claims = _claim_rows(session, list(drafts.values()), at)
    found: list[Claimed] = []
    seen: set[str] = set()
    for choice in choices:
        claim = claims[choice.chosen.key] if choice.chosen is not None else None
        if claim is not None:
            if claim.key in seen:  # the same event twice in one batch: the first one claimed it
                claim = replace(claim, new=False)
            seen.add(claim.key)
        found.append(Claimed(choice, claim))
    return found


def start_attempts(session: Session, message_ids: Sequence[int], at: datetime, owner: str = "") -> list[Message]:
    """Take the ones of ``message_ids`` due at ``at`` for sending, in one conditional update: only the
    messages this call moved to ``sending`` come back (in the order asked), so two callers can
    never both get the same one. Each is leased to ``owner`` under a new ``lease_generation``."""
    if not message_ids:
        return []
    with session.begin():
        return _take(session, message_ids, at, owner)


def _take(session: Session, message_ids: Sequence[int], at: datetime, owner: str) -> list[Message]:
    """``_lease`` of the sendable ones, counting an attempt."""
    return _lease(session, _statements().take, message_ids, owner, at)


def _lease(session: Session, statement: Any, message_ids: Sequence[int], owner: str, at: datetime) -> list[Message]:
    """Move the ones of ``message_ids`` in the statement's statuses and due at ``at`` to ``sending``,
    leased to ``owner`` under a new generation; only those this call moved come back, in the order
    asked."""
    wanted = list(dict.fromkeys(message_ids))
    taken: list[Message] = []
    for ids in _chunks(wanted):
        taken.extend(session.scalars(statement, {"ids": list(ids), "at": at, "owner": owner}).all())
    order = {message_id: i for i, message_id in enumerate(wanted)}
    return sorted(taken, key=lambda m: order[m.id])


def take_ambiguous(session: Session, at: datetime, owner: str, limit: int = 100) -> list[Message]:
    """Take (at ``at``, leased to ``owner``) ambiguous messages whose look-up at the provider is
    due, so that one worker alone asks about each and decides its fate. Neither ``attempts`` nor
    ``attempted_at`` change: a look-up is not a send."""
    with session.begin():
        ids = list(session.scalars(
            select(Message.id).where(Message.status == MessageStatus.AMBIGUOUS, Message.due_at <= at)
            .order_by(Message.due_at).limit(limit)))
        return _lease(session, _statements().take_ambiguous, ids, owner, at) if ids else []


@dataclass(frozen=True)
class Outcome:
    """The outcome of one attempt, as ``settle`` takes it; ``generation`` is the lease under which
    the message was taken (``settle_many`` records it only while that lease still holds)."""

    message_id: int
    status: MessageStatus
    provider: str | None = None
    provider_id: str | None = None
    detail: str | None = None
    due_at: datetime | None = None
    generation: int = 0


@dataclass(frozen=True)
class Late:
    """An outcome that came after its lease had passed: what the message is now, and whether the
    late outcome (the provider accepted it) confirmed an ambiguous or unconfirmed message as sent."""

    outcome: Outcome
    status_now: MessageStatus | None
    confirmed: bool


def settle_many(session: Session, outcomes: Iterable[Outcome], at: datetime, owner: str = "") -> list[Late]:
    """Record at ``at`` the outcomes of many attempts in one transaction, each as ``settle`` would (a
    provider or provider id left out keeps the one recorded), fenced: only a message still
    ``sending`` under ``owner``'s lease of the outcome's generation is updated, so a worker that
    wakes after its lease passed (and another worker took the message) overwrites nothing.
    The outcomes that came too late are recorded in ``late_outcome`` and returned; one saying the
    provider accepted a message since marked ambiguous or unconfirmed settles it as sent (the
    provider has it), without any other send."""
    statement = _statements().settle
    late: list[Late] = []
    with session.begin():
        connection = session.connection()
        for o in outcomes:
            applied = connection.execute(statement, {
                "b_id": o.message_id, "b_generation": o.generation, "b_status": o.status, "b_provider": o.provider,
                "b_provider_id": o.provider_id, "b_detail": o.detail, "b_due_at": o.due_at, "b_owner": owner,
                "b_at": at}).first()
            if applied is None:
                late.append(_record_late(session, o, owner, at))
    return late


def _record_late(session: Session, outcome: Outcome, owner: str, at: datetime) -> Late:
    row = session.get(Message, outcome.message_id, populate_existing=True)
    if row is None:
        return Late(outcome, None, False)
    said = " ".join(part for part in (outcome.status, outcome.provider_id, outcome.detail) if part)
    row.late_outcome = f"{at.isoformat()} {owner or '?'} (lease {outcome.generation}): {said}"
    confirmed = outcome.status in SENT_STATUSES and row.status in (MessageStatus.AMBIGUOUS, MessageStatus.UNCONFIRMED)
    if confirmed:
        row.status = outcome.status
        row.provider = outcome.provider or row.provider
        row.provider_id = outcome.provider_id or row.provider_id
        row.detail = "confirmed by the provider's late answer"
        row.due_at = None
        row.updated_at = at
    session.flush()
    return Late(outcome, MessageStatus(row.status), confirmed)


def settle(
    session: Session,
    message_id: int,
    *,
    status: MessageStatus,
    provider: str | None = None,
    provider_id: str | None = None,
    detail: str | None = None,
    due_at: datetime | None = None,
    at: datetime,
) -> None:
    """Record at ``at`` the outcome of an attempt (``retrying`` with the next ``due_at``, or settled)."""
    with session.begin():
        row = session.get_one(Message, message_id)
        row.status = status
        row.provider = provider or row.provider
        row.provider_id = provider_id or row.provider_id
        row.detail = detail
        row.due_at = due_at
        row.updated_at = at


def due_message_ids(session: Session, at: datetime, limit: int = 100) -> list[int]:
    with session.begin():
        return list(session.scalars(
            select(Message.id)
            .where(Message.status.in_(SENDABLE_STATUSES), Message.due_at <= at)
            .order_by(Message.due_at).limit(limit)
        ))


def expire_interrupted_sends(session: Session, older_than: datetime, at: datetime) -> int:
    """Mark (at ``at``) sends left in ``sending`` since before ``older_than`` (their lease has passed:
    the worker died, or froze) as ``ambiguous``, to be looked up at the provider now: it may or may
    not have them, and a second copy is the worse mistake. The lease's holder, if it wakes, can no
    longer settle them (``settle_many``)."""
    with session.begin():
        return _rowcount(session.execute(
            update(Message)
            .where(Message.status == MessageStatus.SENDING, Message.updated_at < older_than)
            .values(status=MessageStatus.AMBIGUOUS, detail="its worker stopped or froze mid-send (lease passed)",
                    due_at=at, updated_at=at)
        ))


def message_by_provider_id(session: Session, provider_id: str) -> Message | None:
    with session.begin():
        return session.scalars(select(Message).where(Message.provider_id == provider_id)).first()


def set_opt_out(session: Session, *, channel: str, digest: str, opted_out: bool, source: str,
                at: datetime, event_id: str | None = None, digest_version: int | None = KEYED_DIGEST) -> bool:
    """Record the latest opt-out or opt-in for an address, as of ``at`` (the provider's time of
    the event when it gives one); an older change never wins. ``event_id``: the provider's
    callback it comes from; a callback seen before (a replay) changes nothing. False then.
    ``digest_version`` None: keyed if a message is held under ``digest`` (an unsubscribe link
    minted before keyed digests carries a legacy one), else legacy."""
    with session.begin():
        if event_id is not None and not insert_once(session, ProviderEvent(event_id=event_id, seen_at=at)):
            return False
        if digest_version is None:
            held = session.scalars(select(Message.id).where(Message.address_digest == digest).limit(1)).first()
            digest_version = KEYED_DIGEST if held is not None else LEGACY_DIGEST
        row = session.get(OptOut, (channel, digest))
        if row is None:
            session.add(OptOut(channel=channel, address_digest=digest, opted_out=opted_out, source=source,
                               changed_at=at, digest_version=digest_version))
        elif row.changed_at <= at:
            row.opted_out, row.source, row.changed_at = opted_out, source, at
        return True


def opt_out_reason(session: Session, channel: str, digest: str, address: str | None = None) -> str | None:
    """Why an address gets nothing on a channel, or None if it may be sent to (given the
    ``address``, an opt-out held under any of its digests counts)."""
    digests = list(dict.fromkeys([digest, *(address_digests(address) if address else [])]))
    with session.begin():
        for row in session.scalars(select(OptOut).where(OptOut.channel == channel,
                                                        OptOut.address_digest.in_(digests))):
            if row.opted_out:
                return f"opted out ({row.source})"
        return None


def latest_message_to(session: Session, channel: str, digest: str, trigger_prefix: str | None = None,
                      roles: Sequence[str] | None = None) -> Message | None:
    """The last message we sent to an address (to attach a reply to its report); only to one of
    ``roles`` when given."""
    with session.begin():
        query = select(Message).where(
            Message.channel == channel, Message.address_digest == digest,
            Message.status.in_(SENT_STATUSES),
        )
        if roles is not None:
            query = query.where(Message.role.in_(list(roles)))
        if trigger_prefix:
            query = query.where(Message.trigger.startswith(trigger_prefix))
        return session.scalars(query.order_by(Message.created_at.desc(), Message.id.desc())).first()


def record_survey_answer(session: Session, *, reference: str, question: str, answer: str, at: datetime) -> bool:
    """Keep the first answer to each question; False if it was already answered."""
    with session.begin():
        return insert_once(session, SurveyAnswer(reference=reference, question=question, answer=answer,
                                                 answered_at=at))


def silent_reports(session: Session, quiet_since: datetime, limit: int = 100) -> list[tuple[str, datetime]]:
    """Open reports we have written about, but not since ``quiet_since``: (reference, last write)."""
    with session.begin():
        last = func.max(Message.created_at)
        rows = session.execute(
            select(Message.reference, last)
            .join(Report, Report.reference == Message.reference)
            .where(Report.status == "open", Message.status.in_(WRITTEN_STATUSES))
            .group_by(Message.reference)
            .having(last < quiet_since)
            .limit(limit)
        ).all()
        return [(ref, last_at) for ref, last_at in rows]


def messages_for(session: Session, reference: str) -> list[Message]:
    with session.begin():
        return list(session.scalars(select(Message).where(Message.reference == reference).order_by(Message.id)))


def activate_standby(session: Session, key: str, due_at: datetime, at: datetime) -> Message | None:
    """Wake (at ``at``) the standby copy of a message on the other channel, to go at ``due_at``;
    None if there is none (or it was already woken)."""
    with session.begin():
        woken = _rowcount(session.execute(
            update(Message).where(Message.key == key, Message.status == MessageStatus.STANDBY)
            .values(status=MessageStatus.SCHEDULED, due_at=due_at, updated_at=at)
        ))
        return session.scalars(select(Message).where(Message.key == key)).first() if woken == 1 else None
