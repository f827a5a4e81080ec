"""Release signatures: fetch them from the signature store, verify them, render the ConfigMap the CVO reads.

The store holds ``{base}sha256=<hex>/signature-N`` (N = 1, 2, ... until a 404), each an OpenPGP signed
"atomic container signature" JSON naming the release digest. oc-mirror (``internal/pkg/release/
signature.go``) reads only ``signature-1``, takes ``OCP_SIGNATURE_URL`` as the base and
``OCP_SIGNATURE_VERIFICATION_PK`` as the key file, and writes ``signature-configmap.{json,yaml}``
(``internal/pkg/clusterresources``): ConfigMap ``mirrored-release-signatures`` in
``openshift-config-managed`` labelled ``release.openshift.io/verification-signatures``, ``binaryData``
keys ``sha256-<hex>-<n>`` with n counting up across the whole ConfigMap.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml

from ...errors import BundlerError, ConfigError
from ...http import TrustedSession, tls_failure
from ...registry.tls import verify_setting
from . import openpgp

DEFAULT_SIGNATURE_URL = "https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release/"
SIGNATURE_URL_ENV = "OCP_SIGNATURE_URL"
SIGNATURE_KEY_ENV = "OCP_SIGNATURE_VERIFICATION_PK"
REDHAT_KEY = "redhat-release-key.asc"
NAMESPACE = "openshift-config-managed"
CONFIGMAP_NAME = "mirrored-release-signatures"
LABEL = "release.openshift.io/verification-signatures"
CONFIGMAP_JSON = "signature-configmap.json"
CONFIGMAP_YAML = "signature-configmap.yaml"
ATOMIC_TYPE = "atomic container signature"
MAX_SIGNATURES = 32
MAX_SIZE = 1 << 20
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HINT = "or pass --ignore-release-signature to carry the release unverified"


class SignatureError(BundlerError):
    """A release signature is missing or not acceptable."""


class SignatureMissingError(SignatureError):
    """The store has no signature for the release digest."""


class SignatureUnverifiableError(SignatureError):
    """The signature is corrupt, not an OpenPGP signed message, or does not verify."""


class SignatureKeyError(SignatureError):
    """Validly made, but by a key that is not the release key."""


class SignatureDigestError(SignatureError):
    """Verified, but it signs another image digest (or is not a container signature)."""


@dataclass(frozen=True)
class ReleaseSignature:
    """One verified signature of one release digest; ``data`` is the store's bytes, unchanged."""

    digest: str
    index: int
    data: bytes
    reference: str
    key: str
    created: int | None = None


def signature_store_url(url: str | None = None) -> str:
    """The store base: ``url``, else ``OCP_SIGNATURE_URL``, else mirror.openshift.com; always ends in ``/``."""
    chosen = url or os.environ.get(SIGNATURE_URL_ENV) or DEFAULT_SIGNATURE_URL
    parts = urlsplit(chosen)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"signature store URL {chosen!r} is not an http(s) URL",
                          f"set {SIGNATURE_URL_ENV} like {DEFAULT_SIGNATURE_URL}")
    return chosen if chosen.endswith("/") else chosen + "/"


def release_keyring(key_file: str | Path | None = None) -> openpgp.Keyring:
    """The keys release signatures must verify with: ``key_file`` (``--release-key``), else the file
    ``OCP_SIGNATURE_VERIFICATION_PK`` names, else Red Hat's release key (as embedded in oc-mirror)."""
    path = key_file or os.environ.get(SIGNATURE_KEY_ENV)
    if not path:
        data = resources.files(__package__).joinpath(REDHAT_KEY).read_bytes()
        return openpgp.read_keyring(data, "the Red Hat release key")
    source = "--release-key" if key_file else SIGNATURE_KEY_ENV
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"release key file {path} (from {source}) cannot be read: {exc.strerror}",
                          "give an OpenPGP public key file (armored or binary)") from exc
    try:
        return openpgp.read_keyring(data, f"release key file {path}")
    except openpgp.OpenPGPError as exc:
        raise ConfigError(f"release key file {path} (from {source}): {exc}",
                          "give an OpenPGP public key file, e.g. from gpg --armor --export KEYID") from exc


def check_digest(digest: str) -> str:
    if not _DIGEST.match(digest):
        raise ConfigError(f"release digest {digest!r} is not sha256:<64 hex>")
    return digest


class SignatureStore:
    """The HTTP signature store, read with bundler's trust (system CAs + ``--ca-file``) and proxies."""

    def __init__(self, url: str | None = None, *, ca_file: str | None = None,
                 session: requests.Session | None = None, timeout: float = 60.0) -> None:
        self.base = signature_store_url(url)
        self.session = session or TrustedSession(verify_setting(ca_file))
        self.timeout = timeout

    def url(self, digest: str, index: int) -> str:
        return f"{self.base}sha256={check_digest(digest)[7:]}/signature-{index}"

    def fetch(self, digest: str, release: str = "") -> list[bytes]:
        """``signature-1``, ``signature-2``, ... until the store answers 404 (or 403 after the first)."""
        found: list[bytes] = []
        for index in range(1, MAX_SIGNATURES + 1):
            data = self._get(self.url(digest, index), allow_end=bool(found))
            if data is None:
                break
            found.append(data)
        if not found:
            raise SignatureMissingError(f"release {release or digest}: no signature for {digest} at {self.url(digest, 1)}",
                                        f"check {SIGNATURE_URL_ENV} / the store, {_HINT}")
        return found

    def _get(self, url: str, allow_end: bool) -> bytes | None:
        try:
            resp = self.session.get(url, timeout=self.timeout, stream=True)
            if resp.status_code == 404 or (allow_end and resp.status_code == 403):
                return None
            if resp.status_code != 200:
                raise SignatureError(f"signature store {url} answered HTTP {resp.status_code}",
                                     f"retry later or check {SIGNATURE_URL_ENV}")
            data = b""
            for chunk in resp.iter_content(64 << 10):
                data += chunk
                if len(data) > MAX_SIZE:
                    raise SignatureUnverifiableError(f"signature {url} is larger than {MAX_SIZE} bytes: refused")
            return data
        except requests.exceptions.SSLError as exc:
            raise SignatureError(f"signature store {url}: TLS failed: {tls_failure(exc)}",
                                 "pass --ca-file with the CA of the signature store") from exc
        except requests.RequestException as exc:
            raise SignatureError(f"signature store {url} is unreachable: {tls_failure(exc)}",
                                 f"check the network, HTTPS_PROXY and {SIGNATURE_URL_ENV}") from exc


