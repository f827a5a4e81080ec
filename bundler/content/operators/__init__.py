"""Operator catalogs (``mirror.operators``): SQLite and file-based index images, read straight from
their layers, filtered with oc-mirror v2's semantics; every kept bundle image and related image is
carried, and a pruned catalog image is built so the cluster shows only what was carried.

Export side: :func:`plan`. Import side: :func:`render_outputs` writes ``catalogSource-<name>.yaml``
and ``clusterCatalog-<name>.yaml`` per catalog; the core outputs already cover the images.
"""

from __future__ import annotations

import logging
import posixpath
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ...config import CatalogSpec
from ...errors import BundlerError, ConfigError
from ...oci import Pinned, Reference, parse
from ...outputs import MirroredImage, OutputContext
from ...plan import PlanContext, PlannedImage
from ..base import ContentKind
from ..imagefs import image_config, read_files
from . import fbc, rebuild, sqlite
from .model import FORMAT_FBC, Bundle, Catalog, related_from_csv
from .select import Selection, select

__all__ = ["KIND", "plan", "render_outputs", "load_catalog", "bundle_images", "catalog_name"]

log = logging.getLogger(__name__)
EXTRA_KEY = "operators"
MARKETPLACE_NS = "openshift-marketplace"
DISPLAY_LABELS = ("io.k8s.display-name", "org.opencontainers.image.title")


# -- reading a catalog image ------------------------------------------------------------------------

def load_catalog(ctx: PlanContext, ref: Reference) -> tuple[Catalog, dict[str, str]]:
    """Read the catalog in ``ref`` (pinned by digest) and the image's labels."""
    config = image_config(ctx.source, ref)
    labels: dict[str, str] = dict((config.get("config") or {}).get("Labels") or {})
    root = fbc.configs_dir(labels)
    if root is not None:
        prefix = root + "/" if root else ""
        files = read_files(ctx.source, ref, lambda p: p.startswith(prefix))
        objects = fbc.load_objects(files, root)
        if not objects:
            raise BundlerError(f"{ref}: the file-based catalog under /{root} is empty")
        return fbc.parse(objects, "/" + root), labels
    db_path = sqlite.database_path(labels)
    files = read_files(ctx.source, ref, lambda p: p == db_path or (p.endswith(".db") and p.count("/") <= 2))
    data = files.get(db_path)
    if data is None:
        # 4.5's oc walked the image for the first SQLite file it could open; do the same.
        data = next((d for p, d in sorted(files.items()) if d.startswith(sqlite.SQLITE_MAGIC)), None)
        db_path = next((p for p, d in sorted(files.items()) if d is data), db_path)
    if data is None:
        raise BundlerError(
            f"{ref} is not an operator catalog: no {fbc.CONFIGS_LABEL} or {sqlite.DATABASE_LABEL} label "
            f"and no /{sqlite.LEGACY_DB}",
        )
    return sqlite.parse(data, "/" + db_path), labels


def csv_from_bundle_image(ctx: PlanContext, image: Reference) -> dict[str, Any] | None:
    """The CSV in a bundle image's ``manifests/`` directory."""
    from .model import csv_from_manifests

    files = read_files(ctx.source, image, lambda p: p.startswith("manifests/")
                       and "clusterserviceversion" in posixpath.basename(p))
    for _, data in sorted(files.items()):
        csv = csv_from_manifests(data)
        if csv is not None:
            return csv
    return None


@dataclass
class BundleImages:
    bundle: Bundle
    related: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    """Images only the CSV names (``value:`` entries the catalog recorded as empty)."""


def bundle_images(ctx: PlanContext | None, b: Bundle) -> BundleImages:
    """Every related image of a bundle. The catalog's list, plus the CSV's ``spec.relatedImages``
    (accepting ``value:``) when the catalog carries the CSV or when empty entries show the 2020 bug
    (then the bundle image's own CSV is read)."""
    out = BundleImages(b, list(b.related))
    csv = b.csv
    if csv is None and b.empty_related and b.image and ctx is not None:
        csv = csv_from_bundle_image(ctx, parse(b.image))
    if csv is not None:
        from_csv, _ = related_from_csv(csv)
        for image in from_csv:
            if image not in out.related:
                out.related.append(image)
                out.recovered.append(image)
    return out


