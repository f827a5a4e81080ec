"""Load a Helm chart from a directory or a ``.tgz`` as helm's loader does (``pkg/chart/loader``).

Chart.yaml (apiVersion v1/v2; v1 may keep dependencies in requirements.yaml), values.yaml (documents
merged), ``templates/``, subcharts in ``charts/`` as directories or archives, everything else as
``.Files``. Every error is a :class:`ChartError` naming the chart, its version when known, and the file.
"""

from __future__ import annotations

import copy
import fnmatch
import gzip
import io
import os
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import semver, yamlutil
from .errors import ChartError

MAX_CHART_BYTES = 100 * 1024 * 1024      # helm: MaxDecompressedChartSize
MAX_FILE_BYTES = 5 * 1024 * 1024         # helm: MaxDecompressedFileSize
_ALIAS = re.compile(r"^[a-zA-Z0-9_-]+$")
_META_STRINGS = ("name", "home", "version", "description", "icon", "apiVersion", "condition", "tags",
                 "appVersion", "kubeVersion", "type")


@dataclass
class ChartFile:
    name: str      # path inside the chart, e.g. "templates/deployment.yaml"
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


@dataclass
class Dependency:
    """One entry of Chart.yaml ``dependencies`` (or v1 ``requirements.yaml``)."""

    name: str
    version: str = ""
    repository: str = ""
    condition: str = ""
    tags: list[str] = field(default_factory=list)
    enabled: bool = False
    import_values: list[Any] = field(default_factory=list)
    alias: str = ""

    @classmethod
    def from_doc(cls, doc: Any, where: str) -> Dependency:
        if not isinstance(doc, dict) or not doc.get("name"):
            raise ChartError(f"{where}: a dependency needs a name (got {doc!r})")
        alias = meta_str(doc.get("alias"))
        if alias and not _ALIAS.match(alias):
            raise ChartError(f"{where}: dependency {doc['name']!r} has an invalid alias {alias!r}",
                             "an alias may only hold letters, digits, '_' and '-'")
        tags = doc.get("tags") or []
        return cls(name=meta_str(doc["name"]), version=meta_str(doc.get("version")),
                   repository=meta_str(doc.get("repository")), condition=meta_str(doc.get("condition")),
                   tags=[meta_str(t) for t in tags] if isinstance(tags, list) else [],
                   enabled=bool(doc.get("enabled", False)), import_values=list(doc.get("import-values") or []),
                   alias=alias)


@dataclass(eq=False)
class Chart:
    """A loaded chart. ``metadata`` is Chart.yaml (v1 dependencies merged in), ``dependencies`` the
    subcharts found in ``charts/``, ``requirements`` the declared dependencies."""

    metadata: dict[str, Any]
    values: dict[str, Any]
    templates: list[ChartFile]
    files: list[ChartFile]
    dependencies: list[Chart] = field(default_factory=list)
    requirements: list[Dependency] = field(default_factory=list)
    source: str = ""
    parent: Chart | None = None
    raw_values: bytes = b""

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", ""))

    @property
    def app_version(self) -> str:
        return str(self.metadata.get("appVersion", ""))

    @property
    def api_version(self) -> str:
        return str(self.metadata.get("apiVersion", "v1"))

    @property
    def is_library(self) -> bool:
        return str(self.metadata.get("type", "")).lower() == "library"

    @property
    def annotations(self) -> dict[str, str]:
        a = self.metadata.get("annotations")
        return {str(k): meta_str(v) for k, v in a.items()} if isinstance(a, dict) else {}

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}".strip()

    def full_path(self) -> str:
        """helm ``ChartFullPath``: ``root/charts/sub/charts/subsub``."""
        return f"{self.parent.full_path()}/charts/{self.name}" if self.parent else self.name

    def set_dependencies(self, charts: list[Chart]) -> None:
        self.dependencies = charts
        for c in charts:
            c.parent = self

    def copy_tree(self) -> Chart:
        """A copy whose metadata, requirements and subcharts can be changed (file data shared)."""
        new = copy.copy(self)
        new.metadata = dict(self.metadata)
        new.values = copy.deepcopy(self.values)
        new.requirements = [copy.deepcopy(r) for r in self.requirements]
        new.set_dependencies([d.copy_tree() for d in self.dependencies])
        return new

    def walk(self) -> list[Chart]:
        """This chart and every subchart below it, parents first."""
        out = [self]
        for d in self.dependencies:
            out.extend(d.walk())
        return out


