"""The routing configuration, read from versioned files in one directory and cross-checked at
start-up, so a mistake stops the service with an error naming the file and the key instead of
misrouting reports quietly:

- ``categories.yaml``: the taxonomy, and which categories are sensitive;
- ``areas.geojson``: force, sectors, neighbourhoods, wards and parishes as WGS84 polygons,
  nested by ``parent``;
- ``postcodes.yaml``: postcode sectors and districts → areas, for reports without a point;
- ``teams.yaml``: police teams, what they cover, and the fallback queue;
- ``watches.yaml``: watch schemes, their areas, categories, coordinators and delivery;
- ``coordinators.yaml``: coordinators' contact details (referenced by id);
- ``rules.yaml``: category x area x kind → destinations with priorities, partner redirects,
  the danger phrases, the phrases that make a report sensitive whatever its category, and the
  clustering distances.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import shapely
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from shapely.geometry import shape
from shapely.validation import explain_validity

from schemas import AreaType, WatchDelivery
from schemas.events import CATEGORY_ID_PATTERN, Model, ShortText
from services.common.config_files import (
    DEFAULT_ROUTING_DIR,
    Categories,
    ConfigError,
    ConfigModel,
    Coordinators,
    load_yaml,
)
from services.common.logging import get_logger
from services.router.areas import Area, AreaIndex, normalise_postcode_key
from services.router.danger import Phrases

log = get_logger(__name__)

ContactKind = Literal["public", "third_party"]
ALL_KINDS: tuple[ContactKind, ...] = ("public", "third_party")

#: WGS84 longitude/latitude bounds of the UK: coordinates outside are a projection mistake.
UK_LON = (-8.7, 1.8)
UK_LAT = (49.8, 60.9)

#: The files whose contents decide where a report goes; their digest is the rules version.
ROUTING_FILES = ("categories.yaml", "areas.geojson", "postcodes.yaml", "teams.yaml", "watches.yaml", "rules.yaml")

#: The events' short text (ids, names and labels they carry), read with the events' own settings.
_SHORT_TEXT: TypeAdapter[str] = TypeAdapter(ShortText, config=Model.model_config)


class TeamConfig(ConfigModel):
    name: str = Field(min_length=1, max_length=200)
    #: Areas the team covers; None for force-wide.
    areas: tuple[str, ...] | None = None
    #: Categories the team takes; None for all.
    categories: tuple[str, ...] | None = None


class Teams(ConfigModel):
    version: int
    fallback: str
    teams: dict[str, TeamConfig] = Field(min_length=1)


class RedirectConfig(ConfigModel):
    """A body that handles a matter that is not for the police, and what the informant is told."""

    name: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=1000)


class RuleConfig(ConfigModel):
    categories: tuple[str, ...] = ()
    #: None: anywhere. A report matches if it is inside one of these areas (or an area nested in one).
    areas: tuple[str, ...] | None = None
    kinds: tuple[ContactKind, ...] = ALL_KINDS
    to: tuple[str, ...] = ()
    priority: int = 0


class DangerConfig(ConfigModel):
    #: The team flagged when a report's words suggest danger now (the force control room).
    team: str
    #: Added to what the informant is told.
    notice: str = Field(min_length=1, max_length=500)
    phrases: tuple[str, ...] = Field(min_length=1)


class ClusteringConfig(ConfigModel):
    distance_m: float = Field(default=250, gt=0, le=10_000)
    window_days: float = Field(default=7, gt=0, le=366)


class Rules(ConfigModel):
    version: int
    rules: dict[str, RuleConfig] = {}
    redirects: dict[str, RedirectConfig] = {}
    danger: DangerConfig
    #: Sensitive category → phrases that make a report of any category sensitive like it.
    sensitive_phrases: dict[str, tuple[str, ...]] = {}
    clustering: ClusteringConfig = ClusteringConfig()


class WatchScheme(StrEnum):
    NEIGHBOURHOOD = "neighbourhood"
    STREET = "street"
    SPEED = "speed"
    COUNTRYSIDE = "countryside"


class WatchConfig(ConfigModel):
    name: str = Field(min_length=1, max_length=200)
    scheme: WatchScheme
    areas: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    coordinators: tuple[str, ...] = ()
    delivery: WatchDelivery
    kinds: tuple[ContactKind, ...] = ALL_KINDS


class Watches(ConfigModel):
    version: int
    watches: dict[str, WatchConfig] = {}


class Postcodes(ConfigModel):
    version: int
    sectors: dict[str, tuple[str, ...]] = {}
    districts: dict[str, tuple[str, ...]] = {}


class AreaProperties(ConfigModel):
    """The properties routing reads from each GeoJSON feature. Others (GIS exports carry many)
    are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")
    name: str = Field(min_length=1, max_length=200)
    type: AreaType
    parent: str | None = None


