"""The local secure broker's certificates and the services' ACL table."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from kafka.admin import ACLOperation, ResourceType

from infra.acls import SERVICE_ACLS, USERS, service_acls
from infra.certs import make_broker_certificates
from schemas.topics import TOPICS


def test_the_broker_certificate_is_signed_by_the_run_ca_for_the_loopback_address(tmp_path: Path) -> None:
    certs = make_broker_certificates(tmp_path, now=datetime(2030, 1, 1, tzinfo=UTC))
    ca = x509.load_pem_x509_certificate(certs.ca.read_bytes())
    chain = certs.keystore.read_bytes().split(b"-----END PRIVATE KEY-----\n")[1]
    broker, _ca_again = x509.load_pem_x509_certificates(chain)
    broker.verify_directly_issued_by(ca)
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert certs.keystore.stat().st_mode & 0o077 == 0  # the private key is the owner's alone
    ssl.create_default_context(cafile=str(certs.ca))  # a client can trust it as it is


def _grants(user: str, operation: ACLOperation) -> set[str]:
    return {acl.resource_pattern.resource_name for acl in service_acls()
            if acl.principal == f"User:{user}" and acl.operation == operation
            and acl.resource_pattern.resource_type == ResourceType.TOPIC}


def test_each_service_writes_only_the_topics_it_owns() -> None:
    assert _grants("intake", ACLOperation.WRITE) == {
        "contacts.public", "contacts.third-party", "cases.updates", "feedback.delivery-status", "feedback.inbound",
        "feedback.preferences"}
    assert _grants("router", ACLOperation.WRITE) == {"reports.routed", "watch.items", "router.dead-letters"}
    assert _grants("feedback", ACLOperation.WRITE) == {"feedback.messages", "contacts.public", "feedback.dead-letters"}
    assert _grants("intake", ACLOperation.READ) == set()  # the intake consumes nothing
    assert "reports.routed" not in _grants("intake", ACLOperation.WRITE)


def test_every_topic_has_a_writer_and_every_read_topic_exists() -> None:
    written = {t for access in SERVICE_ACLS.values() for t in access.writes}
    read = {t for access in SERVICE_ACLS.values() for t in access.reads}
    assert written == set(TOPICS)
    assert read <= set(TOPICS)
    assert set(USERS) == {"admin", "intake", "router", "feedback"}


def test_a_run_with_its_own_app_ids_gets_group_acls_for_them() -> None:
    groups = {acl.resource_pattern.resource_name for acl in service_acls({"router": "test-router-1"})
              if acl.resource_pattern.resource_type == ResourceType.GROUP}
    assert groups == {"test-router-1", "mecc-feedback"}
