"""The generated CA and server certificate: SANs, chain verification (cryptography's verifier and
``openssl verify``), key modes, reuse across runs, and config.yaml / secrets rendering."""

from __future__ import annotations

import ipaddress
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from bundler.quay.config import load_or_create_secrets, write_quay_config
from bundler.quay.tls import ensure_tls

HOST = "mirror.lab.example"
EXTRA_IP = ipaddress.ip_address("192.0.2.10")


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def _sans(p: Path) -> tuple[list[str], list[str]]:
    leaf = x509.load_pem_x509_certificates(p.read_bytes())[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName), [str(i) for i in san.get_values_for_type(x509.IPAddress)]


def test_sans_and_modes(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls", HOST, extra_ips=[EXTRA_IP])
    dns, ips = _sans(files.server_cert)
    assert {HOST, "mirror", "localhost"} <= set(dns)
    assert {"127.0.0.1", "192.0.2.10"} <= set(ips)
    assert _mode(files.server_key) == 0o600 and _mode(files.ca_key) == 0o600
    assert _mode(files.ca_cert) == 0o644


def test_host_ips_are_included_by_default(tmp_path: Path) -> None:
    from bundler.quay.tls import host_ips
    files = ensure_tls(tmp_path / "tls", HOST)
    _, ips = _sans(files.server_cert)
    assert "127.0.0.1" in ips
    assert {str(i) for i in host_ips()} <= set(ips)


def test_chain_verifies_with_cryptography(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls", HOST, extra_ips=[EXTRA_IP])
    chain = x509.load_pem_x509_certificates(files.server_cert.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    assert len(chain) == 2 and chain[1] == ca
    store = Store([ca])
    for name in (HOST, "mirror", "localhost"):
        verifier = PolicyBuilder().store(store).build_server_verifier(x509.DNSName(name))
        verifier.verify(chain[0], [])
    PolicyBuilder().store(store).build_server_verifier(
        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))).verify(chain[0], [])
    with pytest.raises(Exception):  # noqa: B017 - any verification error
        PolicyBuilder().store(store).build_server_verifier(x509.DNSName("other.example")).verify(chain[0], [])


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_chain_verifies_with_openssl(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls", HOST, extra_ips=[EXTRA_IP])
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(files.server_cert.read_bytes().split(b"-----END CERTIFICATE-----")[0]
                     + b"-----END CERTIFICATE-----\n")
    res = subprocess.run(["openssl", "verify", "-CAfile", str(files.ca_cert), "-purpose", "sslserver",
                          "-verify_hostname", HOST, str(leaf)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_rerun_keeps_ca_and_cert_and_reissues_for_new_name(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls", HOST, extra_ips=[])
    ca1, cert1 = files.ca_cert.read_bytes(), files.server_cert.read_bytes()
    ensure_tls(tmp_path / "tls", HOST, extra_ips=[])
    assert files.server_cert.read_bytes() == cert1          # nothing changed: kept
    ensure_tls(tmp_path / "tls", "other.lab.example", extra_ips=[])
    assert files.ca_cert.read_bytes() == ca1                # CA kept: clusters trust it
    assert files.server_cert.read_bytes() != cert1          # re-issued for the new name
    assert "other.lab.example" in _sans(files.server_cert)[0]
    assert _mode(files.server_key) == 0o600


def test_config_has_required_keys_and_reuses_secrets(tmp_path: Path) -> None:
    sec = load_or_create_secrets(tmp_path / "secrets.json")
    assert _mode(tmp_path / "secrets.json") == 0o600
    assert all(len(sec[k]) <= 63 for k in ("secret_key", "database_secret_key"))
    doc = write_quay_config(tmp_path / "config.yaml", "mirror.lab.example:8443", "quayadmin", sec)
    assert _mode(tmp_path / "config.yaml") == 0o600
    loaded = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert loaded == doc
    required = ["PREFERRED_URL_SCHEME", "SERVER_HOSTNAME", "DB_URI", "AUTHENTICATION_TYPE",
                "DISTRIBUTED_STORAGE_CONFIG", "BUILDLOGS_REDIS", "USER_EVENTS_REDIS",
                "DISTRIBUTED_STORAGE_PREFERENCE", "DEFAULT_TAG_EXPIRATION", "TAG_EXPIRATION_OPTIONS",
                "SETUP_COMPLETE", "DATABASE_SECRET_KEY", "SECRET_KEY", "FEATURE_USER_INITIALIZE", "SUPER_USERS"]
    assert all(k in loaded for k in required)
    assert loaded["SETUP_COMPLETE"] is True and loaded["FEATURE_USER_INITIALIZE"] is True
    assert loaded["SUPER_USERS"] == ["quayadmin"] and loaded["SERVER_HOSTNAME"] == "mirror.lab.example:8443"
    assert loaded["FEATURE_MAILING"] is False and loaded["DB_URI"].startswith("sqlite:////sqlite/")
    assert loaded["BUILDLOGS_REDIS"]["password"] == sec["redis_password"]
    # re-run with secrets.json lost: the DATABASE_SECRET_KEY in config.yaml is taken back
    (tmp_path / "secrets.json").unlink()
    again = load_or_create_secrets(tmp_path / "secrets.json", existing_config=tmp_path / "config.yaml")
    assert again["database_secret_key"] == sec["database_secret_key"]
    assert again["secret_key"] == sec["secret_key"] and again["redis_password"] == sec["redis_password"]
    assert load_or_create_secrets(tmp_path / "secrets.json") == again
