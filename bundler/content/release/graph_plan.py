"""``mirror.platform.graph: true``: the update service's graph-data image, built at export as oc-mirror
builds it (``internal/pkg/release/graph.go``): the graph-data tarball rewritten into one layer
(:func:`.graph_image.graph_layer`), appended to every platform image of the base
(``registry.access.redhat.com/ubi9/ubi:latest`` or ``--graph-base-image``), ``Cmd`` set to copy the data
into the operand's volume.

Everything the image needs is kept in the planning memory store (``ctx.keep_built``), the base's config and
layers included: the built image is carried under oc-mirror's mirror path ``openshift/graph-image:latest``,
a repository the base's layers do not live in upstream, so the copy must find them by digest.
"""

from __future__ import annotations

import json
from typing import Any

from ...errors import BundlerError
from ...oci import Manifest, Pinned, Reference, mediatypes, parse, sha256_digest
from ...oci.image import append_layers, dumps
from ...oci.layer import Layer
from ...plan import PlanContext, PlannedImage
from .graph import graph_data_url
from .graph_image import GRAPH_BASE_IMAGE, GRAPH_CMD, GRAPH_IMAGE_REPOSITORY, GRAPH_IMAGE_TAG, graph_layer
from .select import graph_client

LIFECYCLE = "releaseLifecycle"
"""The plan record key for what the release kind carries beside the releases (the graph image)."""


def plan_graph_image(ctx: PlanContext) -> None:
    client = graph_client(ctx)
    url = graph_data_url(client.endpoint)
    layer = graph_layer(client.graph_data(url), f"graph data {url}").layer
    base = parse(ctx.release.graph_base_image or GRAPH_BASE_IMAGE)
    try:
        top = ctx.source.get_manifest(base)
        built = _build(ctx, base.pin(top.digest), top, layer)
    except BundlerError as exc:
        raise BundlerError(f"graph image: base image {base}: {exc}",
                           "name a reachable base with --graph-base-image, or drop mirror.platform.graph") from exc
    source = Reference(base.registry, GRAPH_IMAGE_REPOSITORY, GRAPH_IMAGE_TAG)
    ctx.plan.add(PlannedImage("graph-image", source, built.digest, built.media_type, [GRAPH_IMAGE_TAG],
                              "graph-image", rebuilt_from=top.digest))
    ctx.plan.records[LIFECYCLE] = {"graphImage": {"source": str(source), "digest": built.digest,
                                                  "base": f"{base.name}@{top.digest}", "graphData": url}}


def _build(ctx: PlanContext, base: Pinned, top: Manifest, layer: Layer) -> Manifest:
    if not top.is_list:
        return _build_one(ctx, base, top, layer)
    doc = json.loads(top.data)
    children = []
    for child in doc.get("manifests") or []:
        plat = child.get("platform") or {}
        if plat.get("os") == "unknown" or "vnd.docker.reference.type" in (child.get("annotations") or {}):
            continue  # attestations describe the base, not the graph image
        ref = base.repo.pinned(child["digest"])
        new = _build_one(ctx, ref, ctx.source.get_manifest(ref), layer)
        children.append({**child, "digest": new.digest, "size": len(new.data), "mediaType": new.media_type})
    if not children:
        raise BundlerError("its manifest list has no platform image")
    doc["manifests"] = children
    data = dumps(doc)
    return ctx.store.add_manifest(Manifest(data, top.media_type, sha256_digest(data)))


def _build_one(ctx: PlanContext, ref: Pinned, m: Manifest, layer: Layer) -> Manifest:
    if m.media_type not in mediatypes.IMAGE_TYPES or m.config is None:
        raise BundlerError(f"{ref} is a {m.media_type}, not an image to build on")
    for desc in m.blobs:  # the base's config and layers, kept by digest for the copy
        data = b"".join(ctx.source.open_blob(ref.repo, desc))
        ctx.store.add_blob(data)
    config: dict[str, Any] = json.loads(ctx.store.blobs[m.config.digest])
    return ctx.keep_built(append_layers(m, config, [layer], comment="graph data for the OpenShift Update Service",
                                        cmd=list(GRAPH_CMD)))
