"""``mirror.operators[]`` (and ``delete.operators[]``).

Sources: oc-mirror internal/pkg/api/v2alpha1/type_config.go (Operator), type_config_include.go
(IncludePackage/Channel/Bundle), config/validate.go (duplicates, semver, package vs channel ranges),
operator/filtered_collector.go + common.go (oci:// catalogs, targetCatalog/targetTag),
clusterresources/clusterresources.go (targetCatalogSourceTemplate); v1: v1/pkg/api/v1alpha2/types_config.go
(targetName, originalRef, minBundle).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from ..oci.reference import DIGEST_RE, Reference
from .platform import read_platforms
from .reader import PATH_RE, Reader
from .settings import (
    LAYOUT_REGISTRY,
    CatalogSourceTemplate,
    CatalogSpec,
    ChannelSpec,
    LayoutRef,
    PackageSpec,
    layout_repository,
)
from .support import not_applicable, pending

OPERATOR_FIELDS = ("catalog", "packages", "targetCatalog", "targetTag", "full", "skipDependencies",
                   "targetCatalogSourceTemplate", "platforms")
V1_OPERATOR_FIELDS = ("targetName", "originalRef")
PACKAGE_FIELDS = ("name", "channels", "defaultChannel", "minVersion", "maxVersion")
# Masterminds semver NewVersion (oc-mirror validates package/channel versions with it): lenient
SEMVER_LOOSE = re.compile(r"^v?\d+(\.\d+)?(\.\d+)?(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")


def read_operators(r: Reader, value: Any, fpath: str) -> list[CatalogSpec]:
    out: list[CatalogSpec] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(r.seq(value, fpath)):
        spec = read_catalog(r, item, f"{fpath}[{i}]")
        key = f"{spec.catalog.name}/{spec.target_name}:{spec.mirror_tag}@{spec.catalog.digest}"
        if key in seen:
            written = f"oci://{spec.layout.written}" if spec.layout else str(spec.catalog)
            raise r.error(f"{fpath}[{i}].catalog", f"{written} would be mirrored to the same repository and tag as "
                          f"{fpath}[{seen[key]}]", "merge the two entries, or give one a targetCatalog/targetTag")
        seen[key] = i
        out.append(spec)
    return out


def read_catalog(r: Reader, value: Any, fpath: str) -> CatalogSpec:
    known = OPERATOR_FIELDS + (V1_OPERATOR_FIELDS if r.v1 else ())
    doc = r.fields(value, fpath, known, extra={k: "is an oc-mirror v1 field (apiVersion mirror.openshift.io/"
                                                  "v1alpha2); use targetCatalog" for k in V1_OPERATOR_FIELDS})
    text = r.string(doc.get("catalog"), f"{fpath}.catalog")
    target_catalog = r.repo_path(doc.get("targetCatalog"), f"{fpath}.targetCatalog")
    target_tag = r.tag(doc.get("targetTag"), f"{fpath}.targetTag")
    layout = _layout(r, text, f"{fpath}.catalog")
    if layout is not None:
        catalog = _layout_reference(r, layout, target_catalog, target_tag, f"{fpath}.catalog")
    else:
        catalog = r.ref(text, f"{fpath}.catalog")
    spec = CatalogSpec(
        catalog=catalog, full=r.boolean(doc.get("full"), f"{fpath}.full"),
        target_catalog=target_catalog, target_tag=target_tag, layout=layout,
        target_name=target_catalog or _v1_target_name(r, doc, catalog, fpath),
        skip_dependencies=r.boolean(doc.get("skipDependencies"), f"{fpath}.skipDependencies"),
        platforms=read_platforms(r, doc.get("platforms"), f"{fpath}.platforms"),
    )
    if doc.get("targetCatalogSourceTemplate") is not None:
        spec.catalog_source_template = read_template(r, doc["targetCatalogSourceTemplate"],
                                                     f"{fpath}.targetCatalogSourceTemplate")
    spec.packages = _packages(r, doc.get("packages"), f"{fpath}.packages", spec.full)
    _notes(r, spec, doc, fpath)
    return spec


def _notes(r: Reader, spec: CatalogSpec, doc: dict[str, Any], fpath: str) -> None:
    if doc.get("originalRef") is not None:
        not_applicable(r, f"{fpath}.originalRef", "operators.originalRef")
    if spec.layout is not None:
        pending(r, f"{fpath}.catalog", "operators.layout")
    keys = ("targetCatalogSourceTemplate", "platforms") if spec.layout else (
        "targetCatalog", "targetName", "targetTag", "targetCatalogSourceTemplate", "platforms")
    for key in keys:
        if doc.get(key):
            pending(r, f"{fpath}.{key}", "operators.targetCatalog" if key == "targetName" else f"operators.{key}")
    if r.v1 and not spec.skip_dependencies:
        pending(r, f"{fpath}.skipDependencies" if "skipDependencies" in doc else f"{fpath}.catalog",
                "operators.dependencies")
    for j, pkg in enumerate(spec.packages):
        if pkg.default_channel:
            pending(r, f"{fpath}.packages[{j}].defaultChannel", "operators.defaultChannel")
        if pkg.min_bundle:
            pending(r, f"{fpath}.packages[{j}].minBundle", "operators.minBundle")


def _v1_target_name(r: Reader, doc: dict[str, Any], catalog: Reference, fpath: str) -> str | None:
    """v1alpha2 ``targetName`` (deprecated in 4.13): replaces the last path component of the catalog."""
    name = r.opt_string(doc.get("targetName"), f"{fpath}.targetName")
    if name is None:
        return None
    path = "/".join([*catalog.repository.split("/")[:-1], name])
    if not PATH_RE.match(path):
        raise r.error(f"{fpath}.targetName", f"{name!r} is not a repository name", "lower-case, e.g. my-index")
    r.warn(f"{fpath}.targetName", f"is deprecated (oc-mirror 4.13); read as targetCatalog: {path}")
    return path


# -- oci:// local layouts ----------------------------------------------------------------------

def _layout(r: Reader, text: str, fpath: str) -> LayoutRef | None:
    """``oci://PATH[@sha256:...]`` (``oci:PATH`` too under v1alpha2, as oc-mirror v1 trims ``oci:``)."""
    if text.startswith("oci://"):
        rest = text[len("oci://"):]
    elif text.startswith("oci:") and r.v1:
        rest = text[len("oci:"):]
    elif text.startswith("oci:"):
        raise r.error(fpath, f"{text!r}: a local OCI layout is written oci://PATH", f"oci://{text[4:]}")
    else:
        return None
    written, _, digest = rest.partition("@")
    if digest and not DIGEST_RE.match(digest):
        raise r.error(fpath, f"{text!r}: the digest must be sha256:<64 hex>")
    if not written:
        raise r.error(fpath, f"{text!r} names no directory")
    path = r.local_path(written, fpath)
    check_layout(r, path, fpath)
    return LayoutRef(path=path, written=written, digest=digest or None)


