"""The images of the registry stack import bootstraps (Quay, Redis, database), carried in the bundle
so the air-gapped side pulls nothing. Enabled by the ``bootstrap:`` section of the ImageSetConfiguration."""

from __future__ import annotations

from ..errors import BundlerError
from ..plan import PlanContext


def plan(ctx: PlanContext) -> None:
    spec = ctx.config.bootstrap
    if not spec.enabled:
        return
    roles = {}
    for role, ref in sorted(spec.images.items()):
        try:
            img = ctx.pin("bootstrap", ref, label=role)
            roles[role] = str(img.source)
        except BundlerError as exc:
            ctx.plan.fail(str(ref), f"bootstrap image for {role}: {exc}")
    ctx.plan.extra["bootstrap"] = {"flavor": spec.flavor, "images": roles}
