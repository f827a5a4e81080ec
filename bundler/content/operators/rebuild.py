"""Build the pruned catalog image: new layers appended to every platform image of the catalog,
config and manifests rewritten, a new index; all of it written into the work layout so the export
carries it like any other image (base layers still come from the upstream registry).

- FBC (oc-mirror v2 ``imagebuilder/catalog_builder.go``): a layer whiting out the configs directory,
  a layer with the filtered configs, ``Cmd = ["serve", "/configs"]`` (no stale ``--cache-dir``:
  opm builds its cache at start-up), configs label kept.
- SQLite: one layer holding the pruned database at the label's path (it shadows the original).
Layers are deterministic (mtime 0, uid/gid 0, gzip mtime 0): the same input gives the same digest.
"""

from __future__ import annotations

import gzip
import io
import json
import posixpath
import tarfile
from dataclasses import dataclass
from typing import Any

from ... import mediatypes
from ...errors import BundlerError
from ...plan import PlanContext
from ...reference import Reference
from ...registry.client import Manifest, sha256_digest

DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
AUTHOR = "bundler"


@dataclass
class Layer:
    tar: bytes
    comment: str

    @property
    def diff_id(self) -> str:
        return sha256_digest(self.tar)

    def gz(self) -> bytes:
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as fh:
            fh.write(self.tar)
        return buf.getvalue()


def tar_layer(files: dict[str, bytes], whiteouts: list[str] | None = None, comment: str = "") -> Layer:
    """A deterministic tar: parent directories (0755), files (0644), whiteout markers."""
    buf = io.BytesIO()
    dirs: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add_dirs(path: str) -> None:
            parent = posixpath.dirname(path)
            if parent and parent not in dirs:
                add_dirs(parent)
                info = tarfile.TarInfo(parent + "/")
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                info.mtime = 0
                tar.addfile(info)
                dirs.add(parent)

        for path in whiteouts or []:
            path = path.strip("/")
            add_dirs(path)
            wh = posixpath.join(posixpath.dirname(path), ".wh." + posixpath.basename(path))
            info = tarfile.TarInfo(wh)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(b""))
        for path in sorted(files):
            clean = path.strip("/")
            add_dirs(clean)
            info = tarfile.TarInfo(clean)
            info.size = len(files[path])
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(files[path]))
    return Layer(buf.getvalue(), comment)


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=3).encode()


def _platform_children(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return mediatypes.children(doc)


def rebuild_image(ctx: PlanContext, ref: Reference, layers: list[Layer],
                  cmd: list[str] | None = None, labels: dict[str, str] | None = None) -> Manifest:
    """Append ``layers`` to every platform image of ``ref`` (pinned), write everything new into
    ``ctx.layout`` and return the new top-level manifest (an index when the original was one)."""
    top = ctx.source.get_manifest(ref)
    compressed = [(layer, layer.gz()) for layer in layers]
    if not top.is_list:
        return _rebuild_one(ctx, ref, top, compressed, cmd, labels)
    doc = json.loads(top.data)
    new_children = []
    for child in _platform_children(doc):
        plat = child.get("platform") or {}
        annotations = child.get("annotations") or {}
        if plat.get("os") == "unknown" or "vnd.docker.reference.type" in annotations:
            continue  # build attestations point at the old image; they do not describe the new one
        child_ref = ref.with_tag(None).with_digest(child["digest"])
        m = ctx.source.get_manifest(child_ref)
        new = _rebuild_one(ctx, child_ref, m, compressed, cmd, labels)
        entry = dict(child)
        entry["digest"] = new.digest
        entry["size"] = len(new.data)
        entry["mediaType"] = new.media_type
        new_children.append(entry)
    if not new_children:
        raise BundlerError(f"{ref}: the manifest list has no platform image to rebuild")
    doc["manifests"] = new_children
    data = _dump(doc)
    digest = sha256_digest(data)
    ctx.layout.write_bytes(digest, data)
    return Manifest(data, top.media_type, digest)


def _rebuild_one(ctx: PlanContext, ref: Reference, m: Manifest, layers: list[tuple[Layer, bytes]],
                 cmd: list[str] | None, labels: dict[str, str] | None) -> Manifest:
    doc = json.loads(m.data)
    if m.media_type not in mediatypes.IMAGE_TYPES:
        raise BundlerError(f"{ref}: cannot rebuild a {m.media_type} image")
    config_desc = doc["config"]
    config = json.loads(b"".join(ctx.source.iter_blob(ref, config_desc["digest"], int(config_desc.get("size", -1)))))
    layer_type = DOCKER_LAYER if m.media_type == mediatypes.DOCKER_MANIFEST else OCI_LAYER
    rootfs = config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    rootfs.setdefault("diff_ids", [])
    history = config.setdefault("history", [])
    cfg = config.setdefault("config", {}) or {}
    config["config"] = cfg
    for layer, gz in layers:
        digest = sha256_digest(gz)
        ctx.layout.write_bytes(digest, gz)
        doc.setdefault("layers", []).append({"mediaType": layer_type, "digest": digest, "size": len(gz)})
        rootfs["diff_ids"].append(layer.diff_id)
        history.append({"created": "1970-01-01T00:00:00Z", "created_by": layer.comment, "author": AUTHOR,
                        "comment": "pruned by bundler"})
    if cmd is not None:
        cfg["Cmd"] = cmd
    if labels:
        cfg["Labels"] = {**(cfg.get("Labels") or {}), **labels}
    config_data = _dump(config)
    config_digest = sha256_digest(config_data)
    ctx.layout.write_bytes(config_digest, config_data)
    doc["config"] = {**config_desc, "digest": config_digest, "size": len(config_data)}
    data = _dump(doc)
    digest = sha256_digest(data)
    ctx.layout.write_bytes(digest, data)
    return Manifest(data, m.media_type, digest)


def fbc_layers(configs_dir: str, files: dict[str, bytes]) -> list[Layer]:
    """Whiteout of the old configs directory, then the filtered configs under the same path."""
    root = configs_dir.strip("/")
    return [
        tar_layer({}, [root], comment=f"whiteout /{root}"),
        tar_layer({posixpath.join(root, p): d for p, d in files.items()}, comment=f"filtered catalog in /{root}"),
    ]


def sqlite_layers(db_path: str, data: bytes) -> list[Layer]:
    return [tar_layer({db_path.strip("/"): data}, comment=f"pruned index database /{db_path.strip('/')}")]

