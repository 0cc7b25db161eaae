"""Settings every service shares, from environment variables (see the README)."""

from __future__ import annotations

from typing import ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.kafka_security import KafkaSecurity
from services.store import crypto
from services.store.db import DEFAULT_URL

#: The default of every signing secret: fine on a laptop, never where the public can reach it.
DEVELOPMENT_SECRET = "local-development-only"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class RetentionSettings(BaseSettings):
    """How long personal data is kept (the README's "Retention schedule" says why)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    #: Days after a report is settled (closed, or handed on by a redirect) before the retention
    #: job removes its personal data from the store.
    retention_days: float = Field(default=365.0, gt=0)
    #: Days without any activity (no update, no message, no reply) after which a report that was
    #: never closed counts as abandoned and its personal data goes.
    retention_abandoned_days: float = Field(default=365.0, gt=0)
    #: Days the broker keeps messages on every topic that carries personal data (``retention.ms``):
    #: long enough to replay after an incident or a fix, no longer; the store is the long-term record.
    topic_retention_days: float = Field(default=30.0, gt=0)
    #: Days a staff session (the person, their claims, the address they signed in from) is kept
    #: after it ended or was last used: long enough to answer "who was signed in when".
    staff_session_retention_days: float = Field(default=90.0, gt=0)
    #: Days the audit log keeps an entry (who saw or did what with personal data): six years by
    #: default; a force sets its own period. The oldest entries go first; the chain still verifies.
    audit_retention_days: float = Field(default=2190.0, gt=0)

    @property
    def topic_retention_ms(self) -> int:
        return int(self.topic_retention_days * 24 * 3600 * 1000)


class CommonSettings(KafkaSecurity):
    """Every service's settings start here; the Kafka security settings (``KAFKA_SECURITY_PROTOCOL``,
    ``KAFKA_SASL_*``, ``KAFKA_SSL_CAFILE``) come from ``services.common.kafka_security``."""

    #: Errors never echo the input: it holds the secrets and keys.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    #: Comma-separated host:port list of Kafka brokers. A broker that is not on this machine needs
    #: ``KAFKA_SECURITY_PROTOCOL`` set: SASL_SSL, or PLAINTEXT on purpose (left to its default, refused).
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    #: How long a silent consumer keeps its partitions before the group hands them to another
    #: worker (a crashed worker's reports wait this long). The broker's minimum is 6 seconds.
    kafka_session_timeout_seconds: float = 30.0
    #: The router and feedback worker take up to this many messages at a time: one database
    #: transaction and one round of broker acknowledgements per batch.
    stream_batch_max: int = Field(default=200, ge=1, le=5000)
    #: ...or whatever arrived within this many seconds: the most a lone message waits.
    stream_batch_within_seconds: float = Field(default=0.02, gt=0, le=5)
    #: SQLAlchemy URL of the store; SQLite file by default. A PostgreSQL server that is not on this
    #: machine must be reached over TLS: ``?sslmode=verify-full&sslrootcert=/path/ca.pem`` (psycopg
    #: passes both to libpq); a URL to such a server without ``sslmode`` is refused.
    database_url: str = DEFAULT_URL
    log_level: str = "INFO"
    #: JSON lines (production) or readable console output.
    log_json: bool = True
    #: The process's event loop: uvloop (libuv; less CPU per request and per message), or Python's
    #: own (``asyncio``), where uvloop is not available.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    #: Where the public reaches the intake (links in messages, webhook signature checks).
    public_base_url: str = "http://127.0.0.1:8000"
    #: Signs one-click unsubscribe links; the intake and the feedback worker must share it.
    unsubscribe_secret: str = DEVELOPMENT_SECRET
    #: The domain SendGrid Inbound Parse receives replies for: each email's Reply-To is
    #: ``reply+<token>@<this>`` (``services.common.reply_address``, signed with UNSUBSCRIBE_SECRET).
    #: Unset: emails carry no reply address, and no inbound email counts as a reply.
    inbound_email_domain: str | None = None
    #: Derives the secret in track links (HMAC of the reference); the intake and the feedback worker
    #: must share it.
    track_secret: str = DEVELOPMENT_SECRET
    #: Fernet key(s), comma-separated (the first encrypts, all decrypt), for the personal data the
    #: store encrypts at rest; empty: a development key, with a warning (services/store/crypto.py).
    #: Refused off this machine when empty or the development key.
    store_encryption_key: str = ""

    #: Settings that sign something a stranger could otherwise forge.
    SECRETS: ClassVar[tuple[str, ...]] = ("unsubscribe_secret", "track_secret")
    #: HMAC key(s), comma-separated (the first digests, all match), of the address digests opt-outs
    #: and replies are matched on (at least 32 characters each); empty: a development key, with a
    #: warning. Refused off this machine when empty or the development key. After a change,
    #: ``python -m services.keys rekey-digests`` re-keys the stored digests.
    address_digest_key: str = ""

    #: Keys that protect personal data in the store, and their development values: empty (or
    #: holding the development key) only on this machine.
    STORE_KEYS: ClassVar[dict[str, str]] = {"store_encryption_key": crypto.DEV_KEY.decode(),
                                            "address_digest_key": crypto.DEV_DIGEST_KEY}
    #: Whether a development key may stay behind the first key, to decrypt (only the command that
    #: re-encrypts the store under the first key allows it: it is how a store leaves that key).
    RETIRING_DEVELOPMENT_KEYS: ClassVar[bool] = False

    @model_validator(mode="after")
    def _store_keys_are_keys(self) -> Self:
        """A key that is not a Fernet key stops the service here, not at the first write."""
        try:
            crypto.check_keys(self.store_encryption_key)
        except ValueError as exc:
            raise ValueError(f"STORE_ENCRYPTION_KEY: {exc}") from None
        try:
            crypto.check_digest_keys(self.address_digest_key)
        except ValueError as exc:
            raise ValueError(f"ADDRESS_DIGEST_KEY: {exc}") from None
        return self

    def beyond_this_machine(self) -> list[str]:
        """The settings that reach past this machine: a public address, or a database or broker
        elsewhere. Any one of them makes this a deployment, not a laptop: development secrets and
        keys are refused (a store on another server holds real people's data whatever the URL
        the public uses)."""
        reasons = []
        if (urlsplit(self.public_base_url).hostname or "") not in LOCAL_HOSTS:
            reasons.append(f"PUBLIC_BASE_URL {self.public_base_url}")
        if database_host(self.database_url) not in ("", *LOCAL_HOSTS):
            reasons.append("DATABASE_URL (a server on another machine)")
        if remote_brokers(self.kafka_bootstrap_servers):
            reasons.append("KAFKA_BOOTSTRAP_SERVERS (a broker on another machine)")
        return reasons

    @property
    def is_local(self) -> bool:
        """Everything this service reaches is on this machine (see ``beyond_this_machine``)."""
        return not self.beyond_this_machine()

    @model_validator(mode="after")
    def _remote_database_over_tls(self) -> Self:
        """Refuse a PostgreSQL server on another machine reached without ``sslmode``: the store holds
        informants' names and addresses, and libpq's default (``prefer``) silently falls back to
        plaintext and checks no certificate. ``sslmode=verify-full`` is what to use; an explicit
        ``sslmode=disable`` is a deliberate choice and is left alone."""
        problem = remote_database_without_tls(self.database_url)
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _remote_broker_protocol_chosen(self) -> Self:
        """Refuse a broker on another machine with the security protocol left to its default
        (PLAINTEXT): the topics carry contact details. Setting it, even to PLAINTEXT, is a choice."""
        if "kafka_security_protocol" in self.model_fields_set:
            return self
        remote = remote_brokers(self.kafka_bootstrap_servers)
        if remote:
            raise ValueError(f"KAFKA_BOOTSTRAP_SERVERS: {', '.join(remote)} is not on this machine; set "
                             "KAFKA_SECURITY_PROTOCOL=SASL_SSL with the service's user (or PLAINTEXT on purpose)")
        return self

    @model_validator(mode="after")
    def _no_development_secrets_in_public(self) -> Self:
        """Refuse to start with a development secret or key when anything the service reaches is off
        this machine: anyone could forge unsubscribe links, track links or sign-in sessions with the
        secrets, or read a copy of the store with the keys (both are in the source code)."""
        beyond = self.beyond_this_machine()
        if not beyond:
            return self
        where = f"{' and '.join(beyond)} {'is' if len(beyond) == 1 else 'are'} not on this machine"
        weak = [name.upper() for name in self.SECRETS if getattr(self, name) == DEVELOPMENT_SECRET]
        if weak:
            raise ValueError(f"set {', '.join(weak)}: {where}, and the development default would let anyone "
                             "forge what it signs")
        unkeyed = [name.upper() for name, development in self.STORE_KEYS.items()
                   if crypto.is_development_key(getattr(self, name), retiring=self.RETIRING_DEVELOPMENT_KEYS,
                                                development=development)]
        if unkeyed:
            raise ValueError(f"set {', '.join(unkeyed)}: {where}, and the development key (in the source code) "
                             "would let anyone with a copy of the database read the personal data in it, or "
                             "match addresses to it")
        return self


def remote_brokers(bootstrap_servers: str) -> list[str]:
    """The brokers of a ``host:port,...`` list that are not on this machine."""
    return [server.strip() for server in bootstrap_servers.split(",")
            if server.strip() and urlsplit(f"//{server.strip()}").hostname not in LOCAL_HOSTS]


def database_host(database_url: str) -> str:
    """The network host of a PostgreSQL store URL; "" for SQLite, a Unix socket or a URL not ours to judge."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(database_url)
    except ArgumentError:
        return ""
    if not url.drivername.startswith("postgresql"):
        return ""
    host = url.host or str(url.query.get("host", "") or "")
    return "" if host.startswith("/") else host


def remote_database_without_tls(database_url: str) -> str | None:
    """Why a store URL is refused (a PostgreSQL host other than loopback with no ``sslmode``), or None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(database_url)
    except ArgumentError:
        return None  # not ours to judge: the engine reports a malformed URL when it is made
    if not url.drivername.startswith("postgresql"):
        return None
    host = url.host or str(url.query.get("host", "") or "")
    if not host or host.startswith("/") or host in LOCAL_HOSTS:
        return None  # a Unix socket or loopback never crosses a network
    if "sslmode" in url.query:
        return None
    return (f"DATABASE_URL: the PostgreSQL server {host} is not on this machine and the URL has no sslmode; "
            "add ?sslmode=verify-full&sslrootcert=/path/to/ca.pem (or sslmode=disable to send it in plaintext "
            "on purpose)")
