"""What retention removes, when, and what it keeps (the README's "Retention schedule").

When a report is due
    * closed: ``RETENTION_DAYS`` after its (last) closure;
    * redirect-only (every destination a redirect: no team will ever close it): ``RETENTION_DAYS``
      after it was routed;
    * anything else never closed (a reply, a report nobody closed): abandoned once nothing has
      happened to it (no update, no message, no survey answer) for ``RETENTION_ABANDONED_DAYS``.

Reply chains
    A reply is a new report linked to the report it answers (``related_reference``). A chain (the
    first report and every reply to it, to any depth) is purged as one, when every report in it is
    due: a reply is purged with the report it answers, never before it and never long after it,
    and the answered report keeps its data while a reply to it is still live. A reply whose
    report is not in the store is a chain of its own.

What goes, in every table that can hold it
    ``reports.contact``: the informant, the organisation's case worker and the person reported
    for, the free text, the postcode and place description; the point is rounded to about a
    kilometre. ``actions``: the public text and the outcome reason. ``messages``: the address,
    its digest, the provider's message id, the wording (body, subject, HTML) and the detail.
    ``cluster_members``: the postcode; the point is rounded. ``watch_items``: the (already
    redacted) text, the street, the cluster's label and summary. ``clusters``: the label (a
    street), once every report in the cluster is due.

What stays (the statistics)
    Category, kind, times, status, where it went and why (``routing_decisions``: team names and
    postcode sectors), what kind of update the teams recorded and its outcome, message channels,
    triggers, roles and statuses, survey answers, and opt-outs (an opt-out must outlive the data
    so that the address is never written to again; it holds a digest, never the address).

The purge is idempotent (a second run changes nothing, and counts nothing) and works in
batches: each batch of references is scrubbed in its own transaction. It reads no clock: the
caller gives ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from services.store.models import (
    Action,
    Cluster,
    ClusterMember,
    Message,
    ProviderEvent,
    ReferenceClaim,
    Report,
    RoutingDecision,
    SignInLink,
    StaffSession,
    SurveyAnswer,
    WatchItemRow,
)

REMOVED = "[removed after the retention period]"
#: References scrubbed per transaction (and bound per ``IN (...)``).
BATCH = 500


@dataclass(frozen=True)
class Policy:
    #: After closure (or, for a redirect-only report, after routing).
    retention: timedelta
    #: After the last activity of a report that was never closed.
    abandoned: timedelta


@dataclass(frozen=True)
class Life:
    """What the purge needs to know about one report."""

    reference: str
    received_at: datetime
    related_reference: str | None = None
    closed_at: datetime | None = None
    redirect_only: bool = False
    routed_at: datetime | None = None
    last_activity: datetime | None = None


@dataclass
class Purged:
    """Rows changed, per table: all zero on a second run."""

    reports: int = 0
    messages: int = 0
    actions: int = 0
    cluster_members: int = 0
    watch_items: int = 0
    clusters: int = 0
    #: References due (purged now or before).
    due: list[str] = field(default_factory=list)

    def add(self, other: Purged) -> None:
        for name in ("reports", "messages", "actions", "cluster_members", "watch_items", "clusters"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


# --- when: pure ----------------------------------------------------------------------------


def due_at(life: Life, policy: Policy) -> datetime:
    """When one report's personal data may go, on its own."""
    if life.closed_at is not None:
        return life.closed_at + policy.retention
    if life.redirect_only:
        return life.received_at + policy.retention
    return max(life.received_at, life.last_activity or life.received_at) + policy.abandoned


def chains(lives: dict[str, Life]) -> dict[str, list[str]]:
    """Each chain's references, by the reference of its first report (replies follow
    ``related_reference`` to a report in ``lives``; a cycle or a missing report ends the walk)."""
    def root(reference: str) -> str:
        seen = {reference}
        while (parent := lives[reference].related_reference) in lives and parent not in seen:
            seen.add(parent)
            reference = parent
        return reference

    found: dict[str, list[str]] = {}
    for reference in lives:
        found.setdefault(root(reference), []).append(reference)
    return found


def due_references(lives: dict[str, Life], policy: Policy, now: datetime) -> list[str]:
    """References whose personal data goes at ``now``: every report of each chain whose
    reports are all due."""
    due: list[str] = []
    for members in chains(lives).values():
        if max(due_at(lives[r], policy) for r in members) <= now:
            due.extend(members)
    return sorted(due)


