"""TrustedSession against a real TLS registry (Docker Distribution): a CA bundle file is loaded once and
shared by every connection of every thread, and the trust is still exactly that file: a different CA fails,
and a file rewritten with another CA is read again (a bootstrapped Quay may renew its CA in place)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bundler import http
from testkit.certs import CA
from testkit.registry import RegistryServer


def _ping(server: RegistryServer, cafile: Path) -> int:
    with http.TrustedSession(str(cafile)) as s:
        return s.get(f"https://{server.host}/v2/", timeout=10).status_code


def test_one_context_per_ca_file_across_threads(basic_registry_server: RegistryServer, tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(Path(basic_registry_server.ca_file).read_bytes())
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda _: _ping(basic_registry_server, cafile), range(12)))
    assert codes == [401] * 12                             # TLS verified, then the registry asks for credentials
    assert [k for k in http._CONTEXTS if k[0] == str(cafile)] == [
        (str(cafile), cafile.stat().st_mtime_ns, cafile.stat().st_size)]


def test_the_trust_is_still_that_file(basic_registry_server: RegistryServer, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    other.write_bytes(CA.create("not the registry's CA").pem)
    with pytest.raises(requests.exceptions.SSLError, match="certificate verify failed"):
        _ping(basic_registry_server, other)
    # the same path rewritten with the registry's CA: read again, now trusted
    other.write_bytes(Path(basic_registry_server.ca_file).read_bytes())
    st = other.stat()
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert _ping(basic_registry_server, other) == 401


def test_a_netrc_file_is_still_honoured(basic_registry_server: RegistryServer, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a netrc file requests is spared looking for one on every request; with one (``$NETRC``), its
    credentials are still sent, as requests does."""
    monkeypatch.setenv("NETRC", str(tmp_path / "absent"))
    assert _ping(basic_registry_server, Path(basic_registry_server.ca_file)) == 401
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {basic_registry_server.username} "
                     f"password {basic_registry_server.password}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert _ping(basic_registry_server, Path(basic_registry_server.ca_file)) == 200


def test_one_combined_bundle_per_ca_file(basic_registry_server: RegistryServer, tmp_path: Path) -> None:
    """The registries, the update service and the signature store given one ``--ca-file`` share the bundle
    of system CAs plus it (and so one loaded context); a rewritten CA file makes a new one, and either
    verifies the registry the CA signed."""
    from bundler.registry.tls import system_bundle, verify_setting

    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(CA.create("first").pem)
    first = verify_setting(cafile)
    assert isinstance(first, str) and verify_setting(str(cafile)) == first
    system = system_bundle()
    assert system is not None and Path(first).read_text().startswith(Path(system).read_text())
    cafile.write_bytes(Path(basic_registry_server.ca_file).read_bytes())
    os.utime(cafile, ns=(1, 1))                    # a rewrite in the same second is still a new version
    second = verify_setting(cafile)
    assert isinstance(second, str) and second != first and Path(second).read_text().endswith(cafile.read_text())
    assert _ping(basic_registry_server, Path(second)) == 401          # the rewritten CA is trusted
