"""The OCI 1.1 referrers API client. Docker Distribution 2.8 (the real registry here) has no referrers API:
against it the client must say so (None), which sends the sigstore planner to the tag schema fallback
(tested end to end in test_release_lifecycle.py). No registry with the API can run here, so its answer is
served by a stub speaking exactly the distribution-spec's response (200, an OCI index, its content type):
the only fake in these tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bundler.content.sigstore import cosign_tag, fallback_tag
from bundler.oci import mediatypes
from bundler.registry.client import RegistryClient
from bundler.registry.referrers import referrers
from testkit.registry import RegistryServer
from testkit.synthetic import push_image

DIGEST = "sha256:" + "ab" * 32
REFERRER = {"mediaType": mediatypes.OCI_MANIFEST, "digest": "sha256:" + "cd" * 32, "size": 512,
            "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"}
SEEN: list[str] = []  # the paths the stub was asked for


@pytest.fixture()
def api_stub() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            SEEN.append(self.path)
            if self.path == "/v2/":
                body, status, ctype = b"{}", 200, "application/json"
            elif self.path == f"/v2/a/b/referrers/{DIGEST}":
                body = json.dumps({"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX,
                                   "manifests": [REFERRER]}).encode()
                status, ctype = 200, mediatypes.OCI_INDEX
            else:
                body, status, ctype = b"404 page not found\n", 404, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_referrers_api_answer_is_read(api_stub: str) -> None:
    assert referrers(RegistryClient(api_stub, plain_http=True), "a/b", DIGEST) == [REFERRER]
    assert referrers(RegistryClient(api_stub, plain_http=True), "a/c", DIGEST) is None


def test_one_404_means_the_host_has_no_api(api_stub: str) -> None:
    """A registry with the API must not answer 404 to it (distribution-spec): after one, the client stops
    asking that host (one request per image fewer on registries without the API)."""
    client = RegistryClient(api_stub, plain_http=True)
    SEEN.clear()
    assert referrers(client, "a/c", DIGEST) is None                  # 404: no API
    assert referrers(client, "a/b", DIGEST) is None                  # not asked again
    assert [p for p in SEEN if "/referrers/" in p] == [f"/v2/a/c/referrers/{DIGEST}"]
    assert referrers(RegistryClient(api_stub, plain_http=True), "a/b", DIGEST) == [REFERRER]  # per client


def test_a_404_that_does_not_name_an_unknown_repository_leaves_its_tags_unknown(api_stub: str) -> None:
    """A server that answers a tag list with a bare 404 may not list tags at all: the sigstore lookups must
    then ask image by image (None), not take it as a repository without a signature tag."""
    client = RegistryClient(api_stub, plain_http=True)
    assert client.tag_pages("a/b") is None
    assert client.list_tags("a/b") == []


def test_registry_without_the_api_says_so(plain_registry: RegistryServer) -> None:
    client = RegistryClient(plain_registry.host, plain_http=True)
    m = push_image(client, "sig/subject", "v1", {"x": b"1"})
    assert referrers(client, "sig/subject", m.digest) is None


def test_tag_names() -> None:
    assert cosign_tag(DIGEST) == "sha256-" + "ab" * 32 + ".sig"
    assert fallback_tag(DIGEST) == "sha256-" + "ab" * 32
