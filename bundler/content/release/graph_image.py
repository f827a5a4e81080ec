"""The OpenShift Update Service graph-data image, built the way oc-mirror builds it, and the UpdateService.

oc-mirror (``internal/pkg/release/graph.go``, ``const.go``, ``imagebuilder/builder.go``): fetch
``https://api.openshift.com/api/upgrades_info/graph-data`` (a tar.gz), rewrite every entry to
``/var/lib/cincinnati-graph-data/<name>`` with uid/gid 0 (all other header fields kept), append that tar
as one layer to every image of ``registry.access.redhat.com/ubi9/ubi:latest``, set the config's ``Cmd`` to
copy the data into the operand's volume, and push it as ``<mirror>/openshift/graph-image:latest``.
``clusterresources.UpdateServiceGenerator`` then writes ``cluster-resources/updateService.yaml``.

This module is pure: it rewrites the tarball into the layer's tar (an :class:`bundler.oci.layer.Layer`,
which compresses and digests it like every other layer) and makes the UpdateService document; the image
is built on the base by :mod:`.graph_plan` with :func:`bundler.oci.image.append_layers`.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import posixpath
import tarfile
from dataclasses import dataclass, field
from typing import Any

import yaml

from ...errors import BundlerError
from ...oci.layer import Layer

GRAPH_BASE_IMAGE = "registry.access.redhat.com/ubi9/ubi:latest"
GRAPH_IMAGE_REPOSITORY = "openshift/graph-image"
GRAPH_IMAGE_TAG = "latest"
BUILD_DIR = "/var/lib/cincinnati-graph-data"
MOUNT_DIR = "/var/lib/cincinnati/graph-data"
GRAPH_CMD = ["/bin/bash", "-c", f"exec cp -rp {BUILD_DIR}/* {MOUNT_DIR}"]
UPDATE_SERVICE_FILE = "updateService.yaml"
UPDATE_SERVICE_NAME = "update-service-oc-mirror"
UPDATE_SERVICE_NAMESPACE = "openshift-update-service"
LAYER_TYPES = {  # the base manifest's media type -> the media type of the appended gzip layer
    "application/vnd.docker.distribution.manifest.v2+json": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.oci.image.manifest.v1+json": "application/vnd.oci.image.layer.v1.tar+gzip",
}
_ALLOWED = {tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE}


@dataclass(frozen=True)
class GraphLayer:
    """The graph-data layer (uncompressed tar deterministic for a given input; gzip and digests from the
    one layer builder) and the regular files it holds (path -> bytes)."""

    layer: Layer
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def tar(self) -> bytes:
        return self.layer.tar

    @property
    def diff_id(self) -> str:
        return self.layer.diff_id


def graph_layer(graph_data: bytes, source: str = "graph data") -> GraphLayer:
    """Rewrite the graph-data tarball (tar.gz) into the layer oc-mirror appends: every entry under
    ``/var/lib/cincinnati-graph-data``, owned by root; entries that would escape it are refused."""
    try:
        src = tarfile.open(fileobj=io.BytesIO(graph_data), mode="r:gz")
        members = src.getmembers()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BundlerError(f"{source} is not a tar.gz archive: {exc}",
                           "the update service's /api/upgrades_info/graph-data must answer a tar.gz") from exc
    out = io.BytesIO()
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as dst:
        for m in members:
            if m.type not in _ALLOWED:
                raise BundlerError(f"{source}: entry {m.name!r} is a device or fifo; refused")
            info = copy.copy(m)
            info.name = _under(m.name, source)
            info.uid = info.gid = 0
            if m.type == tarfile.LNKTYPE:
                info.linkname = _under(m.linkname, source)
            data = src.extractfile(m).read() if m.isreg() else None  # type: ignore[union-attr]
            if data is not None:
                files[info.name] = data
            dst.addfile(info, io.BytesIO(data) if data is not None else None)
    return GraphLayer(Layer(out.getvalue(), created_by=f"graph data in {BUILD_DIR}"), files)


def _under(name: str, source: str) -> str:
    """Go's ``filepath.Join(BUILD_DIR, name)``: cleaned, absolute, never outside BUILD_DIR."""
    joined = posixpath.normpath(posixpath.join(BUILD_DIR, name.lstrip("/")))
    if joined != BUILD_DIR and not joined.startswith(BUILD_DIR + "/"):
        raise BundlerError(f"{source}: entry {name!r} points outside the graph data directory; refused")
    return joined


def update_service(releases: str, graph_image: str, *, created_at: str | None = None) -> dict[str, Any]:
    """The ``UpdateService`` oc-mirror writes: ``releases`` is the mirror's release repository (no tag or
    digest), ``graph_image`` the mirrored graph image (oc-mirror writes ``:latest``; by digest is safer)."""
    return {
        "apiVersion": "updateservice.operator.openshift.io/v1",
        "kind": "UpdateService",
        "metadata": {"annotations": {"createdAt": created_at or _now(), "createdBy": "bundler"},
                     "name": UPDATE_SERVICE_NAME, "namespace": UPDATE_SERVICE_NAMESPACE},
        "spec": {"graphDataImage": graph_image, "releases": releases, "replicas": 2},
    }


def update_service_yaml(doc: dict[str, Any]) -> bytes:
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False).encode()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
