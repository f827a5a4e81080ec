"""Images held in memory: the ones planners build (a pruned catalog's new layers, config and manifests),
and the engine's unit tests. A source and a destination with one blob store, like a layout."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from ..errors import DigestMismatchError, NotFoundError
from ..oci import Descriptor, Manifest, Reference, Repository, sha256_digest
from ..oci.digest import verified
from ..oci.image import BuiltImage
from .base import DestinationCaps, SourceCaps


class MemoryStore:
    """Blobs and manifests by digest, tags by (repository name, tag)."""

    caps = SourceCaps()

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, Manifest] = {}
        self.tags: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    # -- filling it ------------------------------------------------------------------------------
    def add_blob(self, data: bytes) -> str:
        digest = sha256_digest(data)
        with self._lock:
            self.blobs[digest] = data
        return digest

    def add_manifest(self, manifest: Manifest, repo: Repository | None = None, tag: str | None = None) -> Manifest:
        with self._lock:
            self.manifests[manifest.digest] = manifest
            if repo is not None and tag:
                self.tags[(str(repo), tag)] = manifest.digest
        return manifest

    def add_image(self, image: BuiltImage) -> Manifest:
        for data in image.blobs.values():
            self.add_blob(data)
        return self.add_manifest(image.manifest)

    # -- as a source -----------------------------------------------------------------------------
    def has_blob(self, digest: str, size: int = -1) -> bool:
        data = self.blobs.get(digest)
        if data is None:
            m = self.manifests.get(digest)
            data = m.data if m is not None else None
        return data is not None and (size < 0 or len(data) == size)

    def get_manifest(self, ref: Reference) -> Manifest:
        digest = ref.digest or self.tags.get((ref.name, ref.tag or "latest"))
        m = self.manifests.get(digest or "")
        if m is None:
            raise NotFoundError(f"image {ref} not found")
        return m

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        data = self.blobs.get(desc.digest)
        if data is None:
            raise NotFoundError(f"blob {desc.digest} not found in {repo}")
        return iter((data,))


class MemoryDestination:
    """Writes into a :class:`MemoryStore`, keeping track of which target holds what (mounts only work from
    a target that holds the blob, as in a registry)."""

    caps = DestinationCaps(mounts=True, reads_back=True)

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()
        self.placed: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def _place(self, target: str, digest: str) -> None:
        with self._lock:
            self.placed.setdefault(target, set()).add(digest)

    def has_blob(self, target: str, desc: Descriptor) -> bool:
        return desc.digest in self.placed.get(target, set())

    def put_blob(self, target: str, desc: Descriptor, chunks: Iterator[bytes]) -> None:
        def mismatch(actual: str) -> DigestMismatchError:
            return DigestMismatchError(f"blob {desc.digest} hashed to {actual}; not stored")
        self.store.add_blob(b"".join(verified(chunks, desc.digest, mismatch)))
        self._place(target, desc.digest)

    def mount_blob(self, target: str, desc: Descriptor, from_target: str) -> bool:
        if desc.digest not in self.placed.get(from_target, set()):
            return False
        self._place(target, desc.digest)
        return True

    def read_blob(self, target: str, desc: Descriptor) -> Iterator[bytes]:
        return self.store.open_blob(Repository("memory", target), desc)

    def has_manifest(self, target: str, manifest: Manifest, tag: str | None) -> bool:
        if tag:
            return self.store.tags.get((target, tag)) == manifest.digest
        return manifest.digest in self.placed.get(target, set())

    def put_manifest(self, target: str, manifest: Manifest, tag: str | None) -> None:
        self.store.add_manifest(manifest)
        with self._lock:
            if tag:
                self.store.tags[(target, tag)] = manifest.digest
        self._place(target, manifest.digest)

    def commit(self) -> None:
        return None
