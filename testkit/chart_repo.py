"""A classic Helm chart repository on 127.0.0.1: ``index.yaml`` plus ``charts/<name>-<version>.tgz``.

Speaks what helm's HTTP getter expects (GET, Basic auth with a ``WWW-Authenticate`` challenge, TLS from
a test CA). The index is generated from the charts added, like ``helm repo index`` writes it (digest =
hex sha256 of the archive, relative URLs). Hooks let a test break one thing: a status for the index, an
archive whose bytes no longer match the index digest, an entry whose archive is missing.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from .certs import CA, TLSFiles


@dataclass
class Entry:
    name: str
    version: str
    archive: bytes
    app_version: str = ""
    type: str = ""
    url: str = ""
    digest: str = ""


@dataclass
class Seen:
    path: str
    user: str | None
    status: int


@dataclass
class ChartRepoServer:
    """Start with ``with ChartRepoServer(ca=..., username=...) as repo:``; ``repo.url`` is the repo URL."""

    ca: CA | None = None
    username: str | None = None
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    prefix: str = "/stable"
    entries: list[Entry] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    index_status: int = 200
    index_body: bytes | None = None          # serve this instead of the generated index
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tls: TLSFiles | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="chart-repo-")
        if self.ca is not None:
            self.tls = self.ca.write(Path(self._tmp.name))
        self._httpd: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{self.prefix}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add(self, name: str, version: str, archive: bytes, **kw: Any) -> Entry:
        e = Entry(name, version, archive, **kw)
        e.url = e.url or f"charts/{name}-{version}.tgz"
        e.digest = e.digest or hashlib.sha256(archive).hexdigest()
        self.entries.append(e)
        if "://" not in e.url:
            self.files[f"{self.prefix}/{e.url}"] = archive
        return e

    def index(self) -> bytes:
        entries: dict[str, list[dict[str, Any]]] = {}
        for e in self.entries:
            doc: dict[str, Any] = {"apiVersion": "v2", "name": e.name, "version": e.version,
                                   "created": "2024-05-01T10:00:00Z", "digest": e.digest, "urls": [e.url]}
            if e.app_version:
                doc["appVersion"] = e.app_version
            if e.type:
                doc["type"] = e.type
            entries.setdefault(e.name, []).append(doc)
        return yaml.safe_dump({"apiVersion": "v1", "entries": entries, "generated": "2024-05-01T10:00:00Z"}).encode()

    def _authorized(self, header: str | None) -> tuple[bool, str | None]:
        if self.username is None:
            return True, None
        if not header or not header.startswith("Basic "):
            return False, None
        try:
            user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False, None
        return (user == self.username and secrets.compare_digest(pw, self.password)), user

    def _respond(self, path: str, auth: str | None) -> tuple[int, bytes, dict[str, str]]:
        ok, user = self._authorized(auth)
        if not ok:
            status, body, headers = 401, b"unauthorized\n", {"WWW-Authenticate": 'Basic realm="charts"'}
        elif path == f"{self.prefix}/index.yaml":
            body = (self.index_body if self.index_body is not None else self.index()) if self.index_status == 200 \
                else b"error\n"
            status, headers = self.index_status, {"Content-Type": "application/x-yaml"}
        elif path in self.files:
            status, body, headers = 200, self.files[path], {"Content-Type": "application/gzip"}
        else:
            status, body, headers = 404, b"not found\n", {}
        self.requests.append(Seen(path, user, status))
        return status, body, headers

    def start(self) -> ChartRepoServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                status, body, headers = server._respond(urlparse(self.path).path, self.headers.get("Authorization"))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(self.tls.cert_file), str(self.tls.key_file))
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="chart-repo",
                         daemon=True).start()
        return self

    def close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self._tmp.cleanup()

    def __enter__(self) -> ChartRepoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
