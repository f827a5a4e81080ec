"""A protocol-real OpenShift update service and release signature store on 127.0.0.1 (TLS).

Serves what cannot be reached from here, the way the real services answer (openshift/cincinnati
``policy-engine``; mirror.openshift.com):

* ``GET /api/upgrades_info/v1/graph?channel=C&arch=A`` (and ``/api/upgrades_info/graph``): the
  channel's graph as ``{"version": 1, "nodes", "edges", "conditionalEdges"}``, filtered as Cincinnati's
  channel and arch plugins do (nodes whose ``release.channels`` metadata names C and that exist for A;
  edges and conditional edges between the kept nodes); an unknown channel or arch is an empty graph;
  no ``channel`` is 400 ``missing_params``, a malformed one 400 ``invalid_params``, an unacceptable
  ``Accept`` 406 ``invalid_content_type``.
* ``GET /api/upgrades_info/graph-data``: the graph-data tarball (tar.gz of ``./`` with ``version``,
  ``channels/*.yaml``, ``blocked-edges/*.yaml``, ``raw/metadata.json``), built from the same universe.
* ``GET /pub/openshift-v4/signatures/openshift/release/sha256=<hex>/signature-N``: signatures put in
  :attr:`UpdateServer.signatures`, 404 when there is no such N.
* ``GET /okd/graph``: the same graph API over :attr:`UpdateServer.okd` (OKD has its own service).

With :attr:`UpdateServer.signer` set, a digest that has no signature put in gets ``signature-1`` made on
request (the whole test session's releases are then signed by one test key, as Red Hat's are by theirs);
``tls=False`` serves plain HTTP (a store every test can reach without trusting another CA).

:meth:`UpdateServer.fail` makes a path prefix answer an error; :attr:`UpdateServer.requests` records
every request (path, query, Accept header).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import re
import ssl
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from .certs import CA, TLSFiles

CHANNELS_KEY = "io.openshift.upgrades.graph.release.channels"
SIG_PREFIX = "/pub/openshift-v4/signatures/openshift/release/"
_CHANNEL_RE = re.compile(r"^[0-9a-z\-\.]+$")
_ARCH_RE = re.compile(r"^[0-9a-z]+$")
_ACCEPT = {"*", "*/*", "application/*", "application/json", "application/vnd.redhat.cincinnati.v1+json"}


def payload_for(version: str, arch: str, repo: str = "quay.io/openshift-release-dev/ocp-release") -> str:
    """A stable fake pullspec by digest for a release version and architecture."""
    return f"{repo}@sha256:{hashlib.sha256(f'{version}-{arch}'.encode()).hexdigest()}"


@dataclass
class Release:
    version: str
    channels: list[str]
    payloads: dict[str, str]  # graph arch -> payload pullspec
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class Risk:
    name: str
    message: str = "a test risk"
    url: str = "https://issues.example.test/RISK"
    rules: list[dict[str, Any]] = field(default_factory=lambda: [{"type": "Always"}])


@dataclass
class Universe:
    """Every release of every channel and architecture, with update edges between versions."""

    releases: list[Release]
    edges: list[tuple[str, str]]
    conditional: list[tuple[str, str, Risk]] = field(default_factory=list)
    seed: int = 7  # node order is shuffled, as a real service's is arbitrary

    def graph(self, channel: str, arch: str) -> dict[str, Any]:
        kept = [r for r in self.releases if channel in r.channels and arch in r.payloads]
        random.Random(f"{self.seed}-{channel}-{arch}").shuffle(kept)
        index = {r.version: i for i, r in enumerate(kept)}
        nodes = [{"version": r.version, "payload": r.payloads[arch],
                  "metadata": {CHANNELS_KEY: ",".join(r.channels),
                               "io.openshift.upgrades.graph.release.manifestref": r.payloads[arch].split("@")[-1],
                               "url": f"https://access.redhat.com/errata/TEST-{r.version}", **r.metadata}}
                 for r in kept]
        edges = [[index[a], index[b]] for a, b in self.edges if a in index and b in index]
        conditional = [{"edges": [{"from": a, "to": b}],
                        "risks": [{"url": risk.url, "name": risk.name, "message": risk.message,
                                   "matchingRules": risk.rules}]}
                       for a, b, risk in self.conditional if a in index and b in index]
        return {"version": 1, "nodes": nodes, "edges": edges, "conditionalEdges": conditional}

    def graph_data(self, mtime: int = 1_700_000_000) -> bytes:
        """The graph-data tarball in the layout cincinnati-graph-data publishes."""
        files: dict[str, bytes] = {"version": b"1.2.0\n", "raw/metadata.json": b"{}\n"}
        for name in sorted({c for r in self.releases for c in r.channels}):
            versions = [r.version for r in self.releases if name in r.channels]
            files[f"channels/{name}.yaml"] = yaml.safe_dump({"name": name, "versions": versions}).encode()
        for a, b, risk in self.conditional:
            doc = {"to": b, "from": re.escape(a), "url": risk.url, "name": risk.name, "message": risk.message,
                   "matchingRules": risk.rules}
            files[f"blocked-edges/{b}-{risk.name}.yaml"] = yaml.safe_dump(doc).encode()
        return tarball(files, mtime)


def tarball(files: dict[str, bytes], mtime: int = 1_700_000_000) -> bytes:
    """A tar.gz shaped like the one Rust's ``tar::Builder::append_dir_all(".", dir)`` writes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        dirs = sorted({"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)})
        for d in ["."] + dirs:
            info = tarfile.TarInfo(d if d == "." else d)
            info.type, info.mode, info.mtime, info.uid = tarfile.DIRTYPE, 0o755, mtime, 1000850000
            tar.addfile(info)
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime, info.uid = len(data), 0o664, mtime, 1000850000
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def sample_universe(arches: tuple[str, ...] = ("amd64", "arm64", "multi")) -> Universe:
    """OCP 4.12-4.14 in stable/fast/candidate/eus channels; see tests/test_release_graph.py for the map.

    arm64 lacks 4.14.3 (not yet released there); conditional updates: 4.13.2->4.13.4, 4.14.1->4.14.3 and
    4.14.0-rc.1->4.14.0 (the only way out of the rc)."""
    def rel(v: str, *channels: str, arch: tuple[str, ...] = arches) -> Release:
        return Release(v, list(channels), {a: payload_for(v, a) for a in arch})
    s412, s413, s414 = "stable-4.12", "stable-4.13", "stable-4.14"
    releases = [rel(f"4.12.{z}", s412, "eus-4.12", *([s413] if z >= 3 else [])) for z in range(6)]
    releases += [rel(f"4.13.{z}", s413, *([s414, "fast-4.14", "eus-4.14"] if z >= 2 else [])) for z in range(5)]
    releases.append(rel("4.14.0-rc.1", "candidate-4.14"))
    releases += [rel(f"4.14.{z}", s414, "fast-4.14", "candidate-4.14", "eus-4.14",
                     arch=tuple(a for a in arches if not (a == "arm64" and z == 3))) for z in range(4)]
    releases.append(rel("4.14.4", "fast-4.14", "candidate-4.14"))
    chain = [(f"4.{m}.{z}", f"4.{m}.{z + 1}") for m, top in ((12, 5), (13, 4), (14, 4)) for z in range(top)]
    edges = chain + [("4.12.1", "4.12.3"), ("4.12.0", "4.12.2"), ("4.14.0", "4.14.2"),
                     ("4.12.3", "4.13.0"), ("4.12.4", "4.13.1"), ("4.12.5", "4.13.2"), ("4.12.5", "4.13.3"),
                     ("4.13.2", "4.14.0"), ("4.13.3", "4.14.1"), ("4.13.4", "4.14.2"), ("4.13.4", "4.14.0-rc.1")]
    conditional = [("4.13.2", "4.13.4", Risk("TestCephPanic", rules=[{"type": "PromQL", "promql": {
                       "promql": "group(ceph_health_status)"}}])),
                   ("4.14.1", "4.14.3", Risk("TestAlwaysRisk")),
                   ("4.14.0-rc.1", "4.14.0", Risk("TestRcRisk"))]
    return Universe(releases, edges, conditional)


