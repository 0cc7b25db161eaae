"""A throwaway certificate authority and broker certificate for a local TLS broker, made with
``cryptography`` for each run of ``infra.kafka start --secure``: the CA's certificate is what
clients trust (``KAFKA_SSL_CAFILE``), the broker's key and certificate are its PEM keystore.
Never for production: there the broker's certificate comes from the force's PKI."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class BrokerCertificates:
    ca: Path  #: the CA certificate (PEM): clients' KAFKA_SSL_CAFILE, the broker's truststore
    keystore: Path  #: the broker's private key (PKCS#8, unencrypted) then its certificate, PEM


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mecc local"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_broker_certificates(folder: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
                             now: datetime | None = None, days: int = 30) -> BrokerCertificates:
    """Write ``ca.pem`` and ``broker-keystore.pem`` into ``folder`` (replacing earlier ones). The
    broker's certificate names each of ``hosts`` (IP addresses as such) so that clients' host
    name checks pass."""
    now = now or datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder().subject_name(_name("mecc local Kafka CA")).issuer_name(_name("mecc local Kafka CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        # Key identifiers: Python 3.13's default TLS context checks chains strictly (VERIFY_X509_STRICT).
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder().subject_name(_name("mecc local Kafka broker")).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca = folder / "ca.pem"
    ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    keystore = folder / "broker-keystore.pem"
    keystore.touch(mode=0o600)
    os.chmod(keystore, 0o600)
    keystore.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM)
        + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    return BrokerCertificates(ca=ca, keystore=keystore)
