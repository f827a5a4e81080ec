"""Which bundles of a catalog to carry: oc-mirror v2's filter (sherine-k/catalog-filter
``mirror-filter.go`` / ``channel.go``), applied to the format-neutral model.

- no ``packages``: every package, the head of every channel;
- a package without ``channels``: every channel of it, each filtered by the package's range or,
  without one, to its head;
- listed channels: only those, each by its own range, else the package's range, else its head;
- a range (``minVersion`` / ``maxVersion``): the replaces chain from the lowest node that reaches
  the most in-range bundles down to (excluding) the first node that reaches none, plus in-range
  bundles those nodes skip; ``minVersion == maxVersion`` picks exactly that version;
- ``full: true``: every entry of every (listed) channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from ...config import CatalogSpec, ChannelSpec, PackageSpec
from ...errors import BundlerError, ConfigError
from .model import Catalog, Channel, Package, Version, VersionRange, parse_version


@dataclass
class Selection:
    """What to keep: per package, per channel, the kept entry names (catalog order)."""

    channels: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    default_channels: dict[str, str] = field(default_factory=dict)
    bundles: set[tuple[str, str]] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    everything: bool = False

    @property
    def packages(self) -> list[str]:
        return sorted(self.channels)


class _Node:
    __slots__ = ("name", "replaces", "skips", "version")

    def __init__(self, name: str) -> None:
        self.name = name
        self.replaces: _Node | None = None
        self.skips: list[_Node] = []
        self.version: Version | None = None


def _build_nodes(ch: Channel, errors: list[str]) -> tuple[dict[str, _Node], dict[str, set[str]]]:
    """Nodes by name and the incoming edges (replaces and skips) of each."""
    nodes: dict[str, _Node] = {}
    incoming: dict[str, set[str]] = {}
    seen: set[str] = set()

    def node(name: str) -> _Node:
        return nodes.setdefault(name, _Node(name))

    for e in ch.entries:
        if e.name in seen:
            errors.append(f"duplicate channel entry {e.name!r}")
            continue
        seen.add(e.name)
        n = node(e.name)
        if e.replaces:
            if e.replaces == e.name:
                errors.append(f"entry {e.name!r} replaces itself")
            n.replaces = node(e.replaces)
            incoming.setdefault(e.replaces, set()).add(e.name)
        for s in e.skips:
            if s == e.name:
                errors.append(f"entry {e.name!r} skips itself")
            if s not in [k.name for k in n.skips]:
                n.skips.append(node(s))
            incoming.setdefault(s, set()).add(e.name)
    return nodes, incoming


def _has_cycle(head: _Node, incoming: dict[str, set[str]]) -> bool:
    """Kahn's walk from the head: anything with an edge left over sits on a cycle."""
    left = {k: set(v) for k, v in incoming.items()}
    queue = [head]
    while queue:
        cur = queue.pop(0)
        for nxt in ([cur.replaces] if cur.replaces else []) + cur.skips:
            if nxt.name in left:
                left[nxt.name].discard(cur.name)
                if not left[nxt.name]:
                    del left[nxt.name]
                    queue.append(nxt)
    return bool(left)


def _graph(ch: Channel) -> _Node:
    """The channel's upgrade graph; returns its single head (no incoming replaces/skips edge)."""
    errors: list[str] = []
    nodes, incoming = _build_nodes(ch, errors)
    heads = list({e.name: nodes[e.name] for e in ch.entries if not incoming.get(e.name)}.values())
    if not heads:
        errors.append("no channel head found (every entry is replaced or skipped by another)")
    elif len(heads) > 1:
        errors.append(f"multiple channel heads found: {sorted(h.name for h in heads)}")
    if errors:
        raise BundlerError(f"package {ch.package!r} channel {ch.name!r} is not a valid upgrade graph: " + "; ".join(errors))
    if _has_cycle(heads[0], incoming):
        raise BundlerError(f"package {ch.package!r} channel {ch.name!r}: detected a cycle in the upgrade graph")
    return heads[0]


def channel_head(ch: Channel) -> str:
    return _graph(ch).name


def _replaces_chain(head: _Node, versions: dict[str, Version | None]) -> list[_Node]:
    """The head and what it replaces, down to the tail (cycles cut), with versions attached."""
    chain: list[_Node] = []
    names: set[str] = set()
    cur: _Node | None = head
    while cur is not None and cur.name not in names:
        cur.version = versions.get(cur.name)
        for s in cur.skips:
            s.version = versions.get(s.name)
        chain.append(cur)
        names.add(cur.name)
        cur = cur.replaces
    return chain


