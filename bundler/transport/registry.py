"""Registries as a source (any host, manifests cached) and as a destination (one host)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

from ..oci import Descriptor, Manifest, Pinned, Reference, Repository
from ..registry.client import RegistryClient, RegistryPool
from ..registry.referrers import referrers
from ..streams import ChunkReader
from .base import DestinationCaps, SourceCaps


class RegistrySource:
    """Reads images from registries (any host), caching the manifests it fetched."""

    caps = SourceCaps()

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

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        return self.pool.get(repo.registry).iter_blob(repo.path, desc.digest)

    def referrers(self, ref: Pinned) -> list[Descriptor] | None:
        """What the OCI 1.1 referrers API lists for ``ref`` (None: the registry has no such API)."""
        found = referrers(self.pool.get(ref.registry), ref.repository, ref.ref)
        return None if found is None else [Descriptor.from_json(d) for d in found]

    def tags(self, repo: Repository, max_pages: int | None = None) -> set[str] | None:
        """The repository's tags; None when they take more than ``max_pages`` pages or the registry does not
        list them."""
        found = self.pool.get(repo.registry).tag_pages(repo.path, max_pages)
        return None if found is None else set(found)


class RegistryDestination:
    """Writes images into one registry; a target is a repository path on it."""

    caps = DestinationCaps(mounts=True, reads_back=True, put_finds_present=True, checks_digests=True,
                           remote_lookups=True)

    def __init__(self, client: RegistryClient) -> None:
        self.client = client

    def has_blob(self, target: str, desc: Descriptor) -> bool:
        return self.client.has_blob(target, desc.digest)

    def put_blob(self, target: str, desc: Descriptor, chunks: Iterator[bytes]) -> bool:
        first = next(chunks, b"")
        if len(first) == desc.size:  # the whole blob in one chunk (a small or buffered blob): send it as is
            for _ in chunks:  # finish the iterator: progress counting and the digest check at its end
                pass
            return self.client.push_blob(target, desc.digest, desc.size, lambda: first, skip_present=True)
        return self.client.push_blob(target, desc.digest, desc.size,
                                     lambda: ChunkReader(itertools.chain((first,), chunks)), skip_present=True)

    def mount_blob(self, target: str, desc: Descriptor, from_target: str) -> bool:
        return self.client.mount_blob(target, desc.digest, from_target)

    def read_blob(self, target: str, desc: Descriptor) -> Iterator[bytes]:
        return self.client.iter_blob(target, desc.digest)

    def has_manifest(self, target: str, manifest: Manifest, tag: str | None) -> bool:
        return self.client.head_manifest(target, tag or manifest.digest) == manifest.digest

    def put_manifest(self, target: str, manifest: Manifest, tag: str | None) -> None:
        self.client.put_manifest(target, tag or manifest.digest, manifest)

    def commit(self) -> None:
        return None
