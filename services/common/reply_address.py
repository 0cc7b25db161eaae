"""Per-message reply addresses for email: ``reply+<token>@<inbound domain>``.

Each email we send carries, as its Reply-To, an address whose token is bound to that message
(a digest of its key) and to the address it was sent to (an HMAC over both with the shared
secret). An inbound email counts as that person's reply only if it came to such an address, its
token is valid for the sender's address, and SPF and DKIM passed for the sender (so the sender's
address is not forged): ``authenticated``. Anything else is a new contact from someone unknown.
The secret is the one that signs unsubscribe links, used under a label of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re

#: ``reply+`` then 16 hex characters of the message key's digest and 32 of the signature.
_ADDRESS = re.compile(r"reply\+([0-9a-f]{16})([0-9a-f]{32})@([a-z0-9.-]+)", re.IGNORECASE)


def _signature(secret: str, key_digest: str, address_digest: str) -> str:
    text = f"email-reply:{key_digest}:{address_digest}".encode()
    return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()[:32]


def reply_address(secret: str, domain: str, message_key: str, address_digest: str) -> str:
    """The Reply-To of the message ``message_key`` sent to the address of ``address_digest``."""
    key_digest = hashlib.sha256(message_key.encode()).hexdigest()[:16]
    return f"reply+{key_digest}{_signature(secret, key_digest, address_digest)}@{domain}"


def recipients(to: str, envelope: str) -> list[str]:
    """Every address an inbound email was sent to: the envelope's (what the MX received) and the
    ``To`` header's."""
    found = []
    try:
        parsed = json.loads(envelope) if envelope else {}
        to_list = parsed.get("to") if isinstance(parsed, dict) else None
        if isinstance(to_list, list):
            found += [str(a) for a in to_list]
    except ValueError:
        pass
    return [*found, to]


def has_valid_token(secret: str, domain: str | None, addresses: list[str], sender_digest: str) -> bool:
    """Was the email sent to a reply address we gave out, for a message to this sender?"""
    if not domain:
        return False
    for text in addresses:
        for key_digest, signature, at in _ADDRESS.findall(text):
            if at.lower() != domain.lower():
                continue
            expected = _signature(secret, key_digest.lower(), sender_digest)
            if hmac.compare_digest(signature.lower().encode(), expected.encode()):
                return True
    return False


def spf_and_dkim_pass(spf: str, dkim: str, sender: str) -> bool:
    """SendGrid Inbound Parse's verdicts: ``SPF`` is ``pass``, and ``dkim`` (e.g.
    ``{@example.org : pass}``) has a pass for the sender's own domain."""
    if spf.strip().lower() != "pass":
        return False
    domain = sender.rsplit("@", 1)[-1].lower()
    verdicts = re.findall(r"@([a-z0-9.-]+)\s*:\s*([a-z]+)", dkim.lower())
    return any(d == domain and v == "pass" for d, v in verdicts)
