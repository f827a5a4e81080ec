"""Render a chart tree like ``helm template`` (helm ``engine.Render`` + ``ToRenderValues``), no helm binary.

All templates of the chart and its enabled subcharts share one namespace; files whose name starts with
``_`` only define; ``NOTES.txt`` is skipped (as oc-mirror does). Each file is rendered on its own: an
expression that cannot be evaluated is recorded with file and line and the rest is still rendered.
"""

from __future__ import annotations

import base64
import fnmatch
import posixpath
from dataclasses import dataclass, field
from typing import Any

from .chart import Chart
from .errors import TemplateError
from .gofmt import GoObject
from .template import Engine
from .values import Processed, coalesce_values, process_dependencies, table
from .yamlutil import to_yaml

DEFAULT_KUBE_VERSION = "v1.31.0"
RELEASE_NAME = "release-name"
RELEASE_NAMESPACE = "default"
# Group versions client-go's scheme registers (helm's DefaultVersionSet), as of Kubernetes 1.31.
API_VERSIONS = (
    "v1", "admissionregistration.k8s.io/v1", "admissionregistration.k8s.io/v1beta1", "apps/v1",
    "apps/v1beta1", "apps/v1beta2", "authentication.k8s.io/v1", "authorization.k8s.io/v1",
    "autoscaling/v1", "autoscaling/v2", "autoscaling/v2beta1", "autoscaling/v2beta2", "batch/v1",
    "batch/v1beta1", "certificates.k8s.io/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1",
    "events.k8s.io/v1", "extensions/v1beta1", "flowcontrol.apiserver.k8s.io/v1", "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1", "node.k8s.io/v1", "policy/v1", "policy/v1beta1", "rbac.authorization.k8s.io/v1",
    "scheduling.k8s.io/v1", "storage.k8s.io/v1", "storage.k8s.io/v1beta1", "apiextensions.k8s.io/v1",
    "apiextensions.k8s.io/v1beta1",
)
_CHART_FIELDS = {"Name": "name", "Home": "home", "Sources": "sources", "Version": "version",
                 "Description": "description", "Keywords": "keywords", "Icon": "icon", "APIVersion": "apiVersion",
                 "Condition": "condition", "Tags": "tags", "AppVersion": "appVersion", "Deprecated": "deprecated",
                 "Annotations": "annotations", "KubeVersion": "kubeVersion", "Type": "type"}


class ChartMeta(GoObject):
    """``.Chart``: Chart.yaml by Go field name (``.Chart.Name``, ``.Chart.AppVersion``...) plus IsRoot."""

    go_type = "chart.Metadata"

    def __init__(self, chart: Chart) -> None:
        self.chart = chart

    def go_field(self, name: str, args: list[Any]) -> Any:
        if name == "IsRoot":
            return self.chart.parent is None
        if name in ("Maintainers", "Dependencies"):
            items = self.chart.metadata.get(name.lower()) or []
            return [_Struct(i) for i in items if isinstance(i, dict)]
        if name in _CHART_FIELDS:
            v = self.chart.metadata.get(_CHART_FIELDS[name])
            return v if v is not None else ("" if name not in ("Sources", "Keywords", "Annotations") else None)
        return super().go_field(name, args)

    def go_string(self) -> str:
        return "{" + " ".join(str(v) for v in self.chart.metadata.values() if isinstance(v, str)) + "}"


class _Struct(GoObject):
    """A maintainer or dependency entry: fields by capitalised name."""

    go_type = "struct"

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = {k[:1].upper() + k[1:]: v for k, v in doc.items()}

    def go_field(self, name: str, args: list[Any]) -> Any:
        if name in self.doc:
            return self.doc[name]
        if name in ("Name", "Email", "URL", "Version", "Repository", "Condition", "Alias"):
            return ""
        return super().go_field(name, args)


class KubeVersion(GoObject):
    go_type = "chartutil.KubeVersion"

    def __init__(self, version: str) -> None:
        self.version = version if version.startswith("v") else "v" + version
        parts = self.version[1:].split(".")
        self.major, self.minor = parts[0], parts[1] if len(parts) > 1 else "0"

    def go_field(self, name: str, args: list[Any]) -> Any:
        fields = {"Version": self.version, "GitVersion": self.version, "Major": self.major, "Minor": self.minor,
                  "String": self.version}
        if name in fields:
            return fields[name]
        return super().go_field(name, args)

    def go_string(self) -> str:
        return self.version


class APIVersions(GoObject):
    go_type = "chartutil.VersionSet"

    def __init__(self, versions: tuple[str, ...]) -> None:
        self.versions = versions

    def go_field(self, name: str, args: list[Any]) -> Any:
        if name == "Has":
            return bool(args) and args[0] in self.versions
        return super().go_field(name, args)

    def go_items(self) -> list[tuple[Any, Any]]:
        return list(enumerate(self.versions))


class Capabilities(GoObject):
    go_type = "chartutil.Capabilities"

    def __init__(self, kube_version: str) -> None:
        self.kube = KubeVersion(kube_version)
        self.apis = APIVersions(API_VERSIONS)

    def go_field(self, name: str, args: list[Any]) -> Any:
        if name == "KubeVersion":
            return self.kube
        if name == "APIVersions":
            return self.apis
        if name == "HelmVersion":
            return {"Version": "v3.21.4", "GitCommit": "", "GitTreeState": "", "GoVersion": ""}
        return super().go_field(name, args)


