"""Everything a request handler needs, wired once in ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.config_files import Categories
from services.common.sql import Store
from services.intake.access import Access
from services.intake.publisher import EventPublisher
from services.intake.settings import IntakeSettings


@dataclass(frozen=True)
class Context:
    publisher: EventPublisher
    store: Store
    access: Access
    categories: Categories
    settings: IntakeSettings
