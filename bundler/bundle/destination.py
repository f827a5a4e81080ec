"""Export's destination: blobs and manifests land in the work layout ``BUNDLE.work/`` (a blob file there is
always complete and verified, so an interrupted export re-run fetches only what is missing); ``commit()``
writes ``index.json`` and ``bundler.json`` and packs the archive, in its streaming order, into parts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..oci import Manifest
from ..oci.layout import OCILayout, index_entry
from ..transport.layout import LayoutDestination
from .archive import ArchiveWriter
from .metadata import FRONT_FILES, METADATA_FILE, BundleMetadata, ImageRecord

KIND_ANNOTATION = "io.bundler.kind"


def work_dir(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".work")


class BundleDestination(LayoutDestination):
    def __init__(self, bundle: Path, layout: OCILayout, split: int | None = None, level: int = 1,
                 on_pack: Callable[[int], object] | None = None) -> None:
        super().__init__(layout)
        self.bundle = bundle
        self.split = split
        self.level = level
        self.on_pack = on_pack
        self.metadata: BundleMetadata | None = None
        self.parts: list[tuple[Path, str]] = []

    def describe(self, metadata: BundleMetadata, trees: dict[str, list[Manifest]]) -> BundleMetadata:
        """Complete ``metadata`` from what was copied (``trees`` by pinned reference): each image's size,
        the archive order, blob count and bytes. Bootstrap images' blobs go first after the manifests."""
        sizes: dict[str, int] = {}
        seen: set[str] = set()
        metadata.manifests, metadata.bootstrap_blobs, metadata.other_blobs = [], [], []
        for img in metadata.images:
            tree = trees[str(img.pinned)]
            img.media_type = tree[-1].media_type
            img.size = 0
            for m in tree:
                img.size += len(m.data)
                if m.digest not in seen:
                    seen.add(m.digest)
                    metadata.manifests.append(m.digest)
                for desc in m.blobs:
                    img.size += max(desc.size, 0)
                    if desc.digest not in sizes:
                        sizes[desc.digest] = max(desc.size, 0)
                        (metadata.bootstrap_blobs if img.kind == "bootstrap" else metadata.other_blobs).append(desc.digest)
        metadata.blobs, metadata.blob_bytes = len(sizes), sum(sizes.values())
        self._index = [self._index_entry(img, trees[str(img.pinned)][-1]) for img in metadata.images]
        self.metadata = metadata
        return metadata

    @staticmethod
    def _index_entry(img: ImageRecord, top: Manifest) -> dict[str, object]:
        return index_entry(top.media_type, top.digest, len(top.data), str(img.source), {KIND_ANNOTATION: img.kind})

    def commit(self) -> None:
        """Write the front files and pack everything in archive order; BUNDLE.sha256 last."""
        if self.metadata is None:
            raise RuntimeError("describe() the bundle before committing it")
        self.layout.write_index(self._index)
        self.layout.write_json(METADATA_FILE, self.metadata.to_json())
        self.parts = pack(self.layout, self.bundle, self.metadata.archive_order, [], self.split, self.level,
                          self.on_pack)


def pack(layout: OCILayout, bundle: Path, front_blobs: list[str], other_blobs: list[str], split: int | None = None,
         level: int = 3, on_pack: Callable[[int], object] | None = None) -> list[tuple[Path, str]]:
    """The layout's front files, then its blobs in the order given, as tar+zstd parts; returns (part, sha256)."""
    writer = ArchiveWriter(bundle, split, level)
    try:
        for name in FRONT_FILES:
            writer.add_path(name, layout.root / name)
        for digest in [*front_blobs, *other_blobs]:
            size = writer.add_blob(digest, layout.blob_path(digest))
            if on_pack is not None:
                on_pack(size)
        return writer.finish()
    except BaseException:
        writer.abort()
        raise
