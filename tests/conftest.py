"""Shared fixtures: real Docker Distribution registries and the synthetic OpenShift upstream.

Registries are real ``/usr/bin/docker-registry`` processes on 127.0.0.1. When the binary is missing the
fixtures error (they never skip): these tests are the point of the suite.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bundler.content.release.signatures import SIGNATURE_KEY_ENV, SIGNATURE_URL_ENV
from bundler.registry.client import RegistryClient
from testkit.certs import CA
from testkit.graph_server import Universe, UpdateServer
from testkit.quay_fixtures import real_quay, real_quay_images  # noqa: F401 - the real-Quay session fixtures
from testkit.realistic_fixtures import realistic  # noqa: F401 - the habits tests' session fixture
from testkit.registry import RegistryServer, write_authfile
from testkit.signing import GpgSigner
from testkit.synthetic import Upstream, build_upstream

# podman on this kind of host runs containers only with runc and no default ulimits (see compose/).
os.environ.setdefault("CONTAINERS_CONF", str(Path(__file__).resolve().parent.parent / "compose" / "containers.conf"))

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def tls_ca() -> CA:
    """One throw-away CA for every registry of the session."""
    return CA.create("bundler pytest CA")


@pytest.fixture(scope="session")
def upstream_registry(tls_ca: CA) -> Iterator[tuple[RegistryServer, Upstream]]:
    """(server, upstream): TLS + token auth, with the synthetic upstream (and the -multi release) pushed once."""
    server = RegistryServer(ca=tls_ca, auth="token", username="upstream-user")
    server.start()
    try:
        upstream = build_upstream(server.client(), version="4.4.5", components=12, layer_size=32 * 1024,
                                  seed=0, multi_release=True)
        yield server, upstream
    finally:
        server.close()


@pytest.fixture(scope="session")
def upstream(upstream_registry: tuple[RegistryServer, Upstream]) -> Upstream:
    return upstream_registry[1]


@pytest.fixture
def upstream_client(upstream_registry: tuple[RegistryServer, Upstream]) -> RegistryClient:
    """A fresh client (empty token cache) with the upstream's CA and credentials."""
    client: RegistryClient = upstream_registry[0].client()
    return client


@pytest.fixture(scope="session")
def basic_registry_server(tls_ca: CA) -> Iterator[RegistryServer]:
    """TLS + Basic (htpasswd) registry shared by the session: use ``basic_registry`` for a unique prefix."""
    with RegistryServer(ca=tls_ca, auth="basic", username="mirror-user") as server:
        yield server


@pytest.fixture
def basic_registry(basic_registry_server: RegistryServer) -> tuple[RegistryServer, str]:
    """(server, prefix): the shared TLS + Basic registry and a repository prefix unique to this test,
    e.g. ``t7``; push under ``<server.host>/<prefix>/...``."""
    return basic_registry_server, f"t{next(_counter)}"


@pytest.fixture(scope="session")
def plain_registry() -> Iterator[RegistryServer]:
    """Plain HTTP, no auth (use ``RegistryClient(host, plain_http=True)``)."""
    with RegistryServer(tls=False) as server:
        yield server


@pytest.fixture(scope="session")
def plain_upstream() -> Iterator[tuple[RegistryServer, Upstream]]:
    """(server, upstream): plain HTTP, no auth, a small synthetic upstream (4 components, 4 KiB layers)."""
    with RegistryServer(tls=False) as server:
        yield server, build_upstream(server.client(), version="4.4.5", components=4, layer_size=4096, seed=7)


@pytest.fixture
def registry_factory(tls_ca: CA, tmp_path: Path) -> Iterator[Callable[..., RegistryServer]]:
    """Start private registries for one test (e.g. to stop or corrupt them): ``registry_factory(auth="basic")``.
    Keyword arguments go to ``RegistryServer``; ``ca`` defaults to the session CA. All are closed afterwards."""
    servers: list[RegistryServer] = []

    def make(**kw: Any) -> RegistryServer:
        kw.setdefault("ca", tls_ca)
        kw.setdefault("workdir", tmp_path / f"registry-{len(servers)}")
        server = RegistryServer(**kw)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def authfile(tmp_path: Path, upstream_registry: tuple[RegistryServer, Upstream],
             basic_registry_server: RegistryServer) -> Path:
    """A containers auth.json with credentials for the upstream and the basic registry."""
    up = upstream_registry[0]
    return write_authfile(tmp_path / "auth.json", {
        up.host: (up.username, up.password),
        basic_registry_server.host: (basic_registry_server.username, basic_registry_server.password),
    })


@pytest.fixture(scope="session", autouse=True)
def release_signature_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpdateServer]:
    """Export verifies every release's signatures (as oc-mirror does): the session's synthetic releases are
    signed by one throw-away test key, served by a signature store on 127.0.0.1 (plain HTTP, so every test
    reaches it whatever CA it trusts) and named through oc-mirror's own variables. Tests of signatures
    set their own store and key."""
    d = tmp_path_factory.mktemp("signature-store")
    with GpgSigner("bundler session release key", "ed25519") as signer:
        key = signer.write_public_key(d / "release-key.asc")
        server = UpdateServer(Universe([], []), workdir=d, tls=False)
        server.signer = lambda digest: signer.sign_release(digest, "synthetic/release")
        with server:
            saved = {k: os.environ.get(k) for k in (SIGNATURE_URL_ENV, SIGNATURE_KEY_ENV)}
            os.environ[SIGNATURE_URL_ENV] = server.signature_url
            os.environ[SIGNATURE_KEY_ENV] = str(key)
            try:
                yield server
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
