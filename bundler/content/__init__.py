"""Content planners: each turns a part of the ImageSetConfiguration into planned images."""

from __future__ import annotations

import importlib

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


def planners() -> list[Planner]:
    out: list[Planner] = []
    for name in PLANNER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        planner = getattr(module, "plan", None)
        if planner is not None:
            out.append(planner)
    return out


def run_planners(ctx: PlanContext) -> None:
    for planner in planners():
        planner(ctx)
