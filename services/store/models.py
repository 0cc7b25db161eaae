"""Every table of the store, in one metadata (``Base.metadata``): what Alembic compares the
migrations against. Every write is keyed so a redelivered event changes nothing. Who writes and
who reads each table is mapped in the package docstring (``services/store/__init__.py``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from services.store.crypto import EncryptedJSON, EncryptedText


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time: stored as UTC (``timestamp with time zone`` on PostgreSQL, UTC text on
    SQLite) and always read back as an aware UTC datetime, on either database. A naive datetime
    is refused on write: its zone is unknown, and guessing is how times drift."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give it a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite keeps no zone: what it holds was written as UTC above.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Report(Base):
    """One report, as routed. ``contact`` holds the full event (police-only); what the read side
    lists and filters on is stored in plain columns beside it (``area``, ``organisation_id``,
    ``report_destinations``, ``report_areas``), so no reader decrypts a contact to decide what to list."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_received", "received_at", "reference"),
        Index("ix_reports_organisation_received", "organisation_id", "received_at", "reference"),
    )

    reference: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Encrypted at rest (services/store/crypto.py).
    contact: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    status: Mapped[str] = mapped_column(String(20), default="open")
    #: The router found it sensitive (by its category or its words): every message about it follows
    #: the safety rules, not only the acknowledgement.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The third-party organisation that made the report (null for a public report).
    organisation_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: The area the public dashboard counts it under (``dashboard_area`` of its areas), by name.
    area: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Whether anyone can be told what happens (a third party's case worker, or an informant who
    #: gave a way to reach them); null for reports routed before it was kept.
    contactable: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class ReportDestination(Base):
    """Where a report was routed, one row per destination: a team's (or watch's) inbox is a range
    of ``ix_report_destinations_inbox``, newest first."""

    __tablename__ = "report_destinations"
    __table_args__ = (
        Index("ix_report_destinations_inbox", "destination_id", "received_at", "reference"),
        Index("ix_report_destinations_status", "destination_id", "status", "received_at", "reference"),
        Index("ix_report_destinations_category", "destination_id", "category", "received_at", "reference"),
    )

    destination_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    reference: Mapped[str] = mapped_column(ForeignKey("reports.reference"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The report's status, kept with it (``reports.status``) so an inbox counts open items in its index.
    status: Mapped[str] = mapped_column(String(20))


class InboxCount(Base):
    """How many reports each destination's inbox holds, open and closed (``*``: every report),
    kept as reports are routed and closed, so an inbox shows its counts without counting."""

    __tablename__ = "inbox_counts"

    destination_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    reports: Mapped[int] = mapped_column(Integer)


class ReportArea(Base):
    """Every area a report was placed in (force, sector, neighbourhood...), as the router placed it."""

    __tablename__ = "report_areas"
    __table_args__ = (Index("ix_report_areas_area_received", "area_id", "received_at", "reference"),)

    area_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    reference: Mapped[str] = mapped_column(ForeignKey("reports.reference"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoutingDecision(Base):
    __tablename__ = "routing_decisions"

    reference: Mapped[str] = mapped_column(ForeignKey("reports.reference"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    destinations: Mapped[list[Any]] = mapped_column(JSON)
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    rules_version: Mapped[str] = mapped_column(String(64))
    #: The areas the report was placed in (``AreaRef`` JSON, outermost first); null before they were kept.
    areas: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Action(Base):
    """A "we did" update recorded by a team or coordinator."""

    __tablename__ = "actions"
    __table_args__ = (Index("ix_actions_recorded", "recorded_at"),)

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(ForeignKey("reports.reference"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(200))
    public_text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)
    outcome_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: What the police wrote for the watches (``public_text`` is the informant's, never a watch's).
    watch_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReferenceClaim(Base):
    """A reference the intake gave out, claimed before the report was published: two reports never
    share a reference (a random one that is taken is drawn again). ``key_digest`` is the caller's
    scoped idempotency key (hashed), ``body_digest`` the request it came with: a retry with the
    same key and request gets the same reference; the same key with another request is refused."""

    __tablename__ = "reference_claims"
    __table_args__ = (UniqueConstraint("key_digest", name="uq_reference_claims_key_digest"),)

    reference: Mapped[str] = mapped_column(String(20), primary_key=True)
    key_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    body_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Message(Base):
    """One message to one recipient. ``key`` = report, trigger, recipient and channel: it is
    claimed here before a provider is called, so an update is never sent twice.

    Life of a message: ``scheduled`` (waiting for its ``due_at``: quiet hours, a safe window)
    → ``sending`` (a worker holds it and is calling the provider) → ``sent`` / ``outbox``, or
    ``retrying`` (transient failure, next try at ``due_at``), or ``failed``. A provider callback
    may move ``sent`` on to ``delivered`` / ``undelivered`` / ``bounced``. ``suppressed`` and
    ``opted_out`` record messages deliberately not sent, with the reason in ``detail``.
    ``ambiguous`` marks a send the provider may have (no answer, or its worker stopped or froze
    mid-send): the provider is asked before any other try; ``unconfirmed`` one it could not
    confirm, never repeated.

    A worker takes a message for sending under a lease: ``lease_owner`` (its instance) and
    ``lease_generation`` (raised at every take). Its outcome is recorded only while it still
    holds that lease; a later one goes to ``late_outcome``.
    """

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("key", name="uq_messages_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(20), index=True)
    trigger: Mapped[str] = mapped_column(String(80))
    #: informant, reporter (a third party's case worker) or subject (the person reported for)
    role: Mapped[str] = mapped_column(String(20), default="informant", server_default="informant")
    channel: Mapped[str] = mapped_column(String(10))
    #: Encrypted at rest (services/store/crypto.py); matched on ``address_digest``, never on this.
    recipient: Mapped[str] = mapped_column(EncryptedText)
    #: HMAC of the normalised recipient address (``messages.address_digest``): opt-outs and replies
    #: are matched on it.
    address_digest: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    body: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    html: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    #: When the next attempt may be made (scheduled or retrying); null once settled.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    provider: Mapped[str | None] = mapped_column(String(20), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Indexed: the dashboard's refresh finds what changed since it last ran.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: A sensitive report's recipient (safe windows): an ambiguous send is never repeated unconfirmed.
    guarded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The worker instance that last took it for sending, and the take's number.
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: When the last provider call began (a look-up at the provider reads back to it).
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: An outcome that came after its worker's lease had passed: recorded, never acted on blindly.
    late_outcome: Mapped[str | None] = mapped_column(Text, nullable=True)


class OptOut(Base):
    """Whether an address has opted out of a channel. Holds a digest, never the address."""

    __tablename__ = "opt_outs"

    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    address_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(Boolean)
    #: How ``address_digest`` was made: 1 an HMAC under ``ADDRESS_DIGEST_KEY``, 0 an unkeyed SHA-256
    #: (written before keyed digests; kept, and matched, when the address is no longer held to
    #: re-key it: ``python -m services.keys rekey-digests``).
    digest_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    source: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProviderEvent(Base):
    """A provider's callback already acted on, by an id derived from the provider's own ids
    (e.g. Twilio's MessageSid and status, SendGrid's sg_event_id): a replayed callback finds it
    here and changes nothing. Holds no personal data."""

    __tablename__ = "provider_events"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyAnswer(Base):
    """An informant's answer to the satisfaction survey sent after closure."""

    __tablename__ = "survey_answers"
    __table_args__ = (Index("ix_survey_answers_answered", "answered_at"),)

    reference: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: "satisfaction" (1-5) or "kept_informed" (Y/N)
    question: Mapped[str] = mapped_column(String(20), primary_key=True)
    answer: Mapped[str] = mapped_column(String(10))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Routing: clusters of related reports, and the redacted items each watch may list (the
# functions over them are in ``services.store.routing``).


class Cluster(Base):
    """Reports of the same category close in place and time."""

    __tablename__ = "clusters"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    category: Mapped[str] = mapped_column(String(40))
    #: What it is about, coarse enough for a watch: a street, postcode sector or area.
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClusterMember(Base):
    """One report's place in a cluster. Keyed by reference: a report is in one cluster, once.
    Its place is plain text, so a sensitive report is never here (services/router/usecase.py)."""

    __tablename__ = "cluster_members"
    __table_args__ = (
        Index("ix_cluster_members_category_received", "category", "received_at"),
        Index("ix_cluster_members_postcode", "postcode"),
    )

    reference: Mapped[str] = mapped_column(String(20), primary_key=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    postcode: Mapped[str | None] = mapped_column(String(10), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WatchItemRow(Base):
    """A redacted item as a watch's coordinators may list it (the ``WatchItem`` event)."""

    __tablename__ = "watch_items"
    __table_args__ = (Index("ix_watch_items_watch_received", "watch_id", "received_at"),)

    watch_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    reference: Mapped[str] = mapped_column(ForeignKey("reports.reference"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    category: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    item: Mapped[dict[str, Any]] = mapped_column(JSON)


class Erasure(Base):
    """One report whose personal data was erased on a data subject's request
    (``python -m services.subject erase``): which request, why, by whom and when. It holds no
    address: the reason and the caseworker are all it says."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: One request erases every report linked to the address; its rows share this id.
    request_id: Mapped[str] = mapped_column(String(36), index=True)
    reference: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Staff sign-in: sessions kept on the server (the cookie names one by a random token, stored here
# only as its SHA-256), and accounts an administrator has disabled (the functions are in
# ``services.store.staff``).


class StaffSession(Base):
    """A signed-in browser: a person (OpenID sign-in) or a shared key's unit. Ended on sign-out,
    account disable, role change and time-outs; an ended session never comes back."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_person_ended", "person", "ended_at"),)

    #: SHA-256 (hex) of the token in the cookie: a copy of this table signs nobody in.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The person's ``sub`` at the provider; None for a shared key's session.
    person: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: The unit (access.yaml principal id) a key's session acts as, or the person's unit at sign-in.
    principal_id: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    #: A person's validated claims at sign-in (sub, name, groups): their role is worked out from them.
    claims: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: signed_out, idle, expired, disabled, role_changed, ended_by_administrator
    ended_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)


class StaffAccount(Base):
    """A person an administrator has disabled (or enabled again): they cannot sign in while disabled."""

    __tablename__ = "staff_accounts"

    person: Mapped[str] = mapped_column(String(200), primary_key=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LinkAccount(Base):
    """A person without a force account (a watch coordinator, a partner organisation's caseworker)
    who signs in by a one-time link sent to their email. Invited by an administrator; disabled and
    enabled again through ``staff_accounts`` (``person`` is their id there), like anyone else."""

    __tablename__ = "link_accounts"

    #: "link:<random hex>": the person's id in sessions, staff_accounts and the audit log.
    person: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: Lower-cased, encrypted at rest like an informant's address.
    email: Mapped[str] = mapped_column(EncryptedText)
    #: The address's keyed digest (``messages.address_digest``): one account per address, found by it.
    email_digest: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: watch_coordinator or organisation_caseworker
    role: Mapped[str] = mapped_column(String(40))
    #: The watch or organisation (access.yaml principal id) they act for.
    principal_id: Mapped[str] = mapped_column(String(200))
    invited_by: Mapped[str] = mapped_column(String(220))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignInLink(Base):
    """A one-time sign-in link sent to a link account's email: only the token's SHA-256 is kept.
    Used once (a conditional UPDATE sets ``used_at``) and only before ``expires_at``."""

    __tablename__ = "sign_in_links"
    __table_args__ = (Index("ix_sign_in_links_person", "person"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """The audit log (Data Protection Act 2018 s.62): who collected, altered, consulted, disclosed,
    combined or erased personal data, when, from where, and why. Append-only: nothing updates or
    deletes a row, and each row's ``hash`` covers its fields and the previous row's hash, so a
    changed, removed or inserted row breaks the chain (``python -m services.audit verify``)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_reference", "reference"),
        Index("ix_audit_log_actor_at", "actor", "at"),
        Index("ix_audit_log_at", "at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: collection, alteration, consultation, disclosure, combination, erasure
    action: Mapped[str] = mapped_column(String(20))
    #: What was done or seen, e.g. "report_item", "contact_details", "record_action".
    what: Mapped[str] = mapped_column(String(60))
    reference: Mapped[str | None] = mapped_column(String(20), nullable=True)
    #: "person:<sub>", "key:<unit>", "public" or a service's name.
    actor: Mapped[str] = mapped_column(String(220))
    actor_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: The team, watch or organisation the actor acted for.
    unit: Mapped[str | None] = mapped_column(String(200), nullable=True)
    role: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: The client address the request came from.
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    justification: Mapped[str | None] = mapped_column(Text, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The audit log's one-row head: the last entry's ``seq`` and ``hash``, moved in the same
    transaction as every append (under the row's lock, ``SELECT ... FOR UPDATE``). The chain alone
    cannot show entries cut off its end; the head can (``services.audit.verify``)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    #: The last entry removed from the log's start by retention (0 and the genesis hash: none), so
    #: the chain verifies from the first entry kept, and removing one more is still seen.
    tail_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tail_hash: Mapped[str] = mapped_column(String(64), default="0" * 64, server_default="0" * 64)


class ApiKeyUse(Base):
    """When each API key (a principal of access.yaml) was last used: administrators list keys with
    it (``python -m services.intake keys``) to find the ones no client uses any more. Written at
    most once a minute per key and process."""

    __tablename__ = "api_key_uses"

    principal_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DashboardMonth(Base):
    """The public dashboard's figures for one area in one month (``services.store.dashboard``):
    recomputed from the tables above when what they count changes; the page reads only these."""

    __tablename__ = "dashboard_monthly"

    area: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: The UK calendar month, ``YYYY-MM``.
    month: Mapped[str] = mapped_column(String(7), primary_key=True, index=True)
    received: Mapped[int] = mapped_column(Integer)
    contactable: Mapped[int] = mapped_column(Integer)
    acknowledged: Mapped[int] = mapped_column(Integer)
    ack_waiting: Mapped[int] = mapped_column(Integer)
    heard_we_did: Mapped[int] = mapped_column(Integer)
    median_ack_minutes: Mapped[float | None] = mapped_column(Float, nullable=True)
    median_action_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcomes: Mapped[dict[str, Any]] = mapped_column(JSON)
    satisfaction_sum: Mapped[int] = mapped_column(Integer)
    satisfaction_count: Mapped[int] = mapped_column(Integer)
    informed_yes: Mapped[int] = mapped_column(Integer)
    informed_answers: Mapped[int] = mapped_column(Integer)
    categories: Mapped[dict[str, Any]] = mapped_column(JSON)
    we_did: Mapped[list[Any]] = mapped_column(JSON)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PublicationState(StrEnum):
    """Where a publication is in its life: drafted by one person, approved by another (a
    supervisor, never its author), or withdrawn. Only an approved one is public."""

    DRAFT = "draft"
    APPROVED = "approved"
    WITHDRAWN = "withdrawn"


class Publication(Base):
    """A "you said, we did" for a neighbourhood, in the shape forces publish to police.uk as
    neighbourhood priorities (``issue``, ``issue-date``, ``action``, ``action-date``): written by a
    team member, shown to the public only once a supervisor other than its author approved it
    (``services.store.publications``). The public read the author's unit and role, never who."""

    __tablename__ = "publications"
    __table_args__ = (
        Index("ix_publications_neighbourhood_state", "neighbourhood", "state", "action_date"),
        CheckConstraint("state IN ('draft', 'approved', 'withdrawn')", name="ck_publications_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The neighbourhood's area id (areas.geojson).
    neighbourhood: Mapped[str] = mapped_column(String(100))
    issue: Mapped[str] = mapped_column(Text)
    issue_date: Mapped[date] = mapped_column(Date)
    action: Mapped[str] = mapped_column(Text)
    action_date: Mapped[date] = mapped_column(Date)
    #: A ``PublicationState``.
    state: Mapped[str] = mapped_column(String(20))
    #: Who wrote it ("person:<sub>" or "key:<unit>"), for whom (the unit's id and name) and as what role.
    drafted_by: Mapped[str] = mapped_column(String(220))
    unit: Mapped[str] = mapped_column(String(200))
    unit_name: Mapped[str] = mapped_column(String(200))
    author_role: Mapped[str] = mapped_column(String(40))
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(220), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(220), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
