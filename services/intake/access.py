"""Who may ask: API keys (compared by SHA-256 digest in constant time) and staff signed in through
the organisation's OpenID provider, whose groups map to the product's roles (``oidc:`` in access.yaml)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field

from services.common.config_files import ConfigModel, load_yaml


class PrincipalKind(StrEnum):
    ORGANISATION = "organisation"
    TEAM = "team"
    #: A watch scheme's coordinators; the principal id is the watch id in watches.yaml.
    WATCH = "watch"


class Permission(StrEnum):
    """What one may do; ``services.intake.permissions.TABLE`` says which role may."""

    #: Report on someone's behalf (third-party reports).
    SUBMIT_FOR_OTHERS = "submit_for_others"
    #: See the inbox and open the items routed to one's unit (a watch's are redacted).
    VIEW_ITEMS = "view_items"
    #: Record what was done ("we did") on an item routed to one's unit.
    RECORD_ACTION = "record_action"
    #: Close a report with an outcome.
    CLOSE_REPORT = "close_report"
    #: One "we did" to every informant of a cluster: the police's to send, never a watch's.
    TELL_CLUSTER = "tell_cluster"
    #: List one's own watch's items through the API.
    LIST_WATCH_ITEMS = "list_watch_items"
    #: Read the audit log (supervisors: their units' reports; administrators: all).
    READ_AUDIT = "read_audit"
    #: End people's sessions, disable accounts.
    MANAGE_ACCESS = "manage_access"
    #: Draft a "you said, we did" for a neighbourhood (not public until approved).
    DRAFT_PUBLICATION = "draft_publication"
    #: Approve someone else's draft for the public pages, or withdraw a publication (a named supervisor).
    APPROVE_PUBLICATION = "approve_publication"



class Role(StrEnum):
    """What a person (or a machine client) may do: ``services.intake.permissions`` has the one table."""

    TEAM_MEMBER = "team_member"
    SUPERVISOR = "supervisor"
    WATCH_COORDINATOR = "watch_coordinator"
    ORGANISATION_CASEWORKER = "organisation_caseworker"
    ADMINISTRATOR = "administrator"


#: The kind of unit each role works for (an administrator works for none).
ROLE_KIND: dict[Role, PrincipalKind | None] = {
    Role.TEAM_MEMBER: PrincipalKind.TEAM,
    Role.SUPERVISOR: PrincipalKind.TEAM,
    Role.WATCH_COORDINATOR: PrincipalKind.WATCH,
    Role.ORGANISATION_CASEWORKER: PrincipalKind.ORGANISATION,
    Role.ADMINISTRATOR: None,
}

#: The roles a person without a force account (signed in by an email link) may be given.
LINK_ROLES: tuple[Role, ...] = (Role.WATCH_COORDINATOR, Role.ORGANISATION_CASEWORKER)

#: An API key (a machine client, or a team's shared key) acts with the role of its kind: a team's
#: key may close reports, as it always could.
KEY_ROLE: dict[PrincipalKind, Role] = {
    PrincipalKind.TEAM: Role.SUPERVISOR,
    PrincipalKind.WATCH: Role.WATCH_COORDINATOR,
    PrincipalKind.ORGANISATION: Role.ORGANISATION_CASEWORKER,
}


class PrincipalEntry(ConfigModel):
    """A principal as access.yaml lists it."""

    kind: PrincipalKind
    name: str = Field(min_length=1)
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    #: "routed": act only on reports routed to this principal; "all": any report.
    scope: str = Field(default="routed", pattern=r"^(routed|all)$")
    #: A machine key may be narrowed to some of its role's permissions (unset: all of them).
    scopes: list[Permission] | None = None
    #: The last day (UTC) the key works; unset: no end (development keys only, by convention).
    expires: date | None = None
    #: A revoked key is refused at once (kept in the file so that its digest is not reused).
    revoked: bool = False

    def usable(self, today: date) -> bool:
        return not self.revoked and (self.expires is None or today <= self.expires)


@dataclass(frozen=True)
class Principal:
    """Who is asking: the unit (an organisation, a team or a watch, by its id in access.yaml) and,
    for a signed-in person, who they are and their role. Informants only ever see the unit's name."""

    id: str
    kind: PrincipalKind
    name: str
    #: "routed": act only on reports routed to this principal; "all": any report.
    scope: str = "routed"
    role: Role | None = None
    #: The signed-in person's stable identifier at the provider (``sub``); None for an API key.
    person: str | None = None
    person_name: str | None = None
    #: A machine key's scopes (None: its role's whole row).
    scopes: frozenset[Permission] | None = None

    def __post_init__(self) -> None:
        if self.role is None:
            object.__setattr__(self, "role", KEY_ROLE[self.kind])

    @classmethod
    def of(cls, principal_id: str, entry: PrincipalEntry) -> Principal:
        scopes = None if entry.scopes is None else frozenset(entry.scopes)
        return cls(principal_id, entry.kind, entry.name, entry.scope, scopes=scopes)

    @property
    def actor(self) -> str:
        """Who did it, for the record: the person if one is signed in, else the key's unit."""
        return f"person:{self.person}" if self.person else f"key:{self.id}"