def anonymous_contact(contact: dict[str, Any]) -> dict[str, Any]:
    """The contact event without personal data (still a valid event, so readers keep working)."""
    kept = dict(contact)
    report = dict(kept.get("report") or {})
    report["description"] = REMOVED
    location = report.get("location") or {}
    if location.get("latitude") is not None and location.get("longitude") is not None:
        report["location"] = {"latitude": round(float(location["latitude"]), 2),
                              "longitude": round(float(location["longitude"]), 2)}
    else:
        report["location"] = {"description": REMOVED}
    kept["report"] = report
    if kept.get("informant") is not None:
        # Someone could be written to: the dashboard counts the report as contactable still.
        kept["informant"] = {"preferences": {}}
    if kept.get("subject") is not None:
        kept["subject"] = None
    if kept.get("reporter") is not None:
        kept["reporter"] = {"preferences": {}}
    return kept


def anonymous_watch_item(item: dict[str, Any]) -> dict[str, Any]:
    """A watch item without its text, street and cluster label (still a valid ``WatchItem``)."""
    kept = dict(item)
    kept["description"] = REMOVED
    location = dict(kept.get("location") or {})
    location["street"] = None
    kept["location"] = location
    if isinstance(kept.get("cluster"), dict):
        kept["cluster"] = {**kept["cluster"], "label": REMOVED, "summary": REMOVED}
    return kept


# --- where: the store ----------------------------------------------------------------------


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i:i + size])


def lives(session: Session, batch: int = BATCH) -> dict[str, Life]:
    """Every report's life, in a few grouped queries (contacts are decrypted in batches to find
    the reply links)."""
    closed = dict(session.execute(
        select(Action.reference, func.max(Action.recorded_at)).where(Action.kind == "closure")
        .group_by(Action.reference)).tuples().all())
    last: dict[str, datetime] = {}
    for query in (select(Action.reference, func.max(Action.recorded_at)).group_by(Action.reference),
                  select(Message.reference, func.max(Message.updated_at)).group_by(Message.reference),
                  select(SurveyAnswer.reference, func.max(SurveyAnswer.answered_at))
                  .group_by(SurveyAnswer.reference)):
        for reference, at in session.execute(query).tuples():
            if at is not None and (reference not in last or at > last[reference]):
                last[reference] = at
    routed: dict[str, tuple[bool, datetime]] = {}
    for reference, destinations, decided_at in session.execute(
            select(RoutingDecision.reference, RoutingDecision.destinations, RoutingDecision.decided_at)
            .execution_options(yield_per=batch)).tuples():
        kinds = {d.get("kind") for d in destinations or []}
        routed[reference] = (kinds == {"redirect"}, decided_at)
    found: dict[str, Life] = {}
    for reference, status, received_at, contact in session.execute(
            select(Report.reference, Report.status, Report.received_at, Report.contact)
            .execution_options(yield_per=batch)).tuples():
        redirect_only, routed_at = routed.get(reference, (False, None))
        found[reference] = Life(
            reference=reference, received_at=received_at,
            related_reference=(contact or {}).get("related_reference"),
            closed_at=closed.get(reference) if status == "closed" else None,
            redirect_only=redirect_only, routed_at=routed_at, last_activity=last.get(reference))
    return found


def scrub(session: Session, references: Sequence[str], removed: str = REMOVED) -> Purged:
    """Remove the personal data of ``references`` from every table, inside the caller's
    transaction; counts only rows that changed (so a second call counts nothing)."""
    done = Purged()
    refs = list(references)
    if not refs:
        return done
    for report in session.scalars(select(Report).where(Report.reference.in_(refs))):
        anonymous = anonymous_contact(report.contact)
        if removed != REMOVED:
            anonymous["report"]["description"] = removed
        if anonymous != report.contact:
            report.contact = anonymous
            done.reports += 1
    done.actions += _changed(session.execute(
        update(Action).where(Action.reference.in_(refs), Action.public_text != removed)
        .values(public_text=removed)))
    done.actions += _changed(session.execute(
        update(Action).where(Action.reference.in_(refs), Action.outcome_reason.is_not(None),
                             Action.outcome_reason != removed)
        .values(outcome_reason=removed)))
    done.actions += _changed(session.execute(
        update(Action).where(Action.reference.in_(refs), Action.watch_note.is_not(None),
                             Action.watch_note != removed)
        .values(watch_note=removed)))
    done.messages += _changed(session.execute(
        update(Message)
        .where(Message.reference.in_(refs),
               or_(Message.body != removed, Message.address_digest.is_not(None), Message.recipient != "",
                   Message.due_at.is_not(None),
                   Message.html.is_not(None), Message.subject.is_not(None), Message.provider_id.is_not(None),
                   (Message.detail.is_not(None) & (Message.detail != removed))))
        # due_at cleared: a message still waiting to go (a safe window that never came) has no
        # address left, so no timer may pick it up.
        .values(recipient="", address_digest=None, provider_id=None, body=removed, html=None, subject=None,
                detail=case((Message.detail.is_(None), None), else_=removed), due_at=None)
        .execution_options(synchronize_session=False)))
    for member in session.scalars(select(ClusterMember).where(ClusterMember.reference.in_(refs))):
        lat = None if member.latitude is None else round(member.latitude, 2)
        lon = None if member.longitude is None else round(member.longitude, 2)
        if (lat, lon, member.postcode) != (member.latitude, member.longitude, None):
            member.latitude, member.longitude, member.postcode = lat, lon, None
            done.cluster_members += 1
    for row in session.scalars(select(WatchItemRow).where(WatchItemRow.reference.in_(refs))):
        anonymous = anonymous_watch_item(row.item)
        if anonymous != row.item:
            row.item = anonymous
            done.watch_items += 1
    session.flush()
    return done


