"""``pull-secret.json`` for an existing mirror: the mirror's credentials (as ``--authfile`` gives them),
merged into the cluster's pull secret (``--pull-secret``, the one from console.redhat.com), ready for
install-config ``pullSecret``. Written 0600 from the start; the credentials are never printed or logged."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from .auth import AuthStore, Credentials
from .errors import ConfigError, disk_error
from .mapping import split_target

FILE = "pull-secret.json"


def read_pull_secret(path: Path) -> dict[str, Any]:
    """A pull secret / auth.json, checked (an ``auths`` object) without ever showing its content."""
    AuthStore.load(path)  # refuses a file that is not one, naming it
    doc = json.loads(path.read_text())
    return doc if isinstance(doc, dict) else {"auths": {}}


def mirror_entry(registry: str, creds: Credentials) -> tuple[str, dict[str, str]]:
    """The pull-secret entry for the mirror: keyed by its host (the cluster pulls every path under it)."""
    host, _ = split_target(registry)
    token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    return host, {"auth": token}


def write_pull_secret(outdir: Path, registry: str, creds: Credentials | None, cluster: Path | None) -> Path | None:
    """Write OUTDIR/pull-secret.json when the mirror's credentials are known; None (nothing written) when not."""
    if creds is None:
        return None
    doc = read_pull_secret(cluster) if cluster is not None else {"auths": {}}
    auths = doc.setdefault("auths", {})
    if not isinstance(auths, dict):
        raise ConfigError(f"pull secret {cluster}: \"auths\" is not an object")
    key, entry = mirror_entry(registry, creds)
    auths[key] = entry
    target = outdir / FILE
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
        os.chmod(target, 0o600)  # an existing file keeps its old mode through O_CREAT
    except OSError as exc:
        raise disk_error(exc, FILE, target) from exc
    return target
