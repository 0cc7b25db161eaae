from __future__ import annotations

from pathlib import Path

from services.common.config_files import DEFAULT_ROUTING_DIR, ROOT
from services.common.settings import CommonSettings


class FeedbackSettings(CommonSettings):
    #: Twilio credentials; without all three, SMS goes to the local outbox instead.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    #: Override Twilio's API address (a local fake server in tests).
    twilio_api_base_url: str | None = None
    #: SendGrid credentials; without both, email goes to the local outbox instead.
    sendgrid_api_key: str | None = None
    sendgrid_from_email: str | None = None
    #: Override SendGrid's API address (a local fake server in tests).
    sendgrid_api_host: str | None = None
    #: Where messages go when a provider is not configured (JSON lines).
    outbox_path: Path = ROOT / ".local" / "outbox.jsonl"
    #: Seconds to wait for a provider before treating the attempt as failed.
    send_timeout_seconds: float = 10.0
    #: Attempts at a transient provider failure (429, 5xx, timeout) before recording it failed.
    send_attempts: int = 3
    #: Where categories.yaml lives (labels and which categories are sensitive).
    routing_config_dir: Path = DEFAULT_ROUTING_DIR
    feedback_web_port: int = 6068
    feedback_app_id: str = "mecc-feedback"
