"""What every composition root does first, before it wires anything: the process-wide set-up
that comes from the settings (so every way of starting a service gets it)."""

from __future__ import annotations

from services.common.logging import configure_logging
from services.common.settings import CommonSettings
from services.store import crypto


def configure_process(settings: CommonSettings) -> None:
    """Masked logging at the configured level, and the store's encryption and digest keys."""
    configure_logging(settings.log_level, json=settings.log_json)
    crypto.configure(settings.store_encryption_key)
    crypto.configure_digests(settings.address_digest_key)