def meta_str(v: Any) -> str:
    """A Chart.yaml string field as sigs.k8s.io/yaml fills a Go string (``1.10`` -> ``1.1``)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        from .gofmt import format_float
        return format_float(v)
    return str(v)


def sanitize(s: str) -> str:
    """helm ``sanitizeString``: whitespace becomes a space, unprintable characters are dropped."""
    return "".join(" " if ch.isspace() else ch for ch in s if ch.isprintable() or ch.isspace())


# -- reading files ---------------------------------------------------------------------------------

def read_archive(data: bytes, source: str) -> list[ChartFile]:
    """The files of a chart archive with the top directory stripped, checked like helm's loader."""
    try:
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else None
    except (OSError, EOFError, zlib.error) as exc:
        raise ChartError(f"{source} is a corrupt chart archive: {exc}",
                         "download the chart again; the .tgz is damaged or truncated") from exc
    if raw is None:
        raise ChartError(f"{source} is not a chart archive (not gzip-compressed)",
                         "a chart archive is a .tgz made by 'helm package'")
    if len(raw) > MAX_CHART_BYTES:
        raise ChartError(f"{source}: chart exceeds the maximum decompressed size of {MAX_CHART_BYTES} bytes")
    files: list[ChartFile] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                parts = member.name.replace("\\", "/").split("/")
                if member.name.startswith("/") or ".." in parts:
                    raise ChartError(f"{source}: chart illegally contains content outside the base directory: "
                                     f"{member.name!r}")
                name = "/".join(parts[1:]) if len(parts) > 1 else member.name
                if not name:
                    continue
                if member.size > MAX_FILE_BYTES:
                    raise ChartError(f"{source}: {name} exceeds the maximum file size of {MAX_FILE_BYTES} bytes")
                fh = tar.extractfile(member)
                files.append(ChartFile(name, fh.read() if fh else b""))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ChartError(f"{source} is a corrupt chart archive: {exc}",
                         "download the chart again; the .tgz is damaged or truncated") from exc
    if not files:
        raise ChartError(f"{source}: no files in chart archive")
    return files


def _ignore_rules(root: Path) -> list[tuple[str, bool, bool]]:
    """(pattern, negated, dir_only) from .helmignore, plus helm's default ``templates/.?*``."""
    rules = [("templates/.?*", False, False)]
    f = root / ".helmignore"
    if f.is_file():
        for line in f.read_text(errors="replace").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            neg = line.startswith("!")
            line = line.lstrip("!")
            rules.append((line.rstrip("/").lstrip("/"), neg, line.endswith("/")))
    return rules


def _ignored(rel: str, is_dir: bool, rules: list[tuple[str, bool, bool]]) -> bool:
    result = False
    for pattern, neg, dir_only in rules:
        if dir_only and not is_dir:
            continue
        target = rel if "/" in pattern else rel.rsplit("/", 1)[-1]
        if fnmatch.fnmatchcase(target, pattern):
            result = not neg
    return result


def read_dir(root: Path) -> list[ChartFile]:
    rules = _ignore_rules(root)
    files: list[ChartFile] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not _ignored(rel_dir + d, True, rules))
        for fn in sorted(filenames):
            rel = rel_dir + fn
            if _ignored(rel, False, rules):
                continue
            data = (Path(dirpath) / fn).read_bytes()
            total += len(data)
            if len(data) > MAX_FILE_BYTES or total > MAX_CHART_BYTES:
                raise ChartError(f"{root}: {rel} makes the chart larger than helm accepts")
            files.append(ChartFile(rel, data))
    return files


# -- building the chart ----------------------------------------------------------------------------

