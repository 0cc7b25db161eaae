"""A local single-node Apache Kafka broker (KRaft, broker+controller), started by the project.

No Docker engine is needed: the broker's jars come from Maven Central (``pom.xml`` beside
this file), storage is formatted with ``kafka.tools.StorageTool`` and the broker runs as
``java -cp 'lib-<version>/*' kafka.Kafka server.properties`` on loopback only.

The version is Kafka 4.4.0 (logging through Log4j 2) unless ``KAFKA_VERSION`` says otherwise:
``KAFKA_VERSION=3.9.1`` runs the last 3.x (logging through reload4j) for those whose clusters are
still on 3.x. Each version's jars are cached in their own ``.local/kafka/lib-<version>`` and its
data in its own ``data-<port>-<version>``, so switching back and forth downloads and formats once.

    python -m infra.kafka fetch     # download the jars once (cached in .local/kafka/lib-<version>)
    python -m infra.kafka start     # format storage if needed, start, wait, create topics
    python -m infra.kafka stop
    python -m infra.kafka status

``--secure`` (``Broker(secure=True)``) runs it the way production brokers should be reached: the
client listener is SASL_SSL (TLS 1.2+, SCRAM-SHA-512) with a CA and broker certificate made for
the run (``infra.certs``, PEM keystore), a SCRAM user per service plus ``admin`` (created when the
storage is formatted, passwords in ``secure-<port>-<version>/users.json``), the StandardAuthorizer
with ``admin`` as super user, and the ACLs of ``infra.acls`` (each service writes only its own
topics). The KRaft controller listener stays PLAINTEXT on loopback (SCRAM users live in the
metadata the controller serves, so the controller cannot authenticate with them): the broker's
own requests to it arrive as ``User:ANONYMOUS``, which is therefore a super user too. Anyone able
to reach the controller port on loopback could use that: on a shared host, give the controller an
SSL listener with client certificates instead.

    python -m infra.kafka start --secure --port 19192     # prints the bootstrap address
    eval "$(python -m infra.kafka env --secure --port 19192 --user router)"   # a service's KAFKA_* settings
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from infra.children import alive, children
from infra.ports import port_open
from services.common.kafka_security import KafkaSecurity, kafka_python_options

ROOT = Path(__file__).resolve().parent.parent
POM = Path(__file__).resolve().parent / "kafka" / "pom.xml"
DEFAULT_HOME = ROOT / ".local" / "kafka"
#: The broker version unless ``KAFKA_VERSION`` is set; tests/fixtures.py's container image follows it.
DEFAULT_VERSION = "4.4.0"


def default_version() -> str:
    return os.environ.get("KAFKA_VERSION", "").strip() or DEFAULT_VERSION


def _major(version: str) -> int:
    return int(version.split(".", 1)[0])


@dataclass(frozen=True)
class Broker:
    home: Path = DEFAULT_HOME
    port: int = 19092
    controller_port: int = 19093
    version: str = field(default_factory=default_version)
    #: Where the jars are cached (``lib-<version>`` below it), shared by brokers with other homes.
    jars: Path = DEFAULT_HOME
    #: SASL_SSL client listener, SCRAM users and ACLs (see the module's docstring).
    secure: bool = False

    @classmethod
    def from_env(cls) -> Broker:
        """The broker ``make run`` and ``python -m infra.kafka`` use: ``KAFKA_PORT`` (controller on the
        next port), ``KAFKA_HOME_DIR`` for its data, pid and log files, ``KAFKA_VERSION``, and
        ``KAFKA_SECURE=1`` for the SASL_SSL broker with SCRAM users and ACLs."""
        port = int(os.environ.get("KAFKA_PORT", "19092"))
        secure = os.environ.get("KAFKA_SECURE", "").strip().lower() in {"1", "true", "yes"}
        return cls(home=Path(os.environ.get("KAFKA_HOME_DIR", DEFAULT_HOME)), port=port, controller_port=port + 1,
                   secure=secure)

    @property
    def lib(self) -> Path:
        return self.jars / f"lib-{self.version}"

    @property
    def data(self) -> Path:
        return self.home / f"data-{self.port}-{self.version}{'-secure' if self.secure else ''}"

    @property
    def secrets(self) -> Path:
        """The secure broker's CA, keystore and users' passwords (kept with its data, gone on reset)."""
        return self.home / f"secure-{self.port}-{self.version}"

    @property
    def users_file(self) -> Path:
        return self.secrets / "users.json"

    @property
    def ca_file(self) -> Path:
        return self.secrets / "ca.pem"

    def security(self, user: str = "admin") -> KafkaSecurity:
        """How ``user`` reaches this broker (plaintext for a broker that is not secure)."""
        if not self.secure:
            return KafkaSecurity(kafka_security_protocol="PLAINTEXT")
        password = json.loads(self.users_file.read_text())[user]
        return KafkaSecurity(kafka_security_protocol="SASL_SSL", kafka_sasl_username=user,
                             kafka_sasl_password=password, kafka_ssl_cafile=self.ca_file)

    @property
    def pid_file(self) -> Path:
        return self.home / f"broker-{self.port}.pid"

    @property
    def log_file(self) -> Path:
        return self.home / f"broker-{self.port}.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def fetch(broker: Broker) -> None:
    """Copy the broker's runtime jars from Maven Central; a second run downloads nothing."""
    marker = broker.lib / ".complete"
    wanted = f"{broker.version}\n{POM.read_text()}"
    if marker.exists() and marker.read_text() == wanted:
        return
    if shutil.which("mvn") is None:
        sys.exit("infra.kafka: Maven (mvn) is required to fetch Kafka: apt-get install maven")
    broker.lib.mkdir(parents=True, exist_ok=True)
    logging_profile = "reload4j" if _major(broker.version) < 4 else "log4j2"
    subprocess.run(
        [
            "mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            f"-Dkafka.version={broker.version}", "-P", logging_profile,
            f"-DoutputDirectory={broker.lib}", "-DincludeScope=runtime",
        ],
        check=True,
    )
    marker.write_text(wanted)


