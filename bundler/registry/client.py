"""A registry client speaking the distribution API (OCI distribution-spec v1).

Auth follows the ``WWW-Authenticate`` challenge: Bearer tokens (cached per scope, anonymous where the
registry allows) or Basic. Requests are retried with backoff on connection errors, 429 and 5xx. Blob
redirects are followed without sending the Authorization header to another host.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import requests

from ..auth import AuthStore, Credentials
from ..errors import AuthError, DigestMismatchError, NotFoundError, RegistryError
from ..http import TrustedSession, tls_failure
from ..oci import Manifest, mediatypes
from .tls import verify_setting

log = logging.getLogger(__name__)
CHUNK = 1 << 20
RETRY_STATUS = {429, 500, 502, 503, 504}
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


def _api_host(registry: str) -> str:
    return "registry-1.docker.io" if registry == "docker.io" else registry


class RegistryClient:
    """One registry host. Thread-safe: each thread gets its own HTTP session."""

    def __init__(
        self,
        registry: str,
        auth: AuthStore | None = None,
        ca_file: str | Path | None = None,
        plain_http: bool = False,
        retries: int = 4,
        timeout: float = 60.0,
        credentials: Credentials | None = None,
    ) -> None:
        self.registry = registry
        self.auth = auth or AuthStore()
        self.credentials = credentials or self.auth.lookup(registry)
        self.base = f"{'http' if plain_http else 'https'}://{_api_host(registry)}"
        self.verify = verify_setting(ca_file)
        self.retries = retries
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, ...], str] = {}
        self._token_locks: dict[tuple[str, ...], threading.Lock] = {}
        self._challenge: tuple[str, dict[str, str]] | None = None
        self._ping_lock = threading.Lock()
        self._pinged = False

    # -- HTTP plumbing -------------------------------------------------------------------------
    @property
    def session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = TrustedSession(self.verify)
            self._local.session = s
        return s

    def _send(self, method: str, url: str, **kw: Any) -> requests.Response:
        """Send with retries on connection errors, 429 and 5xx; translate transport failures."""
        body_factory: Callable[[], Any] | None = kw.pop("body_factory", None)
        replayable = body_factory is not None or isinstance(kw.get("data"), (bytes, type(None)))
        delay = 0.5
        for attempt in range(self.retries + 1):
            if body_factory is not None:
                kw["data"] = body_factory()
            last = attempt == self.retries or not replayable
            try:
                resp = self.session.request(method, url, timeout=self.timeout, **kw)
            except requests.exceptions.SSLError as exc:
                raise RegistryError(
                    f"TLS verification failed for {self.registry}: {tls_failure(exc)}",
                    "pass --ca-file with the registry's CA certificate (PEM), or set SSL_CERT_FILE",
                ) from exc
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if last:
                    raise RegistryError(
                        f"cannot reach registry {self.registry}: {_short(exc)}",
                        "check the host name, port and that the registry is running",
                    ) from exc
                log.debug("retrying %s %s after %s", method, url, exc)
                time.sleep(delay)
                delay = min(delay * 2, 8)
                continue
            if resp.status_code in RETRY_STATUS and not last:
                wait = _retry_after(resp) or delay
                resp.close()
                time.sleep(wait)
                delay = min(delay * 2, 8)
                continue
            return resp
        raise AssertionError("unreachable")

    def _scope_header(self, scopes: tuple[str, ...]) -> dict[str, str]:
        with self._lock:
            challenge = self._challenge
            token = self._tokens.get(scopes)
        if challenge is None:
            return {}
        if challenge[0] == "basic":
            if self.credentials is None:
                return {}
            return {"Authorization": _basic(self.credentials)}
        if token is None:
            with self._lock:
                scope_lock = self._token_locks.setdefault(scopes, threading.Lock())
            with scope_lock:  # one fetch per scope however many threads ask at once
                with self._lock:
                    token = self._tokens.get(scopes)
                if token is None:
                    token = self._fetch_token(challenge[1], scopes)
        return {"Authorization": f"Bearer {token}"}

    def _learn_challenge(self) -> None:
        """Ask ``/v2/`` once how this registry wants to be authenticated, so that parallel first
        requests go out with credentials instead of each collecting a 401 first."""
        with self._ping_lock:
            if self._challenge is not None or self._pinged:
                return
            self._pinged = True
            resp = self._send("GET", self.base + "/v2/")
            if resp.status_code == 401:
                challenge = _parse_challenge(resp.headers.get("WWW-Authenticate", ""))
                with self._lock:
                    self._challenge = challenge
            resp.close()

    def _fetch_token(self, params: dict[str, str], scopes: tuple[str, ...]) -> str:
        realm = params.get("realm")
        if not realm:
            raise RegistryError(f"registry {self.registry} sent a Bearer challenge without a realm")
        query: list[tuple[str, str]] = []
        if params.get("service"):
            query.append(("service", params["service"]))
        query += [("scope", s) for s in scopes]
        headers = {"Authorization": _basic(self.credentials)} if self.credentials else {}
        resp = self._send("GET", realm, params=query, headers=headers)
        if resp.status_code in (401, 403):
            raise AuthError(
                f"token service of {self.registry} refused the credentials for {', '.join(scopes) or 'registry access'}"
                + ("" if self.credentials else " (no credentials found)"),
                "check the pull secret / --authfile entry for " + self.registry,
                status=resp.status_code,
            )
        if resp.status_code != 200:
            raise RegistryError(f"token service of {self.registry} answered HTTP {resp.status_code}")
        body = resp.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"token service of {self.registry} returned no token")
        with self._lock:
            self._tokens[scopes] = token
        return str(token)

    def request(
        self,
        method: str,
        path: str,
        repo: str,
        actions: str = "pull",
        extra_scopes: tuple[str, ...] = (),
        **kw: Any,
    ) -> requests.Response:
        """An authenticated request to ``/v2/...``; answers a 401 challenge once."""
        scopes = ((f"repository:{repo}:{actions}",) if repo else ()) + tuple(extra_scopes)
        if scopes and not self._pinged:
            self._learn_challenge()
        url = path if path.startswith("http") else self.base + path
        headers = dict(kw.pop("headers", {}) or {})
        for attempt in range(2):
            kw["headers"] = {**headers, **self._scope_header(scopes)}
            resp = self._send(method, url, **kw)
            if resp.status_code != 401 or attempt == 1:
                break
            challenge = _parse_challenge(resp.headers.get("WWW-Authenticate", ""))
            resp.close()
            if challenge is None:
                break
            with self._lock:
                self._challenge = challenge
                self._tokens.pop(scopes, None)
        if resp.status_code == 401:
            raise AuthError(
                f"registry {self.registry} refused access to {repo or 'the API'} ({actions})"
                + ("" if self.credentials else ": no credentials found for it"),
                "add credentials for " + self.registry + " to the pull secret passed with --authfile",
                status=401,
            )
        return resp

    # -- API -----------------------------------------------------------------------------------
    def ping(self) -> None:
        resp = self.request("GET", "/v2/", "")
        if resp.status_code not in (200, 401):
            raise RegistryError(f"{self.registry} does not speak the registry API (HTTP {resp.status_code})")

    def get_manifest(self, repo: str, ref: str) -> Manifest:
        """Fetch a manifest by tag or digest; a digest reference is verified."""
        resp = self.request("GET", f"/v2/{repo}/manifests/{ref}", repo, headers={"Accept": mediatypes.ACCEPT})
        where = f"{self.registry}/{repo}{'@' if ref.startswith('sha256:') else ':'}{ref}"
        if resp.status_code == 404:
            raise NotFoundError(f"image {where} not found", "check the name and tag", status=404)
        if resp.status_code == 403:
            raise AuthError(f"access to {where} is denied (HTTP 403)", "check the pull secret", status=403)
        if resp.status_code != 200:
            raise RegistryError(f"fetching {where} failed: HTTP {resp.status_code} {_error_text(resp)}")
        data = resp.content
        try:
            media_type = mediatypes.detect_media_type(data, resp.headers.get("Content-Type"))
        except ValueError:
            raise RegistryError(f"{where}: the manifest is not JSON") from None
        if media_type in mediatypes.SCHEMA1:
            raise RegistryError(
                f"{where} is a Docker schema1 manifest, which bundler refuses",
                "schema1 images are deprecated; mirror a newer tag of this image",
            )
        m = Manifest.from_bytes(data, resp.headers.get("Content-Type"))
        if ref.startswith("sha256:") and m.digest != ref:
            raise DigestMismatchError(f"{where}: registry served a manifest whose digest is {m.digest}")
        return Manifest(data, media_type, m.digest)

    def head_manifest(self, repo: str, ref: str) -> str | None:
        resp = self.request("HEAD", f"/v2/{repo}/manifests/{ref}", repo, headers={"Accept": mediatypes.ACCEPT})
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise RegistryError(f"checking {self.registry}/{repo}:{ref} failed: HTTP {resp.status_code}")
        return resp.headers.get("Docker-Content-Digest")

    def put_manifest(self, repo: str, ref: str, manifest: Manifest) -> str:
        """Push a manifest byte-exact under a tag or its digest; check the registry's digest."""
        resp = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{ref}",
            repo,
            "pull,push",
            headers={"Content-Type": manifest.media_type},
            data=manifest.data,
        )
        where = f"{self.registry}/{repo}:{ref}"
        if resp.status_code not in (200, 201):
            raise RegistryError(f"pushing manifest {where} failed: HTTP {resp.status_code} {_error_text(resp)}")
        got = resp.headers.get("Docker-Content-Digest")
        if got and got != manifest.digest:
            raise DigestMismatchError(
                f"registry {self.registry} stored {repo} manifest as {got}, expected {manifest.digest}",
                "the registry rewrites manifests; use a registry that stores them byte-exact",
            )
        return manifest.digest

    def has_blob(self, repo: str, digest: str) -> bool:
        resp = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", repo, allow_redirects=True)
        resp.close()
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        raise RegistryError(f"checking blob {digest} in {self.registry}/{repo} failed: HTTP {resp.status_code}")

    def open_blob(self, repo: str, digest: str) -> requests.Response:
        """A streaming response for a blob, redirects followed without leaking credentials."""
        resp = self.request("GET", f"/v2/{repo}/blobs/{digest}", repo, stream=True, allow_redirects=False)
        hops = 0
        while resp.status_code in (301, 302, 303, 307, 308) and hops < 5:
            location = urljoin(resp.url, resp.headers["Location"])
            resp.close()
            same_host = urlparse(location).netloc == urlparse(self.base).netloc
            if same_host:
                resp = self.request("GET", location, repo, stream=True, allow_redirects=False)
            else:
                resp = self._send("GET", location, stream=True, allow_redirects=False)
            hops += 1
        if resp.status_code == 404:
            raise NotFoundError(f"blob {digest} not found in {self.registry}/{repo}", status=404)
        if resp.status_code != 200:
            raise RegistryError(f"fetching blob {digest} from {self.registry}/{repo} failed: HTTP {resp.status_code}")
        return resp

    def iter_blob(self, repo: str, digest: str) -> Iterator[bytes]:
        """Yield a blob's bytes, checking the sha256 as they stream; raise on mismatch at the end."""
        resp = self.open_blob(repo, digest)
        h = hashlib.sha256()
        complete = False
        try:
            for chunk in resp.iter_content(CHUNK):
                h.update(chunk)
                yield chunk
            complete = True
        except requests.exceptions.RequestException as exc:
            raise RegistryError(f"download of blob {digest} from {self.registry}/{repo} broke: {_short(exc)}") from exc
        finally:
            if complete:
                resp.raw.release_conn()  # fully read: the connection goes back to the pool (close() would drop it)
            resp.close()
        if "sha256:" + h.hexdigest() != digest:
            raise DigestMismatchError(f"blob {digest} from {self.registry}/{repo} hashed to sha256:{h.hexdigest()}")

    def get_blob(self, repo: str, digest: str) -> bytes:
        return b"".join(self.iter_blob(repo, digest))

    def mount_blob(self, repo: str, digest: str, from_repo: str) -> bool:
        """Cross-repository mount; True when the registry mounted it."""
        resp = self.request(
            "POST",
            f"/v2/{repo}/blobs/uploads/",
            repo,
            "pull,push",
            extra_scopes=(f"repository:{from_repo}:pull",),
            params={"mount": digest, "from": from_repo},
        )
        resp.close()
        if resp.status_code == 201:
            return True
        if resp.status_code == 202 and resp.headers.get("Location"):
            self.request("DELETE", urljoin(self.base + "/", resp.headers["Location"]), repo, "pull,push").close()
        return False

    def push_blob(self, repo: str, digest: str, size: int, opener: Callable[[], Any]) -> None:
        """Monolithic upload: POST a session, PUT the bytes with ``?digest=``. The registry verifies.

        ``opener`` returns the blob as ``bytes`` (sent in one piece) or as a readable stream."""
        resp = self.request("POST", f"/v2/{repo}/blobs/uploads/", repo, "pull,push")
        if resp.status_code != 202 or not resp.headers.get("Location"):
            raise RegistryError(
                f"starting upload of {digest} to {self.registry}/{repo} failed: HTTP {resp.status_code} {_error_text(resp)}"
            )
        location = urljoin(self.base + "/", resp.headers["Location"])
        sep = "&" if "?" in location else "?"
        resp = self.request(
            "PUT",
            f"{location}{sep}digest={digest}",
            repo,
            "pull,push",
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            data=body if isinstance(body := opener(), bytes) else _Sized(body, size),
        )
        if resp.status_code != 201:
            raise RegistryError(
                f"upload of blob {digest} to {self.registry}/{repo} failed: HTTP {resp.status_code} {_error_text(resp)}"
            )

    def list_tags(self, repo: str) -> list[str]:
        resp = self.request("GET", f"/v2/{repo}/tags/list", repo)
        if resp.status_code == 404:
            return []
        if resp.status_code != 200:
            raise RegistryError(f"listing tags of {self.registry}/{repo} failed: HTTP {resp.status_code}")
        return list(resp.json().get("tags") or [])


