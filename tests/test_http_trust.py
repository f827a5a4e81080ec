"""TrustedSession against a real TLS registry (Docker Distribution): a CA bundle file is loaded once and
shared by every connection of every thread, and the trust is still exactly that file: a different CA fails,
and a file rewritten with another CA is read again (a bootstrapped Quay may renew its CA in place)."""

from __future__ import annotations

import os
import ssl
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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
        (str(cafile), cafile.stat().st_mtime_ns, cafile.stat().st_size, None)]


def test_connections_do_not_write_to_the_shared_context(basic_registry_server: RegistryServer, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib3 sets the ALPN protocols and the verify mode on its context for every connection it opens. On
    the one context every thread shares, OpenSSL freeing and copying the ALPN list while another thread's
    connection copies it broke a ClientHello now and then ("unexpected message" from the registry). Counted
    where the settings reach the ssl module: 12 connections in 6 threads (a fresh session each) set each
    once, when the context is built (once more for every connection before)."""
    calls = {"alpn": 0, "verify": 0}
    alpn = ssl.SSLContext.set_alpn_protocols
    verify = vars(ssl.SSLContext)["verify_mode"]

    def count_alpn(self: ssl.SSLContext, protocols: Any) -> None:
        calls["alpn"] += 1
        alpn(self, protocols)

    def count_verify(self: ssl.SSLContext, value: Any) -> None:
        calls["verify"] += 1
        verify.fset(self, value)

    monkeypatch.setattr(ssl.SSLContext, "set_alpn_protocols", count_alpn)
    monkeypatch.setattr(ssl.SSLContext, "verify_mode", property(verify.fget, count_verify))
    monkeypatch.setattr(http, "_VERIFY_MODE", property(verify.fget, count_verify), raising=False)
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(Path(basic_registry_server.ca_file).read_bytes())
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda _: _ping(basic_registry_server, cafile), range(12)))
    assert codes == [401] * 12
    assert calls == {"alpn": 1, "verify": 1}


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


def test_a_ca_file_adds_to_the_system_trust(basic_registry_server: RegistryServer, registry_factory: Any,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--ca-file`` adds to the system's trust: a registry signed by a "system" CA (``SSL_CERT_FILE``, as the
    system bundle is found) and one signed by the ``--ca-file`` CA are both verified, by one context; and no
    combined bundle is written anywhere (a killed command would leave it behind)."""
    from bundler.registry.tls import verify_setting

    system_ca = CA.create("a system CA")
    system = tmp_path / "system.pem"
    system.write_bytes(system_ca.pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(system))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    by_system = registry_factory(ca=system_ca, auth="basic")
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(Path(basic_registry_server.ca_file).read_bytes())

    trust = verify_setting(cafile)

    assert trust == str(cafile.resolve())
    assert _ping(basic_registry_server, Path(trust)) == 401    # the --ca-file's CA
    assert _ping(by_system, Path(trust)) == 401                # and the system's
    assert [k for k in http._CONTEXTS if k[0] == trust] == [
        (trust, cafile.stat().st_mtime_ns, cafile.stat().st_size, str(system))]
    assert list(scratch.iterdir()) == []
    with pytest.raises(requests.exceptions.SSLError, match="certificate verify failed"):
        _ping(by_system, Path(basic_registry_server.ca_file))  # a CA file as such, not given as --ca-file: itself only


def test_proxies_are_read_once_per_host_and_still_apply(basic_registry_server: RegistryServer,
                                                        upstream_registry: tuple[RegistryServer, Any],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy variables are read once per host (requests reads them for every request) and still decide,
    host by host: ``HTTPS_PROXY`` for one registry, ``NO_PROXY`` naming the other (reached as ``localhost``:
    requests matches an IP address in ``NO_PROXY`` whole, without its port), with requests to both in turn
    through one session. A setting kept for the wrong host would send the second registry through the proxy,
    or the first one around it."""
    from testkit.proxy import ConnectProxy

    proxied = basic_registry_server.host
    direct = upstream_registry[0].host.replace("127.0.0.1", "localhost")
    with ConnectProxy() as proxy:
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "localhost")
        with http.TrustedSession(str(basic_registry_server.ca_file)) as s:
            codes = [s.get(f"https://{host}/v2/", timeout=10).status_code for host in (proxied, direct) * 3]
            kept = {key[1]: settings["proxies"].get("https") for key, settings in s._environment.items()}
    assert codes == [401] * 6
    assert set(proxy.tunnels) == {proxied}
    assert kept == {proxied: proxy.url, direct: None}
