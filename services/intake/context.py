"""Everything a request handler needs, wired once in ``create_app``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.common.config_files import Categories
from services.common.sql import Store
from services.feedback.policy import QuietHours
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
    #: The time now; tests hand in their own.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def quiet_hours(self) -> QuietHours:
        """The SMS quiet hours safe times are checked against."""
        return QuietHours(self.settings.sms_quiet_start, self.settings.sms_quiet_end)