class UpdateServer:
    """The update service + signature store on one TLS port of 127.0.0.1."""

    def __init__(self, universe: Universe, *, ca: CA | None = None, okd: Universe | None = None,
                 workdir: str | Path | None = None, tls: bool = True) -> None:
        self.universe = universe
        self.use_tls = tls
        self.signer: Callable[[str], bytes] | None = None  # digest "sha256:..." -> a signature, made on request
        self.okd = okd or Universe([], [])
        self.ca = ca or CA.create("bundler update-service CA")
        self.signatures: dict[str, list[bytes]] = {}
        self.requests: list[tuple[str, dict[str, list[str]], str | None]] = []
        self._fail: dict[str, tuple[int, bytes, str]] = {}
        self._dir = Path(workdir) if workdir else None
        self._httpd: ThreadingHTTPServer | None = None
        self.tls: TLSFiles | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.use_tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def signature_url(self) -> str:
        return self.url + SIG_PREFIX

    @property
    def ca_file(self) -> Path:
        assert self.tls is not None
        return self.tls.ca_file

    def fail(self, prefix: str, status: int, body: bytes = b'{"kind":"failed_upstream_fetch","value":"test"}',
             content_type: str = "application/json") -> None:
        """Answer ``status`` for every path starting with ``prefix`` (``clear_failures`` undoes it)."""
        self._fail[prefix] = (status, body, content_type)

    def clear_failures(self) -> None:
        self._fail.clear()

    def add_signature(self, digest: str, data: bytes) -> None:
        self.signatures.setdefault(digest.removeprefix("sha256:"), []).append(data)

    def start(self) -> UpdateServer:
        import tempfile
        self._dir = self._dir or Path(tempfile.mkdtemp(prefix="bundler-osus-"))
        self.tls = self.ca.write(self._dir / "tls")
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        httpd.daemon_threads = True
        if self.use_tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(self.tls.cert_file), str(self.tls.key_file))
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, name="update-server", daemon=True).start()
        return self

    def close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> UpdateServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def answer(self, path: str, query: dict[str, list[str]], accept: str | None) -> tuple[int, bytes, str]:
        """(status, body, content type) for a GET, as the real services answer."""
        self.requests.append((path, query, accept))
        for prefix, failure in self._fail.items():
            if path.startswith(prefix):
                return failure
        if path in ("/api/upgrades_info/v1/graph", "/api/upgrades_info/graph"):
            return _graph_answer(self.universe, query, accept)
        if path == "/okd/graph":
            return _graph_answer(self.okd, query, accept)
        if path == "/api/upgrades_info/graph-data":
            return 200, self.universe.graph_data(), "application/gzip"
        m = re.fullmatch(re.escape(SIG_PREFIX) + r"sha256=([0-9a-f]{64})/signature-([1-9][0-9]*)", path)
        if m:
            sigs = self.signatures.get(m.group(1), [])
            n = int(m.group(2))
            if not sigs and n == 1 and self.signer is not None:
                self.add_signature(m.group(1), self.signer("sha256:" + m.group(1)))
                sigs = self.signatures[m.group(1)]
            if n <= len(sigs):
                return 200, sigs[n - 1], "application/octet-stream"
        return 404, b"<html><body>404 Not Found</body></html>", "text/html"


