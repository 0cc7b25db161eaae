"""Every table of the store, in one metadata (``Base.metadata``): what Alembic compares the
migrations against. Every write is keyed so a redelivered event changes nothing. Who writes and
who reads each table is mapped in the package docstring (``services/store/__init__.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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
from sqlalchemy import false as sa_false
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
    """One report, as routed. ``contact`` holds the full event (police-only)."""

    __tablename__ = "reports"

    reference: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Encrypted at rest (services/store/crypto.py).
    contact: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    status: Mapped[str] = mapped_column(String(20), default="open")
    #: The router found it sensitive (by its category or its words): every message about it follows
    #: the safety rules, not only the acknowledgement.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class RoutingDecision(Base):
    __tablename__ = "routing_decisions"

    reference: Mapped[str] = mapped_column(ForeignKey("reports.reference"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    destinations: Mapped[list[Any]] = mapped_column(JSON)
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    rules_version: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Action(Base):
    """A "we did" update recorded by a team or coordinator."""

    __tablename__ = "actions"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(ForeignKey("reports.reference"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(200))
    public_text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)
    outcome_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


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
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
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


class SurveyAnswer(Base):
    """An informant's answer to the satisfaction survey sent after closure."""

    __tablename__ = "survey_answers"

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
