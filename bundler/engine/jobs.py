"""What the engine is asked to do and what it reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import BundleError, DiskError
from ..oci import Descriptor, Manifest, Pinned, Repository

FATAL = (BundleError, DiskError)
"""Errors that stop the whole run (a broken bundle stream, a full disk); any other error fails one image."""


@dataclass(frozen=True)
class ImageJob:
    """Copy ``source`` to ``target`` (a repository at the destination) under ``tags`` (none: by digest).
    ``platforms`` (``os/architecture``): of a manifest list, carry only these children, the list itself
    byte-exact (a sparse list: its digest is kept, see :mod:`bundler.engine.sparse`)."""

    source: Pinned
    target: str = ""
    tags: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.source} -> {self.target or '.'}"


@dataclass
class BlobNeed:
    """One unique blob, where to fetch it, and every target that needs it."""

    desc: Descriptor
    fetch_from: Repository
    targets: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return self.desc.digest

    @property
    def size(self) -> int:
        return self.desc.size


@dataclass
class Resolution:
    """Every job's manifest tree (children first, top last), the blobs they need, the jobs that failed."""

    jobs: list[ImageJob]
    trees: dict[str, list[Manifest]] = field(default_factory=dict)
    needs: dict[str, BlobNeed] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def blobs_total(self) -> int:
        return len(self.needs)

    @property
    def bytes_total(self) -> int:
        return sum(max(n.size, 0) for n in self.needs.values())


@dataclass
class CopyResult:
    """What happened: manifests per job, byte counts, and failures by image reference."""

    manifests: dict[str, list[Manifest]] = field(default_factory=dict)
    blobs_total: int = 0
    bytes_total: int = 0
    blobs_copied: int = 0
    bytes_copied: int = 0
    blobs_skipped: int = 0
    blobs_mounted: int = 0
    manifests_pushed: int = 0
    manifests_skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
