"""ImageSetConfiguration (oc-mirror's ``mirror.openshift.io/v2alpha1``) -> typed settings.

Errors name the file, the line and the field; fields bundler does not support are warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .oci.reference import Reference, parse

API_VERSIONS = ("mirror.openshift.io/v2alpha1", "mirror.openshift.io/v1alpha2")

# What `bootstrap: true` carries: Quay in its SQLite mode (as mirror-registry 2.x) needs no database
# image. `bootstrap: {images: {postgres: ...}}` adds one; `flavor: distribution` carries Docker Distribution.
DEFAULT_BOOTSTRAP = {
    "quay": "registry.redhat.io/quay/quay-rhel8:v3.12.18",
    "redis": "registry.redhat.io/rhel8/redis-6:1-1766406130",
}
DEFAULT_DISTRIBUTION = {"registry": "docker.io/library/registry:2.8.3"}


@dataclass
class ChannelSpec:
    name: str
    min_version: str | None = None
    max_version: str | None = None


@dataclass
class PackageSpec:
    name: str
    channels: list[ChannelSpec] = field(default_factory=list)
    min_version: str | None = None
    max_version: str | None = None


@dataclass
class CatalogSpec:
    catalog: Reference
    full: bool = False
    packages: list[PackageSpec] = field(default_factory=list)
    target_name: str | None = None


@dataclass
class SamplesSpec:
    from_release: bool = False
    images: list[Reference] = field(default_factory=list)
    images_file: Path | None = None
    skip: list[str] = field(default_factory=list)


@dataclass
class BootstrapSpec:
    enabled: bool = False
    flavor: str = "quay"
    images: dict[str, Reference] = field(default_factory=dict)


@dataclass
class ImageSetConfig:
    """What to carry, as the admin wrote it."""

    path: Path
    releases: list[Reference] = field(default_factory=list)
    additional_images: list[Reference] = field(default_factory=list)
    operators: list[CatalogSpec] = field(default_factory=list)
    samples: SamplesSpec | None = None
    bootstrap: BootstrapSpec = field(default_factory=BootstrapSpec)
    warnings: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


class _Lines:
    """Line numbers of YAML nodes by field path, for error messages."""

    def __init__(self, text: str) -> None:
        self.lines: dict[str, int] = {}
        try:
            node = yaml.compose(text)
        except yaml.YAMLError:
            node = None
        if node is not None:
            self._walk(node, "")

    def _walk(self, node: yaml.Node, path: str) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = str(k.value)
                sub = f"{path}.{key}" if path else key
                self.lines[sub] = k.start_mark.line + 1
                self._walk(v, sub)
                self.lines[sub] = k.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                self._walk(v, f"{path}[{i}]")

    def at(self, path: str) -> int | None:
        return self.lines.get(path)


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = _Lines(text)
        self.warnings: list[str] = []

    def error(self, fpath: str, message: str) -> ConfigError:
        line = self.lines.at(fpath)
        where = f"{self.path} line {line}" if line else str(self.path)
        return ConfigError(f"{where}: {fpath}: {message}")

    def warn(self, fpath: str, message: str) -> None:
        line = self.lines.at(fpath)
        where = f"{self.path} line {line}" if line else str(self.path)
        self.warnings.append(f"{where}: {fpath}: {message}")

    def mapping(self, value: Any, fpath: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(fpath, "must be a mapping")
        return value

    def seq(self, value: Any, fpath: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(fpath, "must be a list")
        return value

    def string(self, value: Any, fpath: str, required: bool = True) -> str | None:
        if value is None and not required:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.error(fpath, "must be a non-empty string")
        return value.strip()

    def ref(self, value: Any, fpath: str) -> Reference:
        text = self.string(value, fpath)
        assert text is not None
        try:
            return parse(text)
        except ConfigError as exc:
            raise self.error(fpath, exc.message) from exc

    def only(self, doc: dict[str, Any], fpath: str, known: set[str]) -> None:
        for key in doc:
            if key not in known:
                sub = f"{fpath}.{key}" if fpath else key
                self.warn(sub, "is not supported by bundler and is ignored")


def load(path: str | Path) -> ImageSetConfig:
    """Read and validate an ImageSetConfiguration file."""
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise ConfigError(f"ImageSetConfiguration {p} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read ImageSetConfiguration {p}: {exc.strerror}") from exc
    return loads(text, p)


def loads(text: str, path: Path = Path("<imageset>")) -> ImageSetConfig:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{line}: not valid YAML: {problem}") from exc
    r = _Reader(path, text)
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: not an ImageSetConfiguration (expected a YAML mapping)")
    if doc.get("kind") != "ImageSetConfiguration":
        raise r.error("kind", f"must be ImageSetConfiguration, not {doc.get('kind')!r}")
    if doc.get("apiVersion") not in API_VERSIONS:
        raise r.error("apiVersion", f"must be one of {', '.join(API_VERSIONS)}, not {doc.get('apiVersion')!r}")
    r.only(doc, "", {"kind", "apiVersion", "mirror", "archiveSize", "storageConfig", "bootstrap"})
    mirror = r.mapping(doc.get("mirror"), "mirror")
    if not mirror:
        raise r.error("mirror", "is missing or empty: nothing to carry")
    r.only(mirror, "mirror", {"platform", "additionalImages", "operators", "samples", "blockedImages", "helm"})
    cfg = ImageSetConfig(path=path, raw=doc)
    platform = r.mapping(mirror.get("platform"), "mirror.platform")
    r.only(platform, "mirror.platform", {"release", "releases", "graph", "architectures"})
    if platform.get("release") is not None:
        cfg.releases.append(r.ref(platform["release"], "mirror.platform.release"))
    for i, rel in enumerate(r.seq(platform.get("releases"), "mirror.platform.releases")):
        if isinstance(rel, dict):  # `- name: <pullspec>`, like additionalImages
            cfg.releases.append(r.ref(rel.get("name"), f"mirror.platform.releases[{i}].name"))
        else:
            cfg.releases.append(r.ref(rel, f"mirror.platform.releases[{i}]"))
    if platform.get("graph"):
        r.warn("mirror.platform.graph", "the update graph image needs the internet; it is not built")
    for i, item in enumerate(r.seq(mirror.get("additionalImages"), "mirror.additionalImages")):
        fpath = f"mirror.additionalImages[{i}]"
        item = r.mapping(item, fpath)
        r.only(item, fpath, {"name"})
        cfg.additional_images.append(r.ref(item.get("name"), f"{fpath}.name"))
    for i, cat in enumerate(r.seq(mirror.get("operators"), "mirror.operators")):
        cfg.operators.append(_catalog(r, cat, f"mirror.operators[{i}]"))
    if mirror.get("samples") is not None:
        cfg.samples = _samples(r, mirror["samples"], "mirror.samples")
    for key in ("blockedImages", "helm"):
        if mirror.get(key):
            r.warn(f"mirror.{key}", "is not supported by bundler and is ignored")
    cfg.bootstrap = _bootstrap(r, doc.get("bootstrap"), "bootstrap")
    if not (cfg.releases or cfg.additional_images or cfg.operators or cfg.samples):
        raise r.error("mirror", "names no release, operator catalog, sample or additional image")
    cfg.warnings = r.warnings
    return cfg


def _catalog(r: _Reader, value: Any, fpath: str) -> CatalogSpec:
    doc = r.mapping(value, fpath)
    r.only(doc, fpath, {"catalog", "full", "packages", "targetCatalog", "targetTag"})
    spec = CatalogSpec(catalog=r.ref(doc.get("catalog"), f"{fpath}.catalog"), full=bool(doc.get("full", False)))
    spec.target_name = r.string(doc.get("targetCatalog"), f"{fpath}.targetCatalog", required=False)
    for j, pkg in enumerate(r.seq(doc.get("packages"), f"{fpath}.packages")):
        ppath = f"{fpath}.packages[{j}]"
        pdoc = r.mapping(pkg, ppath)
        r.only(pdoc, ppath, {"name", "channels", "minVersion", "maxVersion"})
        ps = PackageSpec(
            name=str(r.string(pdoc.get("name"), f"{ppath}.name")),
            min_version=r.string(pdoc.get("minVersion"), f"{ppath}.minVersion", required=False),
            max_version=r.string(pdoc.get("maxVersion"), f"{ppath}.maxVersion", required=False),
        )
        for k, ch in enumerate(r.seq(pdoc.get("channels"), f"{ppath}.channels")):
            cpath = f"{ppath}.channels[{k}]"
            cdoc = r.mapping(ch, cpath)
            r.only(cdoc, cpath, {"name", "minVersion", "maxVersion"})
            ps.channels.append(ChannelSpec(
                name=str(r.string(cdoc.get("name"), f"{cpath}.name")),
                min_version=r.string(cdoc.get("minVersion"), f"{cpath}.minVersion", required=False),
                max_version=r.string(cdoc.get("maxVersion"), f"{cpath}.maxVersion", required=False),
            ))
        spec.packages.append(ps)
    return spec


def _samples(r: _Reader, value: Any, fpath: str) -> SamplesSpec:
    doc = r.mapping(value, fpath)
    r.only(doc, fpath, {"fromRelease", "images", "imagesFile", "skip"})
    spec = SamplesSpec(from_release=bool(doc.get("fromRelease", False)))
    for i, img in enumerate(r.seq(doc.get("images"), f"{fpath}.images")):
        if isinstance(img, dict):
            img = img.get("name")
        spec.images.append(r.ref(img, f"{fpath}.images[{i}]"))
    if doc.get("imagesFile") is not None:
        name = r.string(doc["imagesFile"], f"{fpath}.imagesFile")
        assert name is not None
        spec.images_file = (r.path.parent / name) if not Path(name).is_absolute() else Path(name)
    spec.skip = [str(r.string(s, f"{fpath}.skip[{i}]")) for i, s in enumerate(r.seq(doc.get("skip"), f"{fpath}.skip"))]
    return spec


def _bootstrap(r: _Reader, value: Any, fpath: str) -> BootstrapSpec:
    if value is None or value is False:
        return BootstrapSpec()
    doc = {} if value is True else r.mapping(value, fpath)
    r.only(doc, fpath, {"enabled", "images", "flavor"})
    flavor = str(r.string(doc.get("flavor", "quay"), f"{fpath}.flavor"))
    if flavor not in ("quay", "distribution"):
        raise r.error(f"{fpath}.flavor", f"must be quay or distribution, not {flavor!r}")
    images = dict(DEFAULT_BOOTSTRAP if flavor == "quay" else DEFAULT_DISTRIBUTION)
    for key, ref in r.mapping(doc.get("images"), f"{fpath}.images").items():
        images[str(key)] = str(r.string(ref, f"{fpath}.images.{key}"))
    return BootstrapSpec(
        enabled=bool(doc.get("enabled", True)),
        flavor=flavor,
        images={k: r.ref(v, f"{fpath}.images.{k}") for k, v in images.items()},
    )