def _in_range_counts(chain: list[_Node], rng: VersionRange) -> dict[str, int]:
    """Per node, how many in-range bundles it reaches (itself, what it skips, what it replaces), counted
    bottom-up (iteratively: replaces chains can be long)."""
    seen: set[str] = set()
    counts: dict[str, int] = {}
    for n in reversed(chain):
        count = counts[n.replaces.name] if n.replaces is not None and n.replaces.name in counts else 0
        for m in (n, *n.skips):
            if m.name not in seen and rng.check(m.version):
                seen.add(m.name)
                count += 1
        counts[n.name] = count
    return counts


def _span(chain: list[_Node], counts: dict[str, int]) -> tuple[_Node | None, _Node | None]:
    """The lowest node that reaches the most in-range bundles, and the first node that reaches none."""
    new_head: _Node | None = None
    best = -1
    for n in chain:
        c = counts[n.name]
        if c >= best:
            new_head, best = n, c
        if c == 0:
            return new_head, n
    return new_head, None


def _range_warning(n: _Node, rng: VersionRange) -> str | None:
    if n.version is None:
        return (f"including bundle {n.name!r}: it is unversioned but is required "
                f"to ensure inclusion of all bundles in the range")
    if not rng.check(n.version):
        return (f"including bundle {n.name!r} with version {n.version}: it falls outside "
                f"{rng} but is required to keep the upgrade path")
    return None


def filter_by_range(ch: Channel, rng: VersionRange, versions: dict[str, Version | None],
                    warnings: list[str] | None = None) -> set[str]:
    """catalog-filter's ``filterByVersionRange``: entry names to keep for ``rng``."""
    chain = _replaces_chain(_graph(ch), versions)
    new_head, tail = _span(chain, _in_range_counts(chain, rng))
    keep: set[str] = set()
    cur = new_head
    while cur is not None and cur is not tail and cur.name not in keep:
        warning = _range_warning(cur, rng)
        if warnings is not None and warning:
            warnings.append(warning)
        keep.add(cur.name)
        keep.update(s.name for s in cur.skips if rng.check(s.version))
        cur = cur.replaces
    return keep


def _range(min_v: str | None, max_v: str | None, where: str) -> VersionRange | None:
    if not min_v and not max_v:
        return None
    lo = parse_version(min_v) if min_v else None
    hi = parse_version(max_v) if max_v else None
    if min_v and lo is None:
        raise ConfigError(f"{where}: minVersion {min_v!r} is not a semantic version")
    if max_v and hi is None:
        raise ConfigError(f"{where}: maxVersion {max_v!r} is not a semantic version")
    return VersionRange(lo, hi)


def _listing(names: list[str], limit: int = 60) -> str:
    names = sorted(names)
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names)} in all)"
    return shown or "(none)"


def _versions(catalog: Catalog, pkg: Package) -> dict[str, Version | None]:
    return {b.name: parse_version(b.version) for (p, _), b in catalog.bundles.items() if p == pkg.name}


class _Named(Protocol):
    name: str


_T = TypeVar("_T")
_W = TypeVar("_W", bound=_Named)


def _pick(available: dict[str, _T], wanted: Sequence[_W] | None,
          missing: Callable[[str], ConfigError]) -> list[tuple[_T, _W | None]]:
    """The entries ``wanted`` names (each must exist, else ``missing(name)``), or every entry, by name."""
    if not wanted:
        return [(available[n], None) for n in sorted(available)]
    picked: list[tuple[_T, _W | None]] = []
    for want in wanted:
        if want.name not in available:
            raise missing(want.name)
        picked.append((available[want.name], want))
    return picked


def _wanted_packages(catalog: Catalog, spec: CatalogSpec) -> list[tuple[Package, PackageSpec | None]]:
    """The listed packages (each must exist), or every package."""
    return _pick(catalog.packages, spec.packages, lambda name: ConfigError(
        f"package {name!r} is not in catalog {spec.catalog}",
        f"the catalog has these packages: {_listing(list(catalog.packages))}"))


def _wanted_channels(pkg: Package, ps: PackageSpec | None, where: str) -> list[tuple[Channel, ChannelSpec | None]]:
    """The listed channels of a package (each must exist), or every channel."""
    return _pick(pkg.channels, ps.channels if ps is not None else None, lambda name: ConfigError(
        f"channel {name!r} is not in package {pkg.name!r} of catalog {where}",
        f"package {pkg.name!r} has these channels: {_listing(list(pkg.channels))}"))


def _channel_entries(ch: Channel, rng: VersionRange | None, full: bool, versions: dict[str, Version | None],
                     warnings: list[str]) -> set[str]:
    """The entry names one channel contributes: all (full), a range, an exact version, or the head."""
    if full:
        return {e.name for e in ch.entries}
    if rng is None:
        return {channel_head(ch)}
    exact = rng.specific
    if exact is not None:
        return {n for n, v in versions.items() if v is not None and v.same(exact) and ch.entry(n) is not None}
    return filter_by_range(ch, rng, versions, warnings)


