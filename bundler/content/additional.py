"""Additional images: ``mirror.additionalImages[].name``, by tag or digest."""

from __future__ import annotations

from ..errors import BundlerError
from ..plan import PlanContext
from .base import ContentKind


def plan(ctx: PlanContext) -> None:
    for ref in ctx.config.additional_images:
        try:
            ctx.pin("additional", ref)
        except BundlerError as exc:
            ctx.plan.fail(str(ref), str(exc))


KIND = ContentKind("additional", plan)
