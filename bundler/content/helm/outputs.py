"""``helm-charts.yaml``: where each carried chart now lives in the mirror, how to install it from there, and
where its images are (by digest). Written from the export's ``records["helm"]`` and the mirrored images."""

from __future__ import annotations

from typing import Any

import yaml

from ...outputs import MirroredImage, OutputContext

NAME = "helm"
FILE = "helm-charts.yaml"
HEADER = """\
# Helm charts carried by bundler, now in the mirror as OCI charts (helm 3.8+).
# Log in first when the mirror needs it:  helm registry login HOST [--ca-file CA]
# then install with the "install" line; the images are covered by imageDigestMirrorSet.yaml /
# imageTagMirrorSet.yaml (or registries.conf) like any mirrored image.
"""


def _chart_entry(rec: dict[str, Any], by_digest: dict[tuple[str, str], MirroredImage]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": rec.get("name"), "version": rec.get("version"), "from": rec.get("origin")}
    if rec.get("repository"):
        entry["repository"] = rec["repository"]
    img = by_digest.get((str(rec.get("sourceName")), str(rec.get("digest"))))
    if img is None:
        entry["error"] = "the chart is not in the mirror (it failed at export or import: see report.json)"
    else:
        chart = f"oci://{img.mirror_repo}"
        entry.update({"chart": chart, "tag": rec.get("tag"), "digest": img.digest,
                      "install": f"helm install {rec.get('name')} {chart} --version {rec.get('version')}"})
    entry["fullyResolved"] = bool(rec.get("fullyResolved"))
    if rec.get("problems"):
        entry["problems"] = list(rec["problems"])
    images, missing = [], []
    for i in rec.get("images") or []:
        m = by_digest.get((str(i.get("name")), str(i.get("digest"))))
        if m is None:
            missing.append(str(i.get("image")))
        else:
            images.append({"image": str(i.get("image")), "mirror": m.mirror_by_digest})
    entry["images"] = images
    if missing:
        entry["imagesNotInMirror"] = missing
    if rec.get("optional"):
        entry["optionalImagesNotCarried"] = list(rec["optional"])
    return entry


def render(octx: OutputContext) -> None:
    charts = octx.records.get(NAME) or []
    if not charts:
        return
    by_digest = {(i.source.name, i.digest): i for i in octx.images}
    doc = {"charts": [_chart_entry(rec, by_digest) for rec in charts]}
    octx.write(FILE, HEADER + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1 << 16))
