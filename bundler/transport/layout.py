"""An OCI image layout directory as a source (by digest) and as a destination (one blob store)."""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import NotFoundError
from ..oci import Descriptor, Manifest, Reference, Repository
from ..oci.layout import OCILayout
from .base import DestinationCaps, SourceCaps


class LayoutSource:
    """Reads images out of an OCI layout by digest."""

    caps = SourceCaps()

    def __init__(self, layout: OCILayout) -> None:
        self.layout = layout

    def has_blob(self, digest: str, size: int = -1) -> bool:
        return self.layout.has_blob(digest, size)

    def get_manifest(self, ref: Reference) -> Manifest:
        if not ref.digest or not self.layout.has_blob(ref.digest):
            raise NotFoundError(f"manifest of {ref} is not in the layout {self.layout.root}")
        return Manifest.from_bytes(self.layout.read_blob(ref.digest))

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        return self.layout.iter_blob(desc.digest)


class LayoutDestination:
    """Writes every image into one OCI layout; targets are ignored (one blob store)."""

    caps = DestinationCaps(mounts=True, reads_back=True)

    def __init__(self, layout: OCILayout) -> None:
        self.layout = layout

    def has_blob(self, target: str, desc: Descriptor) -> bool:
        return self.layout.has_blob(desc.digest, desc.size)

    def put_blob(self, target: str, desc: Descriptor, chunks: Iterator[bytes]) -> None:
        self.layout.write_blob(desc.digest, chunks)

    def mount_blob(self, target: str, desc: Descriptor, from_target: str) -> bool:
        return self.layout.has_blob(desc.digest)

    def read_blob(self, target: str, desc: Descriptor) -> Iterator[bytes]:
        return self.layout.iter_blob(desc.digest)

    def has_manifest(self, target: str, manifest: Manifest, tag: str | None) -> bool:
        return self.layout.has_blob(manifest.digest, len(manifest.data))

    def put_manifest(self, target: str, manifest: Manifest, tag: str | None) -> None:
        self.layout.write_bytes(manifest.digest, manifest.data)

    def commit(self) -> None:
        return None