class Files(GoObject):
    """``.Files``: Get, GetBytes, Glob, Lines, AsConfig, AsSecrets over the chart's non-template files."""

    go_type = "engine.files"

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def go_field(self, name: str, args: list[Any]) -> Any:
        key = str(args[0]) if args else ""
        if name == "Get":
            return self.files.get(key, b"").decode("utf-8", "replace")
        if name == "GetBytes":
            return self.files.get(key, b"")
        if name == "Glob":
            return Files({k: v for k, v in self.files.items() if fnmatch.fnmatchcase(k, key)})
        if name == "Lines":
            text = self.files.get(key, b"").decode("utf-8", "replace")
            return text.split("\n") if text else []
        if name == "AsConfig":
            return to_yaml({posixpath.basename(k): v.decode("utf-8", "replace") for k, v in self.files.items()})
        if name == "AsSecrets":
            return to_yaml({posixpath.basename(k): base64.b64encode(v).decode() for k, v in self.files.items()})
        return super().go_field(name, args)

    def go_items(self) -> list[tuple[Any, Any]]:
        return [(k, self.files[k].decode("utf-8", "replace")) for k in sorted(self.files)]


@dataclass
class RenderedFile:
    name: str                                   # e.g. "mychart/charts/redis/templates/master.yaml"
    chart: Chart
    text: str
    unresolved: list[TemplateError] = field(default_factory=list)


@dataclass
class Rendered:
    chart: Chart                                # the processed tree (aliases applied, disabled removed)
    values: dict[str, Any]                      # the root's coalesced values
    files: list[RenderedFile]
    errors: list[TemplateError]                 # parse errors and unresolved expressions, in file order
    warnings: list[str]
    missing: list[str]


def _contexts(chart: Chart, vals: dict[str, Any], top: dict[str, Any], out: dict[str, tuple[Chart, dict[str, Any]]],
              prefix: str) -> dict[str, Any]:
    subcharts: dict[str, Any] = {}
    ctx: dict[str, Any] = {
        "Chart": ChartMeta(chart), "Files": Files({f.name: f.data for f in chart.files}),
        "Release": top["Release"], "Capabilities": top["Capabilities"], "Subcharts": subcharts,
        "Values": vals if chart.parent is None else (table(vals, chart.name) or {}),
    }
    for sub in chart.dependencies:
        subcharts[sub.name] = _contexts(sub, ctx["Values"], top, out, prefix)
    base = chart.full_path()
    for t in chart.templates:
        if chart.is_library and not posixpath.basename(t.name).startswith("_"):
            continue
        out[posixpath.join(base, t.name)] = (chart, ctx)
    return ctx


def _order(names: list[str]) -> list[str]:
    """helm's parse order: most path separators first, then reverse alphabetical (later wins)."""
    return sorted(names, key=lambda n: (n.count("/"), n), reverse=True)


def render_chart(chart: Chart, values: dict[str, Any] | None = None, kube_version: str = DEFAULT_KUBE_VERSION,
                 release_name: str = RELEASE_NAME, namespace: str = RELEASE_NAMESPACE) -> Rendered:
    """Process dependencies, coalesce values and render every template of ``chart``.

    ChartError for problems helm refuses before rendering (a values type mismatch); template problems
    are collected in ``errors`` and never stop the other files."""
    processed: Processed = process_dependencies(chart, values)
    root = processed.chart
    vals = coalesce_values(root, values, processed.warnings)
    top = {"Release": {"Name": release_name, "Namespace": namespace, "IsUpgrade": False, "IsInstall": True,
                       "Revision": 1, "Service": "Helm"},
           "Capabilities": Capabilities(kube_version)}
    targets: dict[str, tuple[Chart, dict[str, Any]]] = {}
    _contexts(root, vals, top, targets, "")
    engine = Engine()
    errors: list[TemplateError] = []
    broken: set[str] = set()
    files: list[RenderedFile] = []
    for name in _order(list(targets)):
        chart_of = targets[name][0]
        src = next(t for t in chart_of.templates if posixpath.join(chart_of.full_path(), t.name) == name)
        try:
            engine.add(name, src.text)
        except TemplateError as exc:
            errors.append(exc)
            broken.add(name)
            files.append(RenderedFile(name, chart_of, "", [exc]))
    for name in sorted(targets):
        if posixpath.basename(name).startswith("_") or name.endswith(".txt") or name in broken:
            continue
        chart_of, ctx = targets[name]
        data = dict(ctx, Template={"Name": name, "BasePath": posixpath.join(chart_of.full_path(), "templates")})
        unresolved: list[TemplateError] = []
        try:
            text = engine.render(name, data, unresolved)
        except TemplateError as exc:             # budget exceeded: the file is abandoned
            unresolved.append(exc)
            text = ""
        errors.extend(unresolved)
        files.append(RenderedFile(name, chart_of, text, unresolved))
    return Rendered(root, vals, files, errors, processed.warnings, processed.missing)
