"""Credentials from a pull secret / containers auth.json, looked up the way podman does."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print a secret
        return f"Credentials(username={self.username!r}, password=***)"


def default_authfile() -> Path | None:
    """The first auth file that exists: REGISTRY_AUTH_FILE, XDG runtime, ~/.docker/config.json."""
    candidates: list[Path] = []
    if os.environ.get("REGISTRY_AUTH_FILE"):
        candidates.append(Path(os.environ["REGISTRY_AUTH_FILE"]))
    if os.environ.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(os.environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    candidates.append(Path.home() / ".docker" / "config.json")
    return next((p for p in candidates if p.is_file()), None)


def _normalise_key(key: str) -> str:
    for scheme in ("https://", "http://"):
        if key.startswith(scheme):
            key = key[len(scheme):]
    key = key.rstrip("/")
    if key in ("index.docker.io/v1", "index.docker.io", "registry-1.docker.io"):
        return "docker.io"
    return key


class AuthStore:
    """Credentials by registry host (or host/namespace, most specific wins)."""

    def __init__(self, entries: dict[str, Credentials] | None = None, source: str = "") -> None:
        self.entries = dict(entries or {})
        self.source = source

    @classmethod
    def load(cls, path: str | Path | None = None) -> AuthStore:
        """Read ``path`` or, if None, the default auth file; a missing default yields an empty store."""
        if path is None:
            found = default_authfile()
            if found is None:
                return cls()
            path = found
        p = Path(path)
        try:
            doc = json.loads(p.read_text())
        except FileNotFoundError:
            raise ConfigError(f"auth file {p} does not exist") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"auth file {p} is not readable JSON: {exc}") from exc
        auths = doc.get("auths") if isinstance(doc, dict) else None
        if not isinstance(auths, dict):
            raise ConfigError(f"auth file {p} has no \"auths\" object (expected a pull secret / auth.json)")
        entries: dict[str, Credentials] = {}
        for key, value in auths.items():
            creds = _decode_entry(value)
            if creds:
                entries[_normalise_key(key)] = creds
        return cls(entries, str(p))

    def lookup(self, registry: str, repository: str = "") -> Credentials | None:
        parts = repository.split("/") if repository else []
        for n in range(len(parts), -1, -1):
            key = "/".join([registry, *parts[:n]])
            if key in self.entries:
                return self.entries[key]
        return None

    def to_json(self) -> dict[str, dict[str, dict[str, str]]]:
        out = {}
        for key, c in sorted(self.entries.items()):
            token = base64.b64encode(f"{c.username}:{c.password}".encode()).decode()
            out[key] = {"auth": token}
        return {"auths": out}


def _decode_entry(value: object) -> Credentials | None:
    if not isinstance(value, dict):
        return None
    if value.get("auth"):
        try:
            raw = base64.b64decode(str(value["auth"])).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        user, sep, password = raw.partition(":")
        return Credentials(user, password) if sep else None
    if value.get("username") and value.get("password"):
        return Credentials(str(value["username"]), str(value["password"]))
    return None