# -- naming ------------------------------------------------------------------------------------

def _rfc1035(text: str) -> str:
    s = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    if s and not s[0].isalpha():
        s = "c-" + s
    return s[:63].rstrip("-") or "catalog"


def catalog_name(spec: CatalogSpec) -> str:
    base = spec.target_name or spec.catalog.repository
    return _rfc1035(posixpath.basename(base.split(":")[0].split("@")[0]))


def display_name(labels: dict[str, str], ref: Reference) -> str:
    for key in DISPLAY_LABELS:
        if labels.get(key):
            return str(labels[key])
    words = posixpath.basename(ref.repository).replace("-", " ").replace("_", " ").title()
    return f"{words} {ref.tag}" if ref.tag else words


# -- export: the planner -----------------------------------------------------------------------

def plan(ctx: PlanContext) -> None:
    names: dict[str, int] = {}
    for spec in ctx.config.operators:
        if spec.layout is not None:  # oci:// catalogs: read and warned about by config, not carried yet
            continue
        name = catalog_name(spec)
        if name in names:
            name = _rfc1035(f"{name}-{spec.catalog.tag or spec.catalog.digest or len(names)}")
        names[name] = 1
        try:
            _plan_catalog(ctx, spec, name)
        except ConfigError:
            raise
        except BundlerError as exc:
            ctx.plan.fail(str(spec.catalog), f"operator catalog: {exc}")


def _plan_catalog(ctx: PlanContext, spec: CatalogSpec, name: str) -> None:
    top = ctx.source.get_manifest(spec.catalog)
    pinned = spec.catalog.pin(top.digest)
    catalog, labels = load_catalog(ctx, pinned)
    selection = select(catalog, spec)
    for warning in selection.warnings:
        log.debug("%s: %s", spec.catalog, warning)
        ctx.plan.warnings.append(f"{spec.catalog}: {warning}")

    bundles = [catalog.bundles[key] for key in sorted(selection.bundles)]
    found = _pin_bundles(ctx, spec, bundles)

    if selection.everything:
        image = ctx.pin("catalog", spec.catalog, label=name)
        rebuilt = False
    else:
        image = _rebuild(ctx, spec, catalog, selection, pinned, name)
        rebuilt = True
    ctx.plan.records.setdefault(EXTRA_KEY, []).append({
        "catalog": str(spec.catalog),
        "name": name,
        "repository": spec.catalog.name,
        "displayName": display_name(labels, spec.catalog),
        "format": catalog.format,
        "location": catalog.location,
        "digest": image.digest,
        "originalDigest": top.digest,
        "rebuilt": rebuilt,
        "packages": {
            pkg: {"defaultChannel": selection.default_channels.get(pkg, ""), "channels": chans}
            for pkg, chans in sorted(selection.channels.items())
        },
        "bundles": found,
    })


