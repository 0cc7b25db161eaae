"""Keyset pagination over lists ordered newest first by (received_at, reference): a page ends at
a cursor, and the next page is everything strictly before it, read from the same index range
however deep the page (no OFFSET)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last item's (received_at, reference). Lists run newest first, and
    the next page is everything strictly before it in that order (keyset pagination)."""

    received_at: datetime
    reference: str

    def token(self) -> str:
        raw = f"{self.received_at.astimezone(UTC).isoformat()}|{self.reference}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        """The cursor a ``token`` names; None for none. A token that is not one raises ValueError."""
        if not token:
            return None
        try:
            at, _, reference = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().partition("|")
            when = datetime.fromisoformat(at)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError("not a page cursor") from exc
        if not reference or when.tzinfo is None:
            raise ValueError("not a page cursor")
        return cls(when, reference)
