"""Which releases ``mirror.platform.channels`` selects, by oc-mirror v2's rules.

Read from oc-mirror ``internal/pkg/release/cincinnati.go`` and ``core-cincinnati.go`` (see
/work/notes/release.md for the line-by-line account):

* bounds (``resolveChannelVersions``): no min and no max -> the head only (unless ``full``: first..head);
  min only -> min..head; max only -> the channel's first..max; both -> min..max.
* releases of a channel (``getChannelDownloads``): every node with min <= version <= max, or with
  ``shortestPath`` the nodes on the shortest upgrade path min -> max (plus min and max themselves).
* several channels (``getCrossChannelDownloads``, OCP channels only): also the releases on the upgrade path
  from the lowest min (its channel) to the highest max (its channel), hopping minor by minor through
  ``<prefix>-<major>.<minor+1>`` channels (``CalculateUpgrades``/``calculate``).
* the path is a breadth-first search over the graph's unconditional ``edges``, neighbours highest version
  first; oc-mirror does not read ``conditionalEdges`` at all (``follow_conditional`` is bundler's opt-in).

Stricter than oc-mirror, on purpose: a min or max that is not in the channel, min above max, an unknown
type or architecture, and an empty channel are errors naming the thing (oc-mirror silently selects less).
Every architecture resolves its own bounds (oc-mirror reuses the first architecture's).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from ...errors import ConfigError
from ...isc.settings import ReleaseChannel
from .graph import ARCHITECTURES, Graph, GraphError, Node
from .semver import Version, channel_minor, parse_version

TYPES = ("ocp", "okd")
_Pick = tuple[Node, str]  # a release and the channel whose graph named it


@dataclass(frozen=True)
class SelectedRelease:
    """A release to carry: its version, payload pullspec (by digest, as the graph gives it), the channel
    whose graph named it and the graph architecture."""

    version: str
    payload: str
    channel: str
    arch: str


@dataclass
class Selection:
    """What :func:`select_releases` chose: releases (unique per architecture and payload, lowest version
    first), the upgrade path per architecture as versions, the bounds each channel resolved to, warnings."""

    releases: list[SelectedRelease] = field(default_factory=list)
    paths: dict[str, list[str]] = field(default_factory=dict)
    resolved: dict[str, list[ReleaseChannel]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def path_text(self, arch: str) -> str:
        return " -> ".join(self.paths.get(arch, []))


class GraphSource(Protocol):
    def graph(self, channel: str, arch: str = "amd64", kind: str = "ocp") -> Graph: ...


def select_releases(source: GraphSource, channels: Sequence[ReleaseChannel],
                    architectures: Sequence[str] | None = None, *, follow_conditional: bool = False) -> Selection:
    """Resolve ``channels`` for every architecture (default ``amd64``; ``multi`` for the multi payload)."""
    _check_config(channels, architectures or ())
    out = Selection()
    for arch in architectures or ("amd64",):
        picked: dict[str, _Pick] = {}
        resolved = [resolve_channel(source.graph(ch.name, arch, ch.type), ch, out.warnings) for ch in channels]
        out.resolved[arch] = resolved
        for ch in resolved:
            graph = source.graph(ch.name, arch, ch.type)
            for node in channel_releases(graph, ch, out.warnings, follow_conditional):
                picked.setdefault(node.payload, (node, ch.name))
        if len(resolved) > 1:
            path = _cross_channel(source, resolved, arch, picked, out.warnings, follow_conditional)
        else:
            path = _single_path(source.graph(resolved[0].name, arch, resolved[0].type), resolved[0],
                                out.warnings, follow_conditional)
        out.paths[arch] = [str(v) for v in path]
        out.releases += [SelectedRelease(str(n.version), n.payload, chan, arch)
                         for n, chan in sorted(picked.values(), key=lambda p: p[0].version)]
    return out


def _check_config(channels: Sequence[ReleaseChannel], architectures: Iterable[str]) -> None:
    if not channels:
        raise ConfigError("mirror.platform.channels is empty: no release to select")
    seen: set[str] = set()
    for ch in channels:
        if ch.type not in TYPES:
            raise ConfigError(f"release channel {ch.name}: type {ch.type!r} is not one of {', '.join(TYPES)}")
        if ch.name in seen:
            raise ConfigError(f"release channel {ch.name!r} is listed twice", "merge the two entries")
        seen.add(ch.name)
    for arch in architectures:
        if arch not in ARCHITECTURES:
            hint = {"x86_64": "amd64", "aarch64": "arm64"}.get(arch)
            raise ConfigError(f"mirror.platform.architectures: {arch!r} is not one of {', '.join(ARCHITECTURES)}",
                              f"write {hint}" if hint else "use the update graph's architecture names")


def resolve_channel(graph: Graph, ch: ReleaseChannel, warnings: list[str] | None = None) -> ReleaseChannel:
    """Fill in the bounds of ``ch`` from its graph (oc-mirror ``resolveChannelVersions``); the given ones
    must name releases of the channel and min must not be above max."""
    lo = _given(graph, ch, "minVersion", ch.min_version)
    hi = _given(graph, ch, "maxVersion", ch.max_version)
    versions = graph.versions()
    if lo and hi:
        if hi < lo:
            raise ConfigError(f"release channel {ch.name}: minVersion {lo} is above maxVersion {hi}",
                              "swap them, or drop maxVersion to go up to the channel head")
        resolved = replace(ch, full=True)
    else:
        hi = hi or versions[-1]
        lo = lo or (versions[0] if ch.full or ch.max_version else hi)
        resolved = ch
    if warnings is not None and "eus" in ch.name and ch.min_version and ch.max_version and hi.minor - lo.minor >= 2:
        warnings.append(f"release channel {ch.name}: EUS range {lo}..{hi} spans two or more minors; check the "
                        "upgrade path at https://access.redhat.com/labs/ocpupgradegraph/update_path")
    return replace(resolved, min_version=str(lo), max_version=str(hi))


def _given(graph: Graph, ch: ReleaseChannel, field_name: str, text: str | None) -> Version | None:
    if not text:
        return None
    v = parse_version(text, f"release channel {ch.name} {field_name}")
    if graph.node(v) is None:
        versions = graph.versions()
        raise GraphError(f"release channel {ch.name} ({graph.arch}) has no release {v} ({field_name})",
                         f"the channel holds {len(versions)} releases from {versions[0]} to {versions[-1]}; "
                         "pick one of them or another channel")
    return v


def channel_releases(graph: Graph, ch: ReleaseChannel, warnings: list[str] | None = None,
                     follow_conditional: bool = False) -> list[Node]:
    """The releases one resolved channel selects (oc-mirror ``getChannelDownloads``)."""
    lo, hi = parse_version(str(ch.min_version)), parse_version(str(ch.max_version))
    if ch.shortest_path:
        path = path_nodes(graph, lo, hi, warnings, follow_conditional)
        ends = [n for n in (graph.node(lo), graph.node(hi)) if n is not None]
        return path + [n for n in ends if n not in path]
    return [n for n in graph.nodes if lo <= n.version <= hi]


def shortest_path(graph: Graph, start: int, end: int, follow_conditional: bool = False) -> list[int]:
    """Node indices of the shortest path start -> end, [] if there is none. Breadth-first with each node's
    successors tried highest version first (oc-mirror ``GetUpdates``), so the answer is deterministic."""
    succ: dict[int, list[int]] = {}
    pairs = list(graph.edges) + (list(graph.conditional_pairs()) if follow_conditional else [])
    for a, b in pairs:
        if b not in succ.setdefault(a, []):
            succ[a].append(b)
    for dests in succ.values():
        dests.sort(key=lambda i: graph.nodes[i].version, reverse=True)
    prev: dict[int, int] = {start: -1}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == end:
            break
        for nxt in succ.get(node, []):
            if nxt not in prev:
                prev[nxt] = node
                queue.append(nxt)
    if end not in prev:
        return []
    path = [end]
    while prev[path[-1]] != -1:
        path.append(prev[path[-1]])
    return path[::-1]


def path_nodes(graph: Graph, lo: Version, hi: Version, warnings: list[str] | None = None,
               follow_conditional: bool = False) -> list[Node]:
    """The nodes on the shortest path lo -> hi in ``graph``; both must be in it."""
    a, b = graph.index(lo), graph.index(hi)
    if a is None or b is None:
        missing = lo if a is None else hi
        raise GraphError(f"release channel {graph.channel} ({graph.arch}) has no release {missing}",
                         "the upgrade path can only run through releases of the channel")
    idx = shortest_path(graph, a, b, follow_conditional)
    if not idx and warnings is not None:
        warnings.append(f"release channel {graph.channel} ({graph.arch}): no upgrade path from {lo} to {hi}"
                        + ("" if follow_conditional else " over unconditional edges"))
    if follow_conditional and warnings is not None:
        risky = graph.conditional_pairs()
        for x, y in zip(idx, idx[1:], strict=False):
            if (x, y) in risky and (x, y) not in graph.edges:
                names = ", ".join(sorted({r.name for r in risky[(x, y)]}))
                warnings.append(f"upgrade {graph.nodes[x].version} -> {graph.nodes[y].version} in "
                                f"{graph.channel} is conditional (risks: {names})")
    return [graph.nodes[i] for i in idx]


def _single_path(graph: Graph, ch: ReleaseChannel, warnings: list[str], follow_conditional: bool) -> list[Version]:
    lo, hi = parse_version(str(ch.min_version)), parse_version(str(ch.max_version))
    if ch.shortest_path:  # the warning for a missing path was given when the releases were chosen
        return [n.version for n in path_nodes(graph, lo, hi, None, follow_conditional)]
    return [n.version for n in path_nodes(graph, lo, hi, warnings, follow_conditional)]


def _cross_channel(source: GraphSource, channels: list[ReleaseChannel], arch: str,
                   picked: dict[str, _Pick], warnings: list[str], follow_conditional: bool) -> list[Version]:
    """oc-mirror ``getCrossChannelDownloads``: the upgrade path from the lowest min to the highest max
    across the OCP channels; adds its releases to ``picked`` and returns the path."""
    ocp = [c for c in channels if c.type == "ocp"]
    if not ocp:
        return []
    first = min(ocp, key=lambda c: parse_version(str(c.min_version)))   # ties: the first listed
    last = max(reversed(ocp), key=lambda c: parse_version(str(c.max_version)))
    hops = _CrossPath(source, arch, warnings, follow_conditional)
    nodes = hops.upgrades(first.name, last.name, parse_version(str(first.min_version)),
                          parse_version(str(last.max_version)))
    path: list[Version] = []
    for node, chan in nodes:
        picked.setdefault(node.payload, (node, chan))
        if node.version not in path:
            path.append(node.version)
    return path


@dataclass
class _CrossPath:
    source: GraphSource
    arch: str
    warnings: list[str]
    follow_conditional: bool

    def _graph(self, channel: str) -> Graph:
        return self.source.graph(channel, self.arch, "ocp")

    def _updates(self, channel: str, start: Version, end: Version) -> tuple[_Pick, _Pick, list[_Pick]]:
        """oc-mirror ``GetUpdates``: (current, requested, the shortest path between them)."""
        graph = self._graph(channel)
        path = path_nodes(graph, start, end, self.warnings, self.follow_conditional)
        current, requested = graph.node(start), graph.node(end)
        assert current is not None and requested is not None  # path_nodes raised otherwise
        return (current, channel), (requested, channel), [(n, channel) for n in path]

    def upgrades(self, source: str, target: str, start: Version, end: Version) -> list[_Pick]:
        """oc-mirror ``CalculateUpgrades``, flattened to current, path..., requested."""
        if source == target:
            current, requested, path = self._updates(target, start, end)
            return [current, *path, requested]
        (_, src), (_, tgt) = channel_minor(source), channel_minor(target)
        if src == tgt:
            if self._graph(target).node(start) is None:
                self.warnings.append(f"no upgrade path for {start} in channel {target}")
                start = end
            current, requested, path = self._updates(target, start, end)
            return [current, *path, requested]
        if tgt < src:
            raise ConfigError(f"release channels: cannot compute an upgrade path from {source} ({start}) down to "
                              f"{target} ({end})", "list the channels so that the lowest version is in the lowest minor")
        latest = self._graph(source).versions()[-1]
        current, _, path = self._updates(source, start, latest)
        requested, more = self._hop(source, target, latest, end)
        return [current, *path, *more, requested]

    def _hop(self, source: str, target: str, start: Version, end: Version) -> tuple[_Pick, list[_Pick]]:
        """oc-mirror ``calculate``: one minor up through ``<source prefix>-<major>.<minor+1>``; returns the
        requested release and the path releases (a hop's own ends count only when on its path)."""
        (prefix, src), (_, tgt) = channel_minor(source), channel_minor(target)
        current = f"{prefix}-{src.major}.{src.minor + 1}"
        last_hop = (src.major, src.minor + 1) == (tgt.major, tgt.minor)
        if last_hop:
            current, goal = target, end
        else:
            goal = self._graph(current).versions()[-1]
        if self._graph(current).node(start) is None:
            self.warnings.append(f"no upgrade path for {start} in channel {current}")
            _, requested, _ = self._updates(target, goal, goal)
            return requested, []
        _, requested, path = self._updates(current, start, goal)
        if last_hop:
            return requested, path
        requested, more = self._hop(current, target, goal, end)
        return requested, path + more