class OidcConfig(ConfigModel):
    """How the provider's claims map to roles and units."""

    #: The ID-token claim that lists the person's groups.
    groups_claim: str = "groups"
    #: Group name -> role. A person in several role groups gets the most senior (administrator,
    #: supervisor, team member, watch coordinator, organisation caseworker, in that order).
    roles: dict[str, Role] = Field(default_factory=dict)
    #: A group ``<prefix><principal id>`` names the unit (team, watch, organisation) the person works for.
    unit_group_prefix: str = "mecc-unit:"


class AccessConfig(ConfigModel):
    version: int
    principals: dict[str, PrincipalEntry]
    oidc: OidcConfig = Field(default_factory=OidcConfig)


#: Administrators first: a person in several role groups gets the most senior.
_SENIORITY = (Role.ADMINISTRATOR, Role.SUPERVISOR, Role.TEAM_MEMBER, Role.WATCH_COORDINATOR,
              Role.ORGANISATION_CASEWORKER)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


#: The local keys whose clear text is in the README: refused on a public deployment.
DEVELOPMENT_KEYS = ("dev-org-stop-hate", "dev-team-kempston", "dev-team-roads", "dev-team-contact-centre",
                    "dev-watch-kempston-speed", "dev-watch-kempston-south", "dev-watch-cauldwell",
                    "dev-watch-countryside")
DEVELOPMENT_KEY_DIGESTS = frozenset(hash_key(k) for k in DEVELOPMENT_KEYS)


def new_key() -> str:
    """A new machine key: 256 random bits (shown once; only its digest is kept)."""
    return "mecc_" + secrets.token_urlsafe(32)


class Access:
    def __init__(self, config: AccessConfig) -> None:
        self._config = config

    @classmethod
    def from_file(cls, path: Path) -> Access:
        return cls(load_yaml(path, AccessConfig))

    def authenticate(self, key: str | None, *, today: date) -> Principal | None:
        """Whose key this is on ``today`` (the caller's clock); None for a missing, unknown, expired or
        revoked key."""
        if not key:
            return None
        digest = hash_key(key)
        found = None
        for principal_id, entry in self._config.principals.items():
            if hmac.compare_digest(digest.encode(), entry.key_sha256.encode()) and entry.usable(today):
                found = Principal.of(principal_id, entry)
        return found

    @property
    def principals(self) -> Mapping[str, PrincipalEntry]:
        """Every principal with an API key, by id, as access.yaml lists it."""
        return self._config.principals

    def development_keys(self) -> list[str]:
        """Principals whose key is one of the published development keys (README)."""
        return [pid for pid, entry in self._config.principals.items()
                if entry.key_sha256 in DEVELOPMENT_KEY_DIGESTS and not entry.revoked]

    @property
    def groups_claim(self) -> str:
        return self._config.oidc.groups_claim

    def staff(self, claims: Mapping[str, Any]) -> Principal | None:
        """The principal a person signed in at the provider acts as, from their validated ID-token
        claims; None if their groups give them no role here, or no unit of their role's kind."""
        person = claims.get("sub")
        groups = claims.get(self._config.oidc.groups_claim) or []
        if not isinstance(person, str) or not person or not isinstance(groups, list):
            return None
        groups = [g for g in groups if isinstance(g, str)]
        held = {self._config.oidc.roles[g] for g in groups if g in self._config.oidc.roles}
        role = next((r for r in _SENIORITY if r in held), None)
        if role is None:
            return None
        name = claims.get("name") if isinstance(claims.get("name"), str) else None
        if role is Role.ADMINISTRATOR:
            return Principal(f"administrator:{person}", PrincipalKind.TEAM, "Administrator", "all", role,
                             person, name)
        prefix = self._config.oidc.unit_group_prefix
        units = [g[len(prefix):] for g in groups if g.startswith(prefix)]
        for unit in units:
            entry = self._config.principals.get(unit)
            if entry is not None and entry.kind is ROLE_KIND[role]:
                return Principal(unit, entry.kind, entry.name, entry.scope, role, person, name)
        return None

    def units(self, kind: PrincipalKind) -> list[tuple[str, str]]:
        """(id, name) of every unit of ``kind`` whose key is not revoked, by name."""
        return sorted(((pid, e.name) for pid, e in self._config.principals.items() if e.kind is kind and not e.revoked),
                      key=lambda unit: unit[1])

    def link_person(self, person: str, name: str | None, role: str, principal_id: str) -> Principal | None:
        """The principal a person signed in by an email link acts as: their role for their unit, if
        both still are what the role needs (None otherwise)."""
        try:
            role_ = Role(role)
        except ValueError:
            return None
        entry = self._config.principals.get(principal_id)
        if role_ not in LINK_ROLES or entry is None or entry.revoked or entry.kind is not ROLE_KIND[role_]:
            return None
        return Principal(principal_id, entry.kind, entry.name, entry.scope, role_, person, name)

    def principal(self, principal_id: str) -> Principal | None:
        """A principal by id (a signed-in page session names its principal by id)."""
        entry = self._config.principals.get(principal_id)
        return None if entry is None else Principal.of(principal_id, entry)