def scrub_clusters(session: Session, due: Iterable[str], removed: str = REMOVED) -> int:
    """Remove the label (a street) of every cluster whose reports are all in ``due``."""
    due = set(due)
    members: dict[str, set[str]] = {}
    for cluster_id, reference in session.execute(select(ClusterMember.cluster_id, ClusterMember.reference)).tuples():
        members.setdefault(cluster_id, set()).add(reference)
    spent = sorted(cluster_id for cluster_id, refs in members.items() if refs <= due)
    changed = 0
    for chunk in _chunks(spent, BATCH):
        changed += _changed(session.execute(
            update(Cluster).where(Cluster.id.in_(chunk), Cluster.label != removed).values(label=removed)))
    return changed


def _changed(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def purge(session: Session, *, now: datetime, policy: Policy | None = None, after: timedelta | None = None,
          batch: int = BATCH) -> Purged:
    """Remove the personal data of every report due at ``now`` (see the module docstring), one
    transaction per ``batch`` references. ``after`` alone is the retention after closure, with
    abandoned reports given the same time. Idempotent."""
    if policy is None:
        if after is None:
            raise TypeError("give a policy or the retention period (after)")
        policy = Policy(retention=after, abandoned=after)
    with session.begin():
        due = due_references(lives(session, batch), policy, now)
    done = Purged(due=due)
    for chunk in _chunks(due, batch):
        with session.begin():
            done.add(scrub(session, chunk))
    with session.begin():
        done.clusters += scrub_clusters(session, due)
    return done


# ---- the records kept about the service itself --------------------------------------------------------

@dataclass(frozen=True)
class RecordsPolicy:
    """How long the records that are not a report are kept (the README's "Retention schedule")."""

    #: A staff session (who, their claims, from which address) after it ended or was last used.
    sessions: timedelta
    #: A reference's idempotency key and request digests (the key of an anonymous caller is scoped
    #: by their address) after the reference was given out: no client retries for that long.
    claim_digests: timedelta
    #: A provider callback's id, kept so a replay changes nothing (no personal data).
    provider_events: timedelta


@dataclass
class PurgedRecords:
    sessions: int = 0
    claim_digests: int = 0
    provider_events: int = 0
    sign_in_links: int = 0


def purge_records(session: Session, *, now: datetime, policy: RecordsPolicy) -> PurgedRecords:
    """Remove the service's own records past their time at ``now``; idempotent. A reference claim
    keeps its row (a reference is never given out twice), only its digests go."""
    with session.begin():
        sessions = session.execute(delete(StaffSession).where(
            func.coalesce(StaffSession.ended_at, StaffSession.last_seen_at) < now - policy.sessions))
        claims = session.execute(update(ReferenceClaim).where(
            ReferenceClaim.claimed_at < now - policy.claim_digests,
            or_(ReferenceClaim.key_digest.is_not(None), ReferenceClaim.body_digest.is_not(None)),
        ).values(key_digest=None, body_digest=None))
        events = session.execute(delete(ProviderEvent).where(ProviderEvent.seen_at < now - policy.provider_events))
        # A sign-in link past its time signs nobody in: kept as long as the sessions it could have begun.
        links = session.execute(delete(SignInLink).where(SignInLink.expires_at < now - policy.sessions))
    return PurgedRecords(_changed(sessions), _changed(claims), _changed(events), _changed(links))
