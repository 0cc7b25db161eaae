from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from services.common.config_files import DEFAULT_ROUTING_DIR, ROOT
from services.common.settings import DEVELOPMENT_SECRET, CommonSettings


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
    #: Requests that write (reports, actions, forms), per client address per minute on average;
    #: 0 turns rate limiting off. Beyond it: 429 with Retry-After.
    rate_limit_per_minute: float = 60.0
    #: How many such requests one address may make at once before the average applies.
    rate_limit_burst: int = 30
    #: The same, per API key (organisations and teams send more than a person does).
    rate_limit_key_per_minute: float = 600.0
    rate_limit_key_burst: int = 120
    #: Reads (pages, the dashboard, the APIs' GETs), per client address per minute on average, and
    #: the burst; off when ``rate_limit_per_minute`` is 0. Static files and health are not counted.
    rate_limit_reads_per_minute: float = 600.0
    rate_limit_reads_burst: int = 120
    #: Take the client address from X-Forwarded-For (only behind a proxy that sets it).
    rate_limit_trust_forwarded_for: bool = False
    #: Twilio's auth token: checks X-Twilio-Signature on Twilio's webhooks (unset: they are refused).
    twilio_auth_token: str | None = None
    #: SendGrid's Event Webhook verification key (base64, from Mail Settings; unset: refused).
    sendgrid_webhook_public_key: str | None = None
    #: Secret path segment of the SendGrid Inbound Parse URL (unset: inbound email is refused).
    sendgrid_inbound_token: str | None = None
    #: Oldest SendGrid event batch accepted, in seconds (replay protection).
    webhook_max_age_seconds: int = 900
    #: Signs the pages' session cookie (sign-in and CSRF tokens); set a long random value in a deployment.
    session_secret: str = DEVELOPMENT_SECRET
    #: How long a page sign-in lasts, in seconds.
    session_max_age_seconds: int = 8 * 3600
    #: The feedback worker's outbox (OUTBOX_PATH), shown at /outbox on local runs.
    outbox_path: Path = ROOT / ".local" / "outbox.jsonl"
    #: Show /outbox: true, false, or unset for "when PUBLIC_BASE_URL is on this machine".
    show_outbox: bool | None = None

    SECRETS: ClassVar[tuple[str, ...]] = (*CommonSettings.SECRETS, "session_secret")
