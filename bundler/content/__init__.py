"""Content planners: each turns a part of the ImageSetConfiguration into planned images."""

from __future__ import annotations

import importlib
from types import ModuleType

from ..plan import PlanContext, Planner

# Order matters only for the archive: bootstrap images first so import can load them before
# any registry exists; then the release, samples, operators and additional images.
PLANNER_MODULES = (
    "bundler.content.bootstrap",
    "bundler.content.release",
    "bundler.content.samples",
    "bundler.content.operators",
    "bundler.content.additional",
)


def optional_modules(names: tuple[str, ...]) -> list[ModuleType]:
    """Import the modules that exist (content modules are optional parts of the package)."""
    out: list[ModuleType] = []
    for name in names:
        try:
            out.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return out


def planners() -> list[Planner]:
    return [m.plan for m in optional_modules(PLANNER_MODULES) if getattr(m, "plan", None) is not None]


def run_planners(ctx: PlanContext) -> None:
    for planner in planners():
        planner(ctx)
