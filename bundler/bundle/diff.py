"""The base of a differential bundle: an earlier bundle (only its front is read) or an inventory of the
mirror, seen as one thing: every manifest and blob digest it holds, and where.

A location is ``source:<repository as the upstream names it>`` for what a base bundle carried (import
maps it to the mirror the same way it maps the images) or ``mirror:<path on the registry>`` for what an
inventory saw. A differential of a differential keeps its base's locations, so a chain of bundles
still knows where everything went.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BundleError
from ..oci import Manifest, sha256_digest
from .archive import ZSTD_MAGIC, ArchiveReader
from .dataparts import hash_file
from .inventory import Inventory
from .metadata import FRONT_FILES, METADATA_FILE, BundleMetadata

SOURCE = "source:"
MIRROR = "mirror:"


@dataclass
class BaseContent:
    kind: str
    name: str
    id: str
    created: str = ""
    registry: str | None = None
    where: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        what = f"the inventory of {self.registry}" if self.kind == "inventory" else "the bundle"
        return f"{what} {self.name} ({self.created}, sha256 {self.id[:12]})"

    def present(self, digests: Iterable[str]) -> set[str]:
        return {d for d in digests if d in self.where}

    def record(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": self.kind, "name": self.name, "id": self.id, "created": self.created}
        if self.registry:
            doc["registry"] = self.registry
        return doc

    def locations(self, trees: dict[str, list[Manifest]], in_base: set[str]) -> dict[str, dict[str, str]]:
        """Where the base put what the new bundle does not carry, split into manifests and blobs."""
        manifests = {m.digest for tree in trees.values() for m in tree}
        out: dict[str, dict[str, str]] = {"manifests": {}, "blobs": {}}
        for digest in sorted(in_base):
            out["manifests" if digest in manifests else "blobs"][digest] = self.where[digest]
        return out


def load_base(path: Path) -> BaseContent:
    """A bundle front (its parts need not be there) or an inventory file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise BundleError(f"cannot read the base {path}: {exc.strerror}",
                          "give --since the front of an earlier bundle or an inventory file") from exc
    if head == ZSTD_MAGIC:
        return _from_bundle(path)
    try:
        doc = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path} is neither a bundle nor an inventory",
                          "give --since the front of an earlier bundle or a file written by `bundler inventory`") from exc
    inv = Inventory.from_json(doc, str(path))
    where = {d: MIRROR + repo for d, repo in inv.where().items()}
    return BaseContent("inventory", path.name, hash_file(path), inv.created, inv.registry, where)


def _from_bundle(path: Path) -> BaseContent:
    reader = ArchiveReader(path, FRONT_FILES, front_only=True)
    try:
        meta = BundleMetadata.from_bytes(reader.front[METADATA_FILE], str(path))
        manifests = _front_manifests(reader, set(meta.manifests))
    finally:
        reader.close()
    where: dict[str, str] = {}
    for img in meta.images:
        top = manifests.get(img.digest)
        if top is None:
            continue
        for m in [*(manifests[c.digest] for c in top.children if c.digest in manifests), top]:
            where.setdefault(m.digest, SOURCE + img.source.name)
            for desc in m.blobs:
                if desc.digest in meta.carried:
                    where.setdefault(desc.digest, SOURCE + img.source.name)
    for kind in ("manifests", "blobs"):
        for digest, location in meta.from_base.get(kind, {}).items():
            where.setdefault(digest, location)
    return BaseContent("bundle", path.name, hash_file(path), meta.created, (meta.base or {}).get("registry"), where)


def _front_manifests(reader: ArchiveReader, wanted: set[str]) -> dict[str, Manifest]:
    found: dict[str, Manifest] = {}
    for entry in reader.entries():
        if entry.digest not in wanted:
            break
        data = entry.fileobj.read()
        if sha256_digest(data) != entry.digest:
            raise BundleError(f"manifest {entry.digest} in {reader.bundle} is corrupt")
        found[entry.digest] = Manifest.from_bytes(data)
        if len(found) == len(wanted):
            break
    return found
