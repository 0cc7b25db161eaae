"""API keys and what they allow. Keys are compared by SHA-256 digest in constant time."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum
from pathlib import Path

from pydantic import Field

from services.common.config_files import ConfigModel, load_yaml


class PrincipalKind(StrEnum):
    ORGANISATION = "organisation"
    TEAM = "team"
    #: A watch scheme's coordinators; the principal id is the watch id in watches.yaml.
    WATCH = "watch"


class Principal(ConfigModel):
    kind: PrincipalKind
    name: str = Field(min_length=1)
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    #: "routed": act only on reports routed to this principal; "all": any report.
    scope: str = Field(default="routed", pattern=r"^(routed|all)$")


class AccessConfig(ConfigModel):
    version: int
    principals: dict[str, Principal]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Access:
    def __init__(self, config: AccessConfig) -> None:
        self._config = config

    @classmethod
    def from_file(cls, path: Path) -> Access:
        return cls(load_yaml(path, AccessConfig))

    def authenticate(self, key: str | None) -> tuple[str, Principal] | None:
        if not key:
            return None
        digest = hash_key(key)
        found = None
        for principal_id, principal in self._config.principals.items():
            if hmac.compare_digest(digest.encode(), principal.key_sha256.encode()):
                found = (principal_id, principal)
        return found

    def principal(self, principal_id: str) -> Principal | None:
        """A principal by id (a signed-in page session names its principal by id)."""
        return self._config.principals.get(principal_id)
