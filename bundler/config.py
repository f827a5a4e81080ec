"""oc-mirror's ImageSetConfiguration and DeleteImageSetConfiguration (``mirror.openshift.io/v2alpha1``, and
``v1alpha2`` with oc-mirror v1's semantics where they differ) -> typed settings.

Every field oc-mirror knows is read (bundler/isc/); errors name the file, the line and the field; a field
bundler cannot apply (yet) is a warning saying what to do instead (bundler/isc/support.py), never silently
ignored. A load that fails raises ConfigLoadError, whose ``warnings`` the caller prints before the error.
Field table: /work/notes/config.md and docs/usage.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .isc.images import read_additional, read_blocked, read_helm, read_samples
from .isc.operators import read_operators
from .isc.platform import read_platform
from .isc.reader import ConfigLoadError, Reader
from .isc.settings import (
    LAYOUT_REGISTRY,
    AdditionalImage,
    BlockedImage,
    CatalogSourceTemplate,
    CatalogSpec,
    ChannelSpec,
    HelmChart,
    HelmRepository,
    HelmSpec,
    LayoutRef,
    PackageSpec,
    Platform,
    PlatformSpec,
    ReleaseChannel,
    SamplesSpec,
    StorageConfig,
)
from .isc.support import not_applicable, pending
from .oci.reference import Reference

__all__ = [
    "API_VERSIONS", "LAYOUT_REGISTRY", "AdditionalImage", "BlockedImage", "BootstrapSpec", "CatalogSourceTemplate",
    "CatalogSpec", "ChannelSpec", "ConfigError", "ConfigLoadError", "DeleteImageSetConfig", "HelmChart", "HelmRepository",
    "HelmSpec", "ImageSetConfig", "LayoutRef", "PackageSpec", "Platform", "PlatformSpec", "ReleaseChannel",
    "SamplesSpec", "StorageConfig", "load", "load_delete", "loads", "loads_delete",
]

API_VERSIONS = ("mirror.openshift.io/v2alpha1", "mirror.openshift.io/v1alpha2")
ISC, DISC = "ImageSetConfiguration", "DeleteImageSetConfiguration"
GIB = 1024 ** 3  # oc-mirror's archiveSize unit (archive/const.go segMultiplier)

# What `bootstrap: true` carries: Quay in its SQLite mode (as mirror-registry 2.x) needs no database
# image. `bootstrap: {images: {postgres: ...}}` adds one; `flavor: distribution` carries Docker Distribution.
DEFAULT_BOOTSTRAP = {
    "quay": "registry.redhat.io/quay/quay-rhel8:v3.12.18",
    "redis": "registry.redhat.io/rhel8/redis-6:1-1766406130",
}
DEFAULT_DISTRIBUTION = {"registry": "docker.io/library/registry:2.8.3"}


@dataclass
class BootstrapSpec:
    enabled: bool = False
    flavor: str = "quay"
    images: dict[str, Reference] = field(default_factory=dict)


@dataclass
class ImageSetConfig:
    """What to carry, as the admin wrote it. ``releases``, ``additional_images`` (registry references),
    ``operators``, ``samples`` and ``bootstrap`` are what the planners read today; ``platform``,
    ``additional``, ``blocked_images``, ``helm``, ``archive_size_gib`` hold every other field."""

    path: Path
    releases: list[Reference] = field(default_factory=list)
    additional_images: list[Reference] = field(default_factory=list)
    operators: list[CatalogSpec] = field(default_factory=list)
    samples: SamplesSpec | None = None
    bootstrap: BootstrapSpec = field(default_factory=BootstrapSpec)
    warnings: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    api_version: str = API_VERSIONS[0]
    platform: PlatformSpec = field(default_factory=PlatformSpec)
    additional: list[AdditionalImage] = field(default_factory=list)
    blocked_images: list[BlockedImage] = field(default_factory=list)
    helm: HelmSpec = field(default_factory=HelmSpec)
    archive_size_gib: int | None = None
    storage_config: StorageConfig | None = None

    @property
    def archive_size(self) -> int | None:
        """``archiveSize`` in bytes (oc-mirror counts GiB: 1024**3), or None."""
        return self.archive_size_gib * GIB if self.archive_size_gib else None

    def carried_today(self) -> bool:
        """Whether the planners have anything to carry (content named only by pending fields does not count)."""
        samples = self.samples is not None and bool(self.samples.from_release or self.samples.images
                                                    or self.samples.images_file)
        return bool(self.releases or self.additional_images or samples
                    or any(c.layout is None for c in self.operators))


@dataclass
class DeleteImageSetConfig:
    """What to delete from a mirror (oc-mirror's two-phase delete). Catalog images themselves are never
    deleted (oc-mirror skips them: operator/common.go); only what the filter selects in them."""

    path: Path
    platform: PlatformSpec = field(default_factory=PlatformSpec)
    operators: list[CatalogSpec] = field(default_factory=list)
    additional: list[AdditionalImage] = field(default_factory=list)
    helm: HelmSpec = field(default_factory=HelmSpec)
    samples: SamplesSpec | None = None
    warnings: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    api_version: str = API_VERSIONS[0]

    @property
    def additional_images(self) -> list[Reference]:
        return [a.image for a in self.additional if a.image is not None]


# -- loading ---------------------------------------------------------------------------------------

def load(path: str | Path, *, require_content: bool = True) -> ImageSetConfig:
    """Read and validate an ImageSetConfiguration file. With ``require_content`` a configuration whose
    content bundler cannot carry yet is an error (its warnings say why)."""
    p = Path(path)
    return loads(_read(p, ISC), p, require_content=require_content)


def load_delete(path: str | Path) -> DeleteImageSetConfig:
    """Read and validate a DeleteImageSetConfiguration file."""
    p = Path(path)
    return loads_delete(_read(p, DISC), p)


def loads(text: str, path: Path = Path("<imageset>"), *, require_content: bool = True) -> ImageSetConfig:
    r, doc = _document(text, path, ISC)
    top = r.fields(doc, "", ("kind", "apiVersion", "mirror", "archiveSize", "storageConfig", "bootstrap"),
                   extra={"delete": f"is not allowed in an {ISC} (it belongs in a {DISC}, for bundler delete)"})
    if "mirror" not in top:
        raise r.error("mirror", "is missing: an ImageSetConfiguration lists what to carry under mirror:")
    mirror = r.fields(top["mirror"], "mirror", ("platform", "operators", "additionalImages", "helm",
                                                "blockedImages", "samples"))
    if not any(mirror.values()):
        raise r.error("mirror", "is empty: nothing to carry")
    cfg = ImageSetConfig(path=path, raw=doc, api_version=str(top["apiVersion"]), warnings=r.warnings)
    _content(r, cfg, mirror, "mirror")
    cfg.blocked_images = read_blocked(r, mirror.get("blockedImages"), "mirror.blockedImages")
    cfg.archive_size_gib = _archive_size(r, top.get("archiveSize"))
    if "storageConfig" in top:
        cfg.storage_config = _storage(r, top["storageConfig"], "storageConfig")
    cfg.bootstrap = _bootstrap(r, top.get("bootstrap"), "bootstrap")
    if require_content and not cfg.carried_today():
        raise r.error("mirror", "names nothing bundler can carry yet (see the warnings above)",
                      "name a release (platform.release), operator catalog in a registry, sample or additional image")
    return cfg


def loads_delete(text: str, path: Path = Path("<delete-imageset>")) -> DeleteImageSetConfig:
    r, doc = _document(text, path, DISC)
    top = r.fields(doc, "", ("kind", "apiVersion", "delete"),
                   extra={"mirror": f"is not allowed in a {DISC} (it belongs in an {ISC}); list what to delete "
                                    "under delete:"})
    if "delete" not in top:
        raise r.error("delete", f"is missing: a {DISC} lists what to delete under delete:")
    section = r.fields(top["delete"], "delete", ("platform", "operators", "additionalImages", "helm", "samples"))
    if not any(section.values()):
        raise r.error("delete", "is empty: nothing to delete")
    cfg = DeleteImageSetConfig(path=path, raw=doc, api_version=str(top["apiVersion"]), warnings=r.warnings)
    _content(r, cfg, section, "delete")
    if cfg.samples is not None:
        not_applicable(r, "delete.samples", "delete.samples")
    return cfg


def _content(r: Reader, cfg: ImageSetConfig | DeleteImageSetConfig, section: dict[str, Any], where: str) -> None:
    """The sections an ImageSetConfiguration's mirror: and a DeleteImageSetConfiguration's delete: share."""
    cfg.platform = read_platform(r, section.get("platform"), f"{where}.platform")
    cfg.operators = read_operators(r, section.get("operators"), f"{where}.operators")
    cfg.additional = read_additional(r, section.get("additionalImages"), f"{where}.additionalImages")
    cfg.helm = read_helm(r, section.get("helm"), f"{where}.helm")
    if section.get("samples") is not None:
        cfg.samples = read_samples(r, section["samples"], f"{where}.samples")
    if isinstance(cfg, ImageSetConfig):
        cfg.releases = [ref for ref in [cfg.platform.release, *cfg.platform.releases] if ref is not None]
        cfg.additional_images = [a.image for a in cfg.additional if a.image is not None]


def _read(p: Path, kind: str) -> str:
    try:
        return p.read_text()
    except FileNotFoundError:
        raise ConfigLoadError(f"{kind} {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigLoadError(f"cannot read {kind} {p}: {getattr(exc, 'strerror', None) or exc}") from None


def _document(text: str, path: Path, kind: str) -> tuple[Reader, dict[str, Any]]:
    """The one YAML document of the file, its kind and apiVersion checked."""
    try:
        nodes = [n for n in yaml.compose_all(text) if n is not None]
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigLoadError(f"{path}{line}: not valid YAML: {problem}") from None
    if len(nodes) != 1 or not isinstance(docs[0], dict):
        raise _shape_error(path, nodes, docs, kind)
    r = Reader(path, nodes[0], delete=kind == DISC)
    if r.lines.duplicates:
        fpath, at = r.lines.duplicates[0]
        raise ConfigLoadError(f"{path} line {at}: {fpath}: is given twice (oc-mirror refuses duplicate keys)")
    doc = docs[0]
    _check_kind(r, doc.get("kind"), kind)
    api = doc.get("apiVersion")
    if api not in API_VERSIONS:
        hint = ("v1alpha1 is oc-mirror's format from before 4.10, which no oc-mirror reads any more; "
                "rewrite the file as v2alpha1") if api == "mirror.openshift.io/v1alpha1" else None
        raise r.error("apiVersion", f"must be one of {', '.join(API_VERSIONS)}, not {api!r}", hint)
    r.api_version = str(api)
    return r, doc


def _shape_error(path: Path, nodes: list[yaml.Node], docs: list[Any], kind: str) -> ConfigLoadError:
    if not nodes:
        return ConfigLoadError(f"{path}: is empty, not an {kind}")
    if len(nodes) > 1:
        lines = ", ".join(str(n.start_mark.line + 1) for n in nodes)
        return ConfigLoadError(f"{path}: holds {len(nodes)} YAML documents (at lines {lines}); a configuration is "
                               "one document (oc-mirror silently reads only the first)",
                               "put each configuration in a file of its own")
    return ConfigLoadError(f"{path}: not an {kind} (expected a YAML mapping)")


def _check_kind(r: Reader, kind: Any, expected: str) -> None:
    if kind == expected:
        return
    if kind == DISC:
        raise r.error("kind", f"this is a {DISC} (what to delete from a mirror), not an {ISC}",
                      "use it with bundler delete -c FILE; bundler export and mirror read an ImageSetConfiguration")
    if kind == ISC:
        raise r.error("kind", f"this is an {ISC} (what to carry), not a {DISC}",
                      "bundler delete reads a DeleteImageSetConfiguration (kind DeleteImageSetConfiguration, "
                      "a delete: section) so that a mirror configuration can never delete by accident")
    raise r.error("kind", f"must be {expected}, not {kind!r}")


def _archive_size(r: Reader, value: Any) -> int | None:
    size = r.integer(value, "archiveSize")
    if size is None or size == 0:  # 0 is oc-mirror's "unset" (then 500 GiB parts; bundler: one file)
        return None
    if size < 0:
        raise r.error("archiveSize", f"must be a positive number of GiB, not {size}")
    pending(r, "archiveSize", "archiveSize", size=str(size))
    return size


def _storage(r: Reader, value: Any, fpath: str) -> StorageConfig:
    doc = r.fields(value, fpath, ("registry", "local"))
    reg = r.fields(doc.get("registry"), f"{fpath}.registry", ("imageURL", "skipTLS"))
    local = r.fields(doc.get("local"), f"{fpath}.local", ("path",))
    not_applicable(r, fpath, "storageConfig")
    return StorageConfig(registry_image=r.opt_string(reg.get("imageURL"), f"{fpath}.registry.imageURL"),
                         skip_tls=r.boolean(reg.get("skipTLS"), f"{fpath}.registry.skipTLS"),
                         local_path=r.opt_string(local.get("path"), f"{fpath}.local.path"))


def _bootstrap(r: Reader, value: Any, fpath: str) -> BootstrapSpec:
    """bundler's extension: the registry images ``bundler import`` bootstraps (docs/quay.md)."""
    if value is None or value is False:
        return BootstrapSpec()
    doc = {} if value is True else r.fields(value, fpath, ("enabled", "images", "flavor"))
    flavor = r.string(doc.get("flavor", "quay"), f"{fpath}.flavor")
    if flavor not in ("quay", "distribution"):
        raise r.error(f"{fpath}.flavor", f"must be quay or distribution, not {flavor!r}")
    images = dict(DEFAULT_BOOTSTRAP if flavor == "quay" else DEFAULT_DISTRIBUTION)
    for key, ref in r.mapping(doc.get("images"), f"{fpath}.images").items():
        images[str(key)] = r.string(ref, f"{fpath}.images.{key}")
    enabled = doc.get("enabled", True)
    return BootstrapSpec(
        enabled=r.boolean(enabled, f"{fpath}.enabled"),
        flavor=flavor,
        images={k: r.ref(v, f"{fpath}.images.{k}", pinned=False) for k, v in images.items()},
    )
