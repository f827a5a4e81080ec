"""The one interface every content kind implements: plan from the config, render outputs from the mirror
mapping. Kinds are listed statically in :mod:`bundler.content`; nothing is found by module name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..outputs import OutputContext
from ..plan import PlanContext


def _nothing(_: OutputContext) -> None:
    return None


@dataclass(frozen=True)
class ContentKind:
    name: str
    """Its key in the plan's and the bundle's records."""
    plan: Callable[[PlanContext], None]
    """Add this kind's images (pinned) to ``ctx.plan`` and its record to ``ctx.plan.records[name]``."""
    render: Callable[[OutputContext], None] = _nothing
    """Write this kind's outputs (CatalogSources, the samples patch...) from the mirrored images."""
