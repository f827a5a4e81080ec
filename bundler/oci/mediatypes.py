"""Manifest, config and layer media types; how to tell which one a document is."""

from __future__ import annotations

import json
from typing import Any

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
LIST_TYPES = (DOCKER_LIST, OCI_INDEX)
IMAGE_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def parse_manifest(data: bytes) -> dict[str, Any]:
    doc = json.loads(data)
    if not isinstance(doc, dict):
        raise ValueError("manifest is not a JSON object")
    return doc


def detect_media_type(data: bytes, header: str | None = None) -> str:
    """The manifest's media type: the document's own field first, then the header, then its shape."""
    doc = parse_manifest(data)
    mt = doc.get("mediaType") or (header or "").split(";")[0].strip()
    if mt:
        return str(mt)
    if doc.get("schemaVersion") == 1:
        return SCHEMA1[0]
    return OCI_INDEX if "manifests" in doc else OCI_MANIFEST


def is_list(media_type: str) -> bool:
    return media_type in LIST_TYPES
