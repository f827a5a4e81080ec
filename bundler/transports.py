"""Where images live, as the copy engine sees them: registries, OCI layouts, a bundle stream.

Each class only knows how to read or write its place; the engine never asks which one it has.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterator
from typing import Any

from . import mediatypes
from .archive import BundleReader
from .errors import BundleError
from .layout import OCILayout
from .reference import Reference
from .registry.client import CHUNK, Manifest, RegistryClient, RegistryPool, sha256_digest
from .streams import ChunkReader


class RegistrySource:
    """Reads images from registries (any host), caching manifests it has fetched."""

    def __init__(self, pool: RegistryPool) -> None:
        self.pool = pool
        self._cache: dict[tuple[str, str], Manifest] = {}
        self._lock = threading.Lock()

    def get_manifest(self, ref: Reference) -> Manifest:
        key = (ref.name, ref.ref)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        m = self.pool.get(ref.registry).get_manifest(ref.repository, ref.ref)
        with self._lock:
            self._cache[key] = m
            self._cache[(ref.name, m.digest)] = m
        return m

    def resolve(self, ref: Reference) -> Reference:
        """Pin a reference to the digest of what its tag points at now."""
        return ref.with_digest(self.get_manifest(ref).digest)

    def iter_blob(self, ref: Reference, digest: str, size: int) -> Iterator[bytes]:
        return self.pool.get(ref.registry).iter_blob(ref.repository, digest)



class RegistryDestination:
    """Writes images into one registry; a target is a repository path on it."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client

    def has_blob(self, target: str, digest: str, size: int) -> bool:
        return self.client.has_blob(target, digest)

    def put_blob(self, target: str, digest: str, size: int, chunks: Iterator[bytes]) -> None:
        first = next(chunks, b"")
        if len(first) == size:  # the whole blob in one chunk (a small or buffered blob): send it as is
            for _ in chunks:  # finish the iterator: progress counting and any check at its end
                pass
            self.client.push_blob(target, digest, size, lambda: first)
        else:
            self.client.push_blob(target, digest, size, lambda: ChunkReader(itertools.chain((first,), chunks)))

    def mount_blob(self, target: str, digest: str, from_target: str) -> bool:
        return self.client.mount_blob(target, digest, from_target)

    def iter_blob(self, target: str, digest: str, size: int) -> Iterator[bytes]:
        return self.client.iter_blob(target, digest)

    def has_manifest(self, target: str, manifest: Manifest, tag: str | None) -> bool:
        return self.client.head_manifest(target, tag or manifest.digest) == manifest.digest

    def put_manifest(self, target: str, manifest: Manifest, tag: str | None) -> None:
        self.client.put_manifest(target, tag or manifest.digest, manifest)


class LayoutDestination:
    """Writes every image into one OCI layout; targets are ignored (one blob store)."""

    def __init__(self, layout: OCILayout) -> None:
        self.layout = layout

    def has_blob(self, target: str, digest: str, size: int) -> bool:
        return self.layout.has_blob(digest, size)

    def put_blob(self, target: str, digest: str, size: int, chunks: Iterator[bytes]) -> None:
        self.layout.write_blob(digest, chunks)

    def mount_blob(self, target: str, digest: str, from_target: str) -> bool:
        return self.layout.has_blob(digest)

    def iter_blob(self, target: str, digest: str, size: int) -> Iterator[bytes]:
        return self.layout.iter_blob(digest)

    def has_manifest(self, target: str, manifest: Manifest, tag: str | None) -> bool:
        return self.layout.has_blob(manifest.digest, len(manifest.data))

    def put_manifest(self, target: str, manifest: Manifest, tag: str | None) -> None:
        self.layout.write_bytes(manifest.digest, manifest.data)