def _names(ch: Channel, cs: ChannelSpec | None, ps: PackageSpec | None, rng: VersionRange | None, full: bool,
           versions: dict[str, Version | None], warnings: list[str], pwhere: str) -> set[str]:
    """One channel's entries to keep. ``full: true`` with a range reaches here only from a v1alpha2
    configuration (v2alpha1 ones are refused at load): oc-mirror v1 carries the range for that package, full
    applies to the others. v1's ``minBundle``: from that bundle to the head (a package's minBundle lives in
    some of its channels; the others get their heads)."""
    min_bundle = (cs.min_bundle if cs else None) or (ps.min_bundle if ps else None)
    if min_bundle and not (cs and cs.min_bundle) and ch.entry(min_bundle) is None:
        return {channel_head(ch)}
    if min_bundle:
        return from_bundle(ch, min_bundle, f"{pwhere} channel {ch.name!r}")
    return _channel_entries(ch, rng, full and rng is None, versions, warnings)


def from_bundle(ch: Channel, name: str, where: str) -> set[str]:
    """oc-mirror v1's ``minBundle``: that bundle and every entry on the replaces chain from the channel's head
    down to it."""
    keep: set[str] = set()
    cur: _Node | None = _graph(ch)
    while cur is not None and cur.name not in keep:
        keep.add(cur.name)
        if cur.name == name or name in {s.name for s in cur.skips}:
            return keep | {name}
        cur = cur.replaces
    raise ConfigError(f"{where}: minBundle {name!r} is not on the channel's upgrade path",
                      f"the channel has: {_listing([e.name for e in ch.entries])}")


def _default_channel(pkg: Package, ps: PackageSpec | None, kept: dict[str, list[str]], where: str,
                     warnings: list[str]) -> str:
    """``defaultChannel`` when the configuration gives one (it must be carried, as oc-mirror requires); else
    the package's default channel if carried, else the first listed (or carried) one, with a warning."""
    if ps is not None and ps.default_channel:
        if ps.default_channel not in kept:
            raise ConfigError(f"{where}: defaultChannel {ps.default_channel!r} is not among the carried channels "
                              f"({_listing(list(kept))})", "list it under channels, or name a carried channel")
        return ps.default_channel
    default = pkg.default_channel
    if default in kept:
        return default
    new_default = next(iter(kept))
    if ps is not None and ps.channels:
        new_default = next(cs.name for cs in ps.channels if cs.name in kept)
    if default:
        warnings.append(f"{where}: the default channel {default!r} is not carried; "
                        f"the pruned catalog makes {new_default!r} the default")
    return new_default


def _select_package(catalog: Catalog, spec: CatalogSpec, pkg: Package, ps: PackageSpec | None, sel: Selection) -> None:
    pwhere = f"catalog {spec.catalog} package {pkg.name!r}"
    versions = _versions(catalog, pkg)
    kept: dict[str, list[str]] = {}
    ranged = False
    for ch, cs in _wanted_channels(pkg, ps, str(spec.catalog)):
        rng = _range(cs.min_version, cs.max_version, f"{pwhere} channel {ch.name!r}") if cs else None
        if rng is None and ps is not None:
            rng = _range(ps.min_version, ps.max_version, pwhere)
        ranged = ranged or rng is not None
        names = _names(ch, cs, ps, rng, spec.full, versions, sel.warnings, pwhere)
        if not names:
            continue
        kept[ch.name] = [e.name for e in ch.entries if e.name in names]
        sel.bundles.update((pkg.name, n) for n in names if (pkg.name, n) in catalog.bundles)
    if not kept:
        have = sorted({str(v) for v in versions.values() if v is not None}, key=lambda s: parse_version(s) or s)
        if ranged:
            raise ConfigError(f"{pwhere}: no bundle matches the version range in the selected channels",
                              f"the package has these versions: {', '.join(have) or '(none)'}")
        raise ConfigError(f"{pwhere}: has no channel with a bundle to carry")
    sel.channels[pkg.name] = kept
    sel.default_channels[pkg.name] = _default_channel(pkg, ps, kept, pwhere, sel.warnings)


def select(catalog: Catalog, spec: CatalogSpec) -> Selection:
    """Apply the ImageSetConfiguration's filter for one catalog. Unknown packages, channels and
    versions raise ConfigError naming them and listing what the catalog has."""
    sel = Selection(everything=spec.full and not spec.packages)
    for pkg, ps in _wanted_packages(catalog, spec):
        _select_package(catalog, spec, pkg, ps, sel)
    return sel