def check_layout(r: Reader, path: Path, fpath: str) -> None:
    """An OCI image layout: a directory with ``oci-layout`` and an ``index.json`` naming manifests."""
    hint = "point at the directory that holds oci-layout and index.json (as opm or skopeo copy oci:DIR write it)"
    if not path.is_dir():
        raise r.error(fpath, f"{path} is not a directory (an OCI layout is a directory)", hint)
    for name in ("oci-layout", "index.json"):
        if not (path / name).is_file():
            raise r.error(fpath, f"{path} is not an OCI image layout: it has no {name}", hint)
    try:
        version = json.loads((path / "oci-layout").read_text()).get("imageLayoutVersion")
        index = json.loads((path / "index.json").read_text())
    except (OSError, ValueError, AttributeError) as exc:
        raise r.error(fpath, f"{path} is not an OCI image layout: {exc}", hint) from exc
    if not version:
        raise r.error(fpath, f"{path}/oci-layout has no imageLayoutVersion", hint)
    if not isinstance(index, dict) or not index.get("manifests"):
        raise r.error(fpath, f"{path}/index.json names no image", "the layout is empty; copy the catalog into it")


def _layout_reference(r: Reader, layout: LayoutRef, target_catalog: str | None, target_tag: str | None,
                      fpath: str) -> Reference:
    """The name an oci:// catalog is carried under: oc-mirror mirrors it to
    ``<target>/<targetCatalog or the directory's name>:<targetTag or latest>``."""
    repo = target_catalog or layout_repository(layout.written)
    if not PATH_RE.match(repo):
        raise r.error(fpath, f"the layout directory's name {repo!r} is not a valid repository name, and oc-mirror "
                             "names the mirrored catalog after it", "set targetCatalog (e.g. my-org/my-index)")
    return Reference(LAYOUT_REGISTRY, repo, tag=target_tag or "latest", digest=layout.digest)


# -- targetCatalogSourceTemplate -----------------------------------------------------------------

