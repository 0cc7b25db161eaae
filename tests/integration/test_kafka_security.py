"""The pipeline over a broker that requires TLS and SCRAM (``infra.kafka start --secure``): the
intake's publisher, the router and the feedback worker (processes) each connect as their own user,
and a contact is routed and acknowledged;
the intake's user may not write a topic it does not own, and a client without TLS and credentials
gets nowhere."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiokafka.errors import TopicAuthorizationFailedError
from kafka import KafkaConsumer
from pydantic import SecretStr

from harness.processes import Service, free_port, provider_env, service_env
from harness.providers import FakeSendGrid, FakeTwilio
from infra import kafka as local_kafka
from infra.acls import apply_acls
from infra.ports import port_open
from infra.topics import create_topics
from schemas import Informant, Location, PublicContact, ReportDetails, RoutedItem
from schemas.events import new_reference
from services.common.kafka_security import KafkaSecurity, kafka_python_options
from services.intake.publisher import Publisher, PublishFailed

pytestmark = pytest.mark.integration

#: The secure broker's own port (and the controller's, next to it), beside the plaintext test broker's.
SECURE_PORT = int(os.environ.get("TEST_SECURE_KAFKA_PORT", int(os.environ.get("TEST_KAFKA_PORT", "29092")) + 10))


@dataclass(frozen=True)
class SecureStack:
    broker: local_kafka.Broker
    router: Service
    feedback: Service
    twilio: FakeTwilio

    def user(self, name: str) -> KafkaSecurity:
        return self.broker.security(name)


@pytest.fixture(scope="module")
def secure(database_url: str, tmp_path_factory: pytest.TempPathFactory, twilio: FakeTwilio,
           sendgrid: FakeSendGrid) -> Iterator[SecureStack]:
    if shutil.which("java") is None:
        pytest.skip("the secure broker runs from the project's Kafka jars and needs java")
    if port_open(SECURE_PORT) or port_open(SECURE_PORT + 1):
        pytest.fail(f"port {SECURE_PORT} or {SECURE_PORT + 1} is taken: set TEST_SECURE_KAFKA_PORT")
    home = tmp_path_factory.mktemp("secure-kafka")
    broker = local_kafka.Broker(home=home, port=SECURE_PORT, controller_port=SECURE_PORT + 1, secure=True)
    local_kafka.start(broker)
    services: list[Service] = []
    try:
        admin = broker.security("admin")
        create_topics(broker.bootstrap, security=admin)
        env = service_env(kafka=broker.bootstrap, database_url=database_url, security=admin,
                          extra=provider_env(twilio, sendgrid))
        apply_acls(broker.bootstrap, admin, groups={"router": env["ROUTER_APP_ID"], "feedback": env["FEEDBACK_APP_ID"]})
        for name in ("router", "feedback"):
            port = free_port()
            # each service as its own broker user, never the admin
            env_of = {**env, **broker.security(name).env(), f"{name.upper()}_WEB_PORT": str(port)}
            services.append(Service(name, env_of, port, home / f"{name}.log").start())
        yield SecureStack(broker, services[0], services[1], twilio)
    finally:
        for service in services:
            service.stop()
        local_kafka.reset(broker)


def contact(phone: str = "+447700900123") -> PublicContact:
    return PublicContact(
        reference=new_reference(),
        report=ReportDetails(category="rural-crime", description="Hare coursing in the fields off Green Lane",
                             location=Location(latitude=52.1, longitude=-0.5)),
        informant=Informant(phone=phone),
    )


def publish(stack: SecureStack, user: str, topic: str, event: PublicContact) -> None:
    async def send() -> None:
        publisher = Publisher(stack.broker.bootstrap, 15, security=stack.user(user))
        try:
            await publisher.publish(topic, event.reference, event)
        finally:
            await publisher.stop()

    asyncio.run(send())


def routed(stack: SecureStack, reference: str, timeout: float = 60.0) -> RoutedItem | None:
    """The routed item for ``reference``, read from ``reports.routed`` as the admin."""
    found = first_on(stack, "reports.routed", reference, timeout)
    return RoutedItem.model_validate_json(found) if found is not None else None


def first_on(stack: SecureStack, topic: str, reference: str, timeout: float = 60.0) -> bytes | None:
    """The first value on ``topic`` that names ``reference``, read as the admin."""
    consumer = KafkaConsumer(topic, bootstrap_servers=stack.broker.bootstrap, auto_offset_reset="earliest",
                             group_id=f"test-{uuid.uuid4().hex[:8]}", consumer_timeout_ms=1000,
                             **kafka_python_options(stack.user("admin")))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for message in consumer:
                if reference.encode() in message.value:
                    return bytes(message.value)
            for service in (stack.router, stack.feedback):  # if one exited, say why rather than wait on
                assert service.proc is not None and service.proc.poll() is None, service.log_tail()
    finally:
        consumer.close()
    return None


def test_a_contact_published_by_the_intake_is_routed_over_tls_and_scram(secure: SecureStack) -> None:
    c = contact()
    publish(secure, "intake", "contacts.public", c)
    item = routed(secure, c.reference)
    assert item is not None, f"not routed; router log:\n{secure.router.log_tail()}"
    assert [d.id for d in item.destinations] == ["rural-crime-team"]
    assert item.contact == c


def test_the_feedback_worker_acknowledges_a_routed_contact_over_tls_and_scram(secure: SecureStack) -> None:
    c = contact("+447700900451")
    publish(secure, "intake", "contacts.public", c)
    secure.twilio.wait_for(lambda: len(secure.twilio.messages(to="+447700900451")) >= 1, timeout=60)
    message = first_on(secure, "feedback.messages", c.reference)  # written as the feedback worker's user
    assert message is not None, f"no feedback message; feedback log:\n{secure.feedback.log_tail()}"


def test_the_intake_may_not_write_a_topic_it_does_not_own(secure: SecureStack) -> None:
    c = contact()
    with pytest.raises(PublishFailed) as refused:
        publish(secure, "intake", "reports.routed", c)
    assert isinstance(refused.value.__cause__, TopicAuthorizationFailedError)
    assert routed(secure, c.reference, timeout=3) is None  # nothing forged reached the police-only topic


@pytest.mark.parametrize("security", [
    None,  # plaintext: the broker speaks only TLS
    "wrong-password",
    "untrusted-ca",  # the right password, but the broker's certificate is not checked against the run's CA
], ids=["plaintext", "wrong-password", "untrusted-ca"])
def test_a_client_without_tls_or_the_right_credentials_gets_nowhere(secure: SecureStack, security: str | None) -> None:
    intake = secure.user("intake")
    settings = {
        None: None,
        "wrong-password": intake.model_copy(update={"kafka_sasl_password": SecretStr("not-the-password")}),
        "untrusted-ca": intake.model_copy(update={"kafka_ssl_cafile": None}),
    }[security]

    async def ready() -> bool:
        publisher = Publisher(secure.broker.bootstrap, 10, security=settings)
        try:
            return await publisher.ready()
        finally:
            await publisher.stop()

    assert asyncio.run(ready()) is False
