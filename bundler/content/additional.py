"""Additional images: ``mirror.additionalImages[]``: a registry reference (tag or digest) or an image in a local
OCI layout (``oci://PATH``), sent to ``targetRepo``/``targetTag`` in the mirror when given, narrowed to
``platforms`` when given (:mod:`bundler.content.policy` applies platforms and blockedImages)."""

from __future__ import annotations

from ..errors import BundlerError
from ..plan import PlanContext
from ..records import send_to
from .base import ContentKind


def plan(ctx: PlanContext) -> None:
    for img in ctx.config.additional:
        ref = img.reference
        try:
            planned = ctx.pin("additional", ref)
        except BundlerError as exc:
            ctx.plan.fail(f"oci://{img.layout.written}" if img.layout else str(ref), str(exc))
            continue
        if img.image is not None and (img.target_repo or img.target_tag):
            # oc-mirror: targetRepo replaces the path, targetTag the tag; a digest-only image without
            # targetTag gets sha256-<hex> (as import tags every digest-only image)
            send_to(ctx.plan.records, planned.source.name, planned.digest, img.target_repo, img.target_tag)


KIND = ContentKind("additional", plan)
