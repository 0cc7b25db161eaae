"""Who may do what on a SASL_SSL broker: each service's user may write only the topics it owns
and read only the topics (and consumer group) it consumes. The table is ``SERVICE_ACLS``; the
README's "Kafka ACLs" section shows the same. ``admin`` is the broker's super user (topics, ACLs,
the dead-letter tool); it is never given to a service.

``apply_acls`` sets them through the admin client (kafka-python ``create_acls``), idempotently:
the broker keeps one copy of an ACL however often it is created."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourceType,
)

from schemas.topics import (
    CASES_UPDATES,
    CONTACTS_PUBLIC,
    CONTACTS_THIRD_PARTY,
    FEEDBACK_DEAD_LETTERS,
    FEEDBACK_DELIVERY,
    FEEDBACK_INBOUND,
    FEEDBACK_MESSAGES,
    FEEDBACK_PREFERENCES,
    REPORTS_ROUTED,
    ROUTER_DEAD_LETTERS,
    WATCH_ITEMS,
)
from services.common.kafka_security import KafkaSecurity, kafka_python_options

#: The broker's super user (``super.users``): creates topics and ACLs, runs the dead-letter tool.
ADMIN = "admin"


@dataclass(frozen=True)
class ServiceAccess:
    writes: tuple[str, ...]
    reads: tuple[str, ...] = ()
    #: The consumer group (faust app id) it commits offsets for; matched as a prefix.
    group: str | None = None


#: Which topics each service's user writes and reads (grep of the services' publish and agent calls).
SERVICE_ACLS: dict[str, ServiceAccess] = {
    "intake": ServiceAccess(writes=(CONTACTS_PUBLIC.name, CONTACTS_THIRD_PARTY.name, CASES_UPDATES.name,
                                    FEEDBACK_DELIVERY.name, FEEDBACK_INBOUND.name, FEEDBACK_PREFERENCES.name)),
    "router": ServiceAccess(writes=(REPORTS_ROUTED.name, WATCH_ITEMS.name, ROUTER_DEAD_LETTERS.name),
                            reads=(CONTACTS_PUBLIC.name, CONTACTS_THIRD_PARTY.name), group="mecc-router"),
    # contacts.public: a reply from someone who is not a known informant becomes a new contact.
    "feedback": ServiceAccess(writes=(FEEDBACK_MESSAGES.name, CONTACTS_PUBLIC.name, FEEDBACK_DEAD_LETTERS.name),
                              reads=(REPORTS_ROUTED.name, CASES_UPDATES.name, WATCH_ITEMS.name, FEEDBACK_INBOUND.name,
                                     FEEDBACK_PREFERENCES.name, FEEDBACK_DELIVERY.name), group="mecc-feedback"),
}

#: Every user the local secure broker creates (SCRAM-SHA-512): the services and the admin.
USERS = (ADMIN, *SERVICE_ACLS)


def _allow(user: str, operation: ACLOperation, kind: ResourceType, name: str,
           pattern: ACLResourcePatternType = ACLResourcePatternType.LITERAL) -> ACL:
    return ACL(principal=f"User:{user}", host="*", operation=operation, permission_type=ACLPermissionType.ALLOW,
               resource_pattern=ResourcePattern(kind, name, pattern))


def service_acls(groups: Mapping[str, str] | None = None) -> list[ACL]:
    """The ACLs of ``SERVICE_ACLS``; ``groups`` replaces a service's consumer group (prefix), for a
    deployment or a test run whose app ids differ from the defaults."""
    acls: list[ACL] = []
    for user, access in SERVICE_ACLS.items():
        for topic in access.writes:
            acls += [_allow(user, ACLOperation.WRITE, ResourceType.TOPIC, topic),
                     _allow(user, ACLOperation.DESCRIBE, ResourceType.TOPIC, topic)]
        for topic in access.reads:
            acls += [_allow(user, ACLOperation.READ, ResourceType.TOPIC, topic),
                     _allow(user, ACLOperation.DESCRIBE, ResourceType.TOPIC, topic)]
        group = (groups or {}).get(user, access.group)
        if group:
            acls += [_allow(user, ACLOperation.READ, ResourceType.GROUP, group, ACLResourcePatternType.PREFIXED),
                     _allow(user, ACLOperation.DESCRIBE, ResourceType.GROUP, group, ACLResourcePatternType.PREFIXED)]
    return acls


def apply_acls(bootstrap: str, security: KafkaSecurity, groups: Mapping[str, str] | None = None) -> int:
    """Create the services' ACLs on the broker as ``security`` (the admin); returns how many."""
    acls = service_acls(groups)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="mecc-infra", **kafka_python_options(security))
    try:
        result = admin.create_acls(acls)
    finally:
        admin.close()
    failed = result.get("failed", []) if isinstance(result, dict) else []
    if failed:
        raise RuntimeError(f"the broker refused {len(failed)} ACL(s): {failed[:3]}")
    return len(acls)
