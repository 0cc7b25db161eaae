"""Every topic the system uses, its model, its partition count and whether it carries personal
data: the one map services share. Topics that carry personal data get the retention of
``TOPIC_RETENTION_DAYS`` (``infra.topics``)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from schemas.events import (
    CaseUpdate,
    DeadLetter,
    DeliveryStatus,
    FeedbackMessage,
    InboundMessage,
    PreferenceChange,
    PublicContact,
    RoutedItem,
    ThirdPartyContact,
    WatchItem,
)


@dataclass(frozen=True)
class Topic:
    name: str
    model: type[BaseModel]
    partitions: int
    description: str
    #: Names, addresses, free text, or identifiers that lead to them (an address digest, a
    #: provider's message id): the broker keeps it only ``TOPIC_RETENTION_DAYS``.
    personal_data: bool = True


CONTACTS_PUBLIC = Topic("contacts.public", PublicContact, 4, "Reports from members of the public")
CONTACTS_THIRD_PARTY = Topic(
    "contacts.third-party", ThirdPartyContact, 4, "Reports from organisations on someone's behalf"
)
REPORTS_ROUTED = Topic("reports.routed", RoutedItem, 4, "Reports with their routing decision (police-only)")
WATCH_ITEMS = Topic(
    "watch.items", WatchItem, 4, "Redacted items for watch coordinators, keyed by watch id"
)
CASES_UPDATES = Topic("cases.updates", CaseUpdate, 4, "What teams and coordinators did")
FEEDBACK_MESSAGES = Topic("feedback.messages", FeedbackMessage, 4, "Every message sent to an informant")
FEEDBACK_DELIVERY = Topic("feedback.delivery-status", DeliveryStatus, 4, "Provider delivery callbacks")
FEEDBACK_INBOUND = Topic("feedback.inbound", InboundMessage, 4, "Replies to our messages by SMS or email")
FEEDBACK_PREFERENCES = Topic("feedback.preferences", PreferenceChange, 4, "Opt-outs and opt-ins by channel")
ROUTER_DEAD_LETTERS = Topic("router.dead-letters", DeadLetter, 1, "Messages the router could not process")
FEEDBACK_DEAD_LETTERS = Topic(
    "feedback.dead-letters", DeadLetter, 1, "Messages the feedback worker could not process"
)

TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        CONTACTS_PUBLIC,
        CONTACTS_THIRD_PARTY,
        REPORTS_ROUTED,
        WATCH_ITEMS,
        CASES_UPDATES,
        FEEDBACK_MESSAGES,
        FEEDBACK_DELIVERY,
        FEEDBACK_INBOUND,
        FEEDBACK_PREFERENCES,
        ROUTER_DEAD_LETTERS,
        FEEDBACK_DEAD_LETTERS,
    )
}


def model_for(topic_name: str) -> type[BaseModel]:
    """The model of the events on a topic; KeyError names an unknown topic."""
    return TOPICS[topic_name].model