class LayoutSource:
    """Reads images out of an OCI layout by digest."""

    def __init__(self, layout: OCILayout) -> None:
        self.layout = layout

    def get_manifest(self, ref: Reference) -> Manifest:
        assert ref.digest
        data = self.layout.read_blob(ref.digest)
        return Manifest(data, mediatypes.detect_media_type(data), sha256_digest(data))

    def iter_blob(self, ref: Reference, digest: str, size: int) -> Iterator[bytes]:
        return self.layout.iter_blob(digest)


class CachedSource(RegistrySource):
    """Upstream registries seen through the work layout: blobs already there (a resumed export, or an
    image a planner built itself such as a pruned catalog) are read locally, and blobs a planner reads
    (release metadata, catalogs) are kept as they stream, so every blob is fetched once."""

    def __init__(self, layout: OCILayout, upstream: RegistrySource, keep: bool = True) -> None:
        super().__init__(upstream.pool)
        self._cache = upstream._cache
        self.local = LayoutSource(layout)
        self.layout = layout
        self.keep = keep

    def get_manifest(self, ref: Reference) -> Manifest:
        if ref.digest and self.layout.has_blob(ref.digest):
            return self.local.get_manifest(ref)
        return super().get_manifest(ref)

    def iter_blob(self, ref: Reference, digest: str, size: int) -> Iterator[bytes]:
        if self.layout.has_blob(digest, size):
            return self.local.iter_blob(ref, digest, size)
        chunks = super().iter_blob(ref, digest, size)
        return self.layout.tee_blob(digest, chunks) if self.keep else chunks



class BundleSource:
    """Reads a bundle as a stream: manifests come from its front, blobs in archive order."""

    def __init__(self, reader: BundleReader) -> None:
        self.reader = reader
        self.manifests: dict[str, Manifest] = {}
        self.drain = True  # False: stop streaming once every needed blob went by (bootstrap pre-pass)
        self._leftover: Iterator[Any] | None = None
        self._first: Any = None

    def load_manifests(self, digests: list[str]) -> None:
        """Read the manifests stored at the front of the archive (they precede all other blobs)."""
        wanted = set(digests)
        entries = self.reader.entries()
        for entry in entries:
            if entry.digest in wanted:
                data = entry.fileobj.read()
                if sha256_digest(data) != entry.digest:
                    raise BundleError(f"manifest {entry.digest} in the bundle is corrupt ({self.reader.bundle})")
                self.manifests[entry.digest] = Manifest(data, mediatypes.detect_media_type(data), entry.digest)
                wanted.discard(entry.digest)
            else:
                self._first = entry
                break
            if not wanted:
                break
        self._leftover = entries

    def get_manifest(self, ref: Reference) -> Manifest:
        assert ref.digest
        try:
            return self.manifests[ref.digest]
        except KeyError:
            raise BundleError(f"manifest {ref.digest} of {ref} is not in the bundle") from None

    def iter_blob(self, ref: Reference, digest: str, size: int) -> Iterator[bytes]:
        raise BundleError(f"blob {digest} was already streamed past; the registry refused a cross-repo mount")

    def stream_blobs(self) -> Iterator[tuple[str, int, Iterator[bytes]]]:
        first = getattr(self, "_first", None)
        if first is not None:
            self._first = None
            yield first.digest or "", first.size, self._verified(first.fileobj, first.digest or "")
        for entry in self._leftover or iter(()):
            if entry.digest:
                yield entry.digest, entry.size, self._verified(entry.fileobj, entry.digest)

    def _verified(self, fh: Any, digest: str) -> Iterator[bytes]:
        h = hashlib.sha256()
        start = self.reader.bytes_read
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            yield chunk
        if "sha256:" + h.hexdigest() != digest:
            where = self.reader.parts_between(start, self.reader.bytes_read)
            raise BundleError(
                f"blob {digest} read from bundle part {where} is corrupt "
                f"(hashed to sha256:{h.hexdigest()}); nothing of it was stored",
                "copy the part again from the original media, then run `bundler verify`",
            )
