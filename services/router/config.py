"""The routing configuration: categories, teams, rules and partner redirects, read from
versioned YAML files in one directory and cross-checked at start-up."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from services.common.config_files import (
    DEFAULT_ROUTING_DIR,
    Categories,
    ConfigError,
    ConfigModel,
    load_categories,
    load_yaml,
)


class TeamConfig(ConfigModel):
    name: str = Field(min_length=1)


class Teams(ConfigModel):
    version: int
    fallback: str
    teams: dict[str, TeamConfig] = Field(min_length=1)


class RedirectConfig(ConfigModel):
    name: str = Field(min_length=1)
    message: str = Field(min_length=1)


class Rules(ConfigModel):
    version: int
    rules: dict[str, list[str]] = {}
    redirects: dict[str, RedirectConfig] = {}


@dataclass(frozen=True)
class RoutingConfig:
    categories: Categories
    teams: Teams
    rules: Rules
    #: A digest of the files, recorded with every decision so it can be explained later.
    version: str


def load_routing_config(directory: Path = DEFAULT_ROUTING_DIR) -> RoutingConfig:
    categories = load_categories(directory)
    teams = load_yaml(directory / "teams.yaml", Teams)
    rules = load_yaml(directory / "rules.yaml", Rules)
    problems = []
    if teams.fallback not in teams.teams:
        problems.append(f"{directory / 'teams.yaml'}: fallback: names no team: {teams.fallback!r}")
    rules_file = directory / "rules.yaml"
    for category, destinations in rules.rules.items():
        if category not in categories.categories:
            problems.append(f"{rules_file}: rules.{category}: unknown category")
        for dest in destinations:
            if dest not in teams.teams and dest not in rules.redirects:
                problems.append(f"{rules_file}: rules.{category}: {dest!r} is neither a team nor a redirect")
        if not destinations:
            problems.append(f"{rules_file}: rules.{category}: no destinations")
    if problems:
        raise ConfigError("\n".join(problems))
    digest = hashlib.sha256()
    for name in ("categories.yaml", "teams.yaml", "rules.yaml"):
        digest.update((directory / name).read_bytes())
    return RoutingConfig(categories, teams, rules, digest.hexdigest()[:12])