@dataclass(frozen=True)
class RuleIndex:
    """Rules and watches by (category, area), so a decision looks only at what could match:
    its cost stays flat however many areas, rules and watches a force configures. Area
    ``None`` holds the rules that apply anywhere."""

    rules: dict[tuple[str, str | None], tuple[int, ...]]
    watches: dict[tuple[str, str], tuple[str, ...]]
    rule_ids: tuple[str, ...]


@dataclass(frozen=True)
class RoutingConfig:
    categories: Categories
    teams: Teams
    rules: Rules
    watches: Watches
    coordinators: Coordinators
    areas: AreaIndex
    #: Canonical sector ("MK42 8") or district ("MK42") → area ids.
    postcodes: dict[str, tuple[str, ...]]
    #: A digest of the routing files, recorded with every decision so it can be explained later.
    version: str
    index: RuleIndex = field(repr=False)
    #: The danger phrases of rules.yaml, compiled.
    danger: Phrases = field(repr=False)
    #: The sensitive phrases of rules.yaml, compiled per sensitive category.
    sensitive_phrases: dict[str, Phrases] = field(repr=False)
    #: Capitalised words of area and watch names: places, never taken for people's names.
    place_words: frozenset[str] = field(repr=False)
    #: Things that load but probably route differently than meant (logged at load, shown by dry-run).
    warnings: tuple[str, ...] = ()

    def destination_name(self, destination_id: str) -> str:
        if destination_id in self.teams.teams:
            return self.teams.teams[destination_id].name
        if destination_id in self.watches.watches:
            return self.watches.watches[destination_id].name
        return self.rules.redirects[destination_id].name


def _geojson_problems(path: Path) -> tuple[list[Area], list[str]]:
    """Parse the areas file into areas, and every problem with it (file and key named)."""
    problems: list[str] = []
    try:
        data: Any = json.loads(path.read_text())
    except FileNotFoundError:
        return [], [f"{path}: file not found"]
    except json.JSONDecodeError as exc:
        return [], [f"{path}: not valid JSON: {exc}"]
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        return [], [f"{path}: type: must be a GeoJSON FeatureCollection"]
    features = data.get("features")
    if not isinstance(features, list) or not features:
        return [], [f"{path}: features: give at least one area"]
    areas: list[Area] = []
    seen: dict[str, int] = {}
    for i, feature in enumerate(features):
        key = f"features[{i}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(f"{path}: {key}.type: must be a GeoJSON Feature")
            continue
        try:
            props = AreaProperties.model_validate(feature.get("properties") or {})
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                where = ".".join(str(p) for p in err["loc"]) or "(properties)"
                problems.append(f"{path}: {key}.properties.{where}: {err['msg']}")
            continue
        key = f"{key} ({props.id})"
        if props.id in seen:
            problems.append(f"{path}: {key}.properties.id: {props.id!r} is also features[{seen[props.id]}]")
            continue
        seen[props.id] = i
        geometry = _geometry(feature.get("geometry"), f"{path}: {key}.geometry", problems)
        if geometry is not None:
            areas.append(Area(props.id, props.name, props.type, props.parent, geometry))
    ids = {a.id for a in areas}
    for area in areas:
        key = f"features[{seen[area.id]}] ({area.id})"
        if area.parent is not None and area.parent not in ids and area.parent not in seen:
            problems.append(f"{path}: {key}.properties.parent: {area.parent!r} names no area")
        elif area.parent == area.id:
            problems.append(f"{path}: {key}.properties.parent: an area cannot be its own parent")
    problems.extend(_cycles(path, areas, seen))
    return areas, problems


