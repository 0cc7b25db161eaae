"""Routing decisions: pure functions from a contact and the config to destinations and the
reasons for them. No I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from schemas import Destination, DestinationKind, PublicContact, RoutedItem, ThirdPartyContact
from services.router.config import RoutingConfig


@dataclass(frozen=True)
class Decision:
    destinations: tuple[Destination, ...]
    reasons: tuple[str, ...]
    sensitive: bool


def decide(contact: PublicContact | ThirdPartyContact, config: RoutingConfig) -> Decision:
    category = contact.report.category
    sensitive = config.categories.is_sensitive(category)
    targets = config.rules.rules.get(category, [])
    destinations: list[Destination] = []
    for target in targets:
        if target in config.teams.teams:
            destinations.append(Destination(kind=DestinationKind.TEAM, id=target,
                                            name=config.teams.teams[target].name))
        else:
            redirect = config.rules.redirects[target]
            destinations.append(Destination(kind=DestinationKind.REDIRECT, id=target, name=redirect.name,
                                            public_message=redirect.message))
    if destinations:
        names = ", ".join(d.name for d in destinations)
        reasons = [f"category {category} → {names}"]
    else:
        fallback = config.teams.fallback
        destinations.append(Destination(kind=DestinationKind.TEAM, id=fallback,
                                        name=config.teams.teams[fallback].name))
        reasons = [f"no rule for category {category} → fallback {config.teams.teams[fallback].name}"]
    if sensitive:
        reasons.append(f"{category} is a sensitive category: police teams only")
    return Decision(tuple(destinations), tuple(reasons), sensitive)


def routed_item(contact: PublicContact | ThirdPartyContact, config: RoutingConfig) -> RoutedItem:
    """The routed event for a contact. Its id is derived from the contact's, so routing the
    same contact twice produces the same event, which consumers ignore the second time."""
    decision = decide(contact, config)
    return RoutedItem(
        event_id=uuid.uuid5(contact.event_id, "routed"),
        reference=contact.reference,
        contact=contact,
        destinations=decision.destinations,
        reasons=decision.reasons,
        sensitive=decision.sensitive,
        rules_version=config.version,
    )
