"""Turning HTTP requests into events. Pure: no I/O."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from schemas import (
    CaseUpdate,
    Informant,
    Outcome,
    PublicContact,
    ReportDetails,
    ThirdPartyContact,
    UpdateKind,
)
from schemas.events import ActorKind, FreeText, Model, new_reference, reference_from_key
from services.feedback.policy import QuietHours, window_problem

EMERGENCY = "If anyone is in danger or a crime is happening now, call 999."


#: The earliest ``happened_at`` taken: older is a typo, and a date near year 1 cannot even be
#: shown in UK time (the track page would fail on it).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


class _Report(ReportDetails):
    @field_validator("happened_at")
    @classmethod
    def _not_ancient(cls, value: datetime | None) -> datetime | None:
        if value is not None and (value if value.tzinfo else value.replace(tzinfo=UTC)) < EARLIEST:
            raise ValueError("happened_at must be in 1900 or later")
        return value


class PublicReportRequest(_Report):
    """A report from a member of the public. Leave out ``informant`` to stay anonymous (and get
    no updates)."""

    informant: Informant | None = None


class ThirdPartyReportRequest(_Report):
    """A report an organisation makes on someone's behalf."""

    reporter: Informant
    subject: Informant | None = None
    subject_consents_to_contact: bool = False

    @model_validator(mode="after")
    def _reporter_reachable(self) -> ThirdPartyReportRequest:
        if self.reporter.channel_to_use() is None:
            raise ValueError("reporter needs a phone or email so we can tell you what was done")
        return self


class ActionRequest(Model):
    """What a team did ("we did"), in words the informant will receive; and, optionally, a note
    for the watches the report went to (they never read ``public_text`` of the police)."""

    public_text: FreeText
    watch_note: str | None = Field(default=None, min_length=1, max_length=2000)
    kind: UpdateKind = UpdateKind.ACTION
    outcome: Outcome | None = None
    outcome_reason: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _closure_is_honest(self) -> ActionRequest:
        # What ``CaseUpdate`` requires, checked here so the client hears which field is missing
        # (422) instead of the event refusing it after the request was let through.
        if self.kind is UpdateKind.CLOSURE and self.outcome is None:
            raise _field_error("outcome", "a closure needs an outcome")
        if self.outcome is Outcome.NO_FURTHER_ACTION and not self.outcome_reason:
            raise _field_error("outcome_reason", "no further action needs a reason the informant can read")
        return self


def _field_error(field: str, message: str) -> ValidationError:
    """A validation error located at ``field`` (a model validator's own errors name no field)."""
    return ValidationError.from_exception_data(
        "ActionRequest", [InitErrorDetails(type=PydanticCustomError("value_error", message), loc=(field,), input=None)])


def window_problems(request: PublicReportRequest | ThirdPartyReportRequest, quiet: QuietHours
                    ) -> list[tuple[str, str]]:
    """(field, why) for each person whose safe times can never open on their channel: such a
    report is refused, since nobody could ever be told anything safely. Pure."""
    people = ([("informant", request.informant)] if isinstance(request, PublicReportRequest)
              else [("subject", request.subject)])
    return [(f"{who}.preferences.safe_windows", problem) for who, person in people
            if person is not None and (problem := window_problem(
                person.preferences.safe_windows, person.channel_to_use(), quiet)) is not None]


class Accepted(Model):
    reference: str
    message: str


class ClusterAccepted(Accepted):
    reports: int


@dataclass(frozen=True)
class Identity:
    """A report's event id and reference, chosen by the use case after claiming the reference."""

    event_id: uuid.UUID
    reference: str


def scoped_key(scope: str, idempotency_key: str) -> str:
    """The idempotency key as the caller's own: two callers who both send ``1`` never meet."""
    return f"{scope}\n{idempotency_key}"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def body_digest(request: Model) -> str:
    """The request a key was first used with, as a digest: the same key with another body is refused."""
    return digest(json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":")))


def event_id_for(scoped: str | None) -> uuid.UUID:
    """Random, or derived from the caller-scoped key so that a retried request is one event."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"mecc:event:{scoped}") if scoped else uuid.uuid4()


def reference_candidates(scoped: str | None) -> Callable[[int], str]:
    """The references to try, in order: derived from the scoped key, or random."""
    if scoped:
        return lambda attempt: reference_from_key(scoped, attempt)
    return lambda _attempt: new_reference()


def public_contact(request: PublicReportRequest, identity: Identity | None, *, at: datetime) -> PublicContact:
    """The event for a report received ``at`` (the intake's clock); ``identity`` as claimed by the
    use case (random if none)."""
    identity = identity or Identity(uuid.uuid4(), new_reference())
    return PublicContact(
        event_id=identity.event_id,
        emitted_at=at,
        received_at=at,
        reference=identity.reference,
        report=ReportDetails.model_validate(request.model_dump(exclude={"informant"})),
        informant=request.informant,
    )


def third_party_contact(
    request: ThirdPartyReportRequest, organisation_id: str, identity: Identity | None, *, at: datetime
) -> ThirdPartyContact:
    identity = identity or Identity(uuid.uuid4(), new_reference())
    return ThirdPartyContact(
        event_id=identity.event_id,
        emitted_at=at,
        received_at=at,
        reference=identity.reference,
        report=ReportDetails.model_validate(
            request.model_dump(exclude={"reporter", "subject", "subject_consents_to_contact"})
        ),
        organisation_id=organisation_id,
        reporter=request.reporter,
        subject=request.subject,
        subject_consents_to_contact=request.subject_consents_to_contact,
    )


def case_update(
    reference: str, request: ActionRequest, actor_id: str, actor_name: str, idempotency_key: str | None,
    actor_kind: ActorKind | None = None, *, at: datetime,
) -> CaseUpdate:
    event_id = (
        uuid.uuid5(uuid.NAMESPACE_URL, f"mecc:action:{actor_id}:{reference}:{idempotency_key}")
        if idempotency_key
        else uuid.uuid4()
    )
    return CaseUpdate(
        event_id=event_id,
        emitted_at=at,
        reference=reference,
        kind=request.kind,
        actor_id=actor_id,
        actor_name=actor_name,
        actor_kind=actor_kind,
        public_text=request.public_text,
        outcome=request.outcome,
        outcome_reason=request.outcome_reason,
        watch_note=request.watch_note,
    )


def acknowledgement(reference: str, will_hear_back: bool) -> str:
    follow_up = (
        "We will tell you who has it and what they do about it."
        if will_hear_back
        else "You left no contact details, so we cannot send you updates."
    )
    return f"Thank you. Your reference is {reference}. {follow_up} {EMERGENCY}"