def _geometry(raw: Any, where: str, problems: list[str]) -> Any:
    if not isinstance(raw, dict) or raw.get("type") not in {"Polygon", "MultiPolygon"}:
        problems.append(f"{where}: must be a Polygon or MultiPolygon")
        return None
    try:
        geometry = shape(raw)
    except Exception as exc:
        problems.append(f"{where}.coordinates: not valid {raw.get('type')} coordinates ({exc})")
        return None
    if geometry.is_empty:
        problems.append(f"{where}.coordinates: the polygon is empty")
        return None
    min_x, min_y, max_x, max_y = geometry.bounds
    if not all(math.isfinite(v) for v in (min_x, min_y, max_x, max_y)):
        problems.append(f"{where}.coordinates: not finite numbers")
        return None
    in_uk = UK_LON[0] <= min_x and max_x <= UK_LON[1] and UK_LAT[0] <= min_y and max_y <= UK_LAT[1]
    swapped = UK_LAT[0] <= min_x and max_x <= UK_LAT[1] and UK_LON[0] <= min_y and max_y <= UK_LON[1]
    if swapped:
        problems.append(f"{where}.coordinates: latitude and longitude look swapped: GeoJSON positions are "
                        "[longitude, latitude]")
        return None
    if not in_uk:
        problems.append(f"{where}.coordinates: not WGS84 longitude/latitude in the UK (bounds {min_x:g}, "
                        f"{min_y:g}, {max_x:g}, {max_y:g}): export as EPSG:4326, not British National Grid")
        return None
    if not geometry.is_valid:
        problems.append(f"{where}: invalid polygon: {explain_validity(geometry)}")
        return None
    shapely.prepare(geometry)
    return geometry


def _cycles(path: Path, areas: list[Area], seen: dict[str, int]) -> list[str]:
    parents = {a.id: a.parent for a in areas}
    problems = []
    for area in areas:
        visited = {area.id}
        parent = area.parent
        while parent is not None and parent in parents:
            if parent in visited:
                problems.append(f"{path}: features[{seen[area.id]}] ({area.id}).properties.parent: "
                                "parents form a cycle")
                break
            visited.add(parent)
            parent = parents[parent]
    return problems


def _inside_unrelated(path: Path, areas: AreaIndex, seen: dict[str, int]) -> list[str]:
    """An area lying inside another that is not its parent (nor an ancestor): a report with a
    point there goes by the shapes and lands in both, one with only a postcode goes by
    ``parent`` and does not, so the two route differently."""
    warnings = []
    for inner, outer in areas.inside_unrelated():
        parent = areas.get(inner).parent
        warnings.append(
            f"{path}: features[{seen[inner]}] ({inner}).properties.parent: {inner!r} lies inside "
            f"{outer!r} (features[{seen[outer]}]), which is not its parent ({parent!r}) nor an ancestor: "
            f"a report with a point in {inner!r} is placed in {outer!r} too, one with only a postcode "
            f"is not; if {inner!r} belongs in {outer!r}, make {outer!r} its parent or an ancestor")
    return warnings


def _event_text(where: str, value: str, what: str) -> list[str]:
    """Problems with an id, name or label that the events carry as short text."""
    try:
        accepted = _SHORT_TEXT.validate_python(value)
    except ValidationError as exc:
        reason = "; ".join(str(e["msg"]) for e in exc.errors(include_url=False))
        return [f"{where}: {value!r} is not a {what} the events accept ({reason})"]
    if accepted != value:
        return [f"{where}: {value!r} has spaces at an end, which the events strip; remove them"]
    return []