class _Sized:
    """A file-like body with a known length so requests sends Content-Length, not chunked."""

    def __init__(self, fh: Any, size: int) -> None:
        self.fh = fh
        self.size = size

    def __len__(self) -> int:
        return self.size

    def read(self, n: int = -1) -> bytes:
        return bytes(self.fh.read(n))


class RegistryPool:
    """One client per registry host, sharing auth and TLS settings."""

    def __init__(self, auth: AuthStore | None = None, ca_file: str | Path | None = None) -> None:
        self.auth = auth or AuthStore()
        self.ca_file = ca_file
        self._clients: dict[str, RegistryClient] = {}
        self._lock = threading.Lock()

    def get(self, registry: str) -> RegistryClient:
        with self._lock:
            if registry not in self._clients:
                self._clients[registry] = RegistryClient(registry, self.auth, self.ca_file)
            return self._clients[registry]


def _basic(c: Credentials | None) -> str:
    import base64

    assert c is not None
    return "Basic " + base64.b64encode(f"{c.username}:{c.password}".encode()).decode()


def _parse_challenge(header: str) -> tuple[str, dict[str, str]] | None:
    scheme, _, rest = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme not in ("bearer", "basic"):
        return None
    return scheme, dict(_CHALLENGE_PARAM.findall(rest))


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After", "")
    return min(float(value), 30.0) if value.isdigit() else None


def _error_text(resp: requests.Response) -> str:
    try:
        errors = resp.json().get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
    except ValueError:
        return resp.text[:200]


def _short(exc: Exception) -> str:
    text = str(exc)
    m = re.search(r"\[SSL[^\]]*\][^')\"]*", text) or re.search(r"Errno[^')\"]*", text)
    return m.group(0) if m else text[:200]
