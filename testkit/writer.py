"""A minimal registry writer for seeding test content, independent of bundler's own client.

Test content (the synthetic upstream, catalogs, samples) goes into the real registries through this, not
through ``bundler.registry``: a push bug in bundler can then not hide on both sides of a test. It speaks
just enough of the distribution API: the auth challenge (Bearer token or Basic), monolithic blob upload,
cross-repository mount, HEAD, manifest PUT and GET.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from typing import Any

import requests

from bundler.oci import Manifest, mediatypes

_PARAM = re.compile(r'(\w+)="([^"]*)"')


class WriterError(RuntimeError):
    pass


class Writer:
    def __init__(self, host: str, *, username: str | None = None, password: str | None = None,
                 ca_file: str | None = None, plain_http: bool = False, retries: int = 3) -> None:
        self.registry = host
        self.base = f"{'http' if plain_http else 'https'}://{host}"
        self.auth = (username, password) if username and password is not None else None
        self.verify: str | bool = ca_file or True
        self.retries = retries
        self._tokens: dict[str, str] = {}
        self._challenge: tuple[str, dict[str, str]] | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    @classmethod
    def for_client(cls, client: Any) -> Writer:
        """A writer for the registry a bundler ``RegistryClient`` talks to (same host, TLS trust, credentials)."""
        creds = getattr(client, "credentials", None)
        verify = getattr(client, "verify", True)
        return cls(client.registry, username=creds.username if creds else None,
                   password=creds.password if creds else None,
                   ca_file=verify if isinstance(verify, str) else None,
                   plain_http=str(client.base).startswith("http://"))

    @property
    def session(self) -> requests.Session:
        s = getattr(self._local, "s", None)
        if s is None:
            s = self._local.s = requests.Session()
        return s

    def _auth_header(self, repo: str) -> dict[str, str]:
        with self._lock:
            challenge = self._challenge
        if challenge is None:
            return {}
        scheme, params = challenge
        if scheme == "basic":
            return {} if self.auth is None else {"Authorization": requests.auth._basic_auth_str(*self.auth)}  # type: ignore[arg-type]
        with self._lock:
            token = self._tokens.get(repo)
        if token is None:
            query = {"service": params.get("service", ""), "scope": f"repository:{repo}:pull,push"}
            resp = self._send("GET", params["realm"], params=query, auth=self.auth)
            if resp.status_code != 200:
                raise WriterError(f"token for {repo} refused: HTTP {resp.status_code}")
            body = resp.json()
            token = str(body.get("token") or body.get("access_token"))
            with self._lock:
                self._tokens[repo] = token
        return {"Authorization": f"Bearer {token}"}

    def _request(self, method: str, url: str, repo: str, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}) or {})
        for attempt in range(2):
            resp = self._send(method, url if url.startswith("http") else self.base + url,
                              headers={**headers, **self._auth_header(repo)}, **kw)
            if resp.status_code != 401 or attempt:
                return resp
            scheme, _, rest = resp.headers.get("WWW-Authenticate", "").partition(" ")
            with self._lock:
                self._challenge = (scheme.lower(), dict(_PARAM.findall(rest)))
                self._tokens.pop(repo, None)
        raise AssertionError("unreachable")

    def _send(self, method: str, url: str, **kw: Any) -> requests.Response:
        for attempt in range(self.retries + 1):
            try:
                resp = self.session.request(method, url, verify=self.verify, timeout=60, **kw)
            except requests.ConnectionError as exc:
                if attempt == self.retries:
                    raise WriterError(f"cannot reach registry {self.registry}: {exc}") from exc
                time.sleep(0.5 * (attempt + 1))
                continue
            if resp.status_code < 500 or attempt == self.retries:
                return resp
            time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    # -- the API the synthetic upstream needs ------------------------------------------------------
    def has_blob(self, repo: str, digest: str) -> bool:
        return self._request("HEAD", f"/v2/{repo}/blobs/{digest}", repo).status_code == 200

    def mount_blob(self, repo: str, digest: str, from_repo: str) -> bool:
        resp = self._request("POST", f"/v2/{repo}/blobs/uploads/", repo, params={"mount": digest, "from": from_repo})
        return resp.status_code == 201

    def push_blob(self, repo: str, digest: str, size: int, opener: Any) -> None:
        body = opener()
        data = body if isinstance(body, bytes) else body.read()
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest or len(data) != size:
            raise WriterError(f"blob {digest} does not match its bytes")
        resp = self._request("POST", f"/v2/{repo}/blobs/uploads/", repo)
        if resp.status_code != 202:
            raise WriterError(f"upload to {repo} refused: HTTP {resp.status_code} {resp.text[:200]}")
        location = resp.headers["Location"]
        if not location.startswith("http"):
            location = self.base + location
        sep = "&" if "?" in location else "?"
        resp = self._request("PUT", f"{location}{sep}digest={digest}", repo, data=data,
                             headers={"Content-Type": "application/octet-stream"})
        if resp.status_code != 201:
            raise WriterError(f"upload of {digest} to {repo} failed: HTTP {resp.status_code} {resp.text[:200]}")

    def put_manifest(self, repo: str, ref: str, manifest: Any) -> str:
        resp = self._request("PUT", f"/v2/{repo}/manifests/{ref}", repo, data=manifest.data,
                             headers={"Content-Type": manifest.media_type})
        if resp.status_code not in (200, 201):
            raise WriterError(f"manifest {repo}:{ref} refused: HTTP {resp.status_code} {resp.text[:200]}")
        return str(manifest.digest)

    def get_manifest(self, repo: str, ref: str) -> Manifest:
        resp = self._request("GET", f"/v2/{repo}/manifests/{ref}", repo, headers={"Accept": mediatypes.ACCEPT})
        if resp.status_code != 200:
            raise WriterError(f"manifest {repo}:{ref}: HTTP {resp.status_code}")
        return Manifest.from_bytes(resp.content, resp.headers.get("Content-Type"))


_WRITERS: dict[int, tuple[Any, Writer]] = {}
_WRITERS_LOCK = threading.Lock()


def as_writer(client: Any) -> Writer:
    """``client`` itself when it is a Writer; else a Writer for the same registry as a bundler client (so
    test code may keep passing ``server.client()`` while the bytes go through this independent writer)."""
    if isinstance(client, Writer):
        return client
    with _WRITERS_LOCK:
        held = _WRITERS.get(id(client))
        if held is None or held[0] is not client:
            held = (client, Writer.for_client(client))
            _WRITERS[id(client)] = held
        return held[1]