def _listener_properties(broker: Broker) -> list[str]:
    """The client listener: PLAINTEXT, or SASL_SSL with SCRAM, a PEM keystore and the authorizer.
    The controller listener is PLAINTEXT on loopback either way."""
    controller = f"CONTROLLER://127.0.0.1:{broker.controller_port}"
    if not broker.secure:
        return [
            f"listeners=PLAINTEXT://127.0.0.1:{broker.port},{controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{broker.port}",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
        ]
    from infra.certs import make_broker_certificates

    certs = make_broker_certificates(broker.secrets)
    admin = json.loads(broker.users_file.read_text())["admin"]
    return [
        f"listeners=SASL_SSL://127.0.0.1:{broker.port},{controller}",
        f"advertised.listeners=SASL_SSL://127.0.0.1:{broker.port}",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
        "inter.broker.listener.name=SASL_SSL",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
        f'org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="{admin}";',
        "ssl.keystore.type=PEM",
        f"ssl.keystore.location={certs.keystore}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={certs.ca}",
        "ssl.enabled.protocols=TLSv1.3,TLSv1.2",
        "ssl.endpoint.identification.algorithm=https",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        # admin: topics and ACLs. ANONYMOUS: the broker's own requests on the PLAINTEXT controller listener.
        "super.users=User:admin;User:ANONYMOUS",
        "allow.everyone.if.no.acl.found=false",
    ]


def _users(broker: Broker) -> dict[str, str]:
    """The secure broker's SCRAM users and their passwords, made once (when its storage is formatted)."""
    from infra.acls import USERS

    if broker.users_file.exists():
        users: dict[str, str] = json.loads(broker.users_file.read_text())
        if set(USERS) <= set(users):
            return users
    users = {user: secrets.token_urlsafe(24) for user in USERS}
    broker.secrets.mkdir(parents=True, exist_ok=True)
    broker.users_file.touch(mode=0o600)
    broker.users_file.chmod(0o600)
    broker.users_file.write_text(json.dumps(users, indent=2))
    return users


def _server_properties(broker: Broker) -> Path:
    props = broker.home / f"server-{broker.port}.properties"
    props.touch(mode=0o600)
    props.chmod(0o600)  # a secure broker's file holds the admin's password
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{broker.controller_port}",
                *_listener_properties(broker),
                "controller.listener.names=CONTROLLER",
                f"log.dirs={broker.data}",
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=4",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                # Kafka 4.x: share groups keep their state in an internal topic; one broker, one replica.
                *(["share.coordinator.state.topic.replication.factor=1",
                   "share.coordinator.state.topic.min.isr=1"] if _major(broker.version) >= 4 else []),
                "min.insync.replicas=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                "log.retention.hours=168",
                "",
            ]
        )
    )
    return props


def _logging_option(broker: Broker) -> str:
    """Warnings and the server's start/stop lines to the broker's log: Log4j 2 for Kafka 4.x, reload4j for 3.x."""
    broker.home.mkdir(parents=True, exist_ok=True)
    if _major(broker.version) < 4:
        cfg = broker.home / "log4j.properties"
        cfg.write_text(
            "log4j.rootLogger=WARN, stdout\n"
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
            "log4j.logger.kafka.server.KafkaServer=INFO\n"
            "log4j.logger.kafka.server.BrokerServer=INFO\n"
        )
        return f"-Dlog4j.configuration=file:{cfg}"
    cfg = broker.home / "log4j2.properties"
    cfg.write_text(
        "status = warn\n"
        "appender.stdout.type = Console\n"
        "appender.stdout.name = STDOUT\n"
        "appender.stdout.layout.type = PatternLayout\n"
        "appender.stdout.layout.pattern = [%d] %p %m (%c)%n\n"
        "rootLogger.level = WARN\n"
        "rootLogger.appenderRef.stdout.ref = STDOUT\n"
        "logger.kafkaraftserver.name = kafka.server.KafkaRaftServer\n"
        "logger.kafkaraftserver.level = INFO\n"
    )
    return f"-Dlog4j2.configurationFile={cfg}"


