"""The plan: every image to carry, pinned by digest, with its kind and the tags to keep."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import ImageSetConfig
from .layout import OCILayout
from .reference import Reference
from .registry.client import Manifest
from .transports import RegistrySource

KINDS = ("bootstrap", "release", "release-component", "sample", "catalog", "operator-bundle",
         "operator-related", "additional")


@dataclass
class PlannedImage:
    """One image to carry. ``source`` is the reference as the upstream names it (tag and/or digest);
    ``digest`` is what is carried (a rebuilt catalog's new digest differs from the source's)."""

    kind: str
    source: Reference
    digest: str
    media_type: str = ""
    tags: list[str] = field(default_factory=list)
    label: str = ""
    rebuilt_from: str | None = None

    @property
    def pinned(self) -> Reference:
        return self.source.with_tag(None).with_digest(self.digest)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "kind": self.kind,
            "source": str(self.source),
            "name": self.source.name,
            "tag": self.source.tag,
            "digest": self.digest,
            "mediaType": self.media_type,
            "tags": self.tags,
        }
        if self.label:
            doc["label"] = self.label
        if self.rebuilt_from:
            doc["rebuiltFrom"] = self.rebuilt_from
        return doc


@dataclass
class Plan:
    images: list[PlannedImage] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
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

    def fail(self, reference: str, message: str) -> None:
        with self._lock:
            self.failed[reference] = message


@dataclass
class PlanContext:
    """What a content planner gets: the config, the upstream, the work layout (for images it
    builds itself, e.g. a pruned catalog) and the plan to add to."""

    config: ImageSetConfig
    source: RegistrySource
    layout: OCILayout
    plan: Plan
    workers: int = 8

    def pin(self, kind: str, ref: Reference, label: str = "", keep_tag: bool = True) -> PlannedImage:
        """Resolve ``ref`` to a digest upstream and add it to the plan (raises on failure)."""
        m: Manifest = self.source.get_manifest(ref)
        if ref.digest and ref.digest != m.digest:
            raise AssertionError("registry client verifies digests")
        tags = [ref.tag] if (ref.tag and keep_tag) else []
        return self.plan.add(PlannedImage(kind, ref, m.digest, m.media_type, tags, label))


Planner = Callable[[PlanContext], None]
