"""Event contracts: the single source of truth for what travels on every Kafka topic.

Services import each other only through this package. ``events`` holds the pydantic models,
``topics`` maps each topic name to its model, ``export`` writes JSON Schema for other languages.
"""

from schemas.events import (
    CaseUpdate,
    CategoryId,
    Channel,
    ContactPreferences,
    DeadLetter,
    DeliveryStatus,
    Destination,
    DestinationKind,
    Event,
    FeedbackMessage,
    Informant,
    Location,
    Outcome,
    PublicContact,
    ReportDetails,
    RoutedItem,
    ThirdPartyContact,
    UpdateKind,
)
from schemas.topics import TOPICS, Topic, model_for

__all__ = [
    "TOPICS",
    "CaseUpdate",
    "CategoryId",
    "Channel",
    "ContactPreferences",
    "DeadLetter",
    "DeliveryStatus",
    "Destination",
    "DestinationKind",
    "Event",
    "FeedbackMessage",
    "Informant",
    "Location",
    "Outcome",
    "PublicContact",
    "ReportDetails",
    "RoutedItem",
    "ThirdPartyContact",
    "Topic",
    "UpdateKind",
    "model_for",
]
