from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field

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
    #: Seconds the provider's HTTP client waits to connect, and for each read of its answer (socket
    #: timeouts, in the call's thread: a paused worker's late loop never turns an answer into a timeout).
    #: No answer in time: the send is ambiguous, and the provider is asked before any other try.
    send_timeout_seconds: float = 10.0
    #: Seconds a worker holds a message it took for sending; then another may look it up at the
    #: provider and settle it. Unset: the larger of 60 and four send timeouts.
    send_lease_seconds: float | None = Field(default=None, gt=0)
    #: Attempts at a transient provider failure (429, 5xx, timeout) before giving up and falling back.
    send_attempts: int = 5
    #: First retry delay in seconds; doubles each attempt (with jitter) up to the cap.
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 300.0
    #: Provider calls in flight at once when a batch of acknowledgements (or due messages) is sent.
    send_concurrency: int = Field(default=16, ge=1)
    #: SMS quiet hours, UK local time (HH:MM); SMS due inside them waits until the end.
    sms_quiet_start: time = time(21, 0)
    sms_quiet_end: time = time(8, 0)
    #: Days of silence after which an informant gets a holding update.
    holding_after_days: float = 7.0
    #: Days after closure before the satisfaction survey goes out.
    survey_delay_days: float = 3.0
    #: Seconds between looks for messages that have become due (retries, quiet hours ending).
    due_check_seconds: float = 1.0
    #: Seconds between looks for reports that have gone quiet.
    holding_check_seconds: float = 300.0
    #: When daily digests go to watch coordinators who asked for them (UK time, HH:MM).
    digest_at: time = time(18, 0)
    #: Seconds between looks for digests to send.
    digest_check_seconds: float = 300.0
    #: Ask Twilio for delivery callbacks at PUBLIC_BASE_URL/webhooks/twilio/status.
    twilio_status_callbacks: bool = True
    #: Where categories.yaml lives (labels and which categories are sensitive).
    routing_config_dir: Path = DEFAULT_ROUTING_DIR
    feedback_web_port: int = 6068
    feedback_app_id: str = "mecc-feedback"
    #: faust's data folder; unset, ``.local/faust/<app id>`` (never the working directory).
    feedback_datadir: Path | None = None
