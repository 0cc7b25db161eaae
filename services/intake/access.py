"""API keys and what they allow. Keys are compared by SHA-256 digest in constant time."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import Field

from services.common.config_files import ConfigModel, load_yaml


class PrincipalKind(StrEnum):
    ORGANISATION = "organisation"
    TEAM = "team"
    #: A watch scheme's coordinators; the principal id is the watch id in watches.yaml.
    WATCH = "watch"


class PrincipalEntry(ConfigModel):
    """A principal as access.yaml lists it."""

    kind: PrincipalKind
    name: str = Field(min_length=1)
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    #: "routed": act only on reports routed to this principal; "all": any report.
    scope: str = Field(default="routed", pattern=r"^(routed|all)$")


@dataclass(frozen=True)
class Principal:
    """Who is asking: an organisation, a team or a watch, by its id in access.yaml."""

    id: str
    kind: PrincipalKind
    name: str
    #: "routed": act only on reports routed to this principal; "all": any report.
    scope: str = "routed"

    @classmethod
    def of(cls, principal_id: str, entry: PrincipalEntry) -> Principal:
        return cls(principal_id, entry.kind, entry.name, entry.scope)


class AccessConfig(ConfigModel):
    version: int
    principals: dict[str, PrincipalEntry]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Access:
    def __init__(self, config: AccessConfig) -> None:
        self._config = config

    @classmethod
    def from_file(cls, path: Path) -> Access:
        return cls(load_yaml(path, AccessConfig))

    def authenticate(self, key: str | None) -> Principal | None:
        """Whose key this is; None for a missing or unknown key."""
        if not key:
            return None
        digest = hash_key(key)
        found = None
        for principal_id, entry in self._config.principals.items():
            if hmac.compare_digest(digest.encode(), entry.key_sha256.encode()):
                found = Principal.of(principal_id, entry)
        return found

    def principal(self, principal_id: str) -> Principal | None:
        """A principal by id (a signed-in page session names its principal by id)."""
        entry = self._config.principals.get(principal_id)
        return None if entry is None else Principal.of(principal_id, entry)
