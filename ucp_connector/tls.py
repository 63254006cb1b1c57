"""A private certificate authority for a closed deployment (the docker-compose stack).

UCP profile and webhook URLs must be HTTPS (DESIGN.md "Merchants"; plain
HTTP only on loopback, for dev and tests), and in the compose stack the API,
the worker and the reference merchant are separate hosts (``api``,
``merchant``). Rather than weaken that rule, ``ucp-connector keys tls`` issues
server certificates for those names from a CA made on first use; the
connector trusts it through ``outbound_ca_file`` (Settings), the reference
merchant through ``SSL_CERT_FILE``. Production uses its real PKI instead.

Files in the directory (0700): ``ca.pem`` (public), ``ca-key.pem`` (0600, only
needed to issue more), and per host ``HOST.pem`` + ``HOST-key.pem`` (0600).
Existing files are kept, so the command is idempotent and safe in an init
container that runs at every ``docker compose up``. Keys are ECDSA P-256;
certificates carry SKI/AKI and serverAuth so strict verifiers (Python 3.13's
``VERIFY_X509_STRICT``) accept them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.keyfiles import ensure_private_dir, write_file_atomically

CA_CERT: Final = "ca.pem"
CA_KEY: Final = "ca-key.pem"
VALIDITY: Final = dt.timedelta(days=825)  # the longest a public CA may issue; a private one should not exceed it


@dataclass(frozen=True)
class IssuedCertificate:
    host: str
    cert_file: Path
    key_file: Path
    created: bool


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_file, key_file = directory / CA_CERT, directory / CA_KEY
    if cert_file.exists() and key_file.exists():
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_file} is not an EC private key")
        return x509.load_pem_x509_certificate(cert_file.read_bytes()), key
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = _name("ucp-connector private CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_file_atomically(key_file, _private_pem(key), 0o600)
    write_file_atomically(cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


def _subject_alternative_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def issue_server_certificates(directory: Path, hosts: list[str]) -> list[IssuedCertificate]:
    """Make the CA if absent, then a server certificate for every host that has none yet."""
    ensure_private_dir(directory)
    ca_cert, ca_key = _ca(directory)
    issued: list[IssuedCertificate] = []
    for host in hosts:
        cert_file, key_file = directory / f"{host}.pem", directory / f"{host}-key.pem"
        if cert_file.exists() and key_file.exists():
            issued.append(IssuedCertificate(host, cert_file, key_file, created=False))
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(host))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName([_subject_alternative_name(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        write_file_atomically(key_file, _private_pem(key), 0o600)
        write_file_atomically(cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        issued.append(IssuedCertificate(host, cert_file, key_file, created=True))
    return issued