def _event_checks(directory: Path, categories: Categories, teams: Teams, watches: Watches, rules: Rules,
                  coordinators: Coordinators) -> list[str]:
    """What the events would refuse, caught at load instead of in every report: category ids
    (the events' pattern), and the ids, names and labels routed items and watch items carry."""
    problems: list[str] = []
    categories_file = directory / "categories.yaml"
    for category_id, category in categories.categories.items():
        key = f"{categories_file}: categories.{category_id}"
        if not re.match(CATEGORY_ID_PATTERN, category_id):
            problems.append(f"{key}: {category_id!r} is not a category id the events accept (they must match "
                            f"{CATEGORY_ID_PATTERN}), so every report in it would be refused")
        problems.extend(_event_text(f"{key}.label", category.label, "category label"))
    destinations: list[tuple[str, str, dict[str, Any]]] = [
        ("teams.yaml", "teams", teams.teams), ("watches.yaml", "watches", watches.watches),
        ("rules.yaml", "redirects", rules.redirects),
    ]
    for file_name, section, entries in destinations:
        for dest_id, dest in entries.items():
            key = f"{directory / file_name}: {section}.{dest_id}"
            problems.extend(_event_text(key, dest_id, "destination id"))
            problems.extend(_event_text(f"{key}.name", dest.name, "name"))
    for coordinator_id in coordinators.coordinators:
        problems.extend(_event_text(f"{directory / 'coordinators.yaml'}: coordinators.{coordinator_id}",
                                    coordinator_id, "coordinator id"))
    return problems


def _unknown(values: Iterable[str], known: Any) -> list[str]:
    return [v for v in values if v not in known]


