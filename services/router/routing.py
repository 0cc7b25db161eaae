"""Routing decisions: pure functions from a contact and the config to destinations and the
reasons for them. No I/O.

How a report is routed, in the order the reasons are written:

1. **Where**: the areas containing its point (a boundary counts as inside); if it gives no
   point, or the point is in no area, the areas of its postcode sector, else its district.
   Every area an area is nested in (by ``parent``) is included.
2. **Rules**: every rule matching its category, one of its areas and its kind; of those, the
   ones with the highest priority apply, in file order.
3. **Sensitive words**: words that suggest a sensitive matter (``sensitive_phrases``: domestic
   abuse, a hate incident, exploitation) make any report sensitive, and the rules of that
   sensitive category apply too, so its team gets it.
4. **Watches**: every watch covering one of its areas and taking its category, unless the
   report is sensitive (by category or by its words) or suggests danger now: those never
   reach a watch.
5. **Danger**: words that suggest danger now flag it for the control room, and the
   informant is told to call 999.
6. **Fallback**: a report no rule sends to a police team or a partner goes to the fallback
   team. No report is ever routed nowhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from schemas import (
    ClusterRef,
    Destination,
    DestinationKind,
    Flag,
    Location,
    PublicContact,
    RoutedItem,
    ThirdPartyContact,
    WatchItem,
)
from schemas.events import SensitiveReason, utcnow
from services.common.postcodes import parse_postcode
from services.common.redaction import safe_street, watch_view
from services.router.clustering import cluster_label
from services.router.config import RoutingConfig

Contact = PublicContact | ThirdPartyContact


@dataclass(frozen=True)
class Placed:
    """Where a report is: area ids (outermost first) and how that was worked out."""

    area_ids: tuple[str, ...]
    how: str


@dataclass(frozen=True)
class Decision:
    destinations: tuple[Destination, ...]
    reasons: tuple[str, ...]
    sensitive: bool
    #: Why it is sensitive: its category, or words in it that suggest a sensitive matter.
    sensitive_reason: SensitiveReason | None = None
    areas: tuple[str, ...] = ()
    flags: tuple[Flag, ...] = ()
    informant_notice: str | None = None
    #: Ids of the watches among the destinations.
    watches: tuple[str, ...] = field(default=())


def _names(config: RoutingConfig, ids: tuple[str, ...] | list[str]) -> str:
    return ", ".join(config.destination_name(i) for i in ids)


def _describe(config: RoutingConfig, area_ids: tuple[str, ...]) -> str:
    innermost = config.areas.innermost(area_ids)
    return " and ".join(config.areas.get(a).describe() for a in innermost)


def place(location: Location, config: RoutingConfig) -> Placed:
    """The areas a report is in, and a reason that says how they were found."""
    index = config.areas
    prefix = ""
    if location.latitude is not None and location.longitude is not None:
        hits = index.locate(location.latitude, location.longitude)
        if hits:
            found = index.with_ancestors(hits)
            edges = [a for a in index.innermost(hits) if index.on_boundary(a, location.latitude, location.longitude)]
            how = f"inside {_describe(config, found)}"
            if edges:
                how += (f" (on the boundary of {' and '.join(index.get(a).describe() for a in edges)}: "
                        "a boundary counts as inside)")
            return Placed(found, how)
        prefix = "the point is outside every area; "
    postcode = parse_postcode(location.postcode) if location.postcode else None
    if postcode is not None:
        for key, what in ((postcode.sector, "postcode sector"), (postcode.district, "postcode district")):
            mapped = config.postcodes.get(key)
            if mapped:
                found = index.with_ancestors(mapped)
                return Placed(found, f"{prefix}inside {_describe(config, found)} ({what} {key})")
        return Placed((), f"{prefix}postcode {postcode.sector} is not mapped to an area")
    if prefix:
        return Placed((), prefix.rstrip("; "))
    return Placed((), "no point or postcode: the area is not known")


def _rule_reason(config: RoutingConfig, rule_id: str, category: str, area_ids: tuple[str, ...]) -> str:
    rule = config.rules.rules[rule_id]
    where = ""
    if rule.areas is not None:
        matched = [a for a in rule.areas if a in area_ids]
        where = f" in {', '.join(config.areas.get(a).name for a in matched)}"
    kinds = "" if len(rule.kinds) > 1 else f" from a {rule.kinds[0].replace('_', '-')} reporter"
    return f"rule {rule_id}: {category}{where}{kinds} → {_names(config, list(rule.to))}"


def _apply_rules(config: RoutingConfig, category: str, areas: tuple[str, ...], kind: str
                 ) -> tuple[list[str], list[str]]:
    """The destinations of the rules that match, the highest priority among them, and reasons."""
    index = config.index
    details: list[str] = []
    positions: set[int] = set(index.rules.get((category, None), ()))
    for area in areas:
        positions.update(index.rules.get((category, area), ()))
    matching = [p for p in sorted(positions)
                if kind in config.rules.rules[index.rule_ids[p]].kinds]
    ruled: list[str] = []
    if matching:
        top = max(config.rules.rules[index.rule_ids[p]].priority for p in matching)
        for p in matching:
            rule_id = index.rule_ids[p]
            rule = config.rules.rules[rule_id]
            if rule.priority == top:
                details.append(_rule_reason(config, rule_id, category, areas))
                ruled.extend(d for d in rule.to if d not in ruled)
            else:
                details.append(f"rule {rule_id} (priority {rule.priority}) set aside: "
                               f"a rule of priority {top} applies")
    return ruled, details


def _sensitive_by_content(contact: Contact, config: RoutingConfig) -> dict[str, tuple[str, ...]]:
    """Sensitive categories (other than the report's own) its words suggest, with the phrases."""
    texts = (contact.report.description, contact.report.location.description)
    found = {category: phrases.found(*texts) for category, phrases in config.sensitive_phrases.items()
             if category != contact.report.category}
    return {category: hits for category, hits in found.items() if hits}


def decide(contact: Contact, config: RoutingConfig) -> Decision:
    category = contact.report.category
    kind = contact.kind
    sensitive = config.categories.is_sensitive(category)
    placed = place(contact.report.location, config)
    areas = placed.area_ids
    index = config.index

    ruled, details = _apply_rules(config, category, areas, kind)

    # Words that suggest a sensitive matter: sensitive whatever the category, and the teams
    # that take that matter get it too.
    suggested = _sensitive_by_content(contact, config)
    for other, found in suggested.items():
        quoted = ", ".join(f"'{p}'" for p in found)
        also, why = _apply_rules(config, other, areas, kind)
        details.append(f"the text suggests {other} ({quoted}) → treated as sensitive"
                       + (f"; also {_names(config, [d for d in also if d not in ruled])}"
                          if any(d not in ruled for d in also) else ""))
        details.extend(why)
        ruled.extend(d for d in also if d not in ruled)
    sensitive_reason: SensitiveReason | None = "category" if sensitive else ("content" if suggested else None)
    sensitive = sensitive_reason is not None

    # Danger now: the control room, no watches, and the informant told to call 999.
    danger = config.rules.danger
    phrases = config.danger.found(contact.report.description, contact.report.location.description)
    flags: tuple[Flag, ...] = (Flag.DANGER,) if phrases else ()
    if phrases:
        quoted = ", ".join(f"'{p}'" for p in phrases)
        details.insert(0, f"the text suggests danger now ({quoted}) → flagged for "
                          f"{config.destination_name(danger.team)}; the informant is told to call 999")

    # Watches: by their own areas and categories; never for sensitive or danger reports.
    candidates: set[str] = set()
    for area in areas:
        candidates.update(index.watches.get((category, area), ()))
    eligible = sorted(w for w in candidates if kind in config.watches.watches[w].kinds)
    watches: list[str] = []
    if eligible and sensitive_reason == "category":
        details.append(f"not shared with {_names(config, eligible)}: sensitive categories never go to a watch")
    elif eligible and sensitive:
        details.append(f"not shared with {_names(config, eligible)}: a report whose words suggest a sensitive "
                       "matter never goes to a watch")
    elif eligible and phrases:
        details.append(f"not shared with {_names(config, eligible)}: a report suggesting danger now "
                       "stays with the police")
    else:
        for watch_id in eligible:
            watch = config.watches.watches[watch_id]
            covered = next(a for a in areas if a in watch.areas)
            details.append(f"watch {watch.name} covers {config.areas.get(covered).name} and takes {category} "
                           f"→ {watch.name} (redacted)")
            watches.append(watch_id)

    police_or_partner = [d for d in ruled if d in config.teams.teams or d in config.rules.redirects]
    fallback = None if police_or_partner else config.teams.fallback
    order: list[str] = []
    for dest in ([danger.team] if phrases else []) + ruled + ([fallback] if fallback else []) + watches:
        if dest not in order:
            order.append(dest)
    destinations = tuple(_destination(config, d) for d in order)

    where = placed.how
    if fallback is not None:
        headline = (f"{where}; no rule for category {category} here → fallback "
                    f"{config.destination_name(fallback)}")
        others = [d for d in order if d != fallback]
        if others:
            headline += f"; also {_names(config, others)}"
    else:
        headline = f"{where}; category {category} → {_names(config, order)}"
    if category not in config.categories.categories:
        details.append(f"category {category} is not in categories.yaml")
    if sensitive_reason == "category":
        details.append(f"{category} is a sensitive category: police teams only")
    return Decision(
        destinations=destinations,
        reasons=(headline, *details),
        sensitive=sensitive,
        sensitive_reason=sensitive_reason,
        areas=areas,
        flags=flags,
        informant_notice=danger.notice if phrases else None,
        watches=tuple(watches),
    )


def _destination(config: RoutingConfig, dest_id: str) -> Destination:
    if dest_id in config.teams.teams:
        return Destination(kind=DestinationKind.TEAM, id=dest_id, name=config.teams.teams[dest_id].name)
    if dest_id in config.watches.watches:
        return Destination(kind=DestinationKind.WATCH, id=dest_id, name=config.watches.watches[dest_id].name)
    redirect = config.rules.redirects[dest_id]
    return Destination(kind=DestinationKind.REDIRECT, id=dest_id, name=redirect.name,
                       public_message=redirect.message)


def routed_item(
    contact: Contact,
    config: RoutingConfig,
    *,
    cluster: ClusterRef | None = None,
    decision: Decision | None = None,
    at: datetime | None = None,
) -> RoutedItem:
    """The routed event for a contact, made at ``at`` (the router's clock; now when not given).
    Its id is derived from the contact's, so routing the same contact twice produces the same
    event, which consumers ignore the second time."""
    decision = decision or decide(contact, config)
    return RoutedItem(
        emitted_at=at if at is not None else utcnow(),
        event_id=uuid.uuid5(contact.event_id, "routed"),
        reference=contact.reference,
        contact=contact,
        destinations=decision.destinations,
        reasons=decision.reasons,
        sensitive=decision.sensitive,
        sensitive_reason=decision.sensitive_reason,
        rules_version=config.version,
        areas=tuple(config.areas.get(a).ref() for a in decision.areas),
        flags=decision.flags,
        informant_notice=decision.informant_notice,
        cluster=cluster,
    )


def _known_names(contact: Contact) -> list[str]:
    people = [contact.informant] if isinstance(contact, PublicContact) else [contact.reporter, contact.subject]
    return [p.name for p in people if p is not None and p.name]


def cluster_label_for(contact: Contact, decision: Decision, config: RoutingConfig) -> str:
    """What a report's cluster is about, coarse enough for a watch: street, sector or area."""
    report = contact.report
    postcode = parse_postcode(report.location.postcode) if report.location.postcode else None
    innermost = config.areas.innermost(decision.areas) if decision.areas else ()
    street = safe_street(report.description, report.location, known_names=_known_names(contact))
    return cluster_label(
        street=street,
        postcode_sector=postcode.sector if postcode else None,
        area_name=config.areas.get(innermost[0]).name if innermost else None,
    )[:200]


def watch_items(item: RoutedItem, config: RoutingConfig) -> tuple[WatchItem, ...]:
    """The redacted item for each watch the report was routed to. A sensitive report, or one
    suggesting danger now, yields none whatever the destinations say."""
    if item.sensitive or Flag.DANGER in item.flags or config.categories.is_sensitive(item.contact.report.category):
        return ()
    contact = item.contact
    report = contact.report
    area_ids = tuple(a.id for a in item.areas)
    innermost = config.areas.innermost(area_ids) if area_ids else ()
    found = config.categories.categories.get(report.category)
    label = found.label if found else report.category
    keep = config.place_words
    items = []
    for dest in item.destinations:
        if dest.kind is not DestinationKind.WATCH:
            continue
        watch = config.watches.watches[dest.id]
        inside = [a for a in innermost if any(config.areas.within(a, w) for w in watch.areas)]
        candidates = inside or list(innermost)
        shown = candidates[0] if candidates else None
        view = watch_view(
            report.description,
            report.location,
            area_name=config.areas.get(shown).name if shown else None,
            known_names=_known_names(contact),
            keep_words=keep,
        )
        items.append(WatchItem(
            emitted_at=item.emitted_at,  # made with the routing decision
            event_id=uuid.uuid5(item.event_id, f"watch:{dest.id}"),
            reference=item.reference,
            watch_id=dest.id,
            watch_name=watch.name,
            delivery=watch.delivery,
            coordinator_ids=watch.coordinators,
            category=report.category,
            category_label=label,
            description=view.description,
            location=view.location,
            happened_at=report.happened_at,
            received_at=contact.received_at,
            redactions=view.redactions,
            cluster=item.cluster,
            rules_version=item.rules_version,
        ))
    return tuple(items)
