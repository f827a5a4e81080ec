"""An OCI image layout on disk: ``oci-layout``, ``index.json``, ``blobs/sha256/<hex>``.

Blobs are written to a temporary file, verified, then renamed into place, so a blob file that exists
is always complete and correct. That is what makes an interrupted export resumable.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import DigestMismatchError, disk_error
from .mediatypes import OCI_INDEX

LAYOUT_FILE = {"imageLayoutVersion": "1.0.0"}
LAYOUT_BYTES = json.dumps(LAYOUT_FILE).encode()
INDEX_MEDIA_TYPE = OCI_INDEX
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


_tmp_counter = itertools.count()


def _tmp_for(final: Path) -> Path:
    """A temporary name no other writer uses: two threads may store the same blob at once (a child
    manifest shared by two lists); each writes its own file and the atomic renames agree."""
    return final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}.{next(_tmp_counter)}.tmp")


class OCILayout:
    """Read and write one OCI image layout directory."""

    def __init__(self, root: str | Path, create: bool = True) -> None:
        self.root = Path(root)
        if create:
            try:
                (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
                marker = self.root / "oci-layout"
                if not marker.exists():
                    marker.write_bytes(LAYOUT_BYTES)
            except OSError as exc:
                raise disk_error(exc, "the OCI layout", self.root) from exc

    def blob_path(self, digest: str) -> Path:
        algo, _, hexpart = digest.partition(":")
        return self.root / "blobs" / algo / hexpart

    def has_blob(self, digest: str, size: int | None = None) -> bool:
        p = self.blob_path(digest)
        try:
            st = p.stat()
        except FileNotFoundError:
            return False
        return size is None or size < 0 or st.st_size == size

    def write_blob(self, digest: str, chunks: Iterable[bytes]) -> int:
        """Store a blob from a stream of chunks, verifying its digest; returns its size."""
        final = self.blob_path(digest)
        tmp = _tmp_for(final)
        h = hashlib.sha256()
        size = 0
        try:
            with open(tmp, "wb") as out:
                for chunk in chunks:
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            got = "sha256:" + h.hexdigest()
            if got != digest:
                raise DigestMismatchError(f"blob {digest} hashed to {got}; not stored")
            os.replace(tmp, final)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise disk_error(exc, f"blob {digest}", final) from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return size

    def tee_blob(self, digest: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Yield a blob's chunks while storing it; it lands in the layout only when fully read and
        verified (a reader that stops early leaves nothing behind)."""
        final = self.blob_path(digest)
        tmp = _tmp_for(final)
        h = hashlib.sha256()
        complete = False
        try:
            with open(tmp, "wb") as out:
                for chunk in chunks:
                    h.update(chunk)
                    out.write(chunk)
                    yield chunk
            complete = "sha256:" + h.hexdigest() == digest
            if complete:
                os.replace(tmp, final)
        except OSError as exc:
            raise disk_error(exc, f"blob {digest}", final) from exc
        finally:
            if not complete:
                tmp.unlink(missing_ok=True)

    def write_bytes(self, digest: str, data: bytes) -> None:
        if not self.has_blob(digest, len(data)):
            self.write_blob(digest, [data])

    def read_blob(self, digest: str) -> bytes:
        return self.blob_path(digest).read_bytes()

    def iter_blob(self, digest: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        with open(self.blob_path(digest), "rb") as fh:
            while data := fh.read(chunk):
                yield data

    def read_index(self) -> dict[str, Any]:
        p = self.root / "index.json"
        if not p.exists():
            return {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": []}
        return dict(json.loads(p.read_text()))

    def write_json(self, name: str, doc: Any) -> None:
        """Write a top-level JSON file (index.json, metadata) atomically."""
        p = self.root / name
        tmp = p.with_name(f".{name}.tmp")
        try:
            tmp.write_bytes(json_bytes(doc))
            os.replace(tmp, p)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise disk_error(exc, name, p) from exc

    def write_index(self, entries: list[dict[str, Any]]) -> None:
        self.write_json("index.json", index_doc(entries))


def json_bytes(doc: Any) -> bytes:
    """How the layout's top-level JSON files are written (the archive carries the same bytes)."""
    return (json.dumps(doc, indent=2, sort_keys=False) + "\n").encode()


def index_doc(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": entries}


def index_entry(media_type: str, digest: str, size: int, name: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    """An index.json descriptor naming the image by its full source reference."""
    annotations = {REF_NAME: name, CONTAINERD_NAME: name, **(extra or {})}
    return {"mediaType": media_type, "digest": digest, "size": size, "annotations": annotations}
