"""The secret that lets an informant open their report's track page, derived, never stored:
HMAC-SHA256(TRACK_SECRET, reference), truncated. The intake checks it; the feedback worker puts
the link in the acknowledgement."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

#: 16 base-16 characters: 64 bits, short enough for an SMS, far too many to guess.
LENGTH = 16


def track_secret(secret: str, reference: str) -> str:
    return hmac.new(secret.encode(), f"track:{reference}".encode(), hashlib.sha256).hexdigest()[:LENGTH]


def check_track_secret(secret: str, reference: str, given: str | None) -> bool:
    # Bytes, not str: compare_digest refuses a str with a non-ASCII character (TypeError), and
    # such a secret is simply a wrong one.
    return bool(given) and hmac.compare_digest(track_secret(secret, reference).encode(),
                                               (given or "").strip().lower().encode())


def track_url(base_url: str, secret: str, reference: str) -> str:
    return f"{base_url.rstrip('/')}/track/{quote(reference)}?secret={track_secret(secret, reference)}"
