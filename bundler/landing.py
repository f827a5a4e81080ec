"""Where carried images land in a mirror, as copy jobs, and what the outputs say about them afterwards: one
policy for ``import`` (bundle -> registry), ``mirror`` (registry -> registry) and ``delete`` (what to remove).

Each image goes to its target(s) (:func:`bundler.mapping.plan_targets`: the source path under the mirror, or
where ``targetCatalog``/``targetTag``/``targetRepo`` send it, flattened by ``--max-nested-paths``) under its
tags (a digest-only image also gets ``sha256-<hex>``, so registries that collect untagged manifests keep it);
a multi-platform image the configuration narrowed (``platforms:``) is copied as a sparse list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .bundle.metadata import ImageRecord
from .engine import ImageJob
from .mapping import plan_targets, split_target
from .outputs import MirroredImage
from .records import PLATFORMS, TARGETS, image_key


def digest_tag(digest: str) -> str:
    """A tag for images carried by digest only, so registries that collect untagged manifests (Quay) keep
    them. Tags are at most 128 characters: ``sha256-<64 hex>`` is 71."""
    return digest.replace(":", "-")


@dataclass
class Landing:
    """The copy jobs and, per job, the image it copies and the mirror repository it lands in."""

    jobs: list[ImageJob] = field(default_factory=list)
    placed: list[tuple[ImageRecord, str, ImageJob]] = field(default_factory=list)
    flattened: dict[str, str] = field(default_factory=dict)
    """Source repository -> mirror repository, for paths ``--max-nested-paths`` flattened."""

    @property
    def repositories(self) -> dict[str, str]:
        """Source repository -> mirror repository (the first, when the configuration sends one to several)."""
        out: dict[str, str] = {}
        for img, repo, _ in self.placed:
            out.setdefault(img.source.name, repo)
        return out

    def mirrored(self, failed: dict[str, str]) -> list[MirroredImage]:
        """What arrived: one entry per job whose image did not fail."""
        return [MirroredImage(kind=img.kind, source=img.source, digest=img.digest, mirror_repo=repo,
                              tags=list(job.tags), label=img.label, rebuilt_from=img.rebuilt_from)
                for img, repo, job in self.placed if str(job.source) not in failed]


def plan_landing(images: Sequence[ImageRecord], registry: str, records: dict[str, Any] | None = None,
                 max_nested: int = 0) -> Landing:
    """One job per target of every carried image (the registry's own bootstrap images excluded)."""
    records = records or {}
    pushable = [img for img in images if img.kind != "bootstrap"]
    targets = plan_targets(pushable, registry, records.get(TARGETS) or {}, max_nested)
    sparse: dict[str, list[str]] = records.get(PLATFORMS) or {}
    host, _ = split_target(registry)
    landing = Landing()
    for img in pushable:
        key = image_key(img.source.name, img.digest)
        for t in targets[(img.source.name, img.digest)]:
            job = ImageJob(source=img.pinned, target=t.path, tags=t.tags or (digest_tag(img.digest),),
                           platforms=tuple(sparse.get(key) or ()))
            landing.jobs.append(job)
            landing.placed.append((img, t.repository, job))
            if t.flattened:
                landing.flattened[img.source.name] = t.repository
    assert all(repo.startswith(host + "/") for _, repo, _ in landing.placed)
    return landing


def pull_jobs(images: Sequence[ImageRecord], records: dict[str, Any]) -> list[ImageJob]:
    """The jobs that pull planned images into a bundle (no target: one blob store), sparse where the plan
    narrowed an image to some platforms."""
    sparse: dict[str, list[str]] = records.get(PLATFORMS) or {}
    return [ImageJob(source=img.pinned, platforms=tuple(sparse.get(image_key(img.source.name, img.digest)) or ()))
            for img in images]