def _java(broker: Broker, main: str, *args: str) -> list[str]:
    heap = os.environ.get("KAFKA_HEAP_OPTS", "-Xms256m -Xmx512m").split()
    return [
        "java", *heap, "-XX:+UseG1GC", "-Djava.awt.headless=true",
        _logging_option(broker),
        "-cp", f"{broker.lib}/*", main, *args,
    ]




def running_pid(broker: Broker) -> int | None:
    try:
        pid = int(broker.pid_file.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if alive(pid) else None


def start(broker: Broker, timeout: float = 90.0) -> str:
    """Start the broker (formatting storage on first use) and wait until it answers."""
    fetch(broker)
    if running_pid(broker) and port_open(broker.port):
        return broker.bootstrap
    if port_open(broker.port):
        sys.exit(f"infra.kafka: port {broker.port} is taken by something that is not our broker")
    broker.home.mkdir(parents=True, exist_ok=True)
    formatted = (broker.data / "meta.properties").exists()
    if broker.secure and not formatted:
        broker.users_file.unlink(missing_ok=True)  # new storage, new users
    scram = [arg for user, password in (_users(broker) if broker.secure else {}).items()
             for arg in ("--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]")]
    props = _server_properties(broker)
    if not formatted:
        broker.data.mkdir(parents=True, exist_ok=True)
        cluster_id = subprocess.run(
            _java(broker, "kafka.tools.StorageTool", "random-uuid"),
            check=True, capture_output=True, text=True,
        ).stdout.strip() or uuid.uuid4().hex
        subprocess.run(
            _java(broker, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props), *scram),
            check=True, capture_output=True, text=True,
        )
    log = broker.log_file.open("ab")
    proc = subprocess.Popen(
        _java(broker, "kafka.Kafka", str(props)),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    children[proc.pid] = proc
    broker.pid_file.write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"infra.kafka: broker exited ({proc.returncode}); see {broker.log_file}")
        if port_open(broker.port) and _metadata_ready(broker.bootstrap, broker.security()):
            return broker.bootstrap
        time.sleep(0.5)
    stop(broker)
    sys.exit(f"infra.kafka: broker did not answer within {timeout:.0f}s; see {broker.log_file}")


def _metadata_ready(bootstrap: str, security: KafkaSecurity | None = None) -> bool:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000,
                                 **kafka_python_options(security))
    except KafkaError:
        return False
    try:
        admin.list_topics()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


def stop(broker: Broker, timeout: float = 30.0) -> None:
    pid = running_pid(broker)
    if pid is None:
        broker.pid_file.unlink(missing_ok=True)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            break
        time.sleep(0.2)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        child = children.pop(pid, None)
        if child is not None:
            child.wait()
    broker.pid_file.unlink(missing_ok=True)


def reset(broker: Broker) -> None:
    """Stop and delete the broker's data (the jars stay). The data goes, so there is no
    point waiting long for a clean shutdown."""
    stop(broker, timeout=5.0)
    shutil.rmtree(broker.data, ignore_errors=True)
    if broker.secure:
        shutil.rmtree(broker.secrets, ignore_errors=True)


def prepare(broker: Broker, groups: dict[str, str] | None = None) -> None:
    """Create the topics, and on a secure broker the services' ACLs (as admin)."""
    from infra.topics import create_topics

    create_topics(broker.bootstrap, security=broker.security())
    if broker.secure:
        from infra.acls import apply_acls

        apply_acls(broker.bootstrap, broker.security(), groups)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.kafka", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["fetch", "start", "stop", "status", "reset", "topics", "env"])
    env = Broker.from_env()
    parser.add_argument("--port", type=int, default=env.port)
    parser.add_argument("--home", type=Path, default=env.home)
    parser.add_argument("--secure", action="store_true", default=env.secure,
                        help="SASL_SSL listener, SCRAM users, ACLs (or KAFKA_SECURE=1)")
    parser.add_argument("--user", default="admin", help="env: whose settings to print (admin, intake, router, ...)")
    args = parser.parse_args(argv)
    broker = Broker(home=args.home, port=args.port, controller_port=args.port + 1, secure=args.secure)
    if args.command == "fetch":
        fetch(broker)
    elif args.command == "start":
        start(broker)
        prepare(broker)
        print(broker.bootstrap)
        if broker.secure:
            print(f"CA: {broker.ca_file}; users and passwords: {broker.users_file}", file=sys.stderr)
    elif args.command == "env":
        for name, value in {"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, **broker.security(args.user).env()}.items():
            print(f"export {name}={value}")
    elif args.command == "topics":
        from infra.topics import create_topics

        create_topics(os.environ.get("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap), security=broker.security())
    elif args.command == "stop":
        stop(broker)
    elif args.command == "reset":
        reset(broker)
    else:
        pid = running_pid(broker)
        print(f"running pid={pid} {broker.bootstrap} (Kafka {broker.version})" if pid else "stopped")


if __name__ == "__main__":
    main()
