"""RegistryClient against real Docker Distribution registries: auth, TLS, errors, blobs, manifests."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from bundler.auth import AuthStore, Credentials
from bundler.errors import AuthError, DigestMismatchError, NotFoundError, RegistryError
from bundler.oci import Manifest, sha256_digest
from bundler.registry import ConnectOptions
from bundler.registry.client import RegistryClient
from testkit.registry import RegistryServer
from testkit.synthetic import COMPONENT_REPO, RELEASE_REPO, Upstream, push_image


def _blob(client: RegistryClient, repo: str, data: bytes) -> str:
    digest = sha256_digest(data)
    client.push_blob(repo, digest, len(data), lambda: io.BytesIO(data))
    return digest


# -- token auth ------------------------------------------------------------------------------------

def test_token_auth_refuses_anonymous(upstream_registry: tuple[RegistryServer, Upstream]) -> None:
    server, up = upstream_registry
    client = RegistryClient(server.host, ca_file=server.ca_file)
    with pytest.raises(AuthError) as exc:
        client.get_manifest(RELEASE_REPO, up.release.rsplit(":", 1)[1])
    assert server.host in str(exc.value)
    assert "no credentials" in str(exc.value)
    assert server.token_server is not None and server.token_server.requests[-1].granted is False


def test_token_auth_wrong_password_names_registry(upstream_registry: tuple[RegistryServer, Upstream]) -> None:
    server, _ = upstream_registry
    client = RegistryClient(server.host, ca_file=server.ca_file, credentials=Credentials(server.username, "wrong"))
    with pytest.raises(AuthError) as exc:
        client.list_tags(RELEASE_REPO)
    assert server.host in exc.value.message
    assert exc.value.hint and "--authfile" in exc.value.hint
    assert exc.value.status == 401


def test_token_auth_with_authfile(upstream_registry: tuple[RegistryServer, Upstream], tmp_path: Path) -> None:
    server, up = upstream_registry
    path = server.authfile(tmp_path / "auth.json")
    client = RegistryClient(server.host, AuthStore.load(path), ca_file=server.ca_file)
    assert "4.4.5-x86_64" in client.list_tags(RELEASE_REPO)
    assert client.get_manifest(RELEASE_REPO, "4.4.5-x86_64").digest == up.release_digest


def test_token_cached_per_scope(upstream_client: RegistryClient, upstream_registry: tuple[RegistryServer, Upstream]) -> None:
    server, up = upstream_registry
    tokens = server.token_server
    assert tokens is not None
    before = len(tokens.requests)
    upstream_client.get_manifest(RELEASE_REPO, up.release_digest)
    after_first = len(tokens.requests)
    assert after_first == before + 1
    assert tokens.requests[-1].scopes == [f"repository:{RELEASE_REPO}:pull"]
    for _ in range(3):
        upstream_client.get_manifest(RELEASE_REPO, up.release_digest)
        upstream_client.head_manifest(RELEASE_REPO, "4.4.5-x86_64")
    assert len(tokens.requests) == after_first, "the pull token for the repository must be reused"
    upstream_client.get_manifest(COMPONENT_REPO, up.components["cli"].split("@")[1])
    assert len(tokens.requests) == after_first + 1
    assert tokens.requests[-1].scopes == [f"repository:{COMPONENT_REPO}:pull"]


class CountingClient(RegistryClient):
    """The real client, noting the status of every response it receives."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.statuses: list[int] = []
        self._statuses_lock = threading.Lock()

    def _send(self, method: str, url: str, **kw: Any) -> requests.Response:
        resp = super()._send(method, url, **kw)
        with self._statuses_lock:
            self.statuses.append(resp.status_code)
        return resp


