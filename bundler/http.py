"""HTTP with the trust bundler was given, whatever the environment says.

requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace a session's ``verify`` unless every request
passes ``verify=`` itself; a client that trusts a CA it generated (the bootstrapped Quay) or a ``--ca-file``
would then silently trust something else. :class:`TrustedSession` always passes it. Proxies
(``HTTP(S)_PROXY``/``NO_PROXY``) are still honoured. :func:`tls_failure` says what a TLS failure was.
"""

from __future__ import annotations

import re
from typing import Any

import requests

USER_AGENT = "bundler/0.1"


class TrustedSession(requests.Session):
    """A requests session whose every request verifies TLS against ``verify`` (a CA bundle path, or
    True for the system trust, or False only where the user asked for it)."""

    def __init__(self, verify: str | bool = True) -> None:
        super().__init__()
        self.trust = verify
        self.verify = verify
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["verify"] = self.trust
        return super().request(method, url, *args, **kwargs)


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
