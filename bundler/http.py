"""HTTP with the trust bundler was given, whatever the environment says.

requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace a session's ``verify`` unless every request
passes ``verify=`` itself; a client that trusts a CA it generated (the bootstrapped Quay) or a ``--ca-file``
would then silently trust something else. :class:`TrustedSession` always passes it. Proxies
(``HTTP(S)_PROXY``/``NO_PROXY``) are still honoured. :func:`tls_failure` says what a TLS failure was.

A CA bundle is parsed once per file (:func:`_context`), not once per connection as urllib3 does when given a
path: the system bundle costs about 30 ms of CPU to load, and every worker thread opens its own connections.
That context is shared by every thread, so it is built once and only read after (:class:`_SharedContext`).
"""

from __future__ import annotations

import os
import re
import ssl
import stat
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.ssl_ import create_urllib3_context

USER_AGENT = "bundler/0.1"


_CONTEXTS: dict[tuple[str, int, int, str | None], ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()
_ALSO_TRUSTED: dict[str, str] = {}
"""A ``--ca-file`` path -> the system CA bundle its context loads first (:func:`trust_with`)."""


def trust_with(cafile: str, system: str) -> None:
    """Connections verifying against ``cafile`` also trust the CAs in ``system`` (a ``--ca-file`` adds to
    the system's trust, it does not replace it)."""
    with _CONTEXTS_LOCK:
        _ALSO_TRUSTED[cafile] = system


class _SharedContext(ssl.SSLContext):
    """An SSL context that every connection of every thread shares, and that nothing changes once built.

    urllib3 sets the ALPN protocols and the verify mode on the context it is given, for every connection
    it opens. Setting the ALPN protocols makes OpenSSL free its copy of the list and allocate another, while
    another thread's new connection may be copying that list into its ClientHello: now and then a
    connection sent a broken ClientHello, and the registry answered with an "unexpected message" alert (an
    export under load, once in a CI run). Here a value the context already holds is not set again, so the
    shared context is only read."""

    _alpn: tuple[str, ...] | None = None

    @classmethod
    def like(cls, model: ssl.SSLContext) -> _SharedContext:
        """A context with ``model``'s settings (urllib3's defaults), its ALPN protocols set once."""
        from urllib3.util.ssl_ import ALPN_PROTOCOLS

        ctx = cls(ssl.PROTOCOL_TLS_CLIENT)
        ctx.options = model.options
        ctx.minimum_version, ctx.maximum_version = model.minimum_version, model.maximum_version
        ctx.verify_flags = model.verify_flags
        ctx.post_handshake_auth = model.post_handshake_auth
        ctx.verify_mode = model.verify_mode
        ctx.check_hostname = model.check_hostname
        ctx.hostname_checks_common_name = model.hostname_checks_common_name
        if model.keylog_filename:
            ctx.keylog_filename = model.keylog_filename
        ctx.set_alpn_protocols(ALPN_PROTOCOLS)
        return ctx

    def set_alpn_protocols(self, alpn_protocols: Any) -> None:
        wanted = tuple(alpn_protocols)
        if wanted != self._alpn:
            super().set_alpn_protocols(alpn_protocols)
            self._alpn = wanted

    @property  # type: ignore[override]
    def verify_mode(self) -> ssl.VerifyMode:
        return ssl.VerifyMode(super().verify_mode)

    @verify_mode.setter
    def verify_mode(self, value: ssl.VerifyMode) -> None:
        if value != super().verify_mode:
            _VERIFY_MODE.__set__(self, value)


_VERIFY_MODE: property = vars(ssl.SSLContext)["verify_mode"]


def _context(cafile: str) -> ssl.SSLContext | None:
    """The SSL context verifying against ``cafile`` (and the system CAs, when :func:`trust_with` said so),
    built once per file version (path, mtime, size); None for a directory or a missing file (requests then
    does as usual and names the path)."""
    try:
        st = os.stat(cafile)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    with _CONTEXTS_LOCK:
        system = _ALSO_TRUSTED.get(cafile)
        key = (cafile, st.st_mtime_ns, st.st_size, system)
        ctx = _CONTEXTS.get(key)
        if ctx is None:
            ctx = _SharedContext.like(create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED))  # urllib3's settings
            try:
                for path in (system, cafile):
                    if path:
                        ctx.load_verify_locations(cafile=path)
            except (ssl.SSLError, OSError):
                return None     # not a CA bundle: requests fails the connection and says so, as before
            _CONTEXTS[key] = ctx
        return ctx


