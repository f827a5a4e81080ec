"""``inv.json``: what a mirror registry holds, written inside the air gap by ``bundler inventory`` and
carried out to be the base of the next differential export.

Repositories (paths under the registry host) with their tags and manifests, and every blob by digest with
one repository that holds it. Blobs are known through the manifests that reference them (the
distribution API has no blob listing).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BundleError

KIND = "BundlerInventory"


@dataclass
class RepositoryContent:
    tags: dict[str, str] = field(default_factory=dict)
    manifests: list[str] = field(default_factory=list)


@dataclass
class Inventory:
    registry: str
    """``HOST[:PORT][/PREFIX]`` as given to ``bundler inventory``."""
    repositories: dict[str, RepositoryContent] = field(default_factory=dict)
    blobs: dict[str, str] = field(default_factory=dict)
    created: str = ""

    def where(self) -> dict[str, str]:
        """Every manifest and blob digest -> a repository path that holds it."""
        out = dict(self.blobs)
        for repo, content in sorted(self.repositories.items()):
            for digest in content.manifests:
                out.setdefault(digest, repo)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": KIND, "version": 1, "registry": self.registry,
            "created": self.created or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "repositories": {name: {"tags": dict(sorted(c.tags.items())), "manifests": sorted(c.manifests)}
                             for name, c in sorted(self.repositories.items())},
            "blobs": dict(sorted(self.blobs.items())),
        }

    def write(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        tmp.replace(path)

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: str) -> Inventory:
        if doc.get("kind") != KIND:
            raise BundleError(f"{where} is not a bundler inventory (kind {doc.get('kind')!r})",
                              "give a bundle front or a file written by `bundler inventory`")
        try:
            repos = {str(name): RepositoryContent(dict(c.get("tags") or {}), list(c.get("manifests") or []))
                     for name, c in (doc.get("repositories") or {}).items()}
            return cls(str(doc["registry"]), repos, {str(k): str(v) for k, v in (doc.get("blobs") or {}).items()},
                       str(doc.get("created") or ""))
        except (KeyError, TypeError, AttributeError) as exc:
            raise BundleError(f"{where}: the inventory is malformed ({exc})") from exc
