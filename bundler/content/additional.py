"""Additional images: ``mirror.additionalImages[]``: a registry reference (tag or digest) or an image in a local
OCI layout (``oci://PATH``), sent to ``targetRepo``/``targetTag`` in the mirror when given, narrowed to
``platforms`` when given (:mod:`bundler.content.policy` applies platforms and blockedImages)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..config import AdditionalImage
from ..errors import BundlerError
from ..plan import PlanContext, PlannedImage
from ..records import send_to
from .base import ContentKind


def plan(ctx: PlanContext) -> None:
    """Every image looked up at once (``ctx.workers``), as the other kinds do: a list of a hundred images
    looked up one after another spent a round trip (and a token) each in sequence. Records are written
    afterwards, in the configuration's order."""
    with ThreadPoolExecutor(max(1, ctx.workers)) as pool:
        pinned = list(pool.map(lambda img: _pin(ctx, img), ctx.config.additional))
    for img, planned in zip(ctx.config.additional, pinned, strict=True):
        if planned is not None and img.image is not None and (img.target_repo or img.target_tag):
            # oc-mirror: targetRepo replaces the path, targetTag the tag; a digest-only image without
            # targetTag gets sha256-<hex> (as import tags every digest-only image)
            send_to(ctx.plan.records, planned.source.name, planned.digest, img.target_repo, img.target_tag)


def _pin(ctx: PlanContext, img: AdditionalImage) -> PlannedImage | None:
    try:
        return ctx.pin("additional", img.reference)
    except BundlerError as exc:
        ctx.plan.fail(f"oci://{img.layout.written}" if img.layout else str(img.reference), str(exc))
        return None


KIND = ContentKind("additional", plan)
