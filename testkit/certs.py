"""Throw-away PKI for tests: a CA and server certificates for 127.0.0.1 / localhost, made by bundler's one
certificate factory (:mod:`bundler.pki`) with fast EC keys, and the token signer's self-signed RSA key."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from bundler.pki import IPAddress, PrivateKey, cert_pem, issue_server, key_pem, make_ca


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bundler tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _validity(builder: x509.CertificateBuilder, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return builder.not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=days))


@dataclass
class CA:
    """A self-signed certificate authority that issues server certificates."""

    cert: x509.Certificate
    key: PrivateKey

    @classmethod
    def create(cls, common_name: str = "bundler test CA", days: int = 30) -> CA:
        cert, key = make_ca(common_name, "bundler tests", days, kind="ec", path_length=None)
        return cls(cert, key)

    @property
    def pem(self) -> bytes:
        return cert_pem(self.cert)

    def issue(self, hosts: list[str] | tuple[str, ...] = ("127.0.0.1", "localhost"),
              days: int = 30) -> tuple[x509.Certificate, PrivateKey]:
        """A server certificate with ``hosts`` as SANs (IP addresses become IP SANs)."""
        dns: list[str] = []
        ips: list[IPAddress] = []
        for h in hosts:
            try:
                ips.append(ipaddress.ip_address(h))
            except ValueError:
                dns.append(h)
        return issue_server(self.cert, self.key, hosts[0], dns, ips, days, kind="ec")

    def write(self, directory: str | Path, hosts: list[str] | tuple[str, ...] = ("127.0.0.1", "localhost")) -> TLSFiles:
        """Write ``ca.pem``, a fresh server ``server.crt``/``server.key`` and a ``certs.d`` style dir."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        cert, key = self.issue(hosts)
        files = TLSFiles(ca_file=d / "ca.pem", cert_file=d / "server.crt", key_file=d / "server.key",
                         cert_dir=d / "certs.d")
        files.ca_file.write_bytes(self.pem)
        # registries expect the leaf first, then the chain
        files.cert_file.write_bytes(cert_pem(cert) + self.pem)
        files.key_file.write_bytes(key_pem(key))
        files.key_file.chmod(0o600)
        files.cert_dir.mkdir(exist_ok=True)
        (files.cert_dir / "ca.crt").write_bytes(self.pem)
        return files


@dataclass(frozen=True)
class TLSFiles:
    """PEM files on disk. ``cert_dir`` holds ``ca.crt`` only (for ``skopeo --cert-dir``/``podman``)."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    cert_dir: Path


def self_signed_rsa(common_name: str = "bundler token signer", days: int = 30) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """An RSA key and a self-signed certificate for it (a token signer's ``rootcertbundle``)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
    )
    return _validity(builder, days).sign(key, hashes.SHA256()), key
