"""The plan: every image to carry, pinned by digest, with its kind and the tags to keep; and what the
content planners receive to make it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .bundle.metadata import ImageRecord
from .config import ImageSetConfig
from .oci import Manifest, Reference
from .oci.image import BuiltImage
from .records import merge_records
from .registry import RegistryPool
from .release_options import ReleaseOptions
from .transport import Source
from .transport.memory import MemoryStore

PlannedImage = ImageRecord
"""A planned image is what the bundle records about it (its size is filled in once copied)."""

KINDS = ("bootstrap", "release", "release-component", "graph-image", "sample", "catalog", "operator-bundle",
         "operator-related", "additional", "helm-chart", "helm-image", "sigstore")


@dataclass
class Plan:
    images: list[PlannedImage] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Information lines the export prints after the warnings (how many charts were fully resolved, the
    releases a channel selected and the upgrade path)."""
    records: dict[str, Any] = field(default_factory=dict)
    """Per content kind (by its name): what its renderer needs on the import side (JSON-able)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _by_key: dict[tuple[str, str], PlannedImage] = field(default_factory=dict, repr=False)

    def add(self, image: PlannedImage) -> PlannedImage:
        """Add an image; the same name+digest twice is merged (tags united, first kind kept)."""
        key = (image.source.name, image.digest)
        with self._lock:
            existing = self._by_key.get(key)
            if existing is None:
                self._by_key[key] = image
                self.images.append(image)
                return image
            for t in image.tags:
                if t not in existing.tags:
                    existing.tags.append(t)
            if existing.source.tag is None and image.source.tag:
                existing.source = image.source
            return existing

    def discard(self, image: PlannedImage) -> None:
        """Leave a planned image out (``blockedImages``)."""
        with self._lock:
            self._by_key.pop((image.source.name, image.digest), None)
            self.images = [i for i in self.images if i is not image]

    def fail(self, reference: str, message: str) -> None:
        with self._lock:
            self.failed[reference] = message

    def merge(self, other: Plan) -> None:
        """Take in what another planner planned on its own (a chain of kinds planned at once with others), as
        if it had planned into this plan after everything already here."""
        for image in other.images:
            self.add(image)
        for reference, message in other.failed.items():
            self.failed.setdefault(reference, message)
        self.warnings.extend(other.warnings)
        self.notes.extend(other.notes)
        merge_records(self.records, other.records)

    def sorted_images(self) -> list[PlannedImage]:
        """By kind (bootstrap first, as the archive wants them), then by reference."""
        return sorted(self.images, key=lambda i: (KINDS.index(i.kind) if i.kind in KINDS else 99, str(i.source)))


@dataclass
class PlanContext:
    """What a content planner gets: the config, the upstream (as a source), the plan to add to, and a
    memory store for images it builds itself (a pruned catalog): planners never write where the bundle goes."""

    config: ImageSetConfig
    source: Source
    plan: Plan
    store: MemoryStore = field(default_factory=MemoryStore)
    workers: int = 8
    pool: RegistryPool | None = None
    """The export's credentials and trust (``--authfile``, ``--ca-file``), for planners that talk HTTP to
    something other than a registry source (chart repositories, the update graph, signature stores)."""
    release: ReleaseOptions = field(default_factory=ReleaseOptions)

    def pin(self, kind: str, ref: Reference, label: str = "", keep_tag: bool = True) -> PlannedImage:
        """Resolve ``ref`` to a digest upstream and add it to the plan (raises on failure)."""
        m: Manifest = self.source.get_manifest(ref)
        tags = [ref.tag] if (ref.tag and keep_tag) else []
        return self.plan.add(PlannedImage(kind, ref, m.digest, m.media_type, tags, label))

    def keep_built(self, image: BuiltImage) -> Manifest:
        """Hold an image a planner built until the copy takes it from memory."""
        return self.store.add_image(image)
