"""Protocol corners Docker Distribution cannot be made to show here: 429/503 answers, blob redirects to
another host (Distribution only redirects with cloud storage), and schema1 manifests (disabled in 2.8).
For these only, a small fake HTTP registry on 127.0.0.1 plays the server. Auth-file lookup uses real files."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bundler.auth import AuthStore, Credentials
from bundler.errors import ConfigError, RegistryError
from bundler.registry.client import RegistryClient

BLOB = b"layer bytes" * 1000
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"digest": BLOB_DIGEST, "size": len(BLOB)}, "layers": []}).encode()
SCHEMA1 = json.dumps({"schemaVersion": 1, "name": "a/b", "tag": "old", "fsLayers": []}).encode()


class Fake:
    """Scripted answers per path; records every request's path and Authorization header."""

    def __init__(self) -> None:
        self.script: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
        self.seen: list[tuple[str, str | None]] = []
        self.accept: list[str | None] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake.seen.append((self.path, self.headers.get("Authorization")))
                fake.accept.append(self.headers.get("Accept"))
                answers = fake.script.get(self.path.split("?")[0]) or [(404, {}, b"{}")]
                status, headers, body = answers.pop(0) if len(answers) > 1 else answers[0]
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def fake() -> Iterator[Fake]:
    f = Fake()
    yield f
    f.close()


def _client(fake: Fake, creds: Credentials | None = None) -> RegistryClient:
    return RegistryClient(fake.host, plain_http=True, credentials=creds, retries=3)


def test_retries_503_and_429_then_succeeds(fake: Fake) -> None:
    ok = (200, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, MANIFEST)
    fake.script["/v2/a/b/manifests/1"] = [(503, {}, b""), (429, {"Retry-After": "0"}, b""), ok]
    m = _client(fake).get_manifest("a/b", "1")
    assert m.data == MANIFEST
    assert [p for p, _ in fake.seen].count("/v2/a/b/manifests/1") == 3


def test_gives_up_after_retries_naming_the_image(fake: Fake) -> None:
    fake.script["/v2/a/b/manifests/1"] = [(503, {}, b"")]
    with pytest.raises(RegistryError, match=rf"{fake.host}/a/b:1 failed: HTTP 503"):
        _client(fake).get_manifest("a/b", "1")


def test_blob_redirect_to_another_host_drops_authorization(fake: Fake) -> None:
    other = Fake()
    try:
        other.script[f"/storage/{BLOB_DIGEST}"] = [(200, {}, BLOB)]
        fake.script["/v2/"] = [(401, {"WWW-Authenticate": 'Basic realm="fake"'}, b"")]
        fake.script[f"/v2/a/b/blobs/{BLOB_DIGEST}"] = [
            (401, {"WWW-Authenticate": 'Basic realm="fake"'}, b""),
            (307, {"Location": f"http://{other.host}/storage/{BLOB_DIGEST}"}, b""),
        ]
        data = _client(fake, Credentials("user", "secret")).get_blob("a/b", BLOB_DIGEST)
        assert data == BLOB
        sent = [auth for path, auth in fake.seen if path.startswith("/v2/a/b/blobs/")]
        assert sent[-1] == "Basic " + base64.b64encode(b"user:secret").decode()
        assert other.seen == [(f"/storage/{BLOB_DIGEST}", None)]
    finally:
        other.close()


def test_schema1_is_refused_by_name(fake: Fake) -> None:
    fake.script["/v2/a/b/manifests/old"] = [(200, {"Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws"},
                                             SCHEMA1)]
    with pytest.raises(RegistryError, match=rf"{fake.host}/a/b:old is a Docker schema1 manifest"):
        _client(fake).get_manifest("a/b", "old")


def test_accept_header_names_every_manifest_type(fake: Fake) -> None:
    fake.script["/v2/a/b/manifests/1"] = [(200, {}, MANIFEST)]
    _client(fake).get_manifest("a/b", "1")
    sent = {t.strip() for t in (fake.accept[-1] or "").split(",")}
    assert sent >= {"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json",
                    "application/vnd.docker.distribution.manifest.v2+json"}


def _secret(path: Path, entries: dict[str, tuple[str, str]]) -> Path:
    auths = {k: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode(), "email": "x@example.com"}
             for k, (u, p) in entries.items()}
    path.write_text(json.dumps({"auths": auths}))
    return path


def test_pull_secret_lookup_order_and_namespaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    assert AuthStore.load().entries == {}
    (tmp_path / ".docker").mkdir()
    _secret(tmp_path / ".docker" / "config.json", {"https://index.docker.io/v1/": ("hub", "h")})
    assert AuthStore.load().lookup("docker.io") == Credentials("hub", "h")
    run = tmp_path / "run"
    (run / "containers").mkdir(parents=True)
    _secret(run / "containers" / "auth.json", {"quay.io": ("xdg", "x")})
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    assert AuthStore.load().lookup("quay.io") == Credentials("xdg", "x")
    env = _secret(tmp_path / "env.json", {"quay.io": ("all", "a"), "quay.io/openshift-release-dev": ("ns", "s3cr3t-pw")})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(env))
    store = AuthStore.load()
    assert store.lookup("quay.io", "openshift-release-dev/ocp-release") == Credentials("ns", "s3cr3t-pw")
    assert store.lookup("quay.io", "other/repo") == Credentials("all", "a")
    assert "s3cr3t-pw" not in repr(store.lookup("quay.io", "openshift-release-dev/x"))


def test_bad_auth_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        AuthStore.load(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json is not readable JSON"):
        AuthStore.load(bad)
    bad.write_text('{"something": {}}')
    with pytest.raises(ConfigError, match='no "auths"'):
        AuthStore.load(bad)
