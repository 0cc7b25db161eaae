"""Loading versioned YAML config files into pydantic models, with errors that name the file
and the key, so a bad config stops a service at start-up with a message a person can act on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, model_validator

from schemas.events import PhoneNumber

M = TypeVar("M", bound=BaseModel)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ROUTING_DIR = ROOT / "config" / "routing"


class ConfigError(Exception):
    """A config file is missing or wrong; the message names the file and the key."""


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: libyaml's parser under the safe constructor (the same documents, the same types) where PyYAML
#: was built with it: about 6x faster than the pure-Python one, and lighter at its peak, on the
#: router's 5,000-area files.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path, model: type[M]) -> M:
    try:
        data: Any = yaml.load(path.read_text(), Loader=_SAFE_LOADER)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"{path}: {key}: {err['msg']}")
        raise ConfigError("\n".join(problems)) from exc


class CategoryConfig(ConfigModel):
    label: str = Field(min_length=1)
    description: str = Field(min_length=1)
    sensitive: bool = False


class Categories(ConfigModel):
    version: int
    categories: dict[str, CategoryConfig] = Field(min_length=1)

    def is_sensitive(self, category: str) -> bool:
        found = self.categories.get(category)
        return bool(found and found.sensitive)


def load_categories(directory: Path = DEFAULT_ROUTING_DIR) -> Categories:
    return load_yaml(directory / "categories.yaml", Categories)


class CoordinatorConfig(ConfigModel):
    """A watch coordinator: who the feedback worker tells about a watch's items."""

    name: str = Field(min_length=1, max_length=200)
    phone: PhoneNumber | None = None
    email: EmailStr | None = None

    @model_validator(mode="after")
    def _reachable(self) -> CoordinatorConfig:
        if not self.phone and not self.email:
            raise ValueError("give a phone or an email, or the coordinator cannot be told anything")
        return self


class Coordinators(ConfigModel):
    version: int
    coordinators: dict[str, CoordinatorConfig] = {}


def load_coordinators(directory: Path = DEFAULT_ROUTING_DIR) -> Coordinators:
    """Watch coordinators' contact details (``coordinators.yaml``), referenced by id from
    ``watches.yaml`` and from every ``WatchItem``."""
    return load_yaml(directory / "coordinators.yaml", Coordinators)


def load_neighbourhoods(directory: Path = DEFAULT_ROUTING_DIR) -> dict[str, str]:
    """The neighbourhoods of ``areas.geojson`` (id -> name), in the file's order: the areas a
    "you said, we did" is published for. (The router checks the whole file at its start-up.)"""
    path = directory / "areas.geojson"
    try:
        data: Any = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    found: dict[str, str] = {}
    features = (data.get("features") if isinstance(data, dict) else None) or []
    for feature in features:
        props = feature.get("properties") if isinstance(feature, dict) else None
        if isinstance(props, dict) and props.get("type") == "neighbourhood" and isinstance(props.get("id"), str):
            found[props["id"]] = str(props.get("name") or props["id"])
    return found
