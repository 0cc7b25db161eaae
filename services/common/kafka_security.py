"""How every Kafka client in the project reaches the broker: plaintext (a laptop's broker) or
TLS with SASL/SCRAM (``KAFKA_SECURITY_PROTOCOL=SASL_SSL``). One settings object, and one function
per client library that turns it into that library's options, so no client is made without them:

- aiokafka (the intake's publisher): ``aiokafka_options``
- faust (router, feedback worker): ``faust_options`` (faust's ``broker_credentials``)
- kafka-python (topics, ACLs, dead letters, test harness): ``kafka_python_options``
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSecurity(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    #: PLAINTEXT (no TLS, no authentication: a broker on loopback only) or SASL_SSL.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    #: The SASL mechanism with SASL_SSL: SCRAM-SHA-512 (the only one the project's broker offers).
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512"] = "SCRAM-SHA-512"
    #: This service's user on the broker (each service has its own; ACLs in the README).
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = Field(default=SecretStr(""))
    #: PEM file of the CA that signed the broker's certificate; unset, the system's trust store.
    kafka_ssl_cafile: Path | None = None

    @model_validator(mode="after")
    def _credentials_with_sasl(self) -> Self:
        if self.secure and not (self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()):
            raise ValueError("KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        return self

    @property
    def secure(self) -> bool:
        return self.kafka_security_protocol == "SASL_SSL"

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the broker's certificate and host name against ``KAFKA_SSL_CAFILE`` (or the
        system's trust store); TLS 1.2 at least."""
        context = ssl.create_default_context(cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def env(self) -> dict[str, str]:
        """These settings as the environment variables a service process reads."""
        env: dict[str, str] = {"KAFKA_SECURITY_PROTOCOL": self.kafka_security_protocol}
        if self.secure:
            env |= {"KAFKA_SASL_MECHANISM": self.kafka_sasl_mechanism,
                    "KAFKA_SASL_USERNAME": self.kafka_sasl_username,
                    "KAFKA_SASL_PASSWORD": self.kafka_sasl_password.get_secret_value()}
            if self.kafka_ssl_cafile is not None:
                env["KAFKA_SSL_CAFILE"] = str(self.kafka_ssl_cafile)
        return env


PLAINTEXT = KafkaSecurity(kafka_security_protocol="PLAINTEXT")


def aiokafka_options(security: KafkaSecurity | None) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer``/``AIOKafkaConsumer``/``AIOKafkaAdminClient``."""
    if security is None or not security.secure:
        return {}
    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": security.kafka_sasl_mechanism,
        "sasl_plain_username": security.kafka_sasl_username,
        "sasl_plain_password": security.kafka_sasl_password.get_secret_value(),
        "ssl_context": security.ssl_context(),
    }


def faust_options(security: KafkaSecurity | None) -> dict[str, Any]:
    """Keyword arguments for ``faust.App`` (``broker_credentials``)."""
    if security is None or not security.secure:
        return {}
    import faust

    return {"broker_credentials": faust.SASLCredentials(
        username=security.kafka_sasl_username, password=security.kafka_sasl_password.get_secret_value(),
        ssl_context=security.ssl_context(), mechanism=security.kafka_sasl_mechanism)}


def kafka_python_options(security: KafkaSecurity | None) -> dict[str, Any]:
    """Keyword arguments for kafka-python's ``KafkaAdminClient``/``KafkaConsumer``/``KafkaProducer``."""
    options = aiokafka_options(security)  # the same names, and one more
    return {**options, "ssl_check_hostname": True} if options else {}