def test_first_requests_at_once_collect_one_401(upstream_registry: tuple[RegistryServer, Upstream],
                                                tmp_path: Path) -> None:
    """Eight threads asking a token registry at once: one ``/v2/`` ping learns the challenge while the others
    wait for it, then each goes out with a token (before, the threads that came during the ping each
    collected a 401 of their own)."""
    server, up = upstream_registry
    client = CountingClient(server.host, AuthStore.load(server.authfile(tmp_path / "auth.json")),
                            ca_file=server.ca_file)
    digests = [ref.split("@")[1] for ref in sorted(up.components.values())[:8]]
    start = threading.Barrier(len(digests))

    def get(digest: str) -> str:
        start.wait()
        return client.get_manifest(COMPONENT_REPO, digest).digest

    with ThreadPoolExecutor(len(digests)) as pool:
        assert list(pool.map(get, digests)) == digests
    assert client.statuses.count(401) == 1
    assert len(client.statuses) == 1 + 1 + len(digests)  # the ping, one token, the manifests


def test_a_registry_that_is_not_there_is_named_with_the_reason() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket is closed
    client = RegistryClient(f"127.0.0.1:{port}", options=ConnectOptions(retries=0))
    with pytest.raises(RegistryError) as exc:
        client.get_manifest("some/repo", "latest")
    assert exc.value.message == f"cannot reach registry 127.0.0.1:{port}: [Errno 111] Connection refused"


def test_first_requests_at_once_to_a_dead_registry_fail_together() -> None:
    """A host that takes connections and drops them (a test socket: no registry answers so): the threads that
    waited for the ``/v2/`` ping fail with its error at once instead of each connecting again."""
    accepted: list[socket.socket] = []
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)
            time.sleep(0.3)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    host = f"127.0.0.1:{server.getsockname()[1]}"
    client = RegistryClient(host, credentials=Credentials("u", "p"), options=ConnectOptions(retries=0))
    start = threading.Barrier(8)

    def get(_: int) -> str:
        start.wait()
        try:
            client.get_manifest("some/repo", "latest")
        except RegistryError as exc:
            return exc.message
        return "answered"

    try:
        with ThreadPoolExecutor(8) as pool:
            messages = list(pool.map(get, range(8)))
    finally:
        server.close()
    assert len(accepted) == 1
    assert len(set(messages)) == 1 and messages[0].startswith(f"cannot reach registry {host}")


def test_anonymous_pull_only(registry_factory) -> None:  # type: ignore[no-untyped-def]
    server = registry_factory(auth="token", allow_anonymous=True)
    owner = server.client()
    m = push_image(owner, "open/image", "v1", {"hello.txt": b"hi"})
    anon = server.client(credentials=False)
    assert anon.get_manifest("open/image", "v1").data == m.data
    with pytest.raises(AuthError) as exc:
        _blob(anon, "open/image", b"not allowed")
    assert "push" in str(exc.value)


# -- basic auth over TLS -----------------------------------------------------------------------------

def test_basic_auth_over_tls(basic_registry: tuple[RegistryServer, str]) -> None:
    server, prefix = basic_registry
    client = server.client()
    data = b"basic over tls" * 1000
    digest = _blob(client, f"{prefix}/blobs", data)
    assert client.has_blob(f"{prefix}/blobs", digest)
    assert client.get_blob(f"{prefix}/blobs", digest) == data
    assert not client.has_blob(f"{prefix}/blobs", sha256_digest(b"absent"))

    wrong = RegistryClient(server.host, ca_file=server.ca_file, credentials=Credentials(server.username, "nope"))
    with pytest.raises(AuthError) as exc:
        wrong.has_blob(f"{prefix}/blobs", digest)
    assert server.host in exc.value.message
    anonymous = RegistryClient(server.host, ca_file=server.ca_file)
    with pytest.raises(AuthError, match="no credentials found"):
        anonymous.list_tags(f"{prefix}/blobs")


# -- TLS and transport failures ----------------------------------------------------------------------

