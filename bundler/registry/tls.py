"""Which CA bundle requests should verify with: system CAs plus the user's --ca-file."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from ..errors import ConfigError
from ..http import trust_with

_SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def system_bundle() -> str | None:
    for env in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        if os.environ.get(env) and Path(os.environ[env]).is_file():
            return os.environ[env]
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, *_SYSTEM_BUNDLES):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def verify_setting(ca_file: str | Path | None) -> str | bool:
    """A path for requests' ``verify``: the system CAs, or ``ca_file`` trusted with them. No combined file is
    written (a killed command would leave it behind): the ``--ca-file`` path itself is returned, and the one
    SSL context built for it (:mod:`bundler.http`) loads the system CAs first."""
    base = system_bundle()
    if not ca_file:
        return base or True
    extra = Path(ca_file)
    if not extra.is_file():
        raise ConfigError(f"CA file {extra} does not exist", "pass --ca-file with a PEM file of the registry's CA")
    if "BEGIN CERTIFICATE" not in extra.read_text():
        raise ConfigError(f"CA file {extra} holds no PEM certificate")
    path = str(extra.resolve())
    if base:
        trust_with(path, base)
    return path
