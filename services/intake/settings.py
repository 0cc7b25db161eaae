from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import ClassVar

from pydantic import Field

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
    #: How long the audit writer gathers entries before it appends them to the log in one
    #: transaction (0: each as soon as it can).
    audit_linger_seconds: float = Field(default=0.2, ge=0.0, le=5.0)
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
    #: Take the client address from X-Forwarded-For (only behind a proxy that sets it): the same as
    #: TRUSTED_PROXY_HOPS=1 when that is unset.
    rate_limit_trust_forwarded_for: bool = False
    #: How many proxies of ours stand in front (each appends the address it saw to X-Forwarded-For):
    #: the client is the entry that many places from the right; entries further left are whatever the
    #: client wrote and are never believed. 0: the connection's own address.
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)
    #: Failed sign-ins (any method) allowed per client address, and per account, in
    #: SIGN_IN_FAILURE_WINDOW_SECONDS; beyond that sign-in is refused (429) until the window passes.
    sign_in_failures_per_client: int = 20
    sign_in_failures_per_account: int = 5
    sign_in_failure_window_seconds: int = 15 * 60
    #: Start although access.yaml has the published development keys and PUBLIC_BASE_URL is not on this
    #: machine (test stacks that call themselves by a public name); never on a real deployment.
    allow_development_keys: bool = False
    #: Sign in to the pages with a shared API key: true, false, or unset for "on local runs only"
    #: (PUBLIC_BASE_URL on this machine). On a deployment people sign in as themselves (OIDC) and
    #: API keys are for machine clients.
    page_key_sign_in: bool | None = None
    #: A page sign-in ends after this long without a request (the absolute limit is SESSION_MAX_AGE_SECONDS).
    session_idle_seconds: int = 30 * 60
    #: The public dashboard shows any count below this as "fewer than N", and no share, mean or
    #: median worked out from fewer reports than this.
    dashboard_min_count: int = Field(default=5, ge=1)
    #: Twilio's auth token: checks X-Twilio-Signature on Twilio's webhooks (unset: they are refused).
    twilio_auth_token: str | None = None
    #: SendGrid's Event Webhook verification key (base64, from Mail Settings; unset: refused).
    sendgrid_webhook_public_key: str | None = None
    #: Secret path segment of the SendGrid Inbound Parse URL (unset: inbound email is refused).
    sendgrid_inbound_token: str | None = None
    #: SMS quiet hours, UK local time: the feedback worker's (same defaults). Safe times that fall
    #: wholly inside them can never be texted, and are refused at intake.
    sms_quiet_start: time = time(21, 0)
    sms_quiet_end: time = time(8, 0)
    #: Oldest SendGrid event batch accepted, in seconds (replay protection).
    webhook_max_age_seconds: int = 900
    #: Signs the pages' session cookie (sign-in and CSRF tokens); set a long random value in a deployment.
    session_secret: str = DEVELOPMENT_SECRET
    #: How long a page sign-in lasts, in seconds.
    session_max_age_seconds: int = 8 * 3600
    #: Staff sign-in: the OpenID provider's issuer URL (discovery at ``/.well-known/openid-configuration``);
    #: unset, the pages offer only the shared API key. The redirect URI is PUBLIC_BASE_URL/sign-in/callback.
    oidc_issuer: str | None = None
    oidc_client_id: str = "mecc-intake"
    oidc_client_secret: str | None = None
    #: Scopes asked for: the groups scope carries the groups claim that gives roles.
    oidc_scope: str = "openid profile email groups"
    #: People without a force account (watch coordinators, partner caseworkers) sign in by a link sent
    #: to their email: how many minutes it works (once).
    sign_in_link_minutes: int = Field(default=15, ge=1, le=24 * 60)
    #: Asking for such a link, per email address and per client address, per hour on average (and
    #: the burst); beyond that 429. The same answer whether or not the address has an account.
    sign_in_link_requests_per_address_per_hour: float = 5.0
    sign_in_link_requests_per_client_per_hour: float = 30.0
    sign_in_link_address_burst: int = 3
    sign_in_link_client_burst: int = 10
    #: SendGrid, for the sign-in links' emails (the feedback worker's same settings); without both,
    #: local runs write them to the outbox and a deployment sends none.
    sendgrid_api_key: str | None = None
    sendgrid_from_email: str | None = None
    #: Override SendGrid's API address (a local fake server in tests).
    sendgrid_api_host: str | None = None
    #: The feedback worker's outbox (OUTBOX_PATH), shown at /outbox on local runs.
    outbox_path: Path = ROOT / ".local" / "outbox.jsonl"
    #: Show /outbox: true, false, or unset for "when PUBLIC_BASE_URL is on this machine".
    show_outbox: bool | None = None

    SECRETS: ClassVar[tuple[str, ...]] = (*CommonSettings.SECRETS, "session_secret")

    @property
    def key_sign_in(self) -> bool:
        return self.is_local if self.page_key_sign_in is None else self.page_key_sign_in

    @property
    def proxy_hops(self) -> int:
        return self.trusted_proxy_hops or (1 if self.rate_limit_trust_forwarded_for else 0)

    @property
    def oidc_redirect_uri(self) -> str:
        return f"{self.public_base_url.rstrip('/')}/sign-in/callback"
