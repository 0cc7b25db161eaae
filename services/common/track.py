"""The secret that lets an informant open their report's track page, derived, never stored:
HMAC-SHA256(TRACK_SECRET, reference), truncated. The intake checks it; the feedback worker puts
the link in the acknowledgement: the message is stored with ``SECRET_SLOT`` where the secret goes
(``track_link``), and the secret filled in only as it is handed to the provider
(``fill_track_secret``), so the store holds no key to anyone's report."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

#: 16 base-16 characters: 64 bits, short enough for an SMS, far too many to guess.
LENGTH = 16
#: Where a stored message's track secret goes: as long as the secret (an SMS's length is counted
#: on what is stored) and of characters every channel keeps as they are.
SECRET_SLOT = "TRACKSECRETSLOT0"
assert len(SECRET_SLOT) == LENGTH


def track_secret(secret: str, reference: str) -> str:
    return hmac.new(secret.encode(), f"track:{reference}".encode(), hashlib.sha256).hexdigest()[:LENGTH]


def check_track_secret(secret: str, reference: str, given: str | None) -> bool:
    # Bytes, not str: compare_digest refuses a str with a non-ASCII character (TypeError), and
    # such a secret is simply a wrong one.
    return bool(given) and hmac.compare_digest(track_secret(secret, reference).encode(),
                                               (given or "").strip().lower().encode())


def track_url(base_url: str, secret: str, reference: str) -> str:
    return f"{base_url.rstrip('/')}/track/{quote(reference)}?secret={track_secret(secret, reference)}"


def track_link(base_url: str, reference: str) -> str:
    """The track link as a message is stored: ``SECRET_SLOT`` in place of the secret."""
    return f"{base_url.rstrip('/')}/track/{quote(reference)}?secret={SECRET_SLOT}"


def fill_track_secret(secret: str, reference: str, text: str) -> str:
    """``text`` with the secret of ``reference``'s track link in place of ``SECRET_SLOT``."""
    return text.replace(SECRET_SLOT, track_secret(secret, reference)) if SECRET_SLOT in text else text
