"""Export's destination: blobs stream into the data parts as they arrive (:mod:`.writer`), manifests
are held until ``commit()`` writes the front (and parity, checksums, signature). A differential export
names what its base already has: those blobs and manifests count as present and are not carried.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import BundleError
from ..oci import Descriptor, Manifest
from ..oci.layout import index_doc, index_entry, json_bytes
from ..transport.base import DestinationCaps
from .metadata import BundleMetadata, ImageRecord
from .writer import BundleWriter, Committed, Finish

KIND_ANNOTATION = "io.bundler.kind"


class BundleDestination:
    caps = DestinationCaps()

    def __init__(self, writer: BundleWriter, in_base: set[str] | None = None, finish: Finish | None = None) -> None:
        self.writer = writer
        self.in_base = in_base if in_base is not None else set()
        self.finish = finish or Finish()
        self.manifests: dict[str, bytes] = {}
        self.metadata: BundleMetadata | None = None
        self.committed: Committed | None = None
        self._index: list[dict[str, object]] = []
        self._bootstrap: set[str] = set()

    @property
    def bundle(self) -> Path:
        return self.writer.bundle

    def has_blob(self, target: str, desc: Descriptor) -> bool:
        return desc.digest in self.in_base or self.writer.has_blob(desc.digest)

    def put_blob(self, target: str, desc: Descriptor, chunks: Iterator[bytes]) -> None:
        self.writer.put_blob(desc.digest, desc.size, chunks)

    def mount_blob(self, target: str, desc: Descriptor, from_target: str) -> bool:
        return self.has_blob(target, desc)

    def read_blob(self, target: str, desc: Descriptor) -> Iterator[bytes]:
        raise BundleError(f"blob {desc.digest} cannot be read back from a bundle being written")

    def has_manifest(self, target: str, manifest: Manifest, tag: str | None) -> bool:
        return manifest.digest in self.manifests or manifest.digest in self.in_base

    def put_manifest(self, target: str, manifest: Manifest, tag: str | None) -> None:
        self.manifests[manifest.digest] = manifest.data

    def describe(self, metadata: BundleMetadata, trees: dict[str, list[Manifest]]) -> BundleMetadata:
        """Complete ``metadata`` from what was copied (``trees`` by pinned reference): each image's size and
        media type, the manifests carried (children first), which blobs go first (bootstrap images')."""
        metadata.manifests = []
        seen: set[str] = set()
        self._bootstrap = set()
        for img in metadata.images:
            tree = trees[str(img.pinned)]
            img.media_type = tree[-1].media_type
            img.size = sum(len(m.data) + sum(max(d.size, 0) for d in m.blobs) for m in tree)
            for m in tree:
                if img.kind == "bootstrap":
                    self._bootstrap.update(d.digest for d in m.blobs)
                if m.digest not in seen and m.digest not in self.in_base:
                    seen.add(m.digest)
                    metadata.manifests.append(m.digest)
        self._index = [self._index_entry(img, trees[str(img.pinned)][-1]) for img in metadata.images]
        self.metadata = metadata
        return metadata

    @staticmethod
    def _index_entry(img: ImageRecord, top: Manifest) -> dict[str, object]:
        return index_entry(top.media_type, top.digest, len(top.data), str(img.source), {KIND_ANNOTATION: img.kind})

    def drain(self) -> None:
        """Wait until every blob handed in is in the parts (between the bootstrap images and the rest)."""
        self.writer.drain()

    def commit(self) -> None:
        """The front, then parity, ``BUNDLE.sha256`` and the signature."""
        if self.metadata is None:
            raise RuntimeError("describe() the bundle before committing it")
        manifests = [(d, self.manifests[d]) for d in self.metadata.manifests if d in self.manifests]
        self.metadata.manifests = [d for d, _ in manifests]
        self.committed = self.writer.commit(self.metadata, json_bytes(index_doc(self._index)), manifests,
                                            self._bootstrap, self.finish)

    def abort(self, exc: BaseException) -> None:
        self.writer.abort(exc)
