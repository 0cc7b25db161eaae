"""Replies to our messages: STOP and START, an answer to a survey, or new information about
the report, which is routed like any other contact and linked to the report it answers.
What a reply means is decided by ``policy.keyword``, ``policy.is_survey_answer`` and
``policy.survey_answers``."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from schemas import InboundMessage, Location, PublicContact, ReportDetails, ThirdPartyContact
from schemas.events import CONTACT, reference_from_key
from services.common.logging import get_logger
from services.common.sql import Store
from services.common.streams import PermanentFailure
from services.feedback import policy
from services.store import messages as store
from services.store import repository

log = get_logger(__name__)

PublishContact = Callable[[PublicContact], Awaitable[None]]

#: Whose replies are about a report: the informant, an organisation's case worker, the person
#: reported for. Never a watch coordinator's: what a coordinator writes back is not the
#: informant's new information.
REPLYING_ROLES = ("informant", "reporter", "subject")


class RoutedReport(NamedTuple):
    contact: PublicContact | ThirdPartyContact
    #: The router found it sensitive, by its category or by its words.
    sensitive: bool


async def report_contact(db: Store, reference: str) -> RoutedReport:
    """The contact a routed report came from, and whether the router found it sensitive; a
    permanent failure if there is none."""
    found = await db.run(repository.report_contact, reference)
    if found is None:
        raise PermanentFailure(f"no routed report {reference}")
    contact, sensitive = found
    return RoutedReport(CONTACT.validate_python(contact), sensitive)


class Replies:
    def __init__(self, *, store: Store, publish_contact: PublishContact, rules: policy.DeliveryRules) -> None:
        self._store = store
        self._publish_contact = publish_contact
        self._rules = rules

    async def on_inbound(self, inbound: InboundMessage) -> None:
        """A reply: STOP/START, a survey answer (only a reply that is just an answer), or else
        new information about the report, routed like any contact (so the router reads it for
        danger now). An email not shown to come from the person we wrote to is none of these:
        a new, unattached contact."""
        if not inbound.authenticated:
            await self._new_contact(inbound)
            return
        digest = store.address_digest(inbound.sender)
        channel = inbound.channel.value
        text = policy.reply_text(inbound.body, inbound.channel)
        keyword, word = policy.keyword(text, inbound.opt_out_type)
        if keyword is not None:
            stop = keyword is policy.Keyword.STOP
            # As of the provider's time when it gives one; a replay (the same provider message id,
            # hence the same event id) changes nothing.
            await self._store.run(store.set_opt_out, channel=channel, digest=digest, opted_out=stop,
                                  source=f"{channel} {word}", at=inbound.occurred_at or inbound.emitted_at,
                                  event_id=str(inbound.event_id) if inbound.provider_id else None)
            log.info("opted_out" if stop else "opted_in", channel=channel, source=word)
            return
        if await self._answer_survey(inbound, text, channel, digest):
            return
        last = await self._store.run(store.latest_message_to, channel, digest, None, REPLYING_ROLES)
        if last is None:
            raise PermanentFailure("a reply from an address we have not written to about a report; kept for review")
        await self._attach(inbound, text, last.reference)

    async def _answer_survey(self, inbound: InboundMessage, text: str, channel: str, digest: str) -> bool:
        """Record the answers in a reply to a recent survey; False unless the reply is just an
        answer ("4", "4 Y", "no")."""
        answers = policy.survey_answers(text)
        if not answers:
            return False
        survey = await self._store.run(store.latest_message_to, channel, digest, "survey", REPLYING_ROLES)
        if survey is None or not policy.is_survey_answer(survey.created_at, inbound.emitted_at, self._rules):
            return False
        for question, answer in answers.items():
            await self._store.run(store.record_survey_answer, reference=survey.reference, question=question,
                                  answer=answer, at=inbound.emitted_at)
        if answers:
            log.info("survey_answered", reference=survey.reference, questions=sorted(answers))
        return bool(answers)

    async def _new_contact(self, inbound: InboundMessage) -> None:
        """An email not shown to come from someone we wrote to (no valid reply token, or SPF or
        DKIM not passing): routed as a new, anonymous contact. Never attached to a report, never
        an opt-out or a survey answer, and nothing is sent to the address it claims."""
        contact = PublicContact(
            event_id=uuid.uuid5(inbound.event_id, "unauthenticated"),
            reference=reference_from_key(f"unauthenticated:{inbound.event_id}"),
            report=ReportDetails(category="other",
                                 description=policy.reply_text(inbound.body, inbound.channel)[:5000] or "(empty email)",
                                 location=Location(description="Not given: an email we could not tie to a report")),
            # Received when the email was: the same email, redelivered, is the same contact.
            received_at=inbound.emitted_at,
            emitted_at=inbound.emitted_at,
        )
        await self._publish_contact(contact)
        log.info("unauthenticated_inbound_routed", new_reference=contact.reference, channel=inbound.channel.value)

    async def _attach(self, inbound: InboundMessage, text: str, reference: str) -> None:
        """Route a reply like any other contact, linked to the report it answers."""
        original, _ = await report_contact(self._store, reference)
        informant = original.informant if isinstance(original, PublicContact) else original.reporter
        contact = PublicContact(
            event_id=uuid.uuid5(inbound.event_id, "reply"),
            reference=reference_from_key(f"reply:{inbound.event_id}"),
            report=original.report.model_copy(update={"description": text[:5000] or "(empty reply)",
                                                      "happened_at": None}),
            informant=informant,
            related_reference=reference,
            # Received when the reply was: the same reply, redelivered, is the same contact.
            received_at=inbound.emitted_at,
            emitted_at=inbound.emitted_at,
        )
        await self._publish_contact(contact)
        log.info("reply_attached", reference=reference, new_reference=contact.reference, channel=inbound.channel.value)
