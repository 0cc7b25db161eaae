"""Everything a request handler needs, wired once in ``create_app``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.common.config_files import Categories
from services.common.sql import Store
from services.feedback.policy import QuietHours
from services.intake.access import Access
from services.intake.audit import AuditLog
from services.intake.mailer import Mailer, NoMailer
from services.intake.oidc import OidcClient
from services.intake.publisher import EventPublisher
from services.intake.ratelimit import SignInThrottle, TokenBucket
from services.intake.settings import IntakeSettings


class KeyUses:
    """Which keys' use is due to be written down: each at most once per ``every`` in this process."""

    def __init__(self, every: timedelta = timedelta(minutes=1)) -> None:
        self.every = every
        self._written: dict[str, datetime] = {}

    def due(self, principal_id: str, now: datetime) -> bool:
        last = self._written.get(principal_id)
        if last is not None and timedelta(0) <= now - last < self.every:
            return False
        self._written[principal_id] = now
        return True


@dataclass(frozen=True)
class Context:
    publisher: EventPublisher
    store: Store
    access: Access
    categories: Categories
    settings: IntakeSettings
    #: The audit log of personal data (over ``store``; started and stopped by the app's lifespan).
    audit: AuditLog
    #: Staff sign-in at the organisation's OpenID provider; None when OIDC_ISSUER is unset.
    oidc: OidcClient | None = None
    #: Failed sign-ins per client and per account (create_app sizes it from the settings).
    sign_ins: SignInThrottle = field(default_factory=lambda: SignInThrottle(20, 5, 900.0))
    #: Sends the one-time sign-in links (SendGrid, or the local outbox).
    mailer: Mailer = field(default_factory=NoMailer)
    #: Requests for a sign-in link, per email address and per client address.
    link_requests_by_address: TokenBucket = field(default_factory=lambda: TokenBucket(5.0 / 60, 3))
    link_requests_by_client: TokenBucket = field(default_factory=lambda: TokenBucket(30.0 / 60, 10))
    #: The neighbourhoods "you said, we did" is published for (area id -> name, areas.geojson).
    neighbourhoods: Mapping[str, str] = field(default_factory=dict)
    #: When each API key's use is next written down (``api_key_uses``).
    key_uses: KeyUses = field(default_factory=KeyUses)
    #: The time now; tests hand in their own.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def quiet_hours(self) -> QuietHours:
        """The SMS quiet hours safe times are checked against."""
        return QuietHours(self.settings.sms_quiet_start, self.settings.sms_quiet_end)
