"""The mirror registry's TLS material, made with ``cryptography``: a private CA and a server certificate.

The server certificate carries subjectAltNames for everything a client may dial: the FQDN, its short
name, the host's IP addresses, ``localhost`` and ``127.0.0.1``. (A CN-only certificate, as in the 2020
manual workflow, is rejected by Go clients such as podman, skopeo and the OpenShift installer.)

The CA is made once and kept: clusters trust it through ``additionalTrustBundle``, so re-running only
re-issues the server certificate when its names changed or it nears expiry. Private keys are 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..errors import BundlerError
from ..pki import IPAddress, PrivateKey, issue_server, key_pem, make_ca
from .config import write_private as _write_private

CA_DAYS = 3650
SERVER_DAYS = 730
RENEW_BEFORE = dt.timedelta(days=30)

VIRTUAL_IFACES = ("podman", "cni", "veth", "docker", "virbr", "br-", "flannel", "vxlan", "tun", "tap")



@dataclass(frozen=True)
class TLSFiles:
    ca_cert: Path      # the CA clients trust (ca-bundle.pem for additionalTrustBundle)
    ca_key: Path       # 0600
    server_cert: Path  # leaf followed by the CA
    server_key: Path   # 0600


def tls_files(tls_dir: Path) -> TLSFiles:
    return TLSFiles(tls_dir / "ca.pem", tls_dir / "ca.key", tls_dir / "server.crt", tls_dir / "server.key")


def host_ips() -> list[IPAddress]:
    """This host's addresses (loopback and link-local left out; 127.0.0.1 is added separately)."""
    found: set[str] = set()
    try:
        out = subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True, check=False, timeout=10).stdout
        for link in json.loads(out or "[]"):
            if str(link.get("ifname", "")).startswith(VIRTUAL_IFACES):
                continue  # container bridges come and go with pods: not addresses clients dial
            for a in link.get("addr_info", []):
                if a.get("local"):
                    found.add(a["local"])
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    for name in {socket.gethostname(), socket.getfqdn()}:
        try:
            for info in socket.getaddrinfo(name, None):
                found.add(str(info[4][0]))
        except OSError:
            pass
    ips: list[IPAddress] = []
    for text in found:
        try:
            ip = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            continue
        if ip.is_loopback or ip.is_link_local or ip.is_unspecified:
            continue
        ips.append(ip)
    return sorted(ips, key=lambda i: (i.version, int(i)))


def subject_names(hostname: str, extra_ips: list[IPAddress] | None = None) -> tuple[list[str], list[IPAddress]]:
    """DNS names and IPs the server certificate must carry."""
    dns: list[str] = []
    ips: list[IPAddress] = []
    try:
        ips.append(ipaddress.ip_address(hostname))
    except ValueError:
        dns.append(hostname.lower())
        short = hostname.split(".", 1)[0].lower()
        if short not in dns:
            dns.append(short)
    if "localhost" not in dns:
        dns.append("localhost")
    for ip in [ipaddress.ip_address("127.0.0.1"), *(host_ips() if extra_ips is None else extra_ips)]:
        if ip not in ips:
            ips.append(ip)
    return dns, ips




def _write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _make_ca(hostname: str) -> tuple[x509.Certificate, PrivateKey]:
    return make_ca(f"bundler CA for {hostname}", "bundler mirror registry", CA_DAYS)


def _make_server(hostname: str, dns: list[str], ips: list[IPAddress], ca: x509.Certificate,
                 ca_key: PrivateKey) -> tuple[x509.Certificate, PrivateKey]:
    return issue_server(ca, ca_key, hostname, dns, ips, SERVER_DAYS)


def _current_sans(cert: x509.Certificate) -> tuple[set[str], set[IPAddress]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    ips = {i for i in san.get_values_for_type(x509.IPAddress)
           if isinstance(i, ipaddress.IPv4Address | ipaddress.IPv6Address)}
    return set(san.get_values_for_type(x509.DNSName)), ips


def ensure_tls(tls_dir: Path, hostname: str, extra_ips: list[IPAddress] | None = None) -> TLSFiles:
    """Make (or keep) the CA and a server certificate for ``hostname``; returns the file paths.

    The server certificate is re-issued when it lacks a name it must carry, was not signed by the
    current CA, or expires within 30 days. The CA itself is only made when missing.
    """
    files = tls_files(Path(tls_dir))
    Path(tls_dir).mkdir(parents=True, exist_ok=True)
    os.chmod(tls_dir, 0o755)
    if files.ca_cert.exists() != files.ca_key.exists():
        # clusters trust this CA: a new one would silently break every client; never make it over half of one
        have, lost = (files.ca_cert, files.ca_key) if files.ca_cert.exists() else (files.ca_key, files.ca_cert)
        raise BundlerError(f"the registry CA is incomplete: {have} exists but {lost} is missing",
                           f"restore {lost} from a backup; only if no cluster trusts this CA yet, remove {have} "
                           "too and a new CA is made (clients must then trust the new ca-bundle.pem)")
    if files.ca_cert.exists() and files.ca_key.exists():
        ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        loaded = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise BundlerError(f"{files.ca_key} is not an RSA or EC private key", "restore the CA key from a backup")
        ca_key: PrivateKey = loaded
        os.chmod(files.ca_key, 0o600)
    else:
        ca, ca_key = _make_ca(hostname)
        _write_private(files.ca_key, key_pem(ca_key))
        _write_public(files.ca_cert, ca.public_bytes(serialization.Encoding.PEM))
        files.server_cert.unlink(missing_ok=True)

    dns, ips = subject_names(hostname, extra_ips)
    if files.server_cert.exists() and files.server_key.exists():
        leaf = x509.load_pem_x509_certificates(files.server_cert.read_bytes())[0]
        have_dns, have_ips = _current_sans(leaf)
        fresh = leaf.not_valid_after_utc - dt.datetime.now(dt.UTC) > RENEW_BEFORE
        if fresh and set(dns) <= have_dns and set(ips) <= have_ips and leaf.issuer == ca.subject:
            try:
                leaf.verify_directly_issued_by(ca)
                os.chmod(files.server_key, 0o600)
                return files
            except (ValueError, TypeError, Exception):  # noqa: BLE001 - any failure means re-issue
                pass
    cert, key = _make_server(hostname, dns, ips, ca, ca_key)
    _write_private(files.server_key, key_pem(key))
    _write_public(files.server_cert, cert.public_bytes(serialization.Encoding.PEM)
                  + ca.public_bytes(serialization.Encoding.PEM))
    return files
