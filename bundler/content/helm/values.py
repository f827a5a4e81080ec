"""Dependencies and values as helm processes them before rendering (``pkg/chartutil``).

``process_dependencies``: subcharts matched to Chart.yaml dependencies (name + version range), aliases,
``tags`` and ``condition`` enabling, disabled ones removed, ``import-values``.
``coalesce_values``: parent values override subchart defaults, maps merge, ``null`` deletes, ``global``
is copied into every subchart. Ported from helm v3.21 ``dependencies.go`` and ``coalesce.go``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .chart import Chart, Dependency
from .errors import ChartError
from .semver import is_compatible_range

GLOBAL = "global"


@dataclass
class Processed:
    """The chart tree as it will be rendered, plus what processing noticed."""

    chart: Chart
    warnings: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)    # enabled dependencies absent from charts/


def _concat(a: str, b: str) -> str:
    return f"{a}.{b}" if a else b


def table(values: dict[str, Any], path: str) -> dict[str, Any] | None:
    """``Values.Table``: the map at a dotted path, or None."""
    cur: Any = values
    for part in [p for p in path.split(".") if p]:
        if not isinstance(cur, dict) or not isinstance(cur.get(part), dict):
            return None
        cur = cur[part]
    return cur if isinstance(cur, dict) else None


def path_value(values: dict[str, Any], path: str) -> tuple[bool, Any]:
    """``Values.PathValue``: (found, value) of a non-table value at a dotted path."""
    parts = path.split(".")
    parent = values if len(parts) == 1 else table(values, ".".join(parts[:-1]))
    if parent is None or parts[-1] not in parent or isinstance(parent[parts[-1]], dict):
        return False, None
    return True, parent[parts[-1]]


# -- coalescing ------------------------------------------------------------------------------------

def coalesce_values(chart: Chart, vals: dict[str, Any] | None, warnings: list[str] | None = None,
                    merge: bool = False) -> dict[str, Any]:
    """``CoalesceValues`` (or ``MergeValues`` with ``merge``): ``vals`` over the chart tree's defaults."""
    w = warnings if warnings is not None else []
    return _coalesce(chart, copy.deepcopy(vals) if vals else {}, "", merge, w)


def _coalesce(ch: Chart, dest: dict[str, Any], prefix: str, merge: bool, w: list[str]) -> dict[str, Any]:
    _coalesce_values(ch, dest, prefix, merge, w)
    for sub in ch.dependencies:
        if sub.name not in dest:
            dest[sub.name] = {}
        elif not isinstance(dest[sub.name], dict):
            raise ChartError(f"chart {ch.label}: type mismatch on {sub.name}: values hold "
                             f"{dest[sub.name]!r} where the subchart's values table belongs")
        sub_prefix = _concat(prefix, ch.name)
        _coalesce_globals(dest[sub.name], dest, sub_prefix, w)
        dest[sub.name] = _coalesce(sub, dest[sub.name], sub_prefix, merge, w)
    return dest


def _coalesce_globals(dest: dict[str, Any], src: dict[str, Any], prefix: str, w: list[str]) -> None:
    dg = dest.get(GLOBAL, {})
    sg = src.get(GLOBAL, {})
    if not isinstance(dg, dict) or not isinstance(sg, dict):
        w.append(f"skipping globals in {prefix}: {GLOBAL} is not a table")
        return
    for key, val in sg.items():
        if isinstance(val, dict):
            vv = dict(val)
            if key not in dg:
                dg[key] = vv
            elif not isinstance(dg[key], dict):
                w.append(f"conflict: cannot merge map onto non-map for {key!r}; skipping")
            else:
                _coalesce_tables(vv, dg[key], _concat(prefix, key), True, w)
                dg[key] = vv
        elif isinstance(dg.get(key), dict):
            w.append(f"key {key} is a table; skipping")
        else:
            dg[key] = val
    dest[GLOBAL] = dg


def _coalesce_values(c: Chart, v: dict[str, Any], prefix: str, merge: bool, w: list[str]) -> None:
    sub_prefix = _concat(prefix, c.name)
    sub_names = {d.name for d in c.dependencies}
    for key, val in copy.deepcopy(c.values).items():
        if key not in v:
            v[key] = val
            continue
        value = v[key]
        if value is None and not merge:
            del v[key]
        elif isinstance(value, dict):
            if isinstance(val, dict):
                _coalesce_tables(value, val, _concat(sub_prefix, key), merge or key in sub_names, w)
            elif val is not None:
                w.append(f"skipped value for {sub_prefix}.{key}: not a table")


def _coalesce_tables(dst: dict[str, Any], src: dict[str, Any] | None, prefix: str, merge: bool,
                     w: list[str]) -> dict[str, Any]:
    """``coalesceTablesFullKey``: dst is authoritative; src fills what dst lacks."""
    if src is None:
        return dst
    src_non_nil = {k for k, val in src.items() if val is not None}
    for key, val in list(dst.items()):
        if val is None:
            src[key] = None
    for key, val in src.items():
        full = _concat(prefix, key)
        if key in dst and not merge and dst[key] is None and key in src_non_nil:
            del dst[key]
        elif key not in dst:
            dst[key] = val
        elif isinstance(val, dict):
            if isinstance(dst[key], dict):
                _coalesce_tables(dst[key], val, full, merge, w)
            else:
                w.append(f"cannot overwrite table with non table for {full} ({val!r})")
        elif isinstance(dst[key], dict) and val is not None:
            w.append(f"destination for {full} is a table; ignoring non-table value ({val!r})")
    return dst


