from __future__ import annotations

from pathlib import Path

from services.common.config_files import DEFAULT_ROUTING_DIR, ROOT
from services.common.settings import CommonSettings


class IntakeSettings(CommonSettings):
    intake_host: str = "127.0.0.1"
    intake_port: int = 8000
    #: Who may call the authenticated endpoints (hashed API keys).
    access_config: Path = ROOT / "config" / "access.yaml"
    #: Where categories.yaml lives (the same directory the router reads).
    routing_config_dir: Path = DEFAULT_ROUTING_DIR
    #: How long to wait for Kafka to acknowledge a report before answering 503.
    publish_timeout_seconds: float = 10.0
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = 64 * 1024