def _check(directory: Path, categories: Categories, areas: AreaIndex | None, area_ids: set[str],
           teams: Teams, watches: Watches, rules: Rules, postcodes: Postcodes,
           coordinators: Coordinators) -> list[str]:
    """Every cross-file mistake, each naming its file and key."""
    teams_file, watches_file = directory / "teams.yaml", directory / "watches.yaml"
    rules_file, postcodes_file = directory / "rules.yaml", directory / "postcodes.yaml"
    known_categories = categories.categories
    problems: list[str] = []

    owners: dict[str, str] = {}
    for file, ids in ((teams_file, teams.teams), (watches_file, watches.watches),
                      (rules_file, rules.redirects)):
        for dest_id in ids:
            if dest_id in owners:
                problems.append(f"{file}: {dest_id}: the id is also used in {owners[dest_id]}; "
                                "destination ids must be unique")
            owners.setdefault(dest_id, file.name)

    def areas_of(where: str, values: Iterable[str]) -> None:
        problems.extend(f"{where}: {a!r} names no area in areas.geojson" for a in _unknown(values, area_ids))

    def categories_of(where: str, values: Iterable[str]) -> None:
        problems.extend(f"{where}: unknown category {c!r}" for c in _unknown(values, known_categories))

    fallback = teams.teams.get(teams.fallback)
    if fallback is None:
        problems.append(f"{teams_file}: fallback: names no team: {teams.fallback!r}")
    elif fallback.areas is not None or fallback.categories is not None:
        problems.append(f"{teams_file}: teams.{teams.fallback}: the fallback team must take every category "
                        "everywhere (leave out areas and categories)")
    for team_id, team in teams.teams.items():
        areas_of(f"{teams_file}: teams.{team_id}.areas", team.areas or ())
        categories_of(f"{teams_file}: teams.{team_id}.categories", team.categories or ())
        if team.areas == () or team.categories == ():
            problems.append(f"{teams_file}: teams.{team_id}: an empty list covers nothing; leave it out for all")

    for watch_id, watch in watches.watches.items():
        key = f"{watches_file}: watches.{watch_id}"
        if not watch.areas:
            problems.append(f"{key}.areas: the watch covers no area")
        areas_of(f"{key}.areas", watch.areas)
        if not watch.categories:
            problems.append(f"{key}.categories: the watch takes no category")
        categories_of(f"{key}.categories", watch.categories)
        for category in watch.categories:
            if categories.is_sensitive(category):
                problems.append(f"{key}.categories: {category!r} is sensitive and never goes to a watch")
        if not watch.coordinators:
            problems.append(f"{key}.coordinators: name at least one coordinator")
        problems.extend(f"{key}.coordinators: {c!r} is not in coordinators.yaml"
                        for c in _unknown(watch.coordinators, coordinators.coordinators))
        if not watch.kinds:
            problems.append(f"{key}.kinds: give at least one kind, or leave it out for both")

    for rule_id, rule in rules.rules.items():
        key = f"{rules_file}: rules.{rule_id}"
        if not rule.categories:
            problems.append(f"{key}.categories: the rule names no category")
        categories_of(f"{key}.categories", rule.categories)
        if rule.areas is not None:
            if not rule.areas:
                problems.append(f"{key}.areas: give at least one area, or leave areas out for anywhere")
            areas_of(f"{key}.areas", rule.areas)
        if not rule.kinds:
            problems.append(f"{key}.kinds: give at least one kind, or leave it out for both")
        if not rule.to:
            problems.append(f"{key}.to: no destinations")
        for dest in rule.to:
            if dest in watches.watches:
                problems.append(f"{key}.to: {dest!r} is a watch: watches receive by the areas and categories "
                                "in watches.yaml, not by rules")
            elif dest in teams.teams:
                problems.extend(_team_fits(key, dest, teams.teams[dest], rule, areas))
            elif dest not in rules.redirects:
                problems.append(f"{key}.to: {dest!r} is neither a team nor a redirect")

    if rules.danger.team not in teams.teams:
        problems.append(f"{rules_file}: danger.team: names no team: {rules.danger.team!r}")
    for i, phrase in enumerate(rules.danger.phrases):
        if not phrase.strip():
            problems.append(f"{rules_file}: danger.phrases[{i}]: empty phrase")
    for category, phrases in rules.sensitive_phrases.items():
        key = f"{rules_file}: sensitive_phrases.{category}"
        if category not in known_categories:
            problems.append(f"{key}: unknown category {category!r}")
        elif not categories.is_sensitive(category):
            problems.append(f"{key}: {category!r} is not a sensitive category (categories.yaml): only words "
                            "suggesting a sensitive matter may make a report sensitive")
        elif not any(category in rule.categories for rule in rules.rules.values()):
            problems.append(f"{key}: no rule sends {category!r} to a team, so a report these words make "
                            "sensitive would reach no team that takes it")
        if not phrases:
            problems.append(f"{key}: give at least one phrase, or leave the category out")
        for i, phrase in enumerate(phrases):
            if not phrase.strip():
                problems.append(f"{key}[{i}]: empty phrase")

    for section, mapping in (("sectors", postcodes.sectors), ("districts", postcodes.districts)):
        for raw_key, targets in mapping.items():
            canonical = normalise_postcode_key(raw_key)
            is_sector = canonical is not None and " " in canonical
            if canonical is None or is_sector != (section == "sectors"):
                kind = "postcode sector like 'MK42 8'" if section == "sectors" else "postcode district like 'MK42'"
                problems.append(f"{postcodes_file}: {section}.{raw_key}: not a {kind}")
            if not targets:
                problems.append(f"{postcodes_file}: {section}.{raw_key}: maps to no area")
            areas_of(f"{postcodes_file}: {section}.{raw_key}", targets)
    return problems


