"""The HTTP half of talking to a registry: TLS with the given trust, retries with backoff on connection
errors, 429 and 5xx, and the ``WWW-Authenticate`` challenge (Bearer tokens fetched once per scope however
many threads ask, anonymous where allowed; or Basic). The API verbs are in :mod:`.client`."""

from __future__ import annotations

import base64
import copy
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from ..auth import AuthStore, Credentials
from ..errors import AuthError, RegistryError
from ..http import TrustedSession, tls_failure
from .options import ConnectOptions
from .tls import verify_setting

log = logging.getLogger(__name__)
RETRY_STATUS = {429, 500, 502, 503, 504}
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


def _api_host(registry: str) -> str:
    return "registry-1.docker.io" if registry == "docker.io" else registry



class RegistrySession:
    """One registry host over HTTP. Thread-safe: each thread gets its own connection pool."""

    def __init__(
        self,
        registry: str,
        auth: AuthStore | None = None,
        ca_file: str | Path | None = None,
        plain_http: bool = False,
        retries: int = 4,
        timeout: float = 60.0,
        credentials: Credentials | None = None,
        options: ConnectOptions | None = None,
    ) -> None:
        self.registry = registry
        self.auth = auth or AuthStore()
        self.credentials = credentials or self.auth.lookup(registry)
        self.base = f"{'http' if plain_http else 'https'}://{_api_host(registry)}"
        self.options = options or ConnectOptions(retries=retries)
        self.verify = verify_setting(ca_file) if self.options.tls_verify else False
        self.retries = self.options.retries
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, ...], str] = {}
        self._token_locks: dict[tuple[str, ...], threading.Lock] = {}
        self._challenge: tuple[str, dict[str, str]] | None = None
        self._ping_lock = threading.Lock()
        self._pinged = False
        self._ping_failure: RegistryError | None = None

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
        delay = self.options.delay(None)
        for attempt in range(self.retries + 1):
            if body_factory is not None:
                kw["data"] = body_factory()
            last = attempt == self.retries or not replayable
            try:
                resp = self.session.request(method, url, timeout=self.timeout, **kw)
            except requests.exceptions.SSLError as exc:
                if _tls_kind(exc) != _BROKEN or last:
                    raise self._tls_error(exc, attempt) from exc
                log.debug("retrying %s %s after %s", method, url, exc)
                time.sleep(delay)
                delay = self.options.delay(delay)
                continue
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if last:
                    raise RegistryError(
                        f"cannot reach registry {self.registry}: {_short(exc)}",
                        "check the host name, port and that the registry is running",
                    ) from exc
                log.debug("retrying %s %s after %s", method, url, exc)
                time.sleep(delay)
                delay = self.options.delay(delay)
                continue
            if resp.status_code in RETRY_STATUS and not last:
                wait = _retry_after(resp) or delay
                resp.close()
                time.sleep(wait)
                delay = self.options.delay(delay)
                continue
            return resp
        raise AssertionError("unreachable")

    def _tls_error(self, exc: requests.exceptions.SSLError, retried: int) -> RegistryError:
        """A certificate that is not trusted says what to trust; anything else (a handshake broken by the
        server, the network or a proxy) is not about --ca-file, and says so."""
        kind = _tls_kind(exc)
        if kind == _VERIFY:
            return RegistryError(f"TLS verification failed for {self.registry}: {tls_failure(exc)}",
                                 "pass --ca-file with the registry's CA certificate (PEM), or set SSL_CERT_FILE")
        if kind == _NOT_TLS:
            return RegistryError(f"TLS with {self.registry} failed: {tls_failure(exc)}",
                                 "check the port: bundler talks to registries over HTTPS only")
        return RegistryError(f"the TLS connection to {self.registry} broke: {tls_failure(exc)}"
                             + (f" (and in {retried} retries)" if retried else ""),
                             "re-run the command; if it keeps failing, check the registry and any proxy between")

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
        with self._ping_lock:  # a thread that asks during the ping waits for its answer, not a 401 of its own
            if self._ping_failure is not None:
                raise copy.copy(self._ping_failure)  # the registry is not there: each waiter says so at once
            if self._challenge is not None or self._pinged:
                return
            try:
                resp = self._send("GET", self.base + "/v2/")
            except RegistryError as exc:
                self._ping_failure = exc
                raise
            finally:
                self._pinged = True
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


def _basic(c: Credentials | None) -> str:
    assert c is not None
    return "Basic " + base64.b64encode(f"{c.username}:{c.password}".encode()).decode()


def _parse_challenge(header: str) -> tuple[str, dict[str, str]] | None:
    scheme, _, rest = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme not in ("bearer", "basic"):
        return None
    return scheme, dict(_CHALLENGE_PARAM.findall(rest))


_VERIFY = "certificate verify failed"
_NOT_TLS = "wrong version number"
_BROKEN = "broken"


def _tls_kind(exc: requests.exceptions.SSLError) -> str:
    """:data:`_VERIFY` (an untrusted certificate) or :data:`_NOT_TLS` (a port that does not speak TLS): the same
    failure each time, not retried; else :data:`_BROKEN` (an alert from the server, a connection closed during
    the handshake), retried like a dropped connection."""
    text = str(exc)
    return next((kind for kind in (_VERIFY, _NOT_TLS) if kind in text), _BROKEN)


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
    m = re.search(r"\[SSL[^\]]*\][^')\"]*", text) or re.search(r"\[?Errno[^')\"]*", text)
    return m.group(0) if m else text[:200]