def _metadata(files: list[ChartFile], source: str) -> dict[str, Any]:
    chart_yaml = next((f for f in files if f.name == "Chart.yaml"), None)
    if chart_yaml is None:
        raise ChartError(f"{source} is not a chart: Chart.yaml is missing",
                         "point to a chart directory or a .tgz made by 'helm package'")
    try:
        doc = yamlutil.load(chart_yaml.data)
    except yaml.YAMLError as exc:
        raise ChartError(f"{source}: Chart.yaml is not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise ChartError(f"{source}: Chart.yaml is not a map")
    meta: dict[str, Any] = {str(k): v for k, v in doc.items()}
    for key in _META_STRINGS:
        if key in meta:
            meta[key] = sanitize(meta_str(meta[key]))
    meta.setdefault("apiVersion", "v1")
    if not meta["apiVersion"]:
        meta["apiVersion"] = "v1"
    return meta


def _validate(meta: dict[str, Any], source: str) -> None:
    name, version = meta.get("name", ""), meta.get("version", "")
    where = f"{source}: Chart.yaml" + (f" of chart {name}" if name else "")
    if not name:
        raise ChartError(f"{where}: name is required")
    if name in (".", "..") or "/" in name or "\\" in name:
        raise ChartError(f"{where}: name {name!r} is invalid")
    if not version:
        raise ChartError(f"{where}: version is required")
    if not semver.is_version(version):
        raise ChartError(f"{where}: version {version!r} is not a semantic version")
    if str(meta.get("type", "")).lower() not in ("", "application", "library"):
        raise ChartError(f"{where}: type must be application or library, not {meta['type']!r}")


def load_files(files: list[ChartFile], source: str) -> Chart:
    """helm ``LoadFiles``: build a chart (and its subcharts) from in-memory files."""
    meta = _metadata(files, source)
    _validate(meta, source)
    label = f"chart {meta['name']} {meta['version']} ({source})"
    deps_doc: Any = meta.get("dependencies") or []
    values: dict[str, Any] = {}
    raw_values = b""
    templates: list[ChartFile] = []
    other: list[ChartFile] = []
    sub_files: dict[str, list[ChartFile]] = {}
    for f in files:
        if f.name in ("Chart.yaml", "Chart.lock", "requirements.lock"):
            continue
        if f.name == "values.yaml":
            raw_values = f.data
            try:
                values = yamlutil.load_values(f.data)
            except (yaml.YAMLError, ValueError) as exc:
                raise ChartError(f"{label}: values.yaml cannot be loaded: {exc}") from exc
        elif f.name == "requirements.yaml":
            try:
                req = yamlutil.load(f.data) or {}
            except yaml.YAMLError as exc:
                raise ChartError(f"{label}: requirements.yaml is not valid YAML: {exc}") from exc
            deps_doc = (req.get("dependencies") or []) if isinstance(req, dict) else []
            meta["dependencies"] = deps_doc
            other.append(f)
        elif f.name.startswith("templates/"):
            templates.append(f)
        elif f.name.startswith("charts/") and not f.name.endswith(".prov"):
            rest = f.name[len("charts/"):]
            key = rest.split("/", 1)[0]
            sub_files.setdefault(key, []).append(ChartFile(rest, f.data))
        else:
            other.append(f)
    if not isinstance(deps_doc, list):
        raise ChartError(f"{label}: dependencies must be a list")
    requirements = [Dependency.from_doc(d, label) for d in deps_doc]
    _check_unique(requirements, label)
    chart = Chart(meta, values, templates, other, [], requirements, source, raw_values=raw_values)
    chart.set_dependencies(_subcharts(sub_files, chart, source))
    return chart


def _check_unique(reqs: list[Dependency], label: str) -> None:
    seen: set[str] = set()
    for r in reqs:
        key = r.alias or r.name
        if key in seen:
            raise ChartError(f"{label}: more than one dependency with name or alias {key!r}")
        seen.add(key)


def _subcharts(sub_files: dict[str, list[ChartFile]], parent: Chart, source: str) -> list[Chart]:
    out: list[Chart] = []
    for key in sorted(sub_files):
        if key[:1] in ("_", "."):
            continue
        where = f"{source}!charts/{key}"
        try:
            if key.endswith(".tgz"):
                f = sub_files[key][0]
                if f.name != key:
                    raise ChartError(f"{where}: expected a chart archive, found a directory")
                out.append(load_files(read_archive(f.data, where), where))
            else:
                inner = [ChartFile(f.name.split("/", 1)[1], f.data) for f in sub_files[key] if "/" in f.name]
                out.append(load_files(inner, where))
        except ChartError as exc:
            raise ChartError(f"error unpacking subchart {key} in chart {parent.label}: {exc.message}",
                             exc.hint) from exc
    return out


def load_chart(path: str | Path) -> Chart:
    """Load a chart from a directory or an archive; ChartError when it is not a chart."""
    p = Path(path)
    if p.is_dir():
        return load_files(read_dir(p), str(p))
    if not p.exists():
        raise ChartError(f"chart path {p} does not exist", "check mirror.helm.local[].path")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ChartError(f"chart {p} cannot be read: {exc}") from exc
    return load_archive(data, str(p))


def load_archive(data: bytes, source: str) -> Chart:
    """Load a chart from ``.tgz`` bytes (``source`` names it in errors)."""
    return load_files(read_archive(data, source), source)
