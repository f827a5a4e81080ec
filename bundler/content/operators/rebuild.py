"""Build the pruned catalog image: new layers appended to every platform image of the catalog,
config and manifests rewritten, a new index; all of it kept in the planning memory store, from where the
copy takes it like any other image (base layers still come from the upstream registry).

- FBC (oc-mirror v2 ``imagebuilder/catalog_builder.go``): a layer whiting out the configs directory,
  a layer with the filtered configs, ``Cmd = ["serve", "/configs"]`` (no stale ``--cache-dir``:
  opm builds its cache at start-up), configs label kept.
- SQLite: one layer holding the pruned database at the label's path (it shadows the original).
Layers are deterministic (mtime 0, uid/gid 0, gzip mtime 0): the same input gives the same digest.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from typing import Any

from ...errors import BundlerError
from ...oci import Manifest, Pinned, mediatypes, sha256_digest
from ...oci.image import append_layers, dumps
from ...oci.layer import Layer, build_layer
from ...transport import Source
from ...transport.memory import MemoryStore


def rebuild_image(source: Source, store: MemoryStore, ref: Pinned, layers: Sequence[Layer],
                  cmd: list[str] | None = None, labels: dict[str, str] | None = None,
                  platforms: Sequence[str] = ()) -> Manifest:
    """Append ``layers`` to every platform image of ``ref`` (only those of ``platforms``, ``os/arch``, when
    given: the new index lists just them); everything new goes into ``store``. Returns the new top-level
    manifest (an index when the original was one)."""
    top = source.get_manifest(ref)
    if not top.is_list:
        return _rebuild_one(source, store, ref, top, layers, cmd, labels)
    doc = json.loads(top.data)
    new_children = []
    for child in doc.get("manifests") or []:
        plat = child.get("platform") or {}
        annotations = child.get("annotations") or {}
        if plat.get("os") == "unknown" or "vnd.docker.reference.type" in annotations:
            continue  # build attestations point at the old image; they do not describe the new one
        if platforms and f"{plat.get('os')}/{plat.get('architecture')}" not in platforms:
            continue
        child_ref = ref.repo.pinned(child["digest"])
        new = _rebuild_one(source, store, child_ref, source.get_manifest(child_ref), layers, cmd, labels)
        new_children.append({**child, "digest": new.digest, "size": len(new.data), "mediaType": new.media_type})
    if not new_children:
        raise BundlerError(f"{ref}: the manifest list has no platform image to rebuild"
                           + (f" for {', '.join(platforms)}" if platforms else ""))
    doc["manifests"] = new_children
    data = dumps(doc)
    return store.add_manifest(Manifest(data, top.media_type, sha256_digest(data)))


def _rebuild_one(source: Source, store: MemoryStore, ref: Pinned, m: Manifest, layers: Sequence[Layer],
                 cmd: list[str] | None, labels: dict[str, str] | None) -> Manifest:
    if m.media_type not in mediatypes.IMAGE_TYPES or m.config is None:
        raise BundlerError(f"{ref}: cannot rebuild a {m.media_type} image")
    config: dict[str, Any] = json.loads(b"".join(source.open_blob(ref.repo, m.config)))
    return store.add_image(append_layers(m, config, layers, comment="pruned by bundler", cmd=cmd, labels=labels))


def fbc_layers(configs_dir: str, files: dict[str, bytes]) -> list[Layer]:
    """Whiteout of the old configs directory, then the filtered configs under the same path."""
    root = configs_dir.strip("/")
    return [
        build_layer({}, whiteouts=[root], created_by=f"whiteout /{root}"),
        build_layer({posixpath.join(root, p): d for p, d in files.items()}, created_by=f"filtered catalog in /{root}"),
    ]


def sqlite_layers(db_path: str, data: bytes) -> list[Layer]:
    return [build_layer({db_path.strip("/"): data}, created_by=f"pruned index database /{db_path.strip('/')}")]