def _graph_answer(universe: Universe, query: dict[str, list[str]], accept: str | None) -> tuple[int, bytes, str]:
    def error(status: int, kind: str, value: str) -> tuple[int, bytes, str]:
        return status, json.dumps({"kind": kind, "value": value}).encode(), "application/json"
    if accept is not None and accept not in _ACCEPT:
        return error(406, "invalid_content_type", "invalid Content-Type requested")
    if "channel" not in query:
        return error(400, "missing_params", "mandatory client parameters missing")
    channel = query["channel"][0]
    arch = query.get("arch", ["amd64"])[0]
    if not _CHANNEL_RE.match(channel):
        return error(400, "invalid_params", f"channel '{channel}' does not match regex '^[0-9a-z\\-\\.]+$'")
    if not _ARCH_RE.match(arch):
        return error(400, "invalid_params", f"arch '{arch}' does not match regex '^[0-9a-z]+$'")
    if accept is None:
        content_type = "application/vnd.redhat.cincinnati.v1+json"
    else:
        content_type = "application/json" if "*" in accept else accept
    return 200, json.dumps(universe.graph(channel, arch)).encode(), content_type


def _handler(server: UpdateServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            status, body, ctype = server.answer(url.path, parse_qs(url.query), self.headers.get("Accept"))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
