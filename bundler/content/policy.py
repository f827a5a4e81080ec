"""What the configuration says about every planned image, whichever kind planned it; runs after the kinds.

* ``platforms`` (``mirror.platform.platforms`` for release images, ``operators[].platforms`` for a catalog's
  bundle and related images, ``additionalImages[].platforms``, a Helm chart's ``platforms`` for the images it
  deploys): a multi-platform image is carried for those
  platforms only, its list byte-exact (a sparse list, :mod:`bundler.engine.sparse`). An image also wanted
  whole by something else (another catalog, samples, an entry without platforms) is carried whole; wanted
  narrowed by several, for the union. A rebuilt catalog is built for its platforms only (no sparse list).
* ``blockedImages``: an image whose source reference, or its path and tag in the mirror, matches one of the
  regular expressions (searched, as Go's ``regexp.MatchString``) is left out, and said so (oc-mirror v2,
  cli/executor.go excludeImages). bundler's own registry images (``bootstrap``) are never blocked.
"""

from __future__ import annotations

from typing import Any

from ..errors import BundlerError
from ..oci import mediatypes, parse
from ..oci.reference import Reference
from ..plan import PlanContext, PlannedImage
from ..records import BLOCKED, PLATFORMS, image_key
from .base import ContentKind

RELEASE_KINDS = ("release", "release-component")
OPERATOR_KINDS = ("catalog", "operator-bundle", "operator-related")


def _ref_text(text: str) -> str:
    try:
        return str(parse(text))
    except BundlerError:  # a reference the planner already failed on
        return text


def _wanted_platforms(ctx: PlanContext) -> dict[str, list[frozenset[str]]]:
    """Per source reference (as planned), the platform sets asked for it (empty set: every platform)."""
    cfg = ctx.config
    asked: dict[str, list[frozenset[str]]] = {}
    for img in cfg.additional:
        asked.setdefault(str(img.reference), []).append(frozenset(str(p) for p in img.platforms))
    for rec in ctx.plan.records.get("operators") or []:
        spec = next((s for s in cfg.operators if str(s.catalog) == rec.get("catalog")), None)
        wanted = frozenset(str(p) for p in spec.platforms) if spec is not None else frozenset()
        for b in rec.get("bundles") or []:
            for ref in [b.get("image"), *(b.get("related") or [])]:
                if ref:
                    asked.setdefault(_ref_text(ref), []).append(wanted)
    for chart in ctx.plan.records.get("helm") or []:
        wanted = frozenset(chart.get("platforms") or [])
        for img in chart.get("images") or []:
            asked.setdefault(_ref_text(img["image"]), []).append(wanted)
    return asked


def _narrowed(img: PlannedImage, ctx: PlanContext, asked: dict[str, list[frozenset[str]]]) -> frozenset[str]:
    if img.rebuilt_from or img.kind in ("bootstrap", "sample"):
        return frozenset()
    if img.kind in RELEASE_KINDS:
        return frozenset(str(p) for p in ctx.config.platform.platforms)
    sets = asked.get(str(img.source), [])
    if img.kind == "catalog":
        spec = next((s for s in ctx.config.operators if s.catalog.name == img.source.name), None)
        sets = [frozenset(str(p) for p in spec.platforms)] if spec is not None else []
    if not sets or any(not s for s in sets):
        return frozenset()
    return frozenset().union(*sets)


def apply_platforms(ctx: PlanContext) -> None:
    asked = _wanted_platforms(ctx)
    record: dict[str, list[str]] = {}
    for img in ctx.plan.images:
        narrowed = _narrowed(img, ctx, asked)
        if narrowed and mediatypes.is_list(img.media_type):
            record[image_key(img.source.name, img.digest)] = sorted(narrowed)
    if record:
        ctx.plan.records[PLATFORMS] = record


def _mirror_text(ref: Reference) -> str:
    """The image's path and tag (or digest) in the mirror, without the mirror's host."""
    return f"{ref.repository}:{ref.tag}" if ref.tag else f"{ref.repository}@{ref.digest}"


def apply_blocked(ctx: PlanContext) -> None:
    patterns = ctx.config.blocked_images
    if not patterns:
        return
    left_out: list[dict[str, Any]] = []
    for img in list(ctx.plan.images):
        if img.kind == "bootstrap":
            continue
        texts = (str(img.source), str(img.pinned), _mirror_text(img.source))
        hit = next((p for p in patterns if p.blocks(*texts)), None)
        if hit is None:
            continue
        ctx.plan.discard(img)
        left_out.append({"image": str(img.source), "kind": img.kind, "pattern": hit.pattern})
        ctx.plan.warnings.append(f"{img.source} ({img.kind}) is left out: it matches blockedImages {hit.pattern!r}")
    if left_out:
        ctx.plan.records[BLOCKED] = left_out


def plan(ctx: PlanContext) -> None:
    apply_blocked(ctx)
    apply_platforms(ctx)


KIND = ContentKind("policy", plan)