class _SharedContextAdapter(HTTPAdapter):
    """Connections verifying against a CA bundle file share one loaded context instead of each one
    loading the file again (requests hands urllib3 the path: ``ca_certs`` on the pool and in its key)."""

    def build_connection_pool_key_attributes(self, request: Any, verify: Any, cert: Any = None) -> Any:
        host, kw = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kw: dict[str, Any] = dict(kw)
        ctx = _context(pool_kw["ca_certs"]) if isinstance(pool_kw.get("ca_certs"), str) else None
        if ctx is not None:
            del pool_kw["ca_certs"]
            pool_kw["ssl_context"] = ctx
        return host, pool_kw

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]  # checks the path, CERT_REQUIRED
        if getattr(conn, "conn_kw", {}).get("ssl_context") is not None and conn.ca_certs:
            conn.ca_certs = None                          # the context holds them: do not load them again


def _netrc_exists() -> bool:
    """Whether requests would find a netrc file (``$NETRC``, ``~/.netrc``, ``~/_netrc``) to take credentials from."""
    names = [os.environ["NETRC"]] if "NETRC" in os.environ else ["~/.netrc", "~/_netrc"]
    return any(os.path.exists(os.path.expanduser(name)) for name in names)


def _as_is(request: Any) -> Any:
    return request


class TrustedSession(requests.Session):
    """A requests session whose every request verifies TLS against ``verify`` (a CA bundle path, or
    True for the system trust, or False only where the user asked for it)."""

    def __init__(self, verify: str | bool = True) -> None:
        super().__init__()
        self.trust = verify
        self.verify = verify
        self.headers["User-Agent"] = USER_AGENT
        self.mount("https://", _SharedContextAdapter())
        if not _netrc_exists():
            self.auth = _as_is  # requests would look for ~/.netrc again (two stats) for every request
        self._environment: dict[tuple[Any, ...], Any] = {}

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["verify"] = self.trust
        return super().request(method, url, *args, **kwargs)

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        """What requests takes from the environment (proxies, ``no_proxy``, ``REQUESTS_CA_BUNDLE``), read once
        per scheme and host instead of for every request: requests walks the whole environment four times
        a request to find the proxy variables (99 manifest GETs took 0.146 s of CPU instead of 0.154-0.167).
        The environment does not change while a command runs."""
        if proxies:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url if isinstance(url, str) else url.decode())
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        settings = self._environment.get(key)
        if settings is None:
            settings = self._environment[key] = super().merge_environment_settings(url, {}, stream, verify, cert)
        return {**settings, "proxies": dict(settings["proxies"])}


_REASONS = (
    ("certificate verify failed: unable to get local issuer certificate", "certificate signed by an unknown CA"),
    ("certificate verify failed: self-signed certificate in certificate chain", "certificate signed by an unknown CA"),
    ("certificate verify failed: self signed certificate in certificate chain", "certificate signed by an unknown CA"),
    ("certificate verify failed: self-signed certificate", "self-signed certificate not trusted"),
    ("certificate verify failed: self signed certificate", "self-signed certificate not trusted"),
    ("certificate verify failed: certificate has expired", "certificate has expired"),
    ("certificate verify failed: Hostname mismatch", "hostname mismatch (the certificate does not name this host)"),
    ("certificate verify failed: IP address mismatch", "IP address mismatch (the certificate does not name this address)"),
    ("wrong version number", "the server does not speak TLS on this port"),
)


def tls_failure(exc: BaseException) -> str:
    """A short description of a TLS (or connection) failure: unknown CA, hostname mismatch, expired..."""
    text = str(exc)
    for needle, reason in _REASONS:
        if needle.lower() in text.lower():
            return reason
    m = re.search(r"\[SSL[^\]]*\][^')\"]*", text) or re.search(r"Errno[^')\"]*", text)
    return m.group(0).strip() if m else text[:200]