def read_template(r: Reader, value: Any, fpath: str) -> CatalogSourceTemplate:
    """A CatalogSource to start from, checked as oc-mirror checks it (clusterresources.go
    catalogSourceContentFromTemplate); oc-mirror falls back to no template on error, bundler refuses."""
    path = r.local_path(r.string(value, fpath), fpath)
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise r.error(fpath, f"{path} cannot be read as YAML: {exc}") from exc
    hint = ("a CatalogSource: apiVersion operators.coreos.com/v1alpha1, kind CatalogSource, spec.sourceType grpc "
            "(or unset), no spec.configMap; name, namespace and image are filled in")
    if not isinstance(doc, dict):
        raise r.error(fpath, f"{path} is not a CatalogSource (not a YAML mapping)", hint)
    if doc.get("apiVersion") != "operators.coreos.com/v1alpha1" or doc.get("kind") != "CatalogSource":
        raise r.error(fpath, f"{path} is not a CatalogSource (apiVersion {doc.get('apiVersion')!r}, "
                             f"kind {doc.get('kind')!r})", hint)
    spec = doc.get("spec") or {}
    if not isinstance(spec, dict) or spec.get("sourceType") not in (None, "", "grpc") or spec.get("configMap"):
        raise r.error(fpath, f"{path}: a CatalogSource template must be of sourceType grpc without configMap", hint)
    return CatalogSourceTemplate(path=path, document=doc)


# -- packages ------------------------------------------------------------------------------------

def _packages(r: Reader, value: Any, fpath: str, full: bool) -> list[PackageSpec]:
    out: list[PackageSpec] = []
    seen: set[str] = set()
    for j, item in enumerate(r.seq(value, fpath)):
        ppath = f"{fpath}[{j}]"
        pkg = _package(r, item, ppath, full)
        if pkg.name in seen:
            raise r.error(f"{ppath}.name", f"package {pkg.name!r} is listed twice")
        seen.add(pkg.name)
        out.append(pkg)
    return out


def _package(r: Reader, value: Any, ppath: str, full: bool) -> PackageSpec:
    doc = r.fields(value, ppath, PACKAGE_FIELDS + (("minBundle",) if r.v1 else ()),
                   extra={"minBundle": "is an oc-mirror v1 field (apiVersion mirror.openshift.io/v1alpha2); "
                                       "use minVersion"})
    pkg = PackageSpec(
        name=r.string(doc.get("name"), f"{ppath}.name"),
        min_version=_version(r, doc.get("minVersion"), f"{ppath}.minVersion"),
        max_version=_version(r, doc.get("maxVersion"), f"{ppath}.maxVersion"),
        default_channel=r.opt_string(doc.get("defaultChannel"), f"{ppath}.defaultChannel"),
        min_bundle=r.opt_string(doc.get("minBundle"), f"{ppath}.minBundle"),
    )
    if pkg.min_bundle and pkg.min_version:
        raise r.error(f"{ppath}.minBundle", "cannot be used together with minVersion (oc-mirror v1 refuses it)")
    names: set[str] = set()
    for k, ch in enumerate(r.seq(doc.get("channels"), f"{ppath}.channels")):
        cs = _channel(r, ch, f"{ppath}.channels[{k}]", pkg)
        if cs.name in names:
            raise r.error(f"{ppath}.channels[{k}].name", f"channel {cs.name!r} is listed twice")
        names.add(cs.name)
        pkg.channels.append(cs)
    if pkg.default_channel and names and pkg.default_channel not in names:
        raise r.error(f"{ppath}.defaultChannel", f"{pkg.default_channel!r} is not one of the listed channels "
                      f"({', '.join(sorted(names))})", "the default channel must be carried: list it under channels")
    if full and (pkg.min_version or pkg.max_version or any(c.min_version or c.max_version for c in pkg.channels)):
        if not r.v1:
            raise r.error(f"{ppath}", "a version range cannot be combined with full: true (oc-mirror's filter "
                          "refuses it)", "remove full: true, or the minVersion/maxVersion")
        pending(r, ppath, "operators.v1FullRange")
    return pkg


def _channel(r: Reader, value: Any, cpath: str, pkg: PackageSpec) -> ChannelSpec:
    doc = r.fields(value, cpath, ("name", "minVersion", "maxVersion") + (("minBundle",) if r.v1 else ()))
    cs = ChannelSpec(
        name=r.string(doc.get("name"), f"{cpath}.name"),
        min_version=_version(r, doc.get("minVersion"), f"{cpath}.minVersion"),
        max_version=_version(r, doc.get("maxVersion"), f"{cpath}.maxVersion"),
        min_bundle=r.opt_string(doc.get("minBundle"), f"{cpath}.minBundle"),
    )
    if (cs.min_version or cs.max_version) and (pkg.min_version or pkg.max_version):
        raise r.error(cpath, "a channel range cannot be combined with the package's minVersion/maxVersion "
                      "(oc-mirror refuses the mix)", "keep the range in one place")
    if doc.get("minBundle"):
        pending(r, f"{cpath}.minBundle", "operators.minBundle")
    return cs


def _version(r: Reader, value: Any, fpath: str) -> str | None:
    text = r.opt_string(value, fpath)
    if text is not None and not SEMVER_LOOSE.match(text):
        raise r.error(fpath, f"{text!r} is not a semantic version", "e.g. 5.8.1 or '5.3.2-20' (quoted)")
    return text