def _pin_bundles(ctx: PlanContext, spec: CatalogSpec, bundles: list[Bundle]) -> list[dict[str, Any]]:
    """Pin every bundle image, then every related image; returns a record per bundle."""
    records: dict[tuple[str, str], dict[str, Any]] = {}

    def pin_bundle(b: Bundle) -> BundleImages:
        rec: dict[str, Any] = {"package": b.package, "name": b.name, "version": b.version, "image": b.image}
        records[(b.package, b.name)] = rec
        if b.image:
            try:
                rec["digest"] = ctx.pin("operator-bundle", parse(b.image), label=f"{b.package}/{b.name}").digest
            except BundlerError as exc:
                ctx.plan.fail(b.image, f"bundle {b.name} of package {b.package}: {exc}")
        try:
            return bundle_images(ctx, b)
        except BundlerError as exc:
            ctx.plan.fail(b.image, f"reading the CSV of bundle {b.name}: {exc}")
            return BundleImages(b, list(b.related))

    with ThreadPoolExecutor(max(1, ctx.workers)) as pool:
        per_bundle = list(pool.map(pin_bundle, bundles))

    wanted: dict[str, str] = {}
    for bi in per_bundle:
        rec = records[(bi.bundle.package, bi.bundle.name)]
        rec["related"] = list(bi.related)
        if bi.recovered:
            rec["recovered"] = list(bi.recovered)
        if bi.bundle.empty_related:
            rec["emptyRelatedImages"] = bi.bundle.empty_related
        for image in bi.related:
            wanted.setdefault(image, f"{bi.bundle.package}/{bi.bundle.name}")

    def pin_related(item: tuple[str, str]) -> None:
        image, owner = item
        try:
            ref = parse(image)
        except ConfigError as exc:
            ctx.plan.fail(image, f"related image of {owner}: {exc.message}")
            return
        if ref.name == spec.catalog.name:
            return
        try:
            ctx.pin("operator-related", ref, label=owner)
        except BundlerError as exc:
            ctx.plan.fail(image, f"related image of {owner}: {exc}")

    with ThreadPoolExecutor(max(1, ctx.workers)) as pool:
        list(pool.map(pin_related, sorted(wanted.items())))
    return [records[k] for k in sorted(records)]


def _rebuild(ctx: PlanContext, spec: CatalogSpec, catalog: Catalog, selection: Selection,
             pinned: Pinned, name: str) -> PlannedImage:
    if catalog.format == FORMAT_FBC:
        objects = fbc.filtered_objects(catalog, selection.channels, selection.default_channels)
        files = {path: fbc.render_json_stream(objs) for path, objs in sorted(objects.items())}
        root = catalog.location.strip("/")
        layers = rebuild.fbc_layers(root, files)
        new = rebuild.rebuild_image(ctx.source, ctx.store, pinned, layers, cmd=["serve", "/" + root],
                                    labels={fbc.CONFIGS_LABEL: "/" + root})
    else:
        data = sqlite.prune(catalog.db, set(selection.channels))
        new = rebuild.rebuild_image(ctx.source, ctx.store, pinned, rebuild.sqlite_layers(catalog.location, data))
    tags = [spec.catalog.tag] if spec.catalog.tag else []
    return ctx.plan.add(PlannedImage("catalog", spec.catalog, new.digest, new.media_type, tags, name,
                                     rebuilt_from=pinned.digest))


# -- import: outputs ---------------------------------------------------------------------------

def _find(images: list[MirroredImage], repo: str, digest: str) -> MirroredImage | None:
    return next((i for i in images if i.kind == "catalog" and i.source.name == repo and i.digest == digest), None)


def render_outputs(octx: OutputContext) -> None:
    for cat in octx.records.get(EXTRA_KEY) or []:
        img = _find(octx.images, str(cat.get("repository")), str(cat.get("digest")))
        if img is None:
            continue
        name = str(cat["name"])
        image = img.mirror_by_digest
        octx.write_yaml(f"catalogSource-{name}.yaml", {
            "apiVersion": "operators.coreos.com/v1alpha1",
            "kind": "CatalogSource",
            "metadata": {"name": name, "namespace": MARKETPLACE_NS},
            "spec": {
                "sourceType": "grpc",
                "image": image,
                "displayName": str(cat.get("displayName") or name),
                "publisher": "bundler",
            },
        })
        octx.write_yaml(f"clusterCatalog-{name}.yaml", {
            "apiVersion": "olm.operatorframework.io/v1",
            "kind": "ClusterCatalog",
            "metadata": {"name": name},
            "spec": {"source": {"type": "Image", "image": {"ref": image}}},
        })


KIND = ContentKind(EXTRA_KEY, plan, render_outputs)
