"""``bundler.json``: what a bundle holds, typed. Written by the bundle destination's commit, read by the
bundle source; nothing is re-derived on the other side of the air gap.

Schema 2 adds the data parts (name, size, sha256: the front vouches for them), and for a differential
bundle the base it needs and where that base put what this bundle does not carry. Schema 1 bundles (one
stream, no front file) still import unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..errors import BundleError
from ..oci import Pinned, Reference, parse

METADATA_FILE = "bundler.json"
FRONT_FILES = ("oci-layout", "index.json", METADATA_FILE)
SCHEMA_VERSION = 2
KIND = "BundlerBundle"


@dataclass
class ImageRecord:
    """One carried image. ``source`` is the reference as the upstream names it (tag and/or digest);
    ``digest`` is what is carried (a rebuilt catalog's digest differs from its source's)."""

    kind: str
    source: Reference
    digest: str
    media_type: str = ""
    tags: list[str] = field(default_factory=list)
    label: str = ""
    rebuilt_from: str | None = None
    size: int = 0

    @property
    def pinned(self) -> Pinned:
        return self.source.pin(self.digest)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": self.kind, "source": str(self.source), "name": self.source.name,
                               "tag": self.source.tag, "digest": self.digest, "mediaType": self.media_type,
                               "tags": list(self.tags)}
        if self.label:
            doc["label"] = self.label
        if self.rebuilt_from:
            doc["rebuiltFrom"] = self.rebuilt_from
        if self.size:
            doc["size"] = self.size
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ImageRecord:
        return cls(kind=str(doc["kind"]), source=parse(str(doc["source"])), digest=str(doc["digest"]),
                   media_type=str(doc.get("mediaType") or ""), tags=list(doc.get("tags") or []),
                   label=str(doc.get("label") or ""), rebuilt_from=doc.get("rebuiltFrom"),
                   size=int(doc.get("size") or 0))


@dataclass
class BundleMetadata:
    images: list[ImageRecord] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Images that failed at export, by reference: the bundle lacks them."""
    records: dict[str, Any] = field(default_factory=dict)
    """Per content kind (by its name): what its renderer needs on the import side."""
    requested: dict[str, Any] = field(default_factory=dict)
    manifests: list[str] = field(default_factory=list)
    bootstrap_blobs: list[str] = field(default_factory=list)
    other_blobs: list[str] = field(default_factory=list)
    blobs: int = 0
    blob_bytes: int = 0
    created: str = ""
    bundler_version: str = __version__
    schema_version: int = SCHEMA_VERSION
    parts: list[dict[str, Any]] = field(default_factory=list)
    """The data parts, in order: ``{"name", "size", "sha256"}`` (schema 2)."""
    split: int | None = None
    base: dict[str, Any] | None = None
    """A differential bundle's base: ``{"kind": "bundle"|"inventory", "name", "id", "created", "registry"}``."""
    from_base: dict[str, dict[str, str]] = field(default_factory=dict)
    """What a differential bundle does not carry: ``{"manifests"|"blobs": {digest: repository}}`` where the
    repository is the source repository of an image that holds it (a bundle base) or the mirror path
    (an inventory base)."""

    @property
    def carried(self) -> set[str]:
        return {*self.manifests, *self.bootstrap_blobs, *self.other_blobs}

    @property
    def archive_order(self) -> list[str]:
        """Every manifest, the bootstrap images' blobs, then the rest: an importer knows the whole plan, and
        can start the registry, before the first large blob."""
        return [*self.manifests, *self.bootstrap_blobs, *self.other_blobs]

    def to_json(self) -> dict[str, Any]:
        return {
            "schemaVersion": self.schema_version,
            "kind": KIND,
            "bundlerVersion": self.bundler_version,
            "created": self.created or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "requested": self.requested,
            "images": [img.to_json() for img in self.images],
            "failed": [{"reference": ref, "error": msg} for ref, msg in sorted(self.failed.items())],
            "blobs": self.blobs,
            "bytes": self.blob_bytes,
            "manifests": self.manifests,
            "bootstrapBlobs": self.bootstrap_blobs,
            "otherBlobs": self.other_blobs,
            "extra": self.records,
            "parts": self.parts,
            "split": self.split,
            "base": self.base,
            "fromBase": self.from_base,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: str = "the bundle") -> BundleMetadata:
        if doc.get("kind", KIND) != KIND or int(doc.get("schemaVersion", 1)) > SCHEMA_VERSION:
            raise BundleError(f"{where} was written by a newer bundler (schema {doc.get('schemaVersion')})",
                              "import it with the bundler version that wrote it, or a newer one")
        try:
            return cls(
                images=[ImageRecord.from_json(e) for e in doc.get("images") or []],
                failed={str(f["reference"]): str(f["error"]) for f in doc.get("failed") or []},
                records=dict(doc.get("extra") or {}),
                requested=dict(doc.get("requested") or {}),
                manifests=list(doc.get("manifests") or []),
                bootstrap_blobs=list(doc.get("bootstrapBlobs") or []),
                other_blobs=list(doc.get("otherBlobs") or []),
                blobs=int(doc.get("blobs") or 0), blob_bytes=int(doc.get("bytes") or 0),
                created=str(doc.get("created") or ""), bundler_version=str(doc.get("bundlerVersion") or ""),
                schema_version=int(doc.get("schemaVersion", 1)),
                **_schema2(doc),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{where}: {METADATA_FILE} is malformed: {exc}") from exc

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "the bundle") -> BundleMetadata:
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise BundleError(f"{where}: {METADATA_FILE} is not JSON: {exc}") from exc
        return cls.from_json(doc, where)


def _schema2(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields schema 2 added (absent from schema-1 documents)."""
    return {"parts": [dict(p) for p in doc.get("parts") or []],
            "split": int(doc["split"]) if doc.get("split") else None,
            "base": dict(doc["base"]) if doc.get("base") else None,
            "from_base": {k: dict(v) for k, v in (doc.get("fromBase") or {}).items()}}
