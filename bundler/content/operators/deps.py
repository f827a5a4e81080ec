"""Operator dependencies, as oc-mirror v1 resolves them (v1/pkg/operator/diff/internal/diff.go
``addAllDependencies``): the ``olm.package.required`` and ``olm.gvk.required`` properties of every kept bundle
pull in the latest bundle that satisfies each (a bundle of the package in the version range; a bundle whose
``olm.gvk`` provides the API), preferring the package's default channel between equal versions, plus the
upgrade path from it to its channel's head; then the dependencies of those, until nothing is missing.

Differences, on purpose: a requirement a carried bundle already satisfies adds nothing (v1 adds the latest
provider anyway); of several packages providing one API the one already carried wins, else the first by name
(v1 takes whichever Go's map order gives). oc-mirror v2 resolves no dependencies at all: for a v2alpha1
configuration whatever this adds is named in a warning, and ``skipDependencies: true`` turns it off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .model import Bundle, Catalog, Channel, Version, parse_version
from .select import Selection, _graph, channel_head

Requirement = tuple[str, str]  # ("package", "name range") or ("gvk", "group/version/Kind")


# -- blang/semver ranges (what olm.package.required versionRange holds) -----------------------------

_COMPARATOR = re.compile(r"^(>=|<=|!=|==|=|>|<)?\s*v?([0-9xX*][0-9A-Za-z.+*-]*)$")


def _wildcard(op: str, text: str) -> list[tuple[str, Version]]:
    """``1.x`` / ``1.2.x`` as blang expands them."""
    parts = [p for p in text.split(".") if p not in ("x", "X", "*")]
    nums = [int(p) for p in parts] + [0] * (3 - len(parts))
    lo = Version(nums[0], nums[1], nums[2])
    if len(parts) == 0:
        return [(">=", Version(0, 0, 0))]
    hi = Version(nums[0] + 1, 0, 0) if len(parts) == 1 else Version(nums[0], nums[1] + 1, 0)
    if op in ("", "=", "=="):
        return [(">=", lo), ("<", hi)]
    return [(">=", hi)] if op == ">" else [("<", lo)] if op == "<" else [(op, lo)]


def parse_range(text: str) -> list[list[tuple[str, Version]]] | None:
    """OR of ANDs of (operator, version); None when it does not parse (the requirement is then reported)."""
    alternatives = []
    for alt in text.split("||"):
        terms: list[tuple[str, Version]] = []
        for token in re.findall(r"(?:>=|<=|!=|==|=|>|<)?\s*[^\s<>=!]+", alt.strip()):
            m = _COMPARATOR.match(token.strip())
            if not m:
                return None
            op, ver = m.group(1) or "", m.group(2)
            if any(c in ver for c in "xX*"):
                terms += _wildcard(op, ver)
                continue
            v = parse_version(ver)
            if v is None:
                return None
            terms.append((op or "=", v))
        alternatives.append(terms)
    return alternatives


def in_range(v: Version | None, alternatives: list[list[tuple[str, Version]]]) -> bool:
    if v is None:
        return False
    checks = {">=": lambda b: b <= v, "<=": lambda b: v <= b, ">": lambda b: b < v, "<": lambda b: v < b,
              "=": lambda b: v.same(b), "==": lambda b: v.same(b), "!=": lambda b: not v.same(b)}
    return any(all(checks[op](b) for op, b in terms) for terms in alternatives)


# -- requirements and providers ----------------------------------------------------------------------

def _gvk(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    return f"{value.get('group', '')}/{value.get('version', '')}/{value.get('kind', '')}"


def requirements(b: Bundle) -> list[Requirement]:
    out: list[Requirement] = []
    for p in b.properties:
        value = p.get("value")
        if p.get("type") == "olm.gvk.required" and _gvk(value):
            out.append(("gvk", str(_gvk(value))))
        elif p.get("type") == "olm.package.required" and isinstance(value, dict) and value.get("packageName"):
            out.append(("package", f"{value['packageName']} {value.get('versionRange') or ''}".strip()))
    return out


def provides(b: Bundle, req: Requirement) -> bool:
    kind, text = req
    if kind == "gvk":
        return any(p.get("type") == "olm.gvk" and _gvk(p.get("value")) == text for p in b.properties)
    name, _, rng = text.partition(" ")
    if b.package != name:
        return False
    if not rng:
        return True
    parsed = parse_range(rng)
    return parsed is not None and in_range(parse_version(b.version), parsed)


@dataclass
class Added:
    """What resolution added: per package, per channel, entry names; and why (for the warning)."""

    channels: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    unsatisfied: list[str] = field(default_factory=list)


def _candidates(catalog: Catalog, req: Requirement, carried: set[str]) -> list[tuple[Bundle, Channel]]:
    """Every (bundle, channel) that satisfies ``req``; for an API, only the package that wins (carried
    first, else first by name)."""
    out = []
    for pname in sorted(catalog.packages):
        pkg = catalog.packages[pname]
        for ch in pkg.channels.values():
            for e in ch.entries:
                b = catalog.bundles.get((pname, e.name))
                if b is not None and provides(b, req):
                    out.append((b, ch))
    if req[0] == "gvk" and out:
        packages = sorted({b.package for b, _ in out}, key=lambda p: (p not in carried, p))
        out = [(b, ch) for b, ch in out if b.package == packages[0]]
    return out


def _latest(catalog: Catalog, found: list[tuple[Bundle, Channel]]) -> tuple[Bundle, Channel]:
    """The highest version; between equal versions the package's default channel (v1's sort)."""
    def key(item: tuple[Bundle, Channel]) -> tuple[Any, ...]:
        b, ch = item
        v = parse_version(b.version) or Version(-1, 0, 0)
        return (v._key(), ch.name == catalog.packages[b.package].default_channel, ch.name)
    return max(found, key=key)


def path_to_head(ch: Channel, name: str) -> set[str]:
    """``name`` and every entry on the replaces chain from the channel's head down to it (v1's
    findIntersectingBundles along the replaces graph); empty when the head skips it (OCPBUGS-11371)."""
    head = _graph(ch)
    if name in {s.name for s in head.skips}:
        return set()
    chain: list[str] = []
    cur = head
    seen: set[str] = set()
    while cur is not None and cur.name not in seen:
        chain.append(cur.name)
        seen.add(cur.name)
        if cur.name == name:
            return set(chain)
        if name in {s.name for s in cur.skips}:
            return {*chain, name}
        cur = cur.replaces  # type: ignore[assignment]
    return {channel_head(ch), name}


def _kept(selection: Selection, added: Added) -> set[tuple[str, str]]:
    out = set(selection.bundles)
    out |= {(p, n) for p, chans in added.channels.items() for names in chans.values() for n in names}
    return out


def resolve(catalog: Catalog, selection: Selection) -> Added:
    """Add to ``selection`` (in place) what the kept bundles require, transitively; returns what was added."""
    added = Added()
    frontier = sorted(selection.bundles)
    seen_reqs: set[Requirement] = set()
    while frontier:
        kept = _kept(selection, added)
        nxt: list[tuple[str, str]] = []
        for pkg, name in frontier:
            b = catalog.bundles.get((pkg, name))
            for req in requirements(b) if b is not None else []:
                if req in seen_reqs or any(provides(catalog.bundles[k], req) for k in kept if k in catalog.bundles):
                    continue
                seen_reqs.add(req)
                found = _candidates(catalog, req, {p for p, _ in kept})
                if not found:
                    added.unsatisfied.append(f"{name} requires {_describe(req)}, which no bundle of the catalog provides")
                    continue
                dep, ch = _latest(catalog, found)
                names = path_to_head(ch, dep.name) or {dep.name}
                added.channels.setdefault(dep.package, {}).setdefault(ch.name, set()).update(names)
                added.reasons.append(f"{dep.name} (package {dep.package}, channel {ch.name}) because {name} "
                                     f"requires {_describe(req)}")
                nxt += [(dep.package, n) for n in sorted(names)]
        frontier = [k for k in nxt if k not in selection.bundles]
        _merge(catalog, selection, added)
    return added


def _merge(catalog: Catalog, selection: Selection, added: Added) -> None:
    for pkg, chans in added.channels.items():
        kept = selection.channels.setdefault(pkg, {})
        for ch_name, names in chans.items():
            ch = catalog.packages[pkg].channels[ch_name]
            have = set(kept.get(ch_name, [])) | names
            kept[ch_name] = [e.name for e in ch.entries if e.name in have]
            selection.bundles.update((pkg, n) for n in names if (pkg, n) in catalog.bundles)
        if pkg not in selection.default_channels:
            default = catalog.packages[pkg].default_channel
            selection.default_channels[pkg] = default if default in kept else sorted(kept)[0]


def _describe(req: Requirement) -> str:
    kind, text = req
    return f"the API {text}" if kind == "gvk" else f"package {text}"