def test_tls_without_ca_hints_ca_file(basic_registry: tuple[RegistryServer, str]) -> None:
    server, prefix = basic_registry
    client = RegistryClient(server.host, credentials=Credentials(server.username, server.password))
    with pytest.raises(RegistryError) as exc:
        client.ping()
    assert "TLS" in exc.value.message and server.host in exc.value.message
    assert exc.value.hint and "--ca-file" in exc.value.hint


def test_unknown_tag_is_not_found(upstream_client: RegistryClient, upstream: Upstream) -> None:
    with pytest.raises(NotFoundError) as exc:
        upstream_client.get_manifest(RELEASE_REPO, "9.9.9-x86_64")
    assert f"{upstream.registry}/{RELEASE_REPO}:9.9.9-x86_64" in str(exc.value)
    assert upstream_client.head_manifest(RELEASE_REPO, "9.9.9-x86_64") is None
    with pytest.raises(NotFoundError):
        upstream_client.get_blob(RELEASE_REPO, sha256_digest(b"no such blob"))


def test_registry_down_then_restarted(registry_factory) -> None:  # type: ignore[no-untyped-def]
    server = registry_factory(auth="basic")
    client = RegistryClient(server.host, ca_file=server.ca_file, retries=0,
                            credentials=Credentials(server.username, server.password))
    m = push_image(client, "down/test", "v1", {"a": b"a"})
    server.stop()
    assert not server.running
    with pytest.raises(RegistryError) as exc:
        client.get_manifest("down/test", "v1")
    assert "cannot reach" in exc.value.message and server.host in exc.value.message
    server.start()
    assert client.get_manifest("down/test", "v1").data == m.data  # storage survives a restart


# -- blobs -------------------------------------------------------------------------------------------

def test_iter_blob_verifies_sha256(registry_factory) -> None:  # type: ignore[no-untyped-def]
    server = registry_factory()
    client = server.client()
    data = bytes(range(256)) * 4096
    digest = _blob(client, "corrupt/me", data)
    assert b"".join(client.iter_blob("corrupt/me", digest)) == data
    stored = server.storage / "docker/registry/v2/blobs/sha256" / digest[7:9] / digest[7:] / "data"
    assert stored.read_bytes() == data
    stored.write_bytes(b"X" * len(data))  # same length: only the hash can tell
    with pytest.raises(DigestMismatchError) as exc:
        for _ in client.iter_blob("corrupt/me", digest):
            pass
    assert digest in str(exc.value)


def test_cross_repo_mount(basic_registry: tuple[RegistryServer, str]) -> None:
    server, prefix = basic_registry
    client = server.client()
    data = b"mount me" * 5000
    digest = _blob(client, f"{prefix}/source", data)
    assert client.mount_blob(f"{prefix}/target", digest, f"{prefix}/source") is True
    assert client.has_blob(f"{prefix}/target", digest)
    missing = sha256_digest(b"nowhere")
    assert client.mount_blob(f"{prefix}/target", missing, f"{prefix}/source") is False
    assert not client.has_blob(f"{prefix}/target", missing)


def test_cross_repo_mount_with_token_scopes(registry_factory) -> None:  # type: ignore[no-untyped-def]
    server = registry_factory(auth="token")
    client = server.client()
    digest = _blob(client, "a/src", b"token mount")
    assert client.mount_blob("b/dst", digest, "a/src")
    assert server.token_server.requests[-1].scopes == ["repository:b/dst:pull,push", "repository:a/src:pull"]


# -- manifests ---------------------------------------------------------------------------------------

