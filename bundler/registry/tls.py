"""Which CA bundle requests should verify with: system CAs plus the user's --ca-file."""

from __future__ import annotations

import atexit
import os
import ssl
import tempfile
import threading
from pathlib import Path

from ..errors import ConfigError

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
    """A path for requests' ``verify``: system CAs, combined with ``ca_file`` when given."""
    base = system_bundle()
    if not ca_file:
        return base or True
    extra = Path(ca_file)
    if not extra.is_file():
        raise ConfigError(f"CA file {extra} does not exist", "pass --ca-file with a PEM file of the registry's CA")
    text = extra.read_text()
    if "BEGIN CERTIFICATE" not in text:
        raise ConfigError(f"CA file {extra} holds no PEM certificate")
    key = (base, _version(base), str(extra.resolve()), _version(str(extra)))
    with _COMBINED_LOCK:
        combined = _COMBINED.get(key)
        if combined is None or not Path(combined).is_file():
            combined = _COMBINED[key] = _combine(base, text)
    return combined


_COMBINED: dict[tuple[str | None, tuple[int, int], str, tuple[int, int]], str] = {}
_COMBINED_LOCK = threading.Lock()
"""One combined file per pair of CA files (and their versions) a process trusts: the registries, the update
service and the signature store given the same ``--ca-file`` share it, and with it one loaded SSL context
(:mod:`bundler.http`) instead of parsing the system CAs again for each (about 30 ms each)."""


def _version(path: str | None) -> tuple[int, int]:
    if not path:
        return (0, 0)
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size)


def _combine(base: str | None, text: str) -> str:
    fd, combined = tempfile.mkstemp(prefix="bundler-ca-", suffix=".pem")
    with os.fdopen(fd, "w") as out:
        if base:
            out.write(Path(base).read_text())
            out.write("\n")
        out.write(text)
    atexit.register(lambda: Path(combined).unlink(missing_ok=True))
    return combined