def verify_signature(data: bytes, digest: str, keyring: openpgp.Keyring, *, release: str = "",
                     index: int = 1) -> ReleaseSignature:
    """Verify one signature: made by a key of ``keyring``, over an atomic container signature naming
    ``digest``. Errors name the release, the signature number and what is wrong."""
    what = f"release {release or digest} signature-{index}"
    try:
        verified = openpgp.verify_message(data, keyring)
    except openpgp.UnknownKeyError as exc:
        raise SignatureKeyError(f"{what} is signed by another key ({', '.join(exc.issuers) or 'unnamed'}), "
                                f"not by {keyring.name} ({keyring.describe()})",
                                f"pass --release-key with the key that signs these releases, {_HINT}") from exc
    except openpgp.OpenPGPError as exc:
        raise SignatureUnverifiableError(f"{what} cannot be verified: {exc}", _HINT) from exc
    try:
        doc = json.loads(verified.payload)
        critical: dict[str, Any] = doc["critical"]
        kind, signed = critical.get("type"), critical["image"]["docker-manifest-digest"]
        reference = str((critical.get("identity") or {}).get("docker-reference", ""))
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureDigestError(f"{what} does not sign an atomic container signature document", _HINT) from exc
    if kind != ATOMIC_TYPE:
        raise SignatureDigestError(f"{what} signs a {kind!r} document, not an {ATOMIC_TYPE!r}", _HINT)
    if signed != digest:
        raise SignatureDigestError(f"{what} names image {signed} ({reference or 'no reference'}), not {digest}",
                                   "the store returned another release's signature; " + _HINT)
    return ReleaseSignature(digest, index, data, reference, verified.key.fingerprint, verified.created)


def release_signatures(store: SignatureStore, digest: str, keyring: openpgp.Keyring, *,
                       release: str = "") -> tuple[list[ReleaseSignature], list[str]]:
    """Every signature of ``digest`` that verifies, and a warning for each one that does not; raises
    when none verifies (the error of the only signature, or one listing each signature's failure)."""
    valid: list[ReleaseSignature] = []
    errors: list[SignatureError] = []
    for index, data in enumerate(store.fetch(digest, release), 1):
        try:
            valid.append(verify_signature(data, digest, keyring, release=release, index=index))
        except SignatureError as exc:
            errors.append(exc)
    if valid:
        return valid, [e.message for e in errors]
    if len(errors) == 1:
        raise errors[0]
    kinds = {type(e) for e in errors}
    cls = kinds.pop() if len(kinds) == 1 else SignatureError
    raise cls(f"release {release or digest}: none of its {len(errors)} signatures is acceptable: "
              + "; ".join(e.message for e in errors), errors[0].hint)


def signature_configmap(signatures: Iterable[ReleaseSignature], *, created_at: str | None = None) -> dict[str, Any]:
    """The ConfigMap oc-mirror writes (same name, namespace, label and key scheme); annotations say bundler
    made it. Keys are ``sha256-<hex>-<n>``, n counting 1, 2, ... over the ConfigMap in the given order."""
    binary: dict[str, str] = {}
    seen: set[tuple[str, bytes]] = set()
    for sig in signatures:
        if (sig.digest, sig.data) in seen:
            continue
        seen.add((sig.digest, sig.data))
        binary[f"sha256-{check_digest(sig.digest)[7:]}-{len(binary) + 1}"] = base64.b64encode(sig.data).decode()
    when = created_at or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": CONFIGMAP_NAME, "namespace": NAMESPACE, "labels": {LABEL: ""},
                     "annotations": {"createdAt": when, "createdBy": "bundler"}},
        "binaryData": dict(sorted(binary.items())),
    }


def configmap_json(cm: dict[str, Any]) -> bytes:
    """Compact JSON in Go's ``json.Marshal`` field order (kind, apiVersion, metadata, binaryData)."""
    return json.dumps(cm, separators=(",", ":"), ensure_ascii=False).encode()


def configmap_yaml(cm: dict[str, Any]) -> bytes:
    """YAML with sorted keys, as sigs.k8s.io/yaml writes it; base64 values stay on one line."""
    return yaml.safe_dump(cm, sort_keys=True, default_flow_style=False, width=1 << 30).encode()


def write_configmap(directory: str | Path, signatures: Iterable[ReleaseSignature], *,
                    created_at: str | None = None) -> list[Path]:
    """Write ``signature-configmap.json`` and ``.yaml`` into ``directory``; nothing when there is no
    signature (oc-mirror writes no empty ConfigMap)."""
    cm = signature_configmap(signatures, created_at=created_at)
    if not cm["binaryData"]:
        return []
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for name, data in ((CONFIGMAP_JSON, configmap_json(cm)), (CONFIGMAP_YAML, configmap_yaml(cm))):
        tmp = d / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, d / name)  # never a half-written file under the final name
        out.append(d / name)
    return out