def test_manifest_byte_exact_round_trip(basic_registry: tuple[RegistryServer, str]) -> None:
    server, prefix = basic_registry
    client = server.client()
    repo = f"{prefix}/exact"
    base = push_image(client, repo, None, {"etc/hostname": b"exact\n"})
    # re-serialise with odd but valid formatting: the registry must keep these bytes
    odd = json.dumps(base.doc, indent=7, sort_keys=True).encode() + b"\n\n"
    m = Manifest(odd, base.media_type, sha256_digest(odd))
    assert m.digest != base.digest
    assert client.put_manifest(repo, "odd", m) == m.digest
    got = client.get_manifest(repo, "odd")
    assert got.data == odd and got.digest == m.digest and got.media_type == base.media_type
    assert client.head_manifest(repo, "odd") == m.digest  # Docker-Content-Digest
    assert client.get_manifest(repo, m.digest).data == odd
    resp = client.request("GET", f"/v2/{repo}/manifests/odd", repo, headers={"Accept": got.media_type})
    assert resp.headers["Docker-Content-Digest"] == m.digest
    assert resp.headers["Content-Type"] == got.media_type


def test_manifest_by_digest_only_is_untagged(upstream_client: RegistryClient, upstream: Upstream) -> None:
    tags = upstream_client.list_tags(COMPONENT_REPO)
    assert tags == []  # components are pushed by digest only
    digest = upstream.components["installer"].split("@")[1]
    assert upstream_client.get_manifest(COMPONENT_REPO, digest).digest == digest


# -- tag lists, page by page ---------------------------------------------------------------------

def test_tag_list_of_a_repository_without_tags_is_empty(basic_registry: tuple[RegistryServer, str]) -> None:
    """Docker Distribution answers 404 NAME_UNKNOWN for a repository with no tag, or none at all: no tags.
    (Distribution 2.8 lists every tag in one answer; paging is tested against Quay: test_quay_real_api.py.)"""
    server, prefix = basic_registry
    client = server.client()
    m = push_image(client, f"{prefix}/untagged", None, {"a": b"b"})
    assert client.get_manifest(f"{prefix}/untagged", m.digest).digest == m.digest
    assert client.tag_pages(f"{prefix}/untagged") == []
    assert client.tag_pages(f"{prefix}/never-pushed") == []


def _through(relay: Any, server: RegistryServer, retries: int = 4) -> RegistryClient:
    """A client for ``server`` reached through ``relay`` (its certificate names 127.0.0.1, any port)."""
    return RegistryClient(relay.host, ca_file=server.ca_file, credentials=Credentials(server.username, server.password),
                          options=ConnectOptions(retries=retries, retry_delay=0.0))


def test_a_tls_handshake_broken_once_is_retried(basic_registry_server: RegistryServer) -> None:
    """A connection closed during the TLS handshake (a network or a proxy dropping it) is retried like any
    dropped connection; it used to fail the image at once as "TLS verification failed", with a hint about
    --ca-file that had nothing to do with it."""
    from testkit.throttle import Throttle

    with Throttle(basic_registry_server.host, rate=None, drop_first=1).start() as relay:
        assert _through(relay, basic_registry_server).list_tags("nothing/here") == []
        assert relay.accepted >= 2


def test_a_tls_handshake_that_always_breaks_says_so(basic_registry_server: RegistryServer) -> None:
    from testkit.throttle import Throttle

    with Throttle(basic_registry_server.host, rate=None, drop_first=100).start() as relay:
        with pytest.raises(RegistryError) as err:
            _through(relay, basic_registry_server, retries=2).list_tags("nothing/here")
        assert relay.accepted == 3                                  # the first try and two retries
    assert f"the TLS connection to {relay.host} broke" in str(err.value) and "(and in 2 retries)" in str(err.value)
    assert "--ca-file" not in str(err.value) and "--ca-file" not in (err.value.hint or "")


def test_a_port_without_tls_is_named_and_not_retried(plain_registry: RegistryServer) -> None:
    from testkit.throttle import Throttle

    with Throttle(plain_registry.host, rate=None).start() as relay:
        with pytest.raises(RegistryError) as err:
            RegistryClient(relay.host, options=ConnectOptions(retries=3, retry_delay=0.0)).list_tags("x/y")
        assert relay.accepted == 1
    assert "does not speak TLS on this port" in str(err.value) and "HTTPS only" in (err.value.hint or "")
