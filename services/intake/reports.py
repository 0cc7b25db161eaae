"""Turning HTTP requests into events. Pure: no I/O."""

from __future__ import annotations

import uuid
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
from schemas.events import FreeText, Model, new_reference, reference_from_key
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
    """What a team did ("we did"), in words the informant will receive."""

    public_text: FreeText
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


def _identity(idempotency_key: str | None, scope: str) -> tuple[uuid.UUID, str]:
    """Event id and reference: random, or derived from the client's idempotency key so that a
    retried request yields the same report."""
    if idempotency_key:
        scoped = f"{scope}:{idempotency_key}"
        return uuid.uuid5(uuid.NAMESPACE_URL, f"mecc:event:{scoped}"), reference_from_key(scoped)
    return uuid.uuid4(), new_reference()


def public_contact(request: PublicReportRequest, idempotency_key: str | None) -> PublicContact:
    event_id, reference = _identity(idempotency_key, "public")
    return PublicContact(
        event_id=event_id,
        reference=reference,
        report=ReportDetails.model_validate(request.model_dump(exclude={"informant"})),
        informant=request.informant,
    )


def third_party_contact(
    request: ThirdPartyReportRequest, organisation_id: str, idempotency_key: str | None
) -> ThirdPartyContact:
    event_id, reference = _identity(idempotency_key, f"org:{organisation_id}")
    return ThirdPartyContact(
        event_id=event_id,
        reference=reference,
        report=ReportDetails.model_validate(
            request.model_dump(exclude={"reporter", "subject", "subject_consents_to_contact"})
        ),
        organisation_id=organisation_id,
        reporter=request.reporter,
        subject=request.subject,
        subject_consents_to_contact=request.subject_consents_to_contact,
    )


def case_update(
    reference: str, request: ActionRequest, actor_id: str, actor_name: str, idempotency_key: str | None
) -> CaseUpdate:
    event_id = (
        uuid.uuid5(uuid.NAMESPACE_URL, f"mecc:action:{actor_id}:{reference}:{idempotency_key}")
        if idempotency_key
        else uuid.uuid4()
    )
    return CaseUpdate(
        event_id=event_id,
        reference=reference,
        kind=request.kind,
        actor_id=actor_id,
        actor_name=actor_name,
        public_text=request.public_text,
        outcome=request.outcome,
        outcome_reason=request.outcome_reason,
    )


def acknowledgement(reference: str, will_hear_back: bool) -> str:
    follow_up = (
        "We will tell you who has it and what they do about it."
        if will_hear_back
        else "You left no contact details, so we cannot send you updates."
    )
    return f"Thank you. Your reference is {reference}. {follow_up} {EMERGENCY}"
