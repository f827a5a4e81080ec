"""A next z-stream of the synthetic release: most components byte-identical to the previous release's,
a fraction rebuilt (as between two real OpenShift z-streams, where about a fifth of the payload changes).
Used to measure and test differential bundles."""

from __future__ import annotations

import hashlib
from typing import Any

from .synthetic import INDEX_COMPONENT, LIST_COMPONENT, Upstream, build_upstream, component_names


def changed_components(names: list[str], fraction: float, version: str) -> set[str]:
    """A deterministic ``fraction`` of ``names`` (at least one), chosen by hashing with the version."""
    ranked = sorted(names, key=lambda n: hashlib.sha256(f"{version}/{n}".encode()).hexdigest())
    return set(ranked[:max(1, round(len(names) * fraction))])


def next_zstream(client: Any, previous: str, version: str, components: int, changed: float = 0.2,
                 **kw: Any) -> tuple[Upstream, set[str]]:
    """Push release ``version`` whose components are those of ``previous`` (built with the same
    ``components`` and keywords) except a ``changed`` fraction; returns it and the changed names."""
    names = [*component_names(components), LIST_COMPONENT, INDEX_COMPONENT]
    new = changed_components(names, changed, version)
    versions = {n: (version if n in new else previous) for n in names}
    return build_upstream(client, version=version, components=components, content_versions=versions, **kw), new
