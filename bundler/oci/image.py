"""Build image configs, manifests and indexes from layers (new images, or layers appended to an image).

What is built is returned as bytes, never written anywhere: the caller decides where it lives (a memory
source during planning, a layout for podman, a registry in the test content).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import mediatypes
from .descriptor import Platform
from .digest import sha256_digest
from .layer import Layer
from .manifest import Manifest
from .platform import VARIANTS

EPOCH = "1970-01-01T00:00:00Z"


@dataclass
class BuiltImage:
    """A manifest and the blobs it introduced (config and new layers), by digest."""

    manifest: Manifest
    blobs: dict[str, bytes] = field(default_factory=dict)


def dumps(doc: Any, style: str = "docker") -> bytes:
    """``docker``: indented by 3, as Docker writes schema2; ``compact``: no whitespace, as most OCI tools."""
    if style == "compact":
        return json.dumps(doc, separators=(",", ":")).encode()
    return json.dumps(doc, indent=3).encode()


def platform_of(arch: str, os_name: str = "linux") -> Platform:
    return Platform(arch, os_name, VARIANTS.get(arch))


def image_config(layers: Sequence[Layer], *, arch: str = "amd64", os_name: str = "linux", created: str = EPOCH,
                 config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An image config for ``layers`` (bottom first); ``config`` is the runtime part (Env, Cmd, Labels...)."""
    doc: dict[str, Any] = {"architecture": arch, "os": os_name}
    if VARIANTS.get(arch):
        doc["variant"] = VARIANTS[arch]
    doc.update({
        "created": created,
        "config": dict(config or {}),
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": created, "created_by": layer.created_by} for layer in layers],
    })
    return doc


def build_image(layers: Sequence[Layer], config: Mapping[str, Any], *, oci: bool = False,
                style: str = "docker") -> BuiltImage:
    """A single-platform image (Docker schema2, or OCI with ``oci=True``) of ``layers`` and ``config``."""
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    media_type = mediatypes.OCI_MANIFEST if oci else mediatypes.DOCKER_MANIFEST
    layer_type = mediatypes.OCI_LAYER if oci else mediatypes.DOCKER_LAYER
    doc = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": mediatypes.OCI_CONFIG if oci else mediatypes.DOCKER_CONFIG,
                   "size": len(config_bytes), "digest": sha256_digest(config_bytes)},
        "layers": [{"mediaType": layer_type, "size": layer.size, "digest": layer.digest} for layer in layers],
    }
    data = dumps(doc, style)
    blobs = {sha256_digest(config_bytes): config_bytes, **{layer.digest: layer.gz for layer in layers}}
    return BuiltImage(Manifest(data, media_type, sha256_digest(data)), blobs)


def build_index(children: Sequence[tuple[Manifest, Platform]], *, oci: bool = False, style: str = "docker") -> Manifest:
    """A Docker manifest list (or OCI index) over already built ``children``."""
    media_type = mediatypes.OCI_INDEX if oci else mediatypes.DOCKER_LIST
    doc = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [{"mediaType": m.media_type, "size": len(m.data), "digest": m.digest, "platform": p.to_json()}
                      for m, p in children],
    }
    data = dumps(doc, style)
    return Manifest(data, media_type, sha256_digest(data))


def append_layers(manifest: Manifest, config: dict[str, Any], layers: Sequence[Layer], *, comment: str,
                  cmd: list[str] | None = None, labels: Mapping[str, str] | None = None,
                  author: str = "bundler") -> BuiltImage:
    """``manifest`` (an image) with ``layers`` on top: new config (diff_ids, history, Cmd, Labels) and manifest."""
    doc = json.loads(manifest.data)
    layer_type = mediatypes.DOCKER_LAYER if manifest.media_type == mediatypes.DOCKER_MANIFEST else mediatypes.OCI_LAYER
    rootfs = config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    rootfs.setdefault("diff_ids", [])
    history = config.setdefault("history", [])
    runtime = config.get("config") or {}
    config["config"] = runtime
    blobs: dict[str, bytes] = {}
    for layer in layers:
        blobs[layer.digest] = layer.gz
        doc.setdefault("layers", []).append({"mediaType": layer_type, "digest": layer.digest, "size": layer.size})
        rootfs["diff_ids"].append(layer.diff_id)
        history.append({"created": EPOCH, "created_by": layer.created_by, "author": author, "comment": comment})
    if cmd is not None:
        runtime["Cmd"] = cmd
    if labels:
        runtime["Labels"] = {**(runtime.get("Labels") or {}), **labels}
    config_data = dumps(config)
    blobs[sha256_digest(config_data)] = config_data
    doc["config"] = {**doc["config"], "digest": sha256_digest(config_data), "size": len(config_data)}
    data = dumps(doc)
    return BuiltImage(Manifest(data, manifest.media_type, sha256_digest(data)), blobs)
