"""Settings every service shares, from environment variables (see the README)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.store.db import DEFAULT_URL


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    #: Comma-separated host:port list of Kafka brokers.
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    #: How long a silent consumer keeps its partitions before the group hands them to another
    #: worker (a crashed worker's reports wait this long). The broker's minimum is 6 seconds.
    kafka_session_timeout_seconds: float = 30.0
    #: SQLAlchemy URL of the store; SQLite file by default.
    database_url: str = DEFAULT_URL
    log_level: str = "INFO"
    #: JSON lines (production) or readable console output.
    log_json: bool = True
    #: Where the public reaches the intake (links in messages, webhook signature checks).
    public_base_url: str = "http://127.0.0.1:8000"
    #: Signs one-click unsubscribe links; the intake and the feedback worker must share it.
    unsubscribe_secret: str = "local-development-only"
    #: Derives the secret in track links (HMAC of the reference); the intake and the feedback worker
    #: must share it.
    track_secret: str = "local-development-only"
