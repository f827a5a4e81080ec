"""The CatalogSource written for a mirrored catalog: bundler's defaults, or the configuration's
``targetCatalogSourceTemplate`` with what oc-mirror sets on it (clusterresources.go
catalogSourceContentFromTemplate): ``metadata.name``, ``metadata.namespace`` (openshift-marketplace),
``spec.sourceType: grpc`` and ``spec.image``; everything else of the template is kept (displayName,
publisher, priority, updateStrategy, grpcPodConfig, labels, annotations ...)."""

from __future__ import annotations

import copy
from typing import Any

MARKETPLACE_NS = "openshift-marketplace"


def catalog_source(name: str, image: str, display_name: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(template) if template else {}
    doc["apiVersion"] = "operators.coreos.com/v1alpha1"
    doc["kind"] = "CatalogSource"
    meta: dict[str, Any] = doc.get("metadata") or {}
    doc["metadata"] = {**meta, "name": name, "namespace": MARKETPLACE_NS}
    spec: dict[str, Any] = {**(doc.get("spec") or {}), "sourceType": "grpc", "image": image}
    spec.setdefault("displayName", display_name)
    spec.setdefault("publisher", "bundler")
    doc["spec"] = spec
    return doc