# -- dependencies ----------------------------------------------------------------------------------

def process_dependencies(chart: Chart, vals: dict[str, Any] | None = None, keep_disabled: bool = False) -> Processed:
    """A processed copy of ``chart`` (the loaded chart is left as it is). ``keep_disabled`` applies
    aliases but keeps subcharts that conditions or tags turn off (to see what could be enabled)."""
    result = Processed(chart.copy_tree())
    _enabled(result.chart, vals or {}, "", result, keep_disabled)
    _import_values_tree(result.chart, result.warnings)
    return result


def _alias_copy(charts: list[Chart], dep: Dependency) -> Chart | None:
    for c in charts:
        if c.name == dep.name and is_compatible_range(dep.version, c.version):
            out = c.copy_tree()
            if dep.alias:
                out.metadata["name"] = dep.alias
            return out
    return None


def _match_subcharts(c: Chart) -> set[int]:
    """Replace ``c``'s subcharts by those matched to its requirements (aliased copies) plus the
    undeclared ones; the indexes of requirements that found their chart."""
    reqs = c.requirements
    kept = [sub for sub in c.dependencies
            if not any(sub.name == r.name and is_compatible_range(r.version, sub.version) for r in reqs)]
    matched: set[int] = set()
    for i, req in enumerate(reqs):
        dep = _alias_copy(c.dependencies, req)
        if dep is not None:
            kept.append(dep)
            matched.add(i)
        if req.alias:
            req.name = req.alias
    c.set_dependencies(kept)
    return matched


def _report_missing(c: Chart, matched: set[int], result: Processed) -> None:
    """Enabled requirements without a chart. A packaged chart of the same name outside the version
    range is rendered anyway (helm keeps it), so that is only a warning."""
    for i, req in enumerate(c.requirements):
        if not req.enabled or i in matched:
            continue
        version = f" {req.version}" if req.version else ""
        same_name = [d for d in c.dependencies if d.name == req.name]
        if same_name:
            result.warnings.append(f"{c.full_path()}: dependency {req.name}{version} does not match the packaged "
                                   f"{req.name} {same_name[0].version}; it is rendered as packaged, like helm does")
            continue
        origin = f" from {req.repository}" if req.repository else ""
        result.missing.append(f"{c.full_path()}: dependency {req.name}{version}{origin} is not in charts/")


def _enabled(c: Chart, v: dict[str, Any], path: str, result: Processed, keep: bool = False) -> None:
    """``processDependencyEnabled``: aliases, then tags and conditions decide; disabled ones go."""
    if not c.requirements:
        return
    matched = _match_subcharts(c)
    for req in c.requirements:
        req.enabled = True
    cvals = coalesce_values(c, v, result.warnings)
    _apply_tags(c.requirements, cvals, result.warnings)
    _apply_conditions(c.requirements, cvals, path, result.warnings)
    _report_missing(c, matched, result)
    off = set() if keep else {r.name for r in c.requirements if not r.enabled}
    c.requirements = [r for r in c.requirements if r.name not in off]
    subs = [d for d in c.dependencies if d.name not in off]
    c.set_dependencies(subs)
    for sub in subs:
        _enabled(sub, cvals, f"{path}{sub.name}.", result, keep)


def _apply_tags(reqs: list[Dependency], cvals: dict[str, Any], w: list[str]) -> None:
    tags = table(cvals, "tags")
    if tags is None:
        return
    for r in reqs:
        has_true = has_false = False
        for t in r.tags:
            if t in tags:
                if isinstance(tags[t], bool):
                    has_true, has_false = has_true or tags[t], has_false or not tags[t]
                else:
                    w.append(f"tag {t!r} for chart {r.name} is not a bool")
        r.enabled = not (not has_true and has_false)


def _apply_conditions(reqs: list[Dependency], cvals: dict[str, Any], path: str, w: list[str]) -> None:
    for r in reqs:
        for cond in (c.strip() for c in r.condition.split(",")):
            if not cond:
                continue
            found, value = path_value(cvals, path + cond)
            if not found:
                continue
            if isinstance(value, bool):
                r.enabled = value
                break
            w.append(f"condition path {cond!r} for chart {r.name} is not a bool")


def _path_to_map(path: str, data: dict[str, Any]) -> dict[str, Any]:
    if path == ".":
        return data
    out: dict[str, Any] = data
    for part in reversed([p for p in path.split(".") if p]):
        out = {part: out}
    return out


def _import_values_tree(c: Chart, w: list[str]) -> None:
    for d in c.dependencies:
        _import_values_tree(d, w)
    if not c.requirements:
        return
    cvals = coalesce_values(c, None, w)
    imported: dict[str, Any] = {}
    for r in c.requirements:
        for iv in r.import_values:
            if isinstance(iv, dict):
                child, parent = str(iv.get("child")), str(iv.get("parent"))
            elif isinstance(iv, str):
                child, parent = "exports." + iv, "."
            else:
                continue
            found = table(cvals, f"{r.name}.{child}")
            if found is None:
                w.append(f"import-values: chart {r.name} has no table {child}")
                continue
            _coalesce_tables(imported, _path_to_map(parent, copy.deepcopy(found)), "", False, w)
    c.values = _coalesce_tables(_trim_nil(cvals), imported, "", False, w)


def _trim_nil(vals: dict[str, Any]) -> dict[str, Any]:
    return {k: _trim_nil(v) if isinstance(v, dict) else v for k, v in vals.items() if v is not None}
