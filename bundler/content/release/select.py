"""Which releases the release kind carries: the ones the configuration names by pullspec, and the ones
``mirror.platform.channels`` selects through the update graph (:mod:`.channels`). What a channel resolved
to (its releases and the upgrade path) goes into the plan's notes, which export and ``--dry-run`` print."""

from __future__ import annotations

from dataclasses import dataclass

from ...oci import Reference, parse
from ...plan import PlanContext
from .channels import Selection, select_releases
from .graph import GraphClient


@dataclass(frozen=True)
class Target:
    """One release to carry: its reference, and for a channel's release the channel, graph architecture
    and version the graph gave."""

    ref: Reference
    channel: str = ""
    arch: str = ""
    version: str = ""

    @property
    def label(self) -> str:
        return f"{self.version} (channel {self.channel}, {self.arch}) {self.ref}" if self.channel else str(self.ref)

    def describe(self) -> str:
        return f"release {self.label}"


def graph_client(ctx: PlanContext) -> GraphClient:
    opts = ctx.release
    return GraphClient(opts.graph_url, ca_file=str(opts.ca_file) if opts.ca_file else None)


def release_targets(ctx: PlanContext) -> list[Target]:
    """The configured releases, then the channels' (lowest version first, per architecture)."""
    targets = [Target(ref) for ref in ctx.config.releases]
    platform = ctx.config.platform
    if not platform.channels:
        return targets
    client = graph_client(ctx)
    selection = select_releases(client, platform.channels, platform.release_architectures)
    ctx.plan.warnings.extend(selection.warnings)
    ctx.plan.notes.extend(selection_notes(selection, client.endpoint))
    seen = {str(t.ref) for t in targets}
    for rel in selection.releases:
        if rel.payload not in seen:
            seen.add(rel.payload)
            targets.append(Target(parse(rel.payload), rel.channel, rel.arch, rel.version))
    return targets


def selection_notes(selection: Selection, endpoint: str) -> list[str]:
    """Lines for the admin: each architecture's channels and bounds, its releases and the upgrade path."""
    lines = [f"Release channels resolved through {endpoint}:"]
    for arch, channels in selection.resolved.items():
        bounds = ", ".join(f"{c.name} {c.min_version}..{c.max_version}" + (" (shortest path)" if c.shortest_path else "")
                           for c in channels)
        lines.append(f"  {arch}: {bounds}")
        for rel in (r for r in selection.releases if r.arch == arch):
            lines.append(f"    {rel.version:<14} {rel.payload} ({rel.channel})")
        path = selection.paths.get(arch, [])
        text = " -> ".join(path) if len(path) > 1 else f"{path[0]} (a single release)" if path else "none"
        lines.append(f"  upgrade path ({arch}): {text}")
    return lines
