"""Settings every service shares, from environment variables (see the README)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.store.db import DEFAULT_URL


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    #: Comma-separated host:port list of Kafka brokers.
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    #: SQLAlchemy URL of the store; SQLite file by default.
    database_url: str = DEFAULT_URL
    log_level: str = "INFO"
    #: JSON lines (production) or readable console output.
    log_json: bool = True
