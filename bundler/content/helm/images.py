"""The images a chart deploys, found without helm: render with default values, read the manifests.

Sources, in order: container images of every pod-shaped object (``containers``, ``initContainers``,
``ephemeralContainers`` of Pods, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and CRs with pod
templates); env values that are image references; the chart's ``imagePaths`` (oc-mirror's JSONPath
list, evaluated as client-go does); then, for repositories rendering did not show, the
``artifacthub.io/images`` annotation and values-file conventions. Values images of components that
are off with default values are returned apart as ``optional`` (unless rendering was incomplete).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from ...errors import ConfigError
from .chart import Chart
from .imagesources import Candidate, annotation_candidates, manifest_candidates, parse_image, values_candidates
from .jsonpath import JSONPath, JSONPathError
from .render import DEFAULT_KUBE_VERSION, RenderedFile, render_chart
from .template import MARKER_RE
from .values import coalesce_values, process_dependencies, table
from .yamlutil import load

# oc-mirror v2's defaults (internal/pkg/helm/local_stored_collector.go getImagesPath); the pod-spec
# walk above already covers them, user imagePaths are evaluated in addition.
DEFAULT_IMAGE_PATHS = (
    "{.spec.template.spec.initContainers[*].image}",
    "{.spec.template.spec.containers[*].image}",
    "{.spec.initContainers[*].image}",
    "{.spec.containers[*].image}",
)
_DOC_SEP = re.compile(r"(?:^|\n)---[^\n]*(?=\n|$)")


@dataclass(frozen=True)
class FoundImage:
    reference: str           # normalised: registry/repository[:tag][@digest]
    source: str              # manifest | env | imagePath | annotation | values
    where: str               # file, object and field it came from
    original: str            # as the chart wrote it
    implicit_latest: bool    # written without tag or digest: Kubernetes pulls :latest


@dataclass(frozen=True)
class Problem:
    """Something that keeps a chart from being fully resolved, with template file and line."""

    kind: str                # unresolved | parse | yaml | not-an-image | missing-dependency
    template: str
    line: int
    message: str

    def __str__(self) -> str:
        at = f"{self.template}:{self.line}" if self.line else self.template
        return f"{at}: {self.message}"


@dataclass
class ChartImages:
    chart: str
    version: str
    images: list[FoundImage] = field(default_factory=list)
    optional: list[FoundImage] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def fully_resolved(self) -> bool:
        """Every template rendered, every document parsed, every image field held an image."""
        return not self.problems

    @property
    def references(self) -> list[str]:
        return sorted({i.reference for i in self.images})


def compile_image_paths(paths: Iterable[str], chart_label: str) -> list[JSONPath]:
    out = []
    for p in paths:
        try:
            out.append(JSONPath(p))
        except JSONPathError as exc:
            raise ConfigError(f"chart {chart_label}: imagePaths entry {p!r} is not usable JSONPath: {exc}",
                              'write it as client-go JSONPath, e.g. "{.spec.template.spec.containers[*].image}"') from exc
    return out


def _documents(rf: RenderedFile) -> Iterable[tuple[int, str]]:
    """(index, text) of each non-empty YAML document of a rendered file."""
    parts = _DOC_SEP.split(rf.text)
    return [(i, p) for i, p in enumerate(parts) if p.strip() and any(
        ln.strip() and not ln.lstrip().startswith("#") for ln in p.splitlines())]


class _Collector:
    def __init__(self, result: ChartImages, paths: list[JSONPath]) -> None:
        self.result, self.paths = result, paths
        self.seen: dict[str, FoundImage] = {}
        self.bad: set[str] = set()           # full paths of charts whose rendering had problems

    def add(self, c: Candidate, strict: bool, into: list[FoundImage], file: str = "") -> FoundImage | None:
        if not isinstance(c.value, str):
            if strict:
                self.problem("not-an-image", file, f"{c.where}: {c.value!r} is not an image reference (not a string)")
            return None
        if MARKER_RE.search(c.value):
            if strict:
                self.problem("unresolved", file, f"{c.where}: the image depends on an expression that could not "
                                                 "be evaluated (see the error for this template)")
            return None
        try:
            ref, implicit = parse_image(c.value)
        except ConfigError as exc:
            if strict:
                self.problem("not-an-image", file, f"{c.where}: {exc.message}")
            return None
        found = FoundImage(str(ref), c.source, c.where, c.value.strip(), implicit)
        if found.reference not in self.seen:
            self.seen[found.reference] = found
            into.append(found)
        return found

    def problem(self, kind: str, template: str, message: str, line: int = 0) -> None:
        self.result.problems.append(Problem(kind, template, line, message))

    def document(self, rf: RenderedFile, index: int, text: str) -> None:
        try:
            doc = load(text)
        except yaml.YAMLError as exc:
            why = ("after an unresolved expression" if MARKER_RE.search(text) else "")
            self.bad.add(rf.chart.full_path())
            self.problem("yaml", rf.name, f"rendered document {index + 1} is not valid YAML {why}: "
                                          f"{str(exc).splitlines()[0]}; its images are not read".replace("  ", " "))
            return
        if not isinstance(doc, dict):
            return
        for c in manifest_candidates(doc, rf.name):
            if self.add(c, c.source == "manifest", self.result.images, rf.name) is None and c.source == "manifest":
                self.bad.add(rf.chart.full_path())
        for jp in self.paths:
            for piece in jp.execute(doc).split():
                self.add(Candidate(piece, "imagePath", f"{rf.name}: {jp.template}"), False, self.result.images)


def _values_paths(root: Chart) -> dict[str, Chart]:
    """Values path (``""``, ``cache``, ``cache.common``) -> the chart that owns that values section."""
    out: dict[str, Chart] = {}
    for c in root.walk():
        names = []
        node: Chart | None = c
        while node is not None and node.parent is not None:
            names.append(node.name)
            node = node.parent
        out[".".join(reversed(names))] = c
    return out


def find_images(chart: Chart, image_paths: Iterable[str] = (), values: dict[str, Any] | None = None,
                kube_version: str = DEFAULT_KUBE_VERSION) -> ChartImages:
    """Images of ``chart`` (rendered with its default values, or ``values`` over them).

    Raises ChartError for a chart helm itself refuses before rendering, ConfigError for an
    ``imagePaths`` entry that is not JSONPath; template problems are returned, never raised."""
    result = ChartImages(chart.name, chart.version)
    collector = _Collector(result, compile_image_paths(image_paths, chart.label))
    rendered = render_chart(chart, values, kube_version=kube_version)
    result.warnings.extend(rendered.warnings)
    for missing in rendered.missing:
        where, _, what = missing.partition(": ")
        collector.problem("missing-dependency", where, what + "; its images are not found (run 'helm dependency "
                                                               "build' before exporting)")
        collector.bad.add(where)
    for rf in rendered.files:
        for err in rf.unresolved:
            collector.problem("parse" if not rf.text else "unresolved", err.template, err.reason, err.line)
            collector.bad.add(rf.chart.full_path())
        for index, text in _documents(rf):
            collector.document(rf, index, text)
    shown = {parse_image(i.reference)[0].repository for i in result.images}
    for c in rendered.chart.walk():
        for cand in annotation_candidates(c.annotations, c.label, result.warnings):
            if not _shown(cand, shown):
                collector.add(cand, False, result.images)
    _values_fallback(collector, rendered.chart, rendered.values, shown)
    _optional(collector, chart, values, shown)
    return result


def _values_fallback(collector: _Collector, root: Chart, vals: dict[str, Any], shown: set[str]) -> None:
    """For each chart whose rendering had problems, the images its own values section describes."""
    owners = _values_paths(root)
    versions = {path: c.app_version for path, c in owners.items()}
    for path, c in owners.items():
        if c.full_path() not in collector.bad:
            continue
        section = table(vals, path) if path else vals
        skip = frozenset(d.name for d in c.dependencies)
        for cand in values_candidates(section or {}, c.label, c.app_version, versions, path, skip):
            if not _shown(cand, shown):
                collector.add(cand, False, collector.result.images)


def _optional(collector: _Collector, chart: Chart, values: dict[str, Any] | None, shown: set[str]) -> None:
    """Images described in the values of every chart, enabled or not, that nothing above found."""
    everything = process_dependencies(chart, values, keep_disabled=True).chart
    vals = coalesce_values(everything, values)
    versions = {path: c.app_version for path, c in _values_paths(everything).items()}
    for cand in values_candidates(vals, chart.label, chart.app_version, versions):
        if not _shown(cand, shown):
            collector.add(cand, False, collector.result.optional)
def _shown(cand: Candidate, repositories: set[str]) -> bool:
    try:
        return parse_image(str(cand.value))[0].repository in repositories
    except ConfigError:
        return True
