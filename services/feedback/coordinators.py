"""Watch coordinators and how they want their items, read from the routing configuration
(``coordinators.yaml`` for contact details, ``watches.yaml`` for the delivery choice)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ConfigDict

from schemas import Channel
from services.common.config_files import ConfigModel, CoordinatorConfig, load_coordinators, load_yaml
from services.feedback.policy import Recipient


class _Watch(ConfigModel):
    # Only what feedback needs of watches.yaml; the router validates the rest.
    model_config = ConfigDict(extra="ignore", frozen=True)
    name: str
    coordinators: list[str] = []
    delivery: str = "per_item"


class _Watches(ConfigModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    watches: dict[str, _Watch] = {}


@dataclass(frozen=True)
class Directory:
    coordinators: dict[str, CoordinatorConfig]
    watches: dict[str, _Watch]

    def recipients(self, watch_id: str, coordinator_ids: tuple[str, ...] | list[str] | None = None
                   ) -> list[tuple[str, Recipient]]:
        """(coordinator id, recipient) for each coordinator of a watch: email first (items are
        long), SMS otherwise, the other channel as fallback."""
        watch = self.watches.get(watch_id)
        ids = list(coordinator_ids) if coordinator_ids else (watch.coordinators if watch else [])
        found = []
        for cid in ids:
            person = self.coordinators.get(cid)
            if person is None:
                continue
            options = [(Channel.EMAIL, person.email), (Channel.SMS, person.phone)]
            reachable = [Recipient("coordinator", channel, str(address)) for channel, address in options if address]
            if reachable:
                first = reachable[0]
                fallback = reachable[1] if len(reachable) > 1 else None
                found.append((cid, Recipient(first.role, first.channel, first.address, fallback=fallback)))
        return found

    def digest_watches(self) -> list[str]:
        return sorted(w for w, cfg in self.watches.items() if cfg.delivery == "daily_digest")


def load_directory(directory: Path) -> Directory:
    watches_file = directory / "watches.yaml"
    watches = load_yaml(watches_file, _Watches).watches if watches_file.exists() else {}
    coordinators = load_coordinators(directory).coordinators if watches else {}
    return Directory(coordinators, watches)
