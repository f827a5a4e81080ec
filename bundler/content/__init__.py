"""Content kinds: each turns a part of the ImageSetConfiguration into planned images (export) and renders
its own outputs from the mirrored images (import), behind one interface (:class:`base.ContentKind`).

The list is static. Order matters for the archive and for kinds that build on another's record: bootstrap
images first (import loads them before any registry exists), then the release (samples read its records),
samples, operators, additional images, Helm charts; then the policy every image is subject to (platforms,
blockedImages), then the sigstore signatures of what is left. May import :mod:`bundler.plan`,
:mod:`bundler.outputs`, :mod:`bundler.oci`, :mod:`bundler.transport`, :mod:`bundler.config`,
:mod:`bundler.errors`.
"""

from __future__ import annotations

from ..outputs import Renderer
from ..plan import PlanContext
from . import additional, bootstrap, helm, operators, policy, release, samples, sigstore
from .base import ContentKind
from .chains import plan_at_once

CHAINS: tuple[tuple[ContentKind, ...], ...] = ((bootstrap.KIND,), (release.KIND, samples.KIND), (operators.KIND,),
                                               (additional.KIND,), (helm.KIND,))
"""Kinds that read nothing another chain plans: the chains are planned at once (a catalog's download need not
wait for the release's component lookups), the kinds of one chain one after another (samples read the
release's record)."""

OVER_ALL: tuple[ContentKind, ...] = (policy.KIND, sigstore.KIND)
"""Kinds over every image planned before them: policy (platforms and blockedImages), then sigstore (the
signatures of every image policy left in)."""

KINDS: tuple[ContentKind, ...] = (*(kind for chain in CHAINS for kind in chain), *OVER_ALL)

ALONGSIDE_PULL: tuple[ContentKind, ...] = (sigstore.KIND,)
"""Kinds that only look up small images beside what the others planned (two requests an image): an export
plans them while the others' blobs are pulled (:mod:`bundler.plan_alongside`)."""


def plan_all(ctx: PlanContext, alongside: bool = False) -> None:
    """Every kind; with ``alongside``, not those of :data:`ALONGSIDE_PULL`. The chains plan at once into plans
    of their own, merged in :data:`KINDS` order: which kind an image shared by two keeps, and the order of the
    images, warnings and records, never depend on which chain finished first (:mod:`.chains`)."""
    for sub in plan_at_once(ctx, CHAINS):
        ctx.plan.merge(sub)
    for kind in OVER_ALL:
        if not (alongside and kind in ALONGSIDE_PULL):
            kind.plan(ctx)


def plan_alongside(ctx: PlanContext) -> None:
    for kind in ALONGSIDE_PULL:
        kind.plan(ctx)


def renderers() -> list[Renderer]:
    return [kind.render for kind in KINDS]
