"""One-click unsubscribe tokens for email (RFC 8058). The token names the address only by its
digest and is signed, so a link can neither be forged nor reveal whose it is."""

from __future__ import annotations

import hashlib
import hmac
import re

_TOKEN = re.compile(r"^([0-9a-f]{64})\.([0-9a-f]{32})$")


def _signature(secret: str, digest: str) -> str:
    return hmac.new(secret.encode(), f"email-unsubscribe:{digest}".encode(), hashlib.sha256).hexdigest()[:32]


def make_token(secret: str, address_digest: str) -> str:
    return f"{address_digest}.{_signature(secret, address_digest)}"


def read_token(secret: str, token: str) -> str | None:
    """The address digest a token stands for, or None if it is not one of ours."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    digest, signature = match.groups()
    return digest if hmac.compare_digest(signature.encode(), _signature(secret, digest).encode()) else None
