"""Several places seen as one source: local stores first (images built while planning, blobs an earlier
run kept), then the upstream. With ``keep``, every blob read from the upstream is also kept in that layout
as it streams (complete and verified, or not at all), so what planners read is never fetched twice.
Built once, at construction: whether a source keeps what it reads never changes during a run."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from ..oci import Descriptor, Manifest, Pinned, Reference, Repository
from ..oci.layout import OCILayout
from .base import Source, SourceCaps


class LocalStore(Source, Protocol):
    def has_blob(self, digest: str, size: int = -1) -> bool: ...


class OverlaySource:
    caps = SourceCaps()

    def __init__(self, upstream: Source, local: Sequence[LocalStore] = (), keep: OCILayout | None = None) -> None:
        self.upstream = upstream
        self.local = list(local)
        self.keep = keep

    def get_manifest(self, ref: Reference) -> Manifest:
        if ref.digest:
            for store in self.local:
                if store.has_blob(ref.digest):
                    return store.get_manifest(ref)
        return self.upstream.get_manifest(ref)

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        for store in self.local:
            if store.has_blob(desc.digest, desc.size):
                return store.open_blob(repo, desc)
        chunks = self.upstream.open_blob(repo, desc)
        return self.keep.tee_blob(desc.digest, chunks) if self.keep is not None else chunks

    def referrers(self, ref: Pinned) -> list[Descriptor] | None:
        """The upstream's OCI 1.1 referrers of ``ref``, when it is a registry with that API (else None)."""
        ask = getattr(self.upstream, "referrers", None)
        found: list[Descriptor] | None = ask(ref) if ask is not None else None
        return found

    def tags(self, repo: Repository, max_pages: int | None = None) -> set[str] | None:
        """The upstream's tags of ``repo``, when it is a registry that lists them (else None)."""
        ask = getattr(self.upstream, "tags", None)
        found: set[str] | None = ask(repo, max_pages) if ask is not None else None
        return found
