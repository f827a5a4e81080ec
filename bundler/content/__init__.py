"""Content kinds: each turns a part of the ImageSetConfiguration into planned images (export) and renders
its own outputs from the mirrored images (import), behind one interface (:class:`base.ContentKind`).

The list is static. Order matters only for the archive and for kinds that build on another's record:
bootstrap images first (import loads them before any registry exists), then the release (samples read its
records), samples, operators, additional images, Helm charts; then the policy every image is subject to
(platforms, blockedImages), then the sigstore signatures of what is left. May import :mod:`bundler.plan`,
:mod:`bundler.outputs`, :mod:`bundler.oci`, :mod:`bundler.transport`, :mod:`bundler.config`,
:mod:`bundler.errors`.
"""

from __future__ import annotations

from ..outputs import Renderer
from ..plan import PlanContext
from . import additional, bootstrap, helm, operators, policy, release, samples, sigstore
from .base import ContentKind

# policy: platforms and blockedImages over every image planned before it; sigstore: the signatures of every
# image planned (and not blocked) before it
KINDS: tuple[ContentKind, ...] = (bootstrap.KIND, release.KIND, samples.KIND, operators.KIND, additional.KIND,
                                  helm.KIND, policy.KIND, sigstore.KIND)


ALONGSIDE_PULL: tuple[ContentKind, ...] = (sigstore.KIND,)
"""Kinds that only look up small images beside what the others planned (two requests an image): an export
plans them while the others' blobs are pulled (:mod:`bundler.plan_alongside`)."""


def plan_all(ctx: PlanContext, alongside: bool = False) -> None:
    """Every kind, in order; with ``alongside``, not those of :data:`ALONGSIDE_PULL`."""
    for kind in KINDS:
        if not (alongside and kind in ALONGSIDE_PULL):
            kind.plan(ctx)


def plan_alongside(ctx: PlanContext) -> None:
    for kind in ALONGSIDE_PULL:
        kind.plan(ctx)


def renderers() -> list[Renderer]:
    return [kind.render for kind in KINDS]
