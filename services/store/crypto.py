"""Personal data encrypted at rest: ``reports.contact`` (the informant's identity and contact
details) and ``messages.recipient`` are Fernet tokens in the database, and plain values to the
code that reads and writes them (SQLAlchemy type decorators), so repository code is unchanged.

The keys are the ``store_encryption_key`` setting (``STORE_ENCRYPTION_KEY``: ``Fernet.generate_key()``;
several keys separated by commas rotate: the first encrypts, all decrypt), handed in by each
service's composition root with ``configure(keys)``. Unset or empty, a fixed development key is
used and a warning logged: fine for a laptop, never for real data (the settings refuse it, by
absence or by value, when ``PUBLIC_BASE_URL`` is not on this machine). ``python -m services.keys
rotate`` re-encrypts every value under the first key once a new key is put in front. Rows written before encryption
(plain JSON, plain text) are still read.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

DEV_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"mecc local development only").digest())
TOKEN_PREFIX = "gAAAA"


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in key_list(keys)])


_keys = ""


def key_list(keys: str) -> list[str]:
    return [k.strip() for k in keys.split(",") if k.strip()]


def check_keys(keys: str) -> None:
    """Raise ValueError (naming no key) unless every one of ``keys`` is a Fernet key."""
    for number, key in enumerate(key_list(keys), start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ValueError(f"key {number} is not a Fernet key (32 url-safe base64-encoded bytes: "
                             "Fernet.generate_key())") from None


def is_development_key(keys: str, *, retiring: bool = False, development: str = DEV_KEY.decode()) -> bool:
    """True when ``keys`` is empty (the development key is used) or holds the ``development`` key
    (only behind the first key, to read what it wrote, when ``retiring``)."""
    found = key_list(keys)
    if not found or found[0] == development:
        return True
    return not retiring and development in found


# Address digests: what opt-outs and replies are matched on, an HMAC of the address under the
# ``address_digest_key`` setting (``ADDRESS_DIGEST_KEY``: a long random string; several separated
# by commas: the first digests, all match), so that nobody holding the table can enumerate phone
# numbers into it. Unset: a development key, as for encryption.

#: The development digest key (in the source: never for real data).
DEV_DIGEST_KEY = "mecc-local-development-only-address-digests"
#: The shortest digest key accepted.
DIGEST_KEY_MIN_LENGTH = 32

_digest_keys = ""


def configure_digests(keys: str) -> None:
    """Digest addresses under ``keys`` (comma-separated, the first digests) from now on in this process."""
    global _digest_keys
    _digest_keys = keys


def check_digest_keys(keys: str) -> None:
    """Raise ValueError (naming no key) unless every one of ``keys`` is long enough."""
    for number, key in enumerate(key_list(keys), start=1):
        if len(key) < DIGEST_KEY_MIN_LENGTH:
            raise ValueError(f"key {number} is shorter than {DIGEST_KEY_MIN_LENGTH} characters")


def digest_keys() -> list[str]:
    """The configured digest keys, the first in use (the development key when none is set)."""
    keys = key_list(_digest_keys)
    if keys:
        return keys
    if not getattr(digest_keys, "_warned", False):
        from services.common.logging import get_logger

        get_logger(__name__).warning("address_digest_development_key",
                                     detail="ADDRESS_DIGEST_KEY is not set: the development key is used")
        digest_keys._warned = True  # type: ignore[attr-defined]
    return [DEV_DIGEST_KEY]


def configured() -> tuple[str, str]:
    """The encryption and digest keys this process was configured with ("" for none)."""
    return _keys, _digest_keys


def configure(keys: str) -> None:
    """Use ``keys`` (comma-separated Fernet keys, the first encrypts) from now on in this process."""
    global _keys
    _keys = keys


def cipher() -> MultiFernet:
    keys = _keys
    if not keys.strip():
        if not getattr(cipher, "_warned", False):
            from services.common.logging import get_logger

            get_logger(__name__).warning("store_encryption_development_key",
                                         detail="STORE_ENCRYPTION_KEY is not set: the development key is used")
            cipher._warned = True  # type: ignore[attr-defined]
        keys = DEV_KEY.decode()
    return _fernet(keys)


def under_first_key(token: str) -> bool:
    """Whether ``token`` is already encrypted under the first configured key (rotation leaves it be)."""
    first = key_list(_keys)[:1] if _keys.strip() else [DEV_KEY.decode()]
    try:
        Fernet(first[0].encode()).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def encrypt(text: str) -> str:
    return cipher().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    return cipher().decrypt(token.encode()).decode()


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value stored as a JSON string holding its Fernet token (the column stays JSON)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else encrypt(json.dumps(value, separators=(",", ":")))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and value.startswith(TOKEN_PREFIX):
            return json.loads(decrypt(value))
        return value  # written before encryption


class EncryptedText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return value if not value else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value and value.startswith(TOKEN_PREFIX):
            return decrypt(value)
        return value