def _team_fits(key: str, team_id: str, team: TeamConfig, rule: RuleConfig, areas: AreaIndex | None) -> list[str]:
    """A rule may send a team only what the team takes, from where it covers."""
    problems = []
    if team.categories is not None:
        for category in rule.categories:
            if category not in team.categories:
                problems.append(f"{key}.to: {team_id!r} does not take category {category!r} (teams.yaml)")
    if team.areas is not None and areas is not None:
        if rule.areas is None:
            problems.append(f"{key}.to: {team_id!r} covers only some areas (teams.yaml), but the rule applies "
                            "anywhere: give the rule areas")
        else:
            for area in rule.areas:
                if area in areas and not any(t in areas and areas.within(area, t) for t in team.areas):
                    problems.append(f"{key}.to: {team_id!r} does not cover area {area!r} (teams.yaml)")
    return problems


def _index(rules: Rules, watches: Watches) -> RuleIndex:
    by_key: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    rule_ids = tuple(rules.rules)
    for position, rule in enumerate(rules.rules.values()):
        for category in rule.categories:
            for area in rule.areas if rule.areas is not None else (None,):
                by_key[(category, area)].append(position)
    watch_keys: dict[tuple[str, str], list[str]] = defaultdict(list)
    for watch_id, watch in watches.watches.items():
        for category in watch.categories:
            for area in watch.areas:
                watch_keys[(category, area)].append(watch_id)
    return RuleIndex(
        rules={k: tuple(v) for k, v in by_key.items()},
        watches={k: tuple(sorted(set(v))) for k, v in watch_keys.items()},
        rule_ids=rule_ids,
    )


def load_routing_config(directory: Path = DEFAULT_ROUTING_DIR) -> RoutingConfig:
    """Load and cross-check every routing file; ConfigError lists every problem found."""
    problems: list[str] = []

    def load(name: str, model: type[Any]) -> Any:
        try:
            return load_yaml(directory / name, model)
        except ConfigError as exc:
            problems.append(str(exc))
            return None

    categories = load("categories.yaml", Categories)
    teams = load("teams.yaml", Teams)
    watches = load("watches.yaml", Watches)
    rules = load("rules.yaml", Rules)
    postcodes = load("postcodes.yaml", Postcodes)
    coordinators = load("coordinators.yaml", Coordinators)
    area_list, area_problems = _geojson_problems(directory / "areas.geojson")
    problems.extend(area_problems)
    if problems:
        raise ConfigError("\n".join(problems))
    index = AreaIndex(area_list)
    problems.extend(_event_checks(directory, categories, teams, watches, rules, coordinators))
    problems.extend(_check(directory, categories, index, set(index.ids()), teams, watches, rules, postcodes,
                           coordinators))
    if problems:
        raise ConfigError("\n".join(problems))
    warnings = _inside_unrelated(directory / "areas.geojson", index, {a.id: i for i, a in enumerate(area_list)})
    for warning in warnings:
        log.warning("routing_config_warning", warning=warning)
    digest = hashlib.sha256()
    for name in ROUTING_FILES:
        digest.update((directory / name).read_bytes())
    postcode_map: dict[str, tuple[str, ...]] = {}
    for mapping in (postcodes.sectors, postcodes.districts):
        for raw_key, targets in mapping.items():
            postcode_map[normalise_postcode_key(raw_key) or raw_key] = tuple(targets)
    return RoutingConfig(
        categories=categories,
        teams=teams,
        rules=rules,
        watches=watches,
        coordinators=coordinators,
        areas=index,
        postcodes=postcode_map,
        version=digest.hexdigest()[:12],
        index=_index(rules, watches),
        danger=Phrases(rules.danger.phrases),
        sensitive_phrases={c: Phrases(p) for c, p in rules.sensitive_phrases.items()},
        place_words=frozenset(
            word
            for name in [*(index.get(a).name for a in index.ids()), *(w.name for w in watches.watches.values())]
            for word in re.findall(r"[A-Z][\w'\u2019-]+", name)
        ),
        warnings=tuple(warnings),
    )

